"""The request journal: what each client really sent, and what the mock answered."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Response
from flask.ctx import _AppCtxGlobals

from mockserver.store import now_iso

# A test that sends a refused request on purpose marks it with this header (any value, e.g. the
# reason): grading the client leaves such requests out.
EXPECT_REFUSAL_HEADER = "X-Mock-Expect-Refusal"
_EXPECT_REFUSAL_ENVIRON = "HTTP_" + EXPECT_REFUSAL_HEADER.upper().replace("-", "_")
BODY_LIMIT = 4096
# WSGI environ keys of the request headers worth showing (the token is shown shortened).
_RECORDED_HEADERS = {
    "CONTENT_TYPE": "Content-Type",
    "CONTENT_LENGTH": "Content-Length",
    "HTTP_ACCEPT": "Accept",
    "HTTP_USER_AGENT": "User-Agent",
}


def clock() -> str:
    """The current UTC time, RFC 3339 with microseconds: `since` filters need finer than milliseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _clip(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} characters in all)"


def _redacted(authorization: str, tenant: str | None) -> str:
    """Enough of the Authorization header to tell tokens apart, never the whole token."""
    scheme, _, token = authorization.partition(" ")
    shown = f"{scheme} {token[:10]}...{token[-6:]}" if len(token) > 24 else f"{scheme} <{len(token)} characters>"
    return f"{shown} (sub={tenant})" if tenant else shown


def entry_for(environ: dict[str, Any], path: str, state: _AppCtxGlobals, response: Response) -> dict[str, Any]:
    """A journal entry for one request (its WSGI environ, path and `g`) and its answer."""
    tenant = getattr(state, "tenant", None)
    headers = {name: environ[key] for key, name in _RECORDED_HEADERS.items() if environ.get(key)}
    if environ.get("HTTP_AUTHORIZATION"):
        headers["Authorization"] = _redacted(environ["HTTP_AUTHORIZATION"], tenant)
    body = getattr(state, "request_body", None)
    if isinstance(body, bytes):
        body = _clip(body.decode("utf-8", "replace"))
    elif isinstance(body, dict):
        body = {key: _clip(value) if isinstance(value, str) else value for key, value in body.items()}
    started = getattr(state, "started", None)
    entry = {
        "at": now_iso(),
        "receivedAt": getattr(state, "received_at", None),
        "clock": getattr(state, "mock_clock", None),  # the mock's time (mockserver.clock), which a test may advance
        "method": environ.get("REQUEST_METHOD"),
        "path": path,
        "query": environ.get("QUERY_STRING", ""),
        "tenant": tenant,
        "ticketId": getattr(state, "ticket_id", None),
        "headers": headers,
        "body": body,
        "status": response.status_code,
        # json_response keeps the payload it serialized, so the journal need not parse it back.
        "response": getattr(response, "payload", None),
        "durationMs": round((time.perf_counter() - started) * 1000, 3) if started else None,
        "warnings": getattr(state, "warnings", []),
        "rules": getattr(state, "rules", []),  # the contract rules a refusal is about (spec.catalogue ids)
        "fault": getattr(state, "fault", None),  # the fault the mock injected, if any
        "expectRefusal": environ.get(_EXPECT_REFUSAL_ENVIRON),
    }
    entry.update(getattr(state, "journal_overrides", {}))  # e.g. no status: a fault dropped the connection
    return entry


class MemoryJournal:
    """The journal of a one-process mock (`--db :memory:`)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(size, 1))
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        if self.size > 0:
            with self._lock:
                self._entries.append(entry)

    def newest(self, limit: int | None = None, tenant: str | None = None) -> list[dict[str, Any]]:
        """The newest entries, newest first."""
        with self._lock:
            entries = list(reversed(self._entries))
        return _select(entries, limit or self.size, tenant)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FileJournal:
    """A journal shared by every worker serving one store: JSON lines appended to a file.

    Each entry is one O_APPEND write, so workers never wait for each other (a SQLite insert
    here cost as much as the rest of a GET). When the file outgrows what `size` entries need,
    it moves to `<file>.1`; readers read both.
    """

    ENTRY_LIMIT = 16 * 1024  # bytes; an entry's body and answer are clipped to fit

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.rotate_at = max(size, 1) * self.ENTRY_LIMIT
        self._local = threading.local()

    def _fd(self) -> int:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            local.pid, local.writes = os.getpid(), 0
        return local.fd

    def record(self, entry: dict[str, Any]) -> None:
        if self.size <= 0:
            return
        line = json.dumps(entry).encode()
        if len(line) >= self.ENTRY_LIMIT:
            line = _fit(entry, self.ENTRY_LIMIT)
        fd = self._fd()
        os.write(fd, line + b"\n")
        self._local.writes += 1
        if self._local.writes % 32 == 0:
            self._maybe_rotate(fd)

    def _maybe_rotate(self, fd: int) -> None:
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is None or current.st_ino != os.fstat(fd).st_ino:
            self._reopen(fd)  # another worker rotated the file
        elif current.st_size > self.rotate_at:
            with self._exclusive():
                if os.stat(self.path).st_size > self.rotate_at:
                    os.replace(self.path, self.path + ".1")
            self._reopen(fd)

    def _reopen(self, fd: int) -> None:
        os.close(fd)
        self._local.pid = None

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def newest(self, limit: int | None = None, tenant: str | None = None) -> list[dict[str, Any]]:
        """The newest entries, newest first."""
        lines: list[bytes] = []
        for path in (self.path + ".1", self.path):
            try:
                with open(path, "rb") as handle:
                    lines += handle.read().splitlines()
            except FileNotFoundError:
                continue
        entries = []
        for line in reversed(lines[-self.size :] if self.size else []):
            try:
                entries.append(json.loads(line))
            except ValueError:  # a line cut by a crash mid-write
                continue
        return _select(entries, limit or self.size, tenant)

    def clear(self) -> None:
        with self._exclusive():
            for path in (self.path, self.path + ".1"):
                if os.path.exists(path):
                    os.truncate(path, 0)


def _fit(entry: dict[str, Any], limit: int) -> bytes:
    """The entry as one line under `limit` bytes, dropping its largest parts first."""
    note = "(left out: the entry was too large for the journal)"
    smaller = {**entry, "body": note, "response": note, "warnings": [note]}
    line = json.dumps(smaller).encode()
    if len(line) < limit:
        return line
    keep = ("at", "method", "status", "tenant", "durationMs")
    return json.dumps({**{k: entry.get(k) for k in keep}, "path": str(entry.get("path"))[:200], "note": note}).encode()


def _select(entries: list[dict[str, Any]], limit: int, tenant: str | None) -> list[dict[str, Any]]:
    if tenant:
        entries = [entry for entry in entries if entry.get("tenant") == tenant]
    return entries[:limit]


def open_journal(db: str, size: int) -> MemoryJournal | FileJournal:
    """The journal that goes with a store: in memory for `:memory:`, else a file beside it."""
    return MemoryJournal(size) if db == ":memory:" else FileJournal(db + ".journal", size)
