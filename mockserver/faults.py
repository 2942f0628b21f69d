"""Fault injection: a slow, failing or vanishing provider, on the requests a test chooses.

A fault picks requests by method, path and tenant, and takes the next N of them (`times`) or each
with a probability (`probability`, `seed`: the n-th matching request's fate is the same on every
run and in every worker). Its kinds:

    latency    wait `ms` (or a random time in [lo, hi]) before handling the request, or after
    error      answer `status` (500 or 503...) with the contract's remoteException body, and an
               optional Retry-After; `stage: after` does the work first (the ticket is made)
    drop       close the connection with no answer at all; `stage: after` does the work first
    truncate   send the headers and part of the body (`keep`, a fraction), then close
    slow-body  send the answer in pieces over `ms`

Faults live in the store, so every worker shares them and their counters. Each injected fault is
marked in the journal entry of its request (`fault`), and grading a client leaves it out.
"""

from __future__ import annotations

import random
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from mockserver.auth import Authenticator
from mockserver.bodies import parse_json
from mockserver.datafiles import read_yaml
from mockserver.errors import ApiError, IllegalArgument, Unauthorized
from mockserver.filters import PathPattern, check_known
from mockserver.responses import json_response
from mockserver.store import FaultRow, TicketStore
from spec.contract import Contract

KINDS = ("latency", "error", "drop", "truncate", "slow-body")
STAGES = ("before", "after")
MATCHING = ("method", "path", "tenant")
WHEN = ("times", "probability", "seed")
PARAMETERS = {
    "latency": ("ms",),
    "error": ("status", "retryAfter", "message"),
    "drop": (),
    "truncate": ("keep",),
    "slow-body": ("ms",),
}
ANSWER_KINDS = ("truncate", "slow-body")  # they change an answer, so the request is handled first
MAX_MS = 300_000  # five minutes: longer is a hang, which no test wants by accident
DEFAULT_MESSAGE = "the provider is unavailable (a fault injected by the mock); retry later"
# An answer sent in pieces (truncate, slow-body) must reach the server as an iterable, not be
# joined into one bytes object first (mockserver.server.buffered reads this).
STREAM_ENVIRON = "mockserver.stream"
# After the first part of a truncated answer, time for the server to send it before the end.
TRUNCATE_FLUSH_SECONDS = 0.05


@dataclass(frozen=True)
class Fault:
    """One fault, checked: what it matches, when it fires and what it does."""

    kind: str
    stage: str
    methods: frozenset[str] | None
    path: PathPattern | None
    tenant: str | None
    times: int | None
    probability: float | None
    seed: int
    spec: dict[str, Any]  # as the control API lists it, defaults filled in

    @classmethod
    def parse(cls, data: Any, where: str = "") -> Fault:
        """A fault from the control API's JSON; IllegalArgument names what is wrong (prefixed by `where`)."""
        if not isinstance(data, dict):
            raise IllegalArgument(f'{where}a fault is a JSON object such as {{"kind": "error", "status": 503}}')
        kind = data.get("kind")
        if kind not in KINDS:
            raise IllegalArgument(f"{where}kind: one of {', '.join(KINDS)}; got {kind!r}")
        known = ("kind", *MATCHING, *WHEN, "stage", *PARAMETERS[kind])
        check_known(data, known, what=f"field for a {kind} fault", where=where)
        spec: dict[str, Any] = {"kind": kind}
        methods = None
        if data.get("method") is not None:
            text = _text(data["method"], f"{where}method")
            methods = frozenset(m.strip().upper() for m in text.split(",") if m.strip())
            spec["method"] = ",".join(sorted(methods))
        path = None
        if data.get("path") is not None:
            path = PathPattern.parse(_text(data["path"], f"{where}path"), f"{where}path")
            spec["path"] = path.text
        tenant = None
        if data.get("tenant") is not None:
            tenant = spec["tenant"] = _text(data["tenant"], f"{where}tenant")
        times = None
        if data.get("times") is not None:
            times = spec["times"] = _integer(data["times"], f"{where}times", 1, None)
        probability = None
        if data.get("probability") is not None:
            probability = data["probability"]
            if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 < probability <= 1:
                raise IllegalArgument(f"{where}probability: a number above 0 and at most 1; got {probability!r}")
            spec["probability"] = probability
        seed = data.get("seed")
        seed = spec["seed"] = _integer(seed, f"{where}seed", 0, None) if seed is not None else secrets.randbelow(2**31)
        stage = data.get("stage", "after" if kind in ANSWER_KINDS else "before")
        if stage not in STAGES:
            raise IllegalArgument(f"{where}stage: before (the request is not handled) or after (it is); got {stage!r}")
        if kind in ANSWER_KINDS and stage != "after":
            raise IllegalArgument(f"{where}stage: a {kind} fault changes the answer, so it comes after handling")
        spec["stage"] = stage
        if kind in ("latency", "slow-body"):
            if data.get("ms") is None:
                raise IllegalArgument(f"{where}ms: how long, in milliseconds (a number, or [lo, hi] for a random time)")
            spec["ms"] = _milliseconds(data["ms"], f"{where}ms")
        if kind == "error":
            spec["status"] = _integer(data.get("status", 503), f"{where}status", 500, 599)
            if data.get("retryAfter") is not None:
                spec["retryAfter"] = _integer(data["retryAfter"], f"{where}retryAfter", 0, 86_400)
            spec["message"] = _text(data.get("message", DEFAULT_MESSAGE), f"{where}message")
        if kind == "truncate":
            keep = data.get("keep", 0.5)
            if isinstance(keep, bool) or not isinstance(keep, int | float) or not 0 <= keep < 1:
                raise IllegalArgument(f"{where}keep: the fraction of the body sent, at least 0 and below 1")
            spec["keep"] = keep
        return cls(kind, stage, methods, path, tenant, times, probability, seed, spec)

    @property
    def needs_tenant(self) -> bool:
        return self.tenant is not None

    def matches(self, method: str, path: str, tenant: str | None, *, any_tenant: bool = False) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.path is not None and not self.path.matches(path):
            return False
        return any_tenant or self.tenant is None or self.tenant == tenant

    def fires(self, row: FaultRow, n: int) -> bool:
        """Whether the fault takes its n-th matching request."""
        if self.times is not None and row.hits >= self.times:
            return False
        return self.probability is None or random.Random(f"{self.seed}:{n}").random() < self.probability

    def active(self, row: FaultRow) -> bool:
        return self.times is None or row.hits < self.times

    def milliseconds(self, n: int) -> int:
        ms = self.spec["ms"]
        return random.Random(f"{self.seed}:{n}:ms").randint(ms[0], ms[1]) if isinstance(ms, list) else ms


def listing(row: FaultRow) -> dict[str, Any]:
    """A stored fault as the control API shows it: the fault, where it came from, its counters."""
    fault = Fault.parse(row.spec)
    times = fault.times
    return {
        "id": row.id,
        **row.spec,
        "origin": row.origin,
        "seen": row.seen,
        "hits": row.hits,
        "remaining": None if times is None else max(times - row.hits, 0),
        "active": fault.active(row),
        "createdAt": row.created_at,
    }


class FaultInjector:
    """Applies the stored faults to the API's requests, as Flask hooks."""

    def __init__(self, store: TicketStore, contract: Contract, authenticator: Authenticator, skip: tuple[str, ...]):
        self.store, self.contract, self.authenticator, self.skip = store, contract, authenticator, skip
        self._parsed: dict[tuple[int, str], Fault] = {}

    def fault(self, row: FaultRow) -> Fault:
        """The parsed fault of a stored row (parsed once: each request checks every fault)."""
        key = (row.id, row.created_at)
        if key not in self._parsed:
            if len(self._parsed) > 256:  # faults come and go with each test: forget the gone ones
                self._parsed.clear()
            self._parsed[key] = Fault.parse(row.spec)
        return self._parsed[key]

    def add(self, data: Any, origin: str = "api", where: str = "") -> dict[str, Any]:
        fault = Fault.parse(data, where)
        return listing(self.store.add_fault(fault.spec, origin))

    def load_file(self, path: str | Path) -> None:
        """Store the faults of a --faults file, once for all the workers that load it."""
        data = read_yaml(path)
        if isinstance(data, dict) and set(data) == {"faults"}:
            data = data["faults"]
        if not isinstance(data, list):
            raise ValueError(f"{path}: a faults file holds a list of faults (or faults: with one)")
        specs = []
        for index, item in enumerate(data):
            try:
                specs.append(Fault.parse(item, f"faults[{index}]: ").spec)
            except ApiError as error:
                raise ValueError(f"{path}: {error.render(self.contract)}") from None
        self.store.add_faults_once(specs, origin=f"file {Path(path).name}")

    def install(self, app: Flask) -> None:
        """Hook into `app`: register after the journal's hooks, so that its clock includes a delay
        and its entry sees the fault (Flask runs after_request hooks last registered first)."""
        app.before_request(self.before)
        app.after_request(self.after)

    # -- the hooks -----------------------------------------------------------------------------

    def before(self) -> Response | None:
        path = request.path
        if path.startswith(self.skip) or request.method == "OPTIONS":  # a browser's preflight is not the request
            return None
        rows = self.store.faults()
        if not rows:
            return None
        method = request.method
        candidates = [
            row
            for row in rows
            if self.fault(row).active(row) and self.fault(row).matches(method, path, None, any_tenant=True)
        ]
        if not candidates:
            return None
        tenant = self._tenant() if any(self.fault(row).needs_tenant for row in candidates) else None
        claimed = self.store.claim_fault(
            lambda row: self.fault(row).active(row) and self.fault(row).matches(method, path, tenant),
            lambda row, n: self.fault(row).fires(row, n),
        )
        if claimed is None:
            return None
        row, n = claimed
        fault = self.fault(row)
        g.fault = {"id": row.id, **fault.spec, "request": n}
        g.fault_object = (fault, n)
        if fault.stage == "after":
            return None
        if fault.kind == "latency":
            time.sleep(fault.milliseconds(n) / 1000)
            return None
        if fault.kind == "error":
            return self._error(fault)
        return json_response(None, 503)  # a drop: never sent (see after)

    def after(self, response: Response) -> Response:
        found = getattr(g, "fault_object", None)
        if found is None:
            return response
        fault, n = found
        if fault.stage == "after":
            g.fault["handled"] = {"status": response.status_code, "response": getattr(response, "payload", None)}
            if fault.kind == "latency":
                time.sleep(fault.milliseconds(n) / 1000)
            elif fault.kind == "error":
                return self._error(fault)
            elif fault.kind == "truncate":
                return self._streamed(response, truncated(response.get_data(), fault.spec["keep"]))
            elif fault.kind == "slow-body":
                return self._streamed(response, slowly(response.get_data(), fault.milliseconds(n)))
        if fault.kind == "drop":
            g.journal_overrides = {"status": None, "response": None}
            return dropped(request.environ)
        return response

    def _tenant(self) -> str | None:
        try:
            return self.authenticator.tenant(request.headers.get("Authorization"))
        except Unauthorized:
            return None

    def _error(self, fault: Fault) -> Response:
        headers = {"Retry-After": str(fault.spec["retryAfter"])} if "retryAfter" in fault.spec else None
        return json_response(
            {self.contract.errors.remote: fault.spec["message"]}, fault.spec["status"], headers=headers
        )

    def _streamed(self, response: Response, chunks: Callable[[dict[str, Any]], Iterator[bytes]]) -> Response:
        environ = request.environ
        environ[STREAM_ENVIRON] = True
        streamed = Response(chunks(environ), status=response.status_code, headers=list(response.headers.items()))
        streamed.headers["Content-Length"] = str(response.content_length or len(response.get_data()))
        streamed.payload = getattr(response, "payload", None)  # type: ignore[attr-defined]  # for the journal
        return streamed


# -- how an answer goes wrong on the wire ----------------------------------------------------


def _connection(environ: dict[str, Any]) -> socket.socket | None:
    """The client's socket, where the server shows it (Werkzeug's and gunicorn's do; granian's does not)."""
    return environ.get("werkzeug.socket") or environ.get("gunicorn.socket")


def _hang_up(environ: dict[str, Any]) -> None:
    sock = _connection(environ)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client went first


def dropped(environ: dict[str, Any]) -> Response:
    """An answer that never arrives: the connection closes with not a byte sent.

    Where the server shows the socket, it is shut down before anything is written. granian shows
    none, but its HTTP layer (hyper) refuses to write a response whose Content-Length comes after a
    Transfer-Encoding, and closes the connection instead; in the other order it drops the length
    and answers. tests/test_fault_injection.py holds this against the real server.
    """
    _hang_up(environ)
    response = Response(b"", status=200)
    del response.headers["Content-Length"]
    response.headers["Transfer-Encoding"] = "chunked"
    response.headers["Content-Length"] = "0"
    return response


def truncated(body: bytes, keep: float) -> Callable[[dict[str, Any]], Iterator[bytes]]:
    """The first `keep` of the body, then the end of the connection (the Content-Length says more)."""

    def chunks(environ: dict[str, Any]) -> Iterator[bytes]:
        yield body[: int(len(body) * keep)]
        time.sleep(TRUNCATE_FLUSH_SECONDS)
        _hang_up(environ)  # granian ends it itself: the body is shorter than its Content-Length

    return chunks


def slowly(body: bytes, ms: int, pieces: int = 10) -> Callable[[dict[str, Any]], Iterator[bytes]]:
    """The body in `pieces` over about `ms` milliseconds."""
    size = max(1, -(-len(body) // pieces))

    def chunks(environ: dict[str, Any]) -> Iterator[bytes]:
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for index, part in enumerate(parts):
            yield part
            if index < len(parts) - 1:
                time.sleep(ms / 1000 / (len(parts) - 1))

    return chunks


# -- the control API's routes ----------------------------------------------------------------


def add_fault_routes(control: Blueprint, injector: FaultInjector) -> None:
    """`/_mock/faults`: inject, list and clear faults (on the control blueprint, under its guards)."""

    @control.post("/faults")
    def add_fault() -> Response:
        check_known(request.args, ())
        return json_response(injector.add(parse_json(request.get_data(cache=False), what="the fault")), 201)

    @control.get("/faults")
    def list_faults() -> Response:
        check_known(request.args, ())
        return json_response({"faults": [listing(row) for row in injector.store.faults()]})

    @control.delete("/faults")
    def clear_faults() -> Response:
        check_known(request.args, ())
        return json_response({"deleted": injector.store.remove_faults()})

    @control.get("/faults/<int:fault_id>")
    def one_fault(fault_id: int) -> Response:
        for row in injector.store.faults():
            if row.id == fault_id:
                return json_response(listing(row))
        raise FaultNotFound(fault_id)

    @control.delete("/faults/<int:fault_id>")
    def clear_fault(fault_id: int) -> Response:
        if not injector.store.remove_faults(fault_id):
            raise FaultNotFound(fault_id)
        return json_response({"deleted": 1})


class FaultNotFound(ApiError):
    status = 404
    kind = "not_found"

    def __init__(self, fault_id: int) -> None:
        super().__init__(f"no fault {fault_id} (GET /_mock/faults lists them)")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IllegalArgument(f"{what}: a non-empty string; got {value!r}")
    return value


def _integer(value: Any, what: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise IllegalArgument(f"{what}: an integer {bounds}; got {value!r}")
    return value


def _milliseconds(value: Any, what: str) -> int | list[int]:
    if isinstance(value, list):
        if len(value) != 2:
            raise IllegalArgument(f"{what}: a number of milliseconds, or [lo, hi]")
        lo, hi = (_integer(v, what, 0, MAX_MS) for v in value)
        if lo > hi:
            raise IllegalArgument(f"{what}: [lo, hi] with lo at most hi; got {value!r}")
        return [lo, hi]
    return _integer(value, what, 0, MAX_MS)
