"""The mock inside a TU's own tests: serving it, and a client of its control API.

`TTMock` is what the pytest plugin's fixtures give a test (see mockserver.pytest_plugin); any test
runner can use it the same way:

    with ServedMock(tmp_dir).start() as served:       # the real server, on a free port
        mock = TTMock(served.url)
        ticket = mock.seed("TU-A", state="CLEARED")     # a ticket in any state
        my_client = MyClient(mock.url, mock.token("TU-A"))
        ...
        mock.assert_no_violations()                     # nothing the provider would refuse

`served(app)` serves an app built in this process on a thread instead: faster to start, and the
mock's code runs where a debugger can stop in it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests as http
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from mockserver.auth import mint_token, resolve_secret
from mockserver.control import PREFIX
from mockserver.grading import Grade, grade
from mockserver.journal import EXPECT_REFUSAL_HEADER
from spec.catalogue import Catalogue
from spec.contract import Contract
from spec.mirror import MirrorContract

START_TIMEOUT = 30  # seconds for a served mock to answer its first request


# -- serving -----------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log(self, *args: object) -> None:  # a test suite sends thousands of requests
        pass


def _quiet_about_dropped_connections(request: object, address: object) -> None:
    """A connection a client (or a fault) dropped is no news; anything else is printed."""
    error = sys.exc_info()[1]
    if not isinstance(error, OSError):
        traceback.print_exc()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (threaded, as a real provider is) and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    server.handle_error = _quiet_about_dropped_connections  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedMock:
    """The mock served by `python -m mockserver serve` in a subprocess, on a free loopback port.

    `db` is the store file (its journal and locks go beside it); `extra` are more serve options.
    """

    def __init__(self, db: Path, *extra: str, workers: int = 2, threads: int | None = None) -> None:
        self.db, self.extra, self.workers, self.threads = Path(db), extra, workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.db.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServedMock:
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(self.port), "--db", str(self.db)]
        command += ["--workers", str(self.workers)]
        if self.threads:
            command += ["--threads", str(self.threads)]
        command += list(self.extra)
        self.db.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the mock exited: {self.log.read_text()}")
            try:
                if http.get(f"{self.url}{PREFIX}/health", timeout=1).ok:
                    return self
            except http.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the mock did not answer within {START_TIMEOUT} s: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> ServedMock:
        return self if self.process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]


# -- what a test sees of the mock ------------------------------------------------------------------


class TTMockError(AssertionError):
    """The mock refused a request of the test itself (a seed, a TO move, a fault): its message says why."""


@dataclass(frozen=True)
class Exchange:
    """One request the client sent and the answer it got, as the mock's journal keeps them."""

    entry: dict[str, Any]

    method: str = ""
    path: str = ""
    tenant: str | None = None
    ticket_id: str | None = None
    status: int | None = None  # None: a fault dropped the connection
    response: Any = None
    rules: tuple[str, ...] = ()
    fault: dict[str, Any] | None = None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Exchange:
        return cls(
            entry,
            method=entry.get("method") or "",
            path=entry.get("path") or "",
            tenant=entry.get("tenant"),
            ticket_id=entry.get("ticketId"),
            status=entry.get("status"),
            response=entry.get("response"),
            rules=tuple(entry.get("rules") or ()),
            fault=entry.get("fault"),
        )

    @property
    def headers(self) -> dict[str, str]:
        """The request headers the journal keeps (the token shortened)."""
        return dict(self.entry.get("headers") or {})

    @property
    def body(self) -> Any:
        """The body as the journal keeps it: JSON text, or {multipart: [part names], data: text}."""
        return self.entry.get("body")

    @property
    def parts(self) -> list[str] | None:
        """The multipart part names (each once, as the journal keeps them), or None for a JSON body."""
        body = self.body
        return list(body["multipart"]) if isinstance(body, dict) and "multipart" in body else None

    @property
    def json(self) -> Any:
        """The JSON the client sent (a multipart body's JSON part), parsed."""
        body = self.body
        if isinstance(body, dict):
            (text,) = [value for key, value in body.items() if key != "multipart" and isinstance(value, str)]
        else:
            text = body
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(
                f"the journal's copy of this body is not JSON (it keeps the first part of a large body): {text[:80]!r}"
            ) from None

    @property
    def warnings(self) -> list[str]:
        return list(self.entry.get("warnings") or ())

    @property
    def refused(self) -> bool:
        return isinstance(self.status, int) and 400 <= self.status < 500

    def __repr__(self) -> str:
        return f"<Exchange {self.method} {self.path} -> {self.status}>"


class Fault(dict[str, Any]):
    """An injected fault, as the mock lists it; as a context manager it is cleared on leaving."""

    def __init__(self, mock: TTMock, listed: dict[str, Any]) -> None:
        super().__init__(listed)
        self._mock = mock

    @property
    def id(self) -> int:
        return int(self["id"])

    def refresh(self) -> Fault:
        """The fault with its counters now (seen, hits, remaining)."""
        self.update(self._mock._call("GET", f"/faults/{self.id}"))
        return self

    def clear(self) -> None:
        self._mock._call("DELETE", f"/faults/{self.id}", ok=(200, 404))

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()


class TTMock:
    """A served mock, seen from a test: tokens, seeding, the TO's moves, faults, what the client sent."""

    EXPECT_REFUSAL = EXPECT_REFUSAL_HEADER

    def __init__(self, url: str, *, secret: str | None = None, contract: Contract | None = None) -> None:
        self.url = url.rstrip("/")
        self.secret = resolve_secret(secret)
        self.contract = contract or Contract.load()
        self.since: str | None = None  # where this test's requests start in the journal
        self._http = http.Session()
        self._catalogue: Catalogue | None = None

    def __repr__(self) -> str:
        return f"<TTMock {self.url}>"

    # -- tokens ---------------------------------------------------------------------------------

    def token(self, tenant: str = "TU-A", *, exp_seconds: int | None = None) -> str:
        """A bearer token the mock accepts for `tenant` (the JWT's sub)."""
        return mint_token(tenant, secret=self.secret, exp_seconds=exp_seconds)

    def headers(self, tenant: str = "TU-A", *, expect_refusal: str | None = None) -> dict[str, str]:
        """Authorization for `tenant`, and the header that marks a request refused on purpose."""
        headers = {"Authorization": f"Bearer {self.token(tenant)}"}
        if expect_refusal:
            headers[EXPECT_REFUSAL_HEADER] = expect_refusal
        return headers

    # -- a fresh start --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every ticket and fault (the start-up seeds come back), put the clock back on the wall
        clock and the mirrors back to the start-up ones, and start this test's requests. The journal is
        kept, so that `tt-mock report` can grade a whole session."""
        self._call("DELETE", "/tickets")
        self._call("DELETE", "/faults")
        self._call("POST", "/clock", json={"reset": True})
        self._call("DELETE", "/mirrors")
        self.mark()

    def mark(self) -> str:
        """From now on, `requests()` and `assert_no_violations()` see only what comes next."""
        self.since = self._call("GET", "/health")["now"]
        return self.since

    # -- tickets --------------------------------------------------------------------------------

    def seed(
        self,
        tenant: str = "TU-A",
        *,
        state: str | None = None,
        fields: dict[str, Any] | None = None,
        history: list[dict[str, Any]] | None = None,
        ticket_id: str | None = None,
        created_at: str | None = None,
    ) -> dict[str, Any]:
        """A ticket of `tenant`'s in any state, with any fields and history (checked by the contract).
        Without a history, the lifecycle's shortest route to `state` is taken."""
        body: dict[str, Any] = {"tenant": tenant}
        for key, value in (
            ("state", state),
            ("fields", fields),
            ("history", history),
            ("ticketId", ticket_id),
            ("createdAt", created_at),
        ):
            if value is not None:
                body[key] = value
        return self._call("POST", "/tickets", json=body, ok=(201,))

    def play_to(
        self, ticket_id: str, state: str, *, tenant: str = "TU-A", dialog: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The TO moves a ticket (asks for information, resolves it, accepts a cancellation...).
        Fields a move needs (CLEARED's close-out fields) are filled in unless given."""
        body = {**self.contract.entry_fields(state), **fields}
        body[self.contract.names.state] = state
        body[self.contract.names.dialog] = dialog or f"the TO moves the ticket to {state}"
        path = self.contract.ticket_path(ticket_id) + "/transition"
        return self._call("POST", path, json=body, headers=self.headers(tenant))

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        """One ticket with its whole history, as the mock holds it."""
        return self._call("GET", f"/tickets/{ticket_id}")

    def history(self, ticket_id: str) -> list[dict[str, Any]]:
        """A ticket's events, oldest first: each move's side, states, dialog, changes and attachments."""
        return list(self.ticket(ticket_id)["history"])

    def tickets(self, tenant: str | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/tickets", params={"tenant": tenant} if tenant else None)["tickets"])

    def attachment(self, ticket_id: str, attachment_id: int) -> bytes:
        """The bytes of one stored attachment (its id is in the history)."""
        answer = self._http.get(f"{self.url}{PREFIX}/tickets/{ticket_id}/attachments/{attachment_id}", timeout=30)
        if answer.status_code != 200:
            raise TTMockError(f"no attachment {attachment_id} on {ticket_id}: {answer.text}")
        return answer.content

    # -- the TO's own moves: the clock and the scenarios -------------------------------------------

    def clock(self) -> dict[str, Any]:
        """The mock's time (`now`), its scale, and how far it is ahead of the wall clock."""
        return dict(self._call("GET", "/clock"))

    def advance(self, duration: str | float) -> list[dict[str, Any]]:
        """Move the mock's clock forward (`"72h"`, `"10m"`, or seconds) instead of sleeping; return the
        scenario steps that fired (or were dropped) on the way, oldest first."""
        return list(self._call("POST", "/clock", json={"advance": duration})["fired"])

    def set_time_scale(self, scale: float) -> dict[str, Any]:
        """Run the mock's clock `scale` times faster than the wall clock from now on."""
        return dict(self._call("POST", "/clock", json={"scale": scale}))

    def scenarios(self) -> list[dict[str, Any]]:
        """The scenarios the mock's TO follows (--scenario), as it read them."""
        return list(self._call("GET", "/scenarios")["scenarios"])

    def steps(self, ticket_id: str | None = None, *, status: str | None = None) -> list[dict[str, Any]]:
        """Scenario steps (pending, fired, dropped, refused), oldest first, of one ticket or all."""
        params = {key: value for key, value in (("ticketId", ticket_id), ("status", status)) if value}
        return list(reversed(self._call("GET", "/steps", params=params)["steps"]))

    # -- callbacks to the TUs' mirrors ----------------------------------------------------------

    def set_mirror(
        self, tenant: str, url: str, *, token: str | None = None, token_env: str | None = None
    ) -> dict[str, Any]:
        """Deliver `tenant`'s TO moves to its mirror at `url`, with this bearer token (or the one in the
        mock's environment variable `token_env`; neither: one the mock mints)."""
        body: dict[str, Any] = {"url": url}
        if token is not None:
            body["token"] = token
        if token_env is not None:
            body["tokenEnv"] = token_env
        return dict(self._call("PUT", f"/mirrors/{tenant}", json=body))

    def mirrors(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/mirrors")["mirrors"])

    def deliver_callbacks(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Send every due callback now and wait for those in flight; return the attempts made."""
        return list(self._call("POST", "/callbacks/deliver", params={"timeout": timeout})["attempts"])

    def callbacks(
        self, ticket_id: str | None = None, *, status: str | None = None, deliver: bool = True
    ) -> list[dict[str, Any]]:
        """The callbacks to mirrors, oldest first, each with its attempts and the mirror's answers; the
        due ones are sent first (`deliver=False` to see them as they are)."""
        if deliver:
            self.deliver_callbacks()
        params = {key: value for key, value in (("ticketId", ticket_id), ("status", status)) if value}
        return list(reversed(self._call("GET", "/callbacks", params=params)["callbacks"]))

    # -- faults ---------------------------------------------------------------------------------

    def fault(self, kind: str, **spec: Any) -> Fault:
        """Inject a fault (see mockserver.faults): `tt_mock.fault("error", status=503, times=2, method="POST")`.
        Python names work for the JSON ones: retry_after for retryAfter."""
        body = {"kind": kind, **{_camel(key): value for key, value in spec.items()}}
        return Fault(self, self._call("POST", "/faults", json=body, ok=(201,)))

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- what the client sent -------------------------------------------------------------------

    def requests(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | str | None = None,
        tenant: str | None = None,
        ticket_id: str | None = None,
        since: str | None = None,
    ) -> list[Exchange]:
        """This test's requests (since the fixture's reset), oldest first, filtered as the journal does:
        `path` may be a spec template (/troubleTicket/{ticketId}) or a glob; `status` a class (4xx)."""
        return [Exchange.of(entry) for entry in self._journal(method, path, status, tenant, ticket_id, since)]

    def grade(self, since: str | None = None) -> Grade:
        """A grade of what the client sent in this test (see `tt-mock report`)."""
        answer = self._call("GET", "/journal", params=self._query(since=since))
        if self._catalogue is None:
            self._catalogue = Catalogue.build(self.contract)
        return grade(answer["requests"], self.contract, self._catalogue, capacity=answer.get("capacity"))

    def assert_no_violations(self) -> None:
        """Fail with every request of this test that the provider would refuse, rule by rule
        (requests sent with the X-Mock-Expect-Refusal header and faults injected are left out)."""
        result = self.grade()
        if result.broke_contract:
            raise AssertionError(result.text())

    def _journal(self, method: Any, path: Any, status: Any, tenant: Any, ticket_id: Any, since: Any) -> list[Any]:
        params = self._query(method=method, path=path, status=status, tenant=tenant, ticketId=ticket_id, since=since)
        params["direction"] = "in"  # what the client sent; the mock's callbacks are callbacks()
        return list(self._call("GET", "/journal", params=params)["requests"])

    def _query(self, **filters: Any) -> dict[str, str]:
        params = {key: str(value) for key, value in filters.items() if value is not None}
        if "since" not in params and self.since:
            params["since"] = self.since
        params["order"] = "oldest"
        return params

    # -- the control API ------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        url = f"{self.url}{PREFIX}{path}"
        try:
            answer = self._http.request(method, url, timeout=30, **kwargs)
        except http.RequestException as error:
            raise TTMockError(f"the mock at {self.url} did not answer {method} {path}: {error}") from None
        if answer.status_code not in ok:
            try:
                detail = next(iter(answer.json().values()))
            except (ValueError, StopIteration, AttributeError):
                detail = answer.text[:300]
            raise TTMockError(f"the mock refused {method} {PREFIX}{path} ({answer.status_code}): {detail}")
        return answer.json() if answer.content else None


class TTMirror:
    """A reference TU mirror (`tt-mock serve --role tu-mirror`), seen from a test: the TU's side of its
    tickets through its control API, and what the TO reported on them."""

    def __init__(self, url: str, *, secret: str | None = None, contract: MirrorContract | None = None) -> None:
        self.url = url.rstrip("/")
        self.secret = resolve_secret(secret)
        self.contract = contract or MirrorContract.load()
        self._http = http.Session()

    def __repr__(self) -> str:
        return f"<TTMirror {self.url}>"

    def token(self, caller: str = "TO") -> str:
        """A bearer token the mirror accepts, for a TO calling it."""
        return mint_token(caller, secret=self.secret)

    def reset(self) -> None:
        """Forget every mirror ticket and the journal."""
        self._call("POST", "/reset")

    def open(self, mirror_key: str, ticket_id: str, **fields: Any) -> dict[str, Any]:
        """A ticket the TU opened (on the TO, which gave it `ticket_id`), as GET shows it."""
        names = self.contract.names
        body = {names.mirror_key: mirror_key, names.ticket_id: ticket_id, **fields}
        return dict(self._call("POST", self.contract.item_path.rsplit("/", 1)[0], json=body, ok=(201,)))

    def move(self, mirror_key: str, state: str, *, dialog: str | None = None, **fields: Any) -> dict[str, Any]:
        """The TU's own move on its ticket (it asks to cancel, it answers a request for information...)."""
        names = self.contract.names
        body = {names.state: state, names.dialog: dialog or f"the TU moves its ticket to {state}", **fields}
        return dict(self._call("POST", self.contract.ticket_path(mirror_key) + "/transition", json=body))

    def ticket(self, mirror_key: str) -> dict[str, Any]:
        """One mirror ticket with its history: each event's side, states, dialog and fields."""
        return dict(self._call("GET", f"/tickets/{mirror_key}"))

    def history(self, mirror_key: str) -> list[dict[str, Any]]:
        return list(self.ticket(mirror_key)["history"])

    def tickets(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/tickets")["tickets"])

    def requests(self, **filters: Any) -> list[Exchange]:
        """What the mirror received, oldest first (the journal's filters: method=, path=, status=...)."""
        params = {key: str(value) for key, value in filters.items() if value is not None}
        return [
            Exchange.of(entry)
            for entry in self._call("GET", "/journal", params={**params, "order": "oldest"})["requests"]
        ]

    def fault(self, kind: str, **spec: Any) -> Fault:
        """Inject a fault into the mirror's answers (as TTMock.fault), to test how a TO retries."""
        body = {"kind": kind, **{_camel(key): value for key, value in spec.items()}}
        return Fault(self, self._call("POST", "/faults", json=body, ok=(201,)))  # type: ignore[arg-type]

    _call = TTMock._call


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
