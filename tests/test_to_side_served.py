"""A ticket's whole scripted life on the real servers: the mock (`tt-mock serve --mirror ...`) and a
reference TU mirror (`tt-mock serve --role tu-mirror`), each with two workers.

Created, asked for information after a clock advance, answered by the TU, resolved, left without
an answer, auto-closed: every TO move arrives at the mirror, and a restart of the mock in the
middle loses no scheduled step. Then the background workers on their own: a hook move delivered
with nobody asking, and a step fired by a fast clock. About 12 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.testing import ServedMock, TTMirror, TTMock
from spec.mirror import MirrorContract

pytestmark = pytest.mark.server
MIRROR = MirrorContract.load()
NAMES = MIRROR.names


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[TTMirror]:
    with ServedMock(tmp_path / "mirror" / "mirror.db", "--role", "tu-mirror") as served:
        yield TTMirror(served.url)


def until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """The background workers' effect, as soon as it shows (they poll every quarter second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_a_whole_scripted_life_reaches_the_tu_mirror_across_a_restart(tmp_path: Path, mirror: TTMirror) -> None:
    db = tmp_path / "mock" / "tickets.db"
    options = ("--mirror", f"TU-A={mirror.url}")
    mock = ServedMock(db, *options).start()
    try:
        tt = TTMock(mock.url)
        scenarios = {s["name"]: s for s in tt.scenarios()}
        ask, resolve, close = (scenarios[n] for n in ("ask-for-information", "resolve-after-information", "auto-close"))
        key = "INFO-42"
        headers = tt.headers("TU-A")
        created = requests.post(
            f"{mock.url}/troubleTicket", json=tt.contract.example_create(key), headers=headers, timeout=10
        ).json()
        ticket_id = created[NAMES.ticket_id]
        mirror.open(key, ticket_id)  # the TU keeps its own ticket, which the TO reports on

        fired = tt.advance(ask["after"])
        assert [(f["scenario"], f["status"]) for f in fired] == [(ask["name"], "fired")]
        assert [c["status"] for c in tt.callbacks(ticket_id)] == ["delivered"]
        assert mirror.ticket(key)[NAMES.state] == ask["then"]["to"]

        # The TU answers: on the TO's API, and on its own ticket.
        answer = tt.contract.example_update(
            ticket_id, key, ask["when"]["enters"], dialog="serial ALCL0001, photo attached"
        )
        answer.pop(NAMES.attachments)
        assert requests.patch(f"{mock.url}/troubleTicket/{ticket_id}", json=answer, headers=headers, timeout=10).ok
        mirror.move(key, ask["when"]["enters"], dialog="serial sent")
        (pending,) = tt.steps(ticket_id, status="pending")
        assert pending["scenario"] == resolve["name"]
    finally:
        mock.stop()

    mock = ServedMock(db, *options).start()  # the scheduled resolution lives in the store
    try:
        tt = TTMock(mock.url)
        assert [s["scenario"] for s in tt.steps(ticket_id, status="pending")] == [resolve["name"]]
        assert [f["scenario"] for f in tt.advance(resolve["after"])] == [resolve["name"]]
        assert [f["scenario"] for f in tt.advance(close["after"])] == [close["name"]]  # the TU stayed silent
        sent = tt.callbacks(ticket_id)
        assert [(c["move"]["to"], c["status"], len(c["attempts"])) for c in sent] == [
            (ask["then"]["to"], "delivered", 1),
            (resolve["then"]["to"], "delivered", 1),
            (close["then"]["to"], "delivered", 1),
        ]
    finally:
        mock.stop()

    to_moves = [(e["to"], e["dialog"]) for e in mirror.history(key) if e["side"] == "TO"]
    assert to_moves == [(s["then"]["to"], s["then"]["dialog"]) for s in (ask, resolve, close)]
    assert mirror.ticket(key)[NAMES.state] == close["then"]["to"]
    cleared = next(e for e in mirror.history(key) if e["to"] == resolve["then"]["to"])
    assert {name: cleared["changes"][name] for name in ("closeOutType", "closeOutNarr")} == {
        name: resolve["then"]["fields"][name] for name in ("closeOutType", "closeOutNarr")
    }
    assert [r.status for r in mirror.requests(method="PATCH")] == [200, 200, 200]


def test_the_workers_deliver_and_fire_on_their_own(tmp_path: Path, mirror: TTMirror) -> None:
    """No test asks: a hook move reaches the mirror, and a fast clock fires a step by itself."""
    scale = 7200  # two hours a second
    mock = ServedMock(tmp_path / "mock" / "tickets.db", "--mirror", f"TU-A={mirror.url}", "--time-scale", str(scale))
    with mock:
        tt = TTMock(mock.url)
        ask = next(s for s in tt.scenarios() if s["name"] == "ask-for-information")
        ticket = tt.seed("TU-A", fields={NAMES.mirror_key: "PLAIN-1"})
        mirror.open("PLAIN-1", ticket[NAMES.ticket_id])
        tt.play_to(ticket[NAMES.ticket_id], "CLEARED")
        until(lambda: mirror.ticket("PLAIN-1")[NAMES.state] == "CLEARED", "the hook move's callback")

        created = tt.seed("TU-A", fields={NAMES.mirror_key: "INFO-7"})  # seeded: scenarios start from now
        mirror.open("INFO-7", created[NAMES.ticket_id])
        until(lambda: mirror.ticket("INFO-7")[NAMES.state] == ask["then"]["to"], "the scenario step and its callback")
        assert tt.clock()["scale"] == scale
