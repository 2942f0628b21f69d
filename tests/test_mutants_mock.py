"""Edges that mutation testing (make mutation) found no test holding: limits at exactly their value.

Each test fails on a mutant that survived: the body size limit taken as `>=`, a cached token
still accepted at exactly its `exp`, the lifecycle's route taking edges of the wrong side; a
preflight's methods misspelt, the pages' minting warning altered, a downloaded attachment's name
mangled, a spec without `info` refused; a data folder's .gitignore misnamed, the report's blank
lines misplaced, the journal moved on at the wrong write or size, a warning header cut at the
wrong length, a stale scenario step's note, the kit's mirror errors, the TO side's threads, the
plugin's options in `pytest --help`.
"""

from __future__ import annotations

import io
import json
import locale
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient

import spec
from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from mockserver.auth import SECRET_ENV, Authenticator
from mockserver.cli import main as tt_mock
from mockserver.dialect import POSTGRES, SQLITE
from mockserver.errors import Unauthorized
from mockserver.grading import Grade, grade
from mockserver.journal import FileJournal
from mockserver.testing import TTMirror, TTMockError, served
from mockserver.tu_mirror import create_mirror_app
from spec import lifecycle as lifecycle_module
from spec.catalogue import Catalogue
from spec.contract import Contract
from tests.support import SECRET, Api, auth, create_body, token

pytest_plugins = ["pytester"]

LIMIT = 4096


def body_of_exactly(size: int) -> bytes:
    """A valid create whose JSON is `size` bytes long (the dialog pads it)."""
    body = create_body(dialog="")
    bare = len(json.dumps(body).encode())
    body["dialog"] = "x" * (size - bare)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


@pytest.fixture
def limited() -> FlaskClient:
    return create_app(MockConfig(jwt_secret=SECRET, max_body_bytes=LIMIT)).test_client()


def post(client: FlaskClient, data: bytes, chunked: bool) -> int:
    headers = {**auth("TU-A"), "Content-Type": "application/json"}
    if not chunked:
        return client.post("/troubleTicket", data=data, headers=headers).status_code
    # No Content-Length: the body is read to its end, as a server hands over a chunked one.
    headers["Transfer-Encoding"] = "chunked"
    response = client.post(
        "/troubleTicket",
        input_stream=io.BytesIO(data),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    return response.status_code


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 201), (LIMIT + 1, 413)], ids=["at-the-limit", "one-over"])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not(
    limited: FlaskClient, size: int, status: int, chunked: bool
) -> None:
    assert post(limited, body_of_exactly(size), chunked) == status


@pytest.mark.parametrize(("offset", "status"), [(-0.5, 404), (0.0, 401), (0.5, 401)], ids=["before", "at", "after"])
def test_a_token_already_used_stops_working_at_exactly_its_exp(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, offset: float, status: int
) -> None:
    """RFC 7519: the time must be before `exp`. The first use verifies and remembers the token; later uses re-check."""
    issued = int(time.time())
    headers = {"Authorization": f"Bearer {token('TU-A', exp_seconds=60, now=issued)}"}
    assert client.get("/troubleTicket/RED-1", headers=headers).status_code == 404  # accepted: no such ticket
    monkeypatch.setattr("mockserver.auth.time.time", lambda: issued + 60 + offset)
    response = client.get("/troubleTicket/RED-1", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert "expired" in response.get_json()["illegalArgumentException"]


LIFECYCLE = lifecycle_module.load()
SIDE_SETS = [("TU",), ("TO",), ("TU", "TO")]


@pytest.mark.parametrize("sides", SIDE_SETS, ids=["+".join(s) for s in SIDE_SETS])
@pytest.mark.parametrize("target", LIFECYCLE.states)
@pytest.mark.parametrize("source", LIFECYCLE.states)
def test_a_route_for_some_sides_takes_only_their_edges(source: str, target: str, sides: tuple[str, ...]) -> None:
    """What the suite's clean-up and seeding walk: a route for the TU alone never asks the TO to move."""
    reachable = {source}
    frontier = [source]
    while frontier:  # the states these sides reach, from the file's edges
        state = frontier.pop()
        for edge in LIFECYCLE.transitions:
            if edge.source == state and edge.side in sides and edge.target not in reachable:
                reachable.add(edge.target)
                frontier.append(edge.target)
    if target not in reachable:
        with pytest.raises(ValueError, match="no chain of transitions"):
            LIFECYCLE.route(target, source, sides=sides)  # type: ignore[arg-type]
        return
    route = LIFECYCLE.route(target, source, sides=sides)  # type: ignore[arg-type]
    assert all(edge.side in sides for edge in route)
    assert [edge.source for edge in route[:1]] in ([], [source]) and (not route or route[-1].target == target)
    assert all(a.target == b.source for a, b in zip(route, route[1:], strict=False))


# -- what a browser, the pages and the control API are told --------------------------------------

ORIGIN = "http://localhost:5173"


def test_a_preflight_lists_each_method_of_the_api_once_with_options() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET, cors_origins=(ORIGIN,)))
    preflight = app.test_client().options(
        "/troubleTicket", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH"}
    )
    document = spec.load_openapi()
    methods = {m.upper() for item in document["paths"].values() for m in item if m in ("get", "post", "patch")}
    allowed = preflight.headers["Access-Control-Allow-Methods"].split(", ")
    assert allowed == sorted(methods | {"OPTIONS"})


def test_on_the_development_secret_the_pages_say_anyone_can_mint_a_token() -> None:
    auth_info = create_app(MockConfig()).test_client().get("/_mock/auth").get_json()
    assert auth_info["message"] == (
        "This mock signs and checks tokens with its development secret, so this page can mint one "
        "for any tenant (POST /_mock/token). Anyone who reaches the mock can do the same."
    )


@pytest.mark.parametrize(
    ("name", "sent_as"),
    [
        ("ONT trace 7.pcap", "ONT trace 7.pcap"),  # spaces kept
        ('report "v2".txt', "report _v2_.txt"),  # a quote would end the header's filename
        ("a\\b.txt", "a_b.txt"),
        ("façade.jpg", "fa_ade.jpg"),  # outside ASCII
        ("tab\there.txt", "tab_here.txt"),
    ],
)
def test_a_downloaded_attachment_is_named_in_printable_ascii(tu: Api, name: str, sent_as: str) -> None:
    attachment = {"content": "cGhvdG8=", "name": name, "mimeType": "text/plain"}
    ticket_id, _ = tu.open_ticket(attachments=[attachment])
    (stored,) = tu.client.get(f"/_mock/tickets/{ticket_id}").get_json()["history"][0]["attachments"]
    download = tu.client.get(f"/_mock/tickets/{ticket_id}/attachments/{stored['id']}")
    assert download.data == b"photo"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{sent_as}"'


def test_a_spec_without_info_reads_the_shipped_lifecycle(tmp_path: Path) -> None:
    document = {k: v for k, v in spec.load_openapi().items() if k != "info"}
    assert spec.lifecycle_path_of(document, tmp_path / "openapi.yaml") == spec.LIFECYCLE_PATH
    named = {**document, "info": {"x-lifecycle": "mine.yaml"}}
    assert spec.lifecycle_path_of(named, tmp_path / "openapi.yaml") == (tmp_path / "mine.yaml").resolve()


def test_a_worker_keeps_journaling_after_another_worker_rotated_the_file(tmp_path: Path) -> None:
    """Two workers share the journal file; the one that did not rotate it notices and writes to the new one."""
    path = str(tmp_path / "tickets.db.journal")
    first, second = FileJournal(path, 2), FileJournal(path, 2)  # room for 2 entries: rotates past 32 KiB
    second.record({"n": "second-0"})
    padding = "x" * 1200
    for n in range(32):  # the 32nd write checks the size and rotates
        first.record({"n": f"first-{n}", "pad": padding})
    assert os.path.exists(path + ".1")
    for n in range(1, 33):  # its 32nd write sees the file moved
        second.record({"n": f"second-{n}"})
    second.record({"n": "second-last"})
    assert [e["n"] for e in FileJournal(path, 2).newest()] == ["second-last", "second-32"]


# -- tt-mock serve's data folder -------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--data-dir", "--db"])
def test_a_data_folder_the_mock_makes_is_kept_out_of_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """A project that serves the mock into a new folder of its checkout never commits its tickets."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    folder = tmp_path / "build" / "mock"  # two levels the mock makes
    monkeypatch.setattr("mockserver.server.serve", lambda *args, **kwargs: None)  # everything but serving
    target = folder if option == "--data-dir" else folder / "tickets.db"
    assert tt_mock(["serve", option, str(target), "--port", "1"]) == 0, capsys.readouterr().err
    assert (folder / "tickets.db").exists()
    untracked = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path, capture_output=True, text=True
    )
    assert untracked.stdout == ""


def test_a_data_folder_that_exists_is_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The project's own folder: its files stay the project's to commit."""
    monkeypatch.setattr("mockserver.server.serve", lambda *args, **kwargs: None)
    assert tt_mock(["serve", "--data-dir", str(tmp_path), "--port", "1"]) == 0, capsys.readouterr().err
    assert not (tmp_path / ".gitignore").exists()


# -- tt-mock report's text ---------------------------------------------------------------------------


def report_text(client: FlaskClient, parts: MockParts) -> str:
    entries = client.get("/_mock/journal?order=oldest").get_json()["requests"]
    return grade(entries, parts.contract, Catalogue.build(parts.contract)).text()


@pytest.mark.parametrize("on_purpose", [0, 1])
@pytest.mark.parametrize("broken", [True, False], ids=["broken", "clean"])
def test_the_report_sets_each_section_apart_with_one_blank_line(
    client: FlaskClient, parts: MockParts, tu: Api, broken: bool, on_purpose: int
) -> None:
    """The verdict, each broken rule with at most 5 requests, then what was left out: blank lines
    between sections, none at the end, none between a clean verdict and what was left out."""
    _, key = tu.open_ticket()
    if broken:
        for _ in range(7):
            tu.create(create_body(dialog=None))
        for _ in range(5):
            tu.create(create_body(troubleType="T" * 36))
        tu.create(create_body(mirrorKey=key))  # once, with a note: its 201 had come back
    for _ in range(on_purpose):
        tu.client.post("/troubleTicket", json={}, headers={**tu.headers, "X-Mock-Expect-Refusal": "empty"})
    sections = [section.split("\n") for section in report_text(client, parts).split("\n\n")]
    assert all(line.strip() for section in sections for line in section)  # one blank line apart, none at the end
    rules = sections[1:4] if broken else []
    if broken:
        assert sections[0][0].startswith(f"the client broke the contract: 13 of {14 + on_purpose} requests")
        (dialog, *dialog_requests), (limit, *limit_requests), (repeat, *repeat_requests) = rules
        assert "create.dialog.required" in dialog and "create.troubleType.maxLength" in limit
        assert len(dialog_requests) == 6 and dialog_requests[-1].strip() == "... and 2 more"
        assert len(limit_requests) == 5 and "more" not in limit_requests[-1]  # exactly the limit: nothing left
        assert "ids.repeated-mirror-key" in repeat and len(repeat_requests) == 2  # the request, then its note
        assert repeat_requests[1].strip().startswith("note:") and "201" in repeat_requests[1]
    left_out = [line for section in sections for line in section if line.startswith("left out")]
    assert len(sections) == 1 + len(rules) + (1 if on_purpose and broken else 0)
    assert len(left_out) == on_purpose and all("1 refused on purpose" in line for line in left_out)
    if on_purpose and broken:
        assert sections[-1] == left_out  # a section of its own


# -- the file journal: when it checks its size, and the size it moves on at ---------------------------


def line_of(size: int, n: int) -> dict[str, str]:
    """An entry whose journal line, newline included, is `size` bytes."""
    entry = {"n": f"{n:04d}", "pad": ""}
    entry["pad"] = "x" * (size - 1 - len(json.dumps(entry)))
    return entry


def test_the_journal_looks_at_its_size_every_32nd_write_of_a_worker(tmp_path: Path) -> None:
    """Room for 1 entry (16 KiB): over it after 14 writes of 1,200 bytes, moved to `.1` at the 32nd."""
    path = tmp_path / "tickets.db.journal"
    journal = FileJournal(str(path), 1)
    for n in range(1, 32):
        journal.record(line_of(1200, n))
        assert not Path(f"{path}.1").exists(), f"moved on at write {n}"
    journal.record(line_of(1200, 32))
    assert Path(f"{path}.1").stat().st_size == 32 * 1200
    journal.record(line_of(1200, 33))  # the worker writes on to a new file
    assert path.stat().st_size == 1200 and [e["n"] for e in journal.newest()] == ["0033"]


@pytest.mark.parametrize(("last", "moved"), [(512, False), (513, True)], ids=["exactly-the-room", "one-byte-over"])
def test_the_journal_moves_on_only_once_over_its_room(tmp_path: Path, last: int, moved: bool) -> None:
    """Room for 1 entry is 16,384 bytes: 32 lines of 512 bytes fill it exactly and stay."""
    path = tmp_path / "tickets.db.journal"
    journal = FileJournal(str(path), 1)
    for n in range(1, 32):
        journal.record(line_of(512, n))
    journal.record(line_of(last, 32))
    moved_to = ["tickets.db.journal.1", "tickets.db.journal.lock"]  # the lock: workers move it one at a time
    assert sorted(os.listdir(tmp_path)) == (moved_to if moved else ["tickets.db.journal"])


@pytest.mark.parametrize(("size", "whole"), [(FileJournal.ENTRY_LIMIT - 1, True), (FileJournal.ENTRY_LIMIT, False)])
def test_an_entry_is_shortened_from_exactly_the_entry_limit(tmp_path: Path, size: int, whole: bool) -> None:
    """ENTRY_LIMIT counts the line with its newline: a line of ENTRY_LIMIT - 1 bytes is kept whole."""
    journal = FileJournal(str(tmp_path / "j.journal"), 10)
    entry = {"method": "POST", "path": "/troubleTicket", "body": "", "response": None}
    entry["body"] = "x" * (size - len(json.dumps(entry)))
    journal.record(entry)
    (kept,) = journal.newest()
    assert (kept == entry) is whole and ("too large" in kept["body"]) is not whole


def test_a_journal_of_size_0_writes_no_file(tmp_path: Path) -> None:
    """--journal-size 0: nothing is kept, so nothing grows on disk."""
    path = tmp_path / "tickets.db.journal"
    FileJournal(str(path), 0).record({"n": 1})
    assert not path.exists()


def test_a_journal_file_removed_under_a_worker_is_made_again(tmp_path: Path) -> None:
    """An operator deletes the file: the worker notices at its 32nd write and journals to a new one."""
    path = tmp_path / "tickets.db.journal"
    journal = FileJournal(str(path), 5)
    journal.record({"n": 1})
    path.unlink()
    for n in range(2, 33):
        journal.record({"n": n})
    assert not path.exists()  # the 32nd write went to the removed file, then the worker looked
    journal.record({"n": 33})
    assert [e["n"] for e in journal.newest()] == [33]


# -- the X-Mock-Warning header -------------------------------------------------------------------------

WARNED = "ignored unknown fields: "  # what the warning says before the field's name


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("a" * (300 - len(WARNED)), WARNED + "a" * (300 - len(WARNED))),  # exactly 300 characters: whole
        ("a" * (301 - len(WARNED)), WARNED + "a" * (297 - len(WARNED)) + "..."),  # one more: cut to 300
        ("~Tab\there!\x7f", WARNED + "~Tab?here!?"),  # printable ASCII is space to tilde
        ("façade 1", WARNED + "fa?ade 1"),
    ],
    ids=["300", "301", "printable", "non-ascii"],
)
def test_a_warning_header_is_printable_ascii_of_at_most_300_characters(tu: Api, name: str, header: str) -> None:
    response = tu.create(create_body(**{name: "x"}))
    assert response.status_code == 201
    assert response.headers.getlist("X-Mock-Warning") == [header]


# -- a scenario step that finds its ticket moved on or gone -----------------------------------------

CANCEL = "DEFERRED.AWAITING-CANCELATION"  # the shipped accept-cancellation step: after 1h, to CLOSED.CANCELED


@pytest.mark.parametrize("race", ["moved", "deleted"])
def test_a_step_whose_ticket_another_worker_changed_is_dropped_saying_why(
    client: FlaskClient,
    parts: MockParts,
    tu: Api,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    race: str,
) -> None:
    """A worker picks a due step; another worker's move (or reset) commits before it locks the
    ticket (PostgreSQL's READ COMMITTED shows it the change): the step is dropped with a note."""
    ticket_id, key = tu.ticket_in(CANCEL)
    update_within = parts.store.update_within

    def another_worker_commits_first(tx: Any, *args: Any, **kwargs: Any) -> Any:
        if race == "moved":
            tx.execute("UPDATE tickets SET state = ? WHERE mirror_key = ?", ("OPENACTIVE", key))
        else:
            tx.execute("DELETE FROM tickets WHERE mirror_key = ?", (key,))
        return update_within(tx, *args, **kwargs)

    monkeypatch.setattr(parts.store, "update_within", another_worker_commits_first)
    caplog.set_level(logging.INFO, logger="mockserver.schedule")
    answer = client.post("/_mock/clock", json={"advance": "2h"})
    assert answer.status_code == 200, answer.get_json()
    (step,) = answer.get_json()["fired"]
    assert (step["ticketId"], step["status"]) == (ticket_id, "dropped")
    assert step["dueAt"] < step["doneAt"] <= answer.get_json()["now"]  # same format: compared as text
    if race == "moved":  # names where the ticket is and where the step expected it
        assert "OPENACTIVE" in step["note"] and CANCEL in step["note"]
        assert client.get(f"/_mock/tickets/{ticket_id}").get_json()["baseTroubleTicketState"] == "OPENACTIVE"
    else:
        assert "gone" in step["note"]
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "mockserver.schedule"]
    assert str(step["id"]) in logged and step["note"] in logged


# -- the pytest kit: its mirror's errors, the TO side's threads, the plugin's options ------------------


def test_the_kits_mirror_names_the_request_it_was_refused() -> None:
    """A test asking the mirror for a ticket it never had fails saying which request got which answer."""
    with served(create_mirror_app(MockConfig(role="tu-mirror", jwt_secret=SECRET))) as url:
        with pytest.raises(TTMockError) as refused:
            TTMirror(url, secret=SECRET).ticket("NO-SUCH-KEY")
    assert "GET /_mock/tickets/NO-SUCH-KEY (404)" in str(refused.value)


def tt_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("tt-"))


def test_the_to_side_runs_two_named_daemon_threads_once_per_process() -> None:
    """What an operator sees in a thread dump of a worker (py-spy dump): the steps' and the callbacks'
    threads by name, daemons so that a worker can exit; a second start in the same process adds none."""
    to_side = create_app(MockConfig(jwt_secret=SECRET)).extensions["mockserver"].to_side
    before = tt_threads()
    to_side.start()
    to_side.start()
    try:
        started = [t for t in threading.enumerate() if t.name in ("tt-steps", "tt-callbacks")]
        assert tt_threads() == sorted([*before, "tt-callbacks", "tt-steps"])
        assert all(t.daemon for t in started)
    finally:
        to_side.stop()
    assert tt_threads() == before


def test_the_plugins_options_are_in_pytest_help(pytester: pytest.Pytester) -> None:
    """Under a heading of their own that names the fixtures; the ini option with what it is for."""
    lines = pytester.runpytest_inprocess("--help").stdout.lines
    (at,) = [n for n, line in enumerate(lines) if line.strip().startswith("--tt-mock-url=URL")]
    heading = next(line for line in reversed(lines[:at]) if line and not line.startswith(" "))
    assert "tt_mock" in heading and "trouble ticket mock" in heading.lower()
    assert "URL" in lines[at].split("URL", 1)[1]  # the help says what URL is
    (ini,) = [line for line in lines if line.strip().startswith("tt_mock_args (args):")]
    assert "tt-mock serve" in ini  # the options are tt-mock serve's


# -- CORS: what a browser of an allowed origin is told, and what others are not ------------------------

EXPOSED = {"X-Mock-Warning", "Retry-After", "WWW-Authenticate", "Allow"}  # what a page's script may read


def cors_client(*origins: str) -> FlaskClient:
    return create_app(MockConfig(jwt_secret=SECRET, cors_origins=origins)).test_client()


# GET of an item: the fast path; the spec: the Flask app. Both answer browsers the same.
CORS_PATHS = ["/troubleTicket/RED-9", "/openapi.json"]


@pytest.mark.parametrize("path", CORS_PATHS)
@pytest.mark.parametrize(
    ("origins", "allowed", "varies"),
    [((ORIGIN,), ORIGIN, True), (("*",), "*", False), (("http://other.example", ORIGIN), ORIGIN, True)],
    ids=["listed", "any", "one-of-two"],
)
def test_an_allowed_origin_is_answered_with_what_its_script_may_read(
    path: str, origins: tuple[str, ...], allowed: str, varies: bool
) -> None:
    """A listed origin is echoed (so the answer varies by Origin); '*' answers any origin alike."""
    answer = cors_client(*origins).get(path, headers={**auth("TU-A"), "Origin": ORIGIN})
    assert answer.headers.get("Access-Control-Allow-Origin") == allowed
    assert ("Origin" in answer.headers.getlist("Vary")) is varies
    assert set(answer.headers["Access-Control-Expose-Headers"].split(", ")) == EXPOSED
    assert "Access-Control-Allow-Methods" not in answer.headers  # not a preflight


@pytest.mark.parametrize("path", CORS_PATHS)
@pytest.mark.parametrize(
    ("origins", "sent"),
    [((ORIGIN,), {}), (("*",), {}), ((ORIGIN,), {"Origin": "http://evil.example"})],
    ids=["no-origin", "any-but-no-origin", "unlisted-origin"],
)
def test_no_origin_or_another_origin_gets_no_cors_headers(
    path: str, origins: tuple[str, ...], sent: dict[str, str]
) -> None:
    """A request without Origin is no browser's cross-origin call; an unlisted origin is not answered."""
    answer = cors_client(*origins).get(path, headers={**auth("TU-A"), **sent})
    assert answer.status_code in (200, 404)
    assert not [name for name in answer.headers.keys() if name.lower().startswith("access-control-")]
    assert "Origin" not in answer.headers.getlist("Vary")


@pytest.mark.parametrize("origins", [(ORIGIN,), ("*",)], ids=["listed", "any"])
def test_the_control_api_answers_no_other_origin(origins: tuple[str, ...]) -> None:
    """A page of another origin must not reset or seed the mock: /_mock has no CORS headers at all."""
    client = cors_client(*origins)
    for answer in (
        client.get("/_mock/tickets", headers={"Origin": ORIGIN}),
        client.options("/_mock/reset", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}),
    ):
        assert not [name for name in answer.headers.keys() if name.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "asks", "preflight"),
    [("OPTIONS", True, True), ("OPTIONS", False, False), ("GET", True, False)],
    ids=["preflight", "options-without-request-method", "get-with-request-method"],
)
def test_only_a_preflight_is_told_the_methods_headers_and_max_age(method: str, asks: bool, preflight: bool) -> None:
    """A preflight is an OPTIONS with Access-Control-Request-Method; nothing else gets its answers."""
    headers = {**auth("TU-A"), "Origin": ORIGIN}
    if asks:
        headers["Access-Control-Request-Method"] = "PATCH"
    answer = cors_client(ORIGIN).open("/troubleTicket/RED-9", method=method, headers=headers)
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    if not preflight:
        assert not {"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} & set(
            answer.headers.keys()
        )
        return
    assert "PATCH" in answer.headers["Access-Control-Allow-Methods"].split(", ")
    allowed = set(answer.headers["Access-Control-Allow-Headers"].split(", "))
    assert allowed == {"Authorization", "Content-Type", "X-Mock-Expect-Refusal"}
    assert answer.headers["Access-Control-Max-Age"] == "600"


# -- what the journal keeps ------------------------------------------------------------------------


def journal_paths(client: FlaskClient) -> list[str]:
    return [e["path"] for e in client.get("/_mock/journal?order=oldest").get_json()["requests"]]


def test_the_journal_keeps_the_api_and_the_transition_hook_not_the_spec_pages_or_control(
    client: FlaskClient, tu: Api
) -> None:
    """What a client sent and the TO's moves through the hook; not the spec, /docs or the rest of /_mock."""
    ticket_id, _ = tu.open_ticket()
    for path in ("/openapi.json", "/openapi.yaml", "/docs", "/_mock", "/_mock/tickets", f"/_mock/tickets/{ticket_id}"):
        client.get(path, headers=tu.headers).close()  # /docs is a file: closed, not left to the collector
    client.get(f"/_mock/troubleTicket/{ticket_id}", headers=tu.headers)  # under the hook's collection, not the hook
    client.post("/_mock/other/RED-1/transition", json={}, headers=tu.headers)  # a /transition elsewhere
    moved = tu.transition(ticket_id, {"baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION", "dialog": "ask"})
    assert moved.status_code == 200
    tu.get(ticket_id)
    assert journal_paths(client) == [
        "/troubleTicket",
        f"/_mock/troubleTicket/{ticket_id}/transition",
        f"/troubleTicket/{ticket_id}",
    ]


@pytest.mark.parametrize(("kind", "spec"), [("slow-body", {"ms": 1}), ("truncate", {"keep": 0.5})])
def test_an_answer_streamed_by_a_fault_is_journaled_with_what_it_carried(
    client: FlaskClient, tu: Api, kind: str, spec: dict[str, Any]
) -> None:
    """A slow or cut body changes the wire, not what the mock answered: the journal shows the ticket made."""
    assert client.post("/_mock/faults", json={"kind": kind, "times": 1, **spec}).status_code == 201
    answer = tu.create()
    assert answer.status_code == 201
    (entry,) = client.get("/_mock/journal").get_json()["requests"]
    (made,) = client.get("/_mock/tickets").get_json()["tickets"]
    assert entry["fault"]["kind"] == kind and entry["status"] == 201
    assert entry["response"] == {"ticketId": made["ticketId"], "mirrorKey": made["mirrorKey"]}
    assert entry["ticketId"] == made["ticketId"]


# -- tt-mock report's Markdown and JUnit -------------------------------------------------------------


def graded(client: FlaskClient, parts: MockParts) -> tuple[list[dict[str, Any]], Grade]:
    entries = client.get("/_mock/journal?order=oldest").get_json()["requests"]
    return entries, grade(entries, parts.contract, Catalogue.build(parts.contract))


def test_the_markdown_report_names_the_span_each_requests_tenant_and_a_shell_block(
    client: FlaskClient, parts: MockParts, tu: Api
) -> None:
    tu.open_ticket()
    tu.create(create_body(troubleType="T" * 36))
    tu.get("RED-1")
    entries, result = graded(client, parts)
    markdown = result.markdown()
    assert f"Requests from {entries[0]['at']} to {entries[-1]['at']}." in markdown.splitlines()
    (refused,) = [line for line in markdown.splitlines() if line.startswith("- `POST /troubleTicket`")]
    assert f" as TU-A, {entries[1]['at']}: **400**" in refused
    # The request to replay sits in a fenced block marked as shell, the body in one marked as JSON.
    assert "\n  ```sh\n  curl " in markdown and "\n  ```json\n  {" in markdown


def test_the_junit_report_puts_the_count_and_each_rule_under_a_class(
    client: FlaskClient, parts: MockParts, tu: Api
) -> None:
    """CI lists test cases by class: the count under `client`, each broken rule under its category."""
    tu.open_ticket()
    tu.create(create_body(troubleType="T" * 36))
    _, result = graded(client, parts)
    suite = ElementTree.fromstring(result.junit_xml())
    count, *rules = suite.iter("testcase")
    assert (count.get("classname"), count.get("name")) == ("client", "2 requests graded")
    assert [(case.get("classname"), case.get("name")) for case in rules] == [
        (findings[0].category, rule) for rule, findings in result.by_rule().items()
    ]


def test_on_a_secret_of_its_own_the_pages_say_where_to_mint_and_where_to_paste() -> None:
    """The page and a refused POST /_mock/token name the variable, the command, and /docs' Authorize button."""
    client = create_app(MockConfig(jwt_secret=SECRET)).test_client()
    shown = client.get("/_mock/auth").get_json()["message"]
    refused = client.post("/_mock/token", json={"sub": "TU-A"})
    assert refused.status_code == 403 and refused.get_json()["illegalArgumentException"] == shown
    for named in (f"${SECRET_ENV}", "python -m mockserver token --sub", "Authorize on /docs", "console"):
        assert named in shown


# -- the scenarios file: its durations as shown, its text in any locale ----------------------------------


def scenario_file(tmp_path: Path, after: str, dialog: str = "closed") -> Path:
    path = tmp_path / "scenarios.yaml"
    scenario = {"name": "close", "meaning": "m", "when": {"enters": "CLEARED"}, "after": after}
    scenario["then"] = {"to": "CLOSED", "dialog": dialog}
    path.write_text(json.dumps({"scenarios": [scenario]}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("after", "shown"), [("1d2h3m4s", "1d2h3m4s"), ("90m", "1h30m"), ("72h", "3d"), ("1h", "1h"), ("0.5s", "500ms")]
)
def test_a_scenarios_delay_is_listed_as_a_person_reads_it(tmp_path: Path, after: str, shown: str) -> None:
    app = create_app(MockConfig(jwt_secret=SECRET, scenario_path=scenario_file(tmp_path, after)))
    (listed,) = app.test_client().get("/_mock/scenarios").get_json()["scenarios"]
    assert listed["after"] == shown


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """A machine whose locale is not UTF-8 (LANG=C without coercion; Windows has cp1252)."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


@pytest.mark.skipif(sys.flags.utf8_mode, reason="in UTF-8 mode every file is read as UTF-8")
def test_a_scenarios_file_is_read_as_utf_8_whatever_the_locale(tmp_path: Path, ascii_locale: None) -> None:
    dialog = "revisión de la ONT: señal óptica restablecida"
    app = create_app(MockConfig(jwt_secret=SECRET, scenario_path=scenario_file(tmp_path, "1h", dialog)))
    (listed,) = app.test_client().get("/_mock/scenarios").get_json()["scenarios"]
    assert listed["then"]["dialog"] == dialog


@pytest.fixture
def clock_east_of_utc() -> Iterator[None]:
    """The machine's time zone 5 h 30 east of UTC (POSIX TZ: no zone data needed)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "IST-05:30"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_scenarios_now_is_utc_whatever_the_machines_time_zone(
    client: FlaskClient, tu: Api, clock_east_of_utc: None
) -> None:
    """serviceRestoredTime: now is the step's due time in UTC, as the Z says."""
    ticket_id, _ = tu.open_ticket(troubleType="FTTH_PROVISION_RANGED_NO_NAVEGA")  # resolve-no-navega: after 4h
    assert client.post("/_mock/clock", json={"advance": "5h"}).status_code == 200
    steps = client.get("/_mock/steps", query_string={"ticketId": ticket_id}).get_json()["steps"]
    (step,) = [s for s in steps if s["status"] == "fired"]  # then auto-close waits its 72h
    restored = tu.get(ticket_id).get_json()["serviceRestoredTime"]  # what the TU reads
    assert restored == step["dueAt"][:19] + "Z"


# -- callbacks that could not be sent, and the store's SQL ----------------------------------------------


@pytest.mark.parametrize("why", ["mirror-gone", "token-unset"])
def test_a_callback_sent_without_a_token_is_journaled_with_no_authorization(
    client: FlaskClient, tu: Api, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    """No request left the mock: its journal entry shows no Authorization and says why."""
    monkeypatch.delenv("H5_UNSET_MIRROR_TOKEN", raising=False)
    mirror = {"url": "http://127.0.0.1:9"} | ({"tokenEnv": "H5_UNSET_MIRROR_TOKEN"} if why == "token-unset" else {})
    assert client.put("/_mock/mirrors/TU-A", json=mirror).status_code == 200
    ticket_id, key = tu.open_ticket()
    assert tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO").status_code == 200
    if why == "mirror-gone":
        client.post("/_mock/callbacks/deliver?timeout=5")  # tried once: no answer on port 9
        assert client.delete("/_mock/mirrors/TU-A").status_code == 200
        assert client.post("/_mock/clock", json={"advance": 60}).status_code == 200
    client.post("/_mock/callbacks/deliver?timeout=5")
    out = client.get("/_mock/journal?direction=out").get_json()["requests"][0]  # the newest
    assert out["headers"]["Authorization"] == "" and out["status"] is None
    assert ("TU-A" if why == "mirror-gone" else "$H5_UNSET_MIRROR_TOKEN") in out["callback"]["error"]


def test_sqlites_dialect_leaves_its_placeholders_and_percent_signs() -> None:
    """sqlite3 takes `?` and a literal `%` as written; only psycopg needs `%s` and `%%`."""
    statement = "SELECT ? || '%', 5 % 3"
    assert sqlite3.connect(":memory:").execute(SQLITE.sql(statement), ("x",)).fetchone() == ("x%", 2)
    assert POSTGRES.sql(statement) == "SELECT %s || '%%', 5 %% 3"


# -- what the mock's refusals name: a 401's rule, unknown keys, missing fields, shortened values -----


class _HouseAuthenticator(Authenticator):
    """An integrator's own authenticator: refuses a token it does not know, naming no rule."""

    def tenant(self, authorization: str | None) -> str:
        if authorization == "Bearer house-token":
            raise Unauthorized("the house token is revoked", token_sent=True)
        return super().tenant(authorization)


def test_a_401_naming_no_rule_is_journaled_under_the_401_fallback_rule() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET), authenticator=_HouseAuthenticator(SECRET))
    client = app.test_client()
    response = client.get("/troubleTicket/RED-1", headers={"Authorization": "Bearer house-token"})
    assert response.status_code == 401 and "revoked" in response.get_json()["illegalArgumentException"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    (entry,) = client.get("/_mock/journal").get_json()["requests"]
    assert entry["status"] == 401 and entry["rules"] == ["auth.malformed-token"]


@pytest.mark.parametrize(
    ("query", "named"),
    [({"colour": "red"}, "filter: colour"), ({"colour": "red", "size": "9"}, "filters: colour, size")],
    ids=["one", "two"],
)
def test_an_unknown_journal_filter_is_named_in_the_singular_or_the_plural(
    client: FlaskClient, query: dict[str, str], named: str
) -> None:
    response = client.get("/_mock/journal", query_string=query)
    assert response.status_code == 400
    assert f"unknown {named} (known: " in response.get_json()["illegalArgumentException"]


def _refusal(client: FlaskClient, **fields: Any) -> str:
    response = client.post("/troubleTicket", json=create_body(**fields), headers=auth("TU-A"))
    assert response.status_code == 400
    return response.get_json()["illegalArgumentException"]


def test_an_enum_refusal_lists_each_allowed_value_as_it_is_sent(client: FlaskClient) -> None:
    allowed = Contract.load().create.properties["wh1Parameter"]["enum"]
    message = _refusal(client, wh1Parameter="neither")
    listed = re.search(r"wh1Parameter: must be one of (.*?); got", message)
    assert listed and listed.group(1).split(", ") == allowed, message


@pytest.mark.parametrize(("length", "whole"), [(38, True), (39, False)], ids=["at-the-limit", "one-over"])
def test_a_refused_value_is_shown_whole_up_to_40_characters_of_json(
    client: FlaskClient, length: int, whole: bool
) -> None:
    """The date-time's JSON text, quotes included: 40 characters shown as they are, 41 cut to 37 and '...'."""
    value = "x" * length
    message = _refusal(client, troubleDetectionTime=value)
    shown = json.dumps(value) if whole else json.dumps(value)[:37] + "..."
    assert re.search(rf"troubleDetectionTime: .*; got {re.escape(shown)}(;|$)", message), message
