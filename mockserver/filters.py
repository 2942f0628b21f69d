"""Filters of the control API: which journal entries a query selects, which requests a fault hits.

Every filter is checked when it is read: an unknown filter or a value that cannot mean anything
is a 400 naming it, never silently ignored (a typo would otherwise select everything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver.errors import IllegalArgument


@dataclass(frozen=True)
class PathPattern:
    """A request path to match: exact (`/troubleTicket/RED-1`), a spec template
    (`/troubleTicket/{ticketId}`: any one segment) or a glob (`/troubleTicket/*`: anything)."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str, what: str = "path") -> PathPattern:
        if not text.startswith("/"):
            raise IllegalArgument(f"{what}: a path starts with '/', not {text!r}")
        parts = re.split(r"(\{[^}/]*\}|\*)", text)
        pattern = "".join(
            "[^/]+" if part.startswith("{") else ".*" if part == "*" else re.escape(part) for part in parts
        )
        return cls(text, re.compile(pattern))

    def matches(self, path: str) -> bool:
        return self.regex.fullmatch(path) is not None


@dataclass(frozen=True)
class StatusMatch:
    """`404`, or a class such as `4xx`."""

    text: str

    @classmethod
    def parse(cls, text: str) -> StatusMatch:
        text = text.strip().lower()
        if not re.fullmatch(r"[1-5](?:[0-9]{2}|xx)", text):
            raise IllegalArgument(f"status: {text!r} is neither a status code such as 404 nor a class such as 4xx")
        return cls(text)

    def matches(self, status: Any) -> bool:
        if not isinstance(status, int):
            return False  # a dropped connection has no status
        return str(status)[0] == self.text[0] if self.text.endswith("xx") else str(status) == self.text


def parse_time(text: str, what: str) -> datetime:
    """An RFC 3339 date-time with its offset (`2025-01-15T10:30:00.123456Z`)."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "+"))  # a '+' unescaped in a query reads as ' '
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise IllegalArgument(
            f"{what}: {text!r} is not an RFC 3339 date-time with an offset, e.g. 2025-01-15T10:30:00Z"
        )
    return value


def _one(args: Mapping[str, list[str]], name: str) -> str | None:
    values = args.get(name) or []
    if len(values) > 1:
        raise IllegalArgument(f"{name}: give it once (method and status take a comma-separated list)")
    return values[0] if values else None


def _positive(text: str, name: str) -> int:
    # Nine digits at most: Python refuses to read integers of thousands of digits (a 500 before).
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise IllegalArgument(f"{name} must be a positive integer of at most 9 digits, not {text[:20]!r}")
    return int(text)


def check_known(names: Iterable[str], known: Iterable[str], *, what: str = "filter", where: str = "") -> None:
    """Refuse a query (or an object) naming anything but `known`, naming what it does not know."""
    known = tuple(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise IllegalArgument(
            f"{where}unknown {what}{plural}: {', '.join(unknown)} (known: {', '.join(known) or 'none'})"
        )


@dataclass(frozen=True)
class JournalQuery:
    """A selection of journal entries (`GET /_mock/journal?...`)."""

    MATCHING = ("method", "path", "status", "tenant", "ticketId", "since", "direction")
    PAGING = ("limit", "order")
    # `in`: requests the mock received; `out`: its callbacks to a TU's mirror (mockserver.mirrors).
    DIRECTIONS = ("in", "out")

    methods: frozenset[str] | None = None
    path: PathPattern | None = None
    statuses: tuple[StatusMatch, ...] = ()
    tenant: str | None = None
    ticket_id: str | None = None
    since: datetime | None = None
    limit: int | None = None
    oldest_first: bool = False
    direction: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, list[str]], *, paging: bool = True) -> JournalQuery:
        """The query a request's arguments (name -> values) ask for; IllegalArgument names any problem."""
        check_known(args, cls.MATCHING + (cls.PAGING if paging else ()))
        method, path, status = _one(args, "method"), _one(args, "path"), _one(args, "status")
        since, limit, order = _one(args, "since"), _one(args, "limit"), _one(args, "order")
        if order not in (None, "newest", "oldest"):
            raise IllegalArgument(f"order must be newest or oldest, not {order!r}")
        direction = _one(args, "direction")
        if direction not in (None, *cls.DIRECTIONS):
            raise IllegalArgument(
                f"direction must be in (requests received) or out (callbacks to a mirror), not {direction!r}"
            )
        return cls(
            methods=frozenset(m.strip().upper() for m in method.split(",") if m.strip()) if method else None,
            path=PathPattern.parse(path) if path else None,
            statuses=tuple(StatusMatch.parse(s) for s in status.split(",")) if status else (),
            tenant=_one(args, "tenant") or None,
            ticket_id=_one(args, "ticketId") or None,
            since=parse_time(since, "since") if since else None,
            limit=(_positive(limit, "limit") or None) if limit else None,
            oldest_first=order == "oldest",
            direction=direction,
        )

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.direction is not None and entry.get("direction", "in") != self.direction:
            return False
        if self.methods is not None and entry.get("method") not in self.methods:
            return False
        if self.path is not None and not self.path.matches(str(entry.get("path"))):
            return False
        if self.statuses and not any(s.matches(entry.get("status")) for s in self.statuses):
            return False
        if self.tenant is not None and entry.get("tenant") != self.tenant:
            return False
        if self.ticket_id is not None and entry.get("ticketId") != self.ticket_id:
            return False
        if self.since is not None:
            received = entry.get("receivedAt") or entry.get("at")
            try:
                if not received or datetime.fromisoformat(received) < self.since:
                    return False
            except ValueError:
                return False
        return True

    def select(self, newest_first: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The matching entries of a journal read newest first, in the order and number asked for."""
        chosen = [entry for entry in newest_first if self.matches(entry)]
        if self.oldest_first:
            chosen.reverse()
        return chosen[: self.limit] if self.limit is not None else chosen
