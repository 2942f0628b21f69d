"""Callbacks to the TU's mirror: each TO move is delivered to the tenant's mirror endpoint.

A tenant's mirror is a base URL and a bearer token (`--mirror TU-A=URL`, `--mirror-token
TU-A=ENV_VAR`, or the control API). Each TO move on one of its tickets (by the transition hook,
a scenario's step or a clock advance; not a seeded one) becomes a delivery: `PATCH
{mirror}/troubleTicket/{mirrorKey}` (the path of spec/mirror.yaml) with the state, the TO's
ticketId, the mirrorKey, the dialog and the other fields of the move, as the mirror's update schema
takes them. Deliveries are made in the store, in the transaction that reads the event
(mockserver.schedule.EventFeed), so a move never waits for its callback and never loses it; a
sender thread per worker claims the due ones and sends them, outside any request.

A delivery that gets no answer, a 5xx, a 408 or a 429 is sent again with a growing delay on the
mock's clock (a test advances the clock instead of waiting); a 2xx delivers it; any other 4xx is
the mirror refusing it, which sending again would not change. One ticket's deliveries go in the
order of its moves: a later one waits while an earlier one is still being tried. Each attempt, with
the mirror's answer, is listed in /_mock/callbacks and written to the journal (`direction: out`).
Delivery is at least once: a worker that dies while it sends leaves the delivery to another.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from mockserver.auth import mint_token
from mockserver.clock import Clock, format_ms, wall_ms
from mockserver.errors import ApiError, IllegalArgument
from mockserver.journal import FileJournal, MemoryJournal
from mockserver.schedule import Event, EventFeed
from mockserver.store import TicketStore, Tx, now_iso
from mockserver.validation import BodyRules
from spec.contract import Contract
from spec.mirror import MirrorContract

log = logging.getLogger("mockserver.mirrors")

TABLES = [
    """CREATE TABLE IF NOT EXISTS mirrors (
        tenant TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        token TEXT,
        token_env TEXT,
        origin TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS deliveries (
        id {id},
        ticket_seq INTEGER NOT NULL REFERENCES tickets (seq) ON DELETE CASCADE,
        event_id BIGINT NOT NULL,
        tenant TEXT NOT NULL,
        path TEXT NOT NULL,
        body TEXT NOT NULL,
        move TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_ms BIGINT NOT NULL,
        lease_ms BIGINT,
        created_ms BIGINT NOT NULL,
        note TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, next_ms)",
    "CREATE INDEX IF NOT EXISTS deliveries_by_ticket ON deliveries (ticket_seq, id)",
    """CREATE TABLE IF NOT EXISTS delivery_attempts (
        id {id},
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        wall_at TEXT NOT NULL,
        url TEXT NOT NULL,
        status INTEGER,
        answer TEXT,
        error TEXT,
        duration_ms DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS delivery_attempts_by_delivery ON delivery_attempts (delivery_id)",
]
PENDING, SENDING, DELIVERED, REFUSED, FAILED, SKIPPED = (
    "pending",
    "sending",
    "delivered",
    "refused",
    "failed",
    "skipped",
)
STATUSES = (PENDING, SENDING, DELIVERED, REFUSED, FAILED, SKIPPED)
MAX_ATTEMPTS = 10
FIRST_DELAY_MS = 1000  # then twice as long after each failure...
MAX_DELAY_MS = 5 * 60 * 1000  # ...up to five minutes: ten attempts span about a quarter of an hour
RETRIED_STATUSES = (408, 429)  # besides no answer and 5xx
TIMEOUT_SECONDS = 5.0  # one attempt, connect to last byte
LEASE_MS = 60_000  # wall time a sender holds a delivery: one that died leaves it to another after this
ANSWER_LIMIT = 2000  # characters of an answer kept with its attempt
MINTED_SUB = "TO"  # the caller a minted callback token names
MINTED_SECONDS = 300
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def backoff_ms(attempts: int) -> int:
    """The delay after the `attempts`-th failed attempt."""
    return min(FIRST_DELAY_MS * 2 ** max(attempts - 1, 0), MAX_DELAY_MS)


@dataclass(frozen=True)
class Mirror:
    """A tenant's mirror endpoint and where the bearer token it expects comes from."""

    tenant: str
    url: str
    token: str | None = None  # the token itself (given through the control API)
    token_env: str | None = None  # the environment variable that holds it (--mirror-token)
    origin: str = "api"

    @classmethod
    def parse(cls, tenant: str, data: Any, origin: str = "api") -> Mirror:
        """A mirror from the control API's JSON; IllegalArgument names what is wrong."""
        if not isinstance(data, dict):
            raise IllegalArgument('a mirror is a JSON object such as {"url": "http://127.0.0.1:9000"}')
        unknown = [key for key in data if key not in ("url", "token", "tokenEnv")]
        if unknown:
            raise IllegalArgument(f"{unknown[0]}: not a field of a mirror (url, token, tokenEnv)")
        token, token_env = data.get("token"), data.get("tokenEnv")
        if token is not None and token_env is not None:
            raise IllegalArgument("token or tokenEnv: give the token, or the variable that holds it, not both")
        if token is not None and (not isinstance(token, str) or not _printable(token, 8192)):
            raise IllegalArgument("token: the bearer token the mirror expects, printable text")
        if token_env is not None and (not isinstance(token_env, str) or not _ENV_NAME.fullmatch(token_env)):
            raise IllegalArgument(
                f"tokenEnv: the name of an environment variable, such as TU_A_TOKEN; got {token_env!r}"
            )
        return cls(check_tenant(tenant), check_url(data.get("url")), token, token_env, origin)

    def bearer(self, secret: str) -> tuple[str | None, str]:
        """The token to send, and where it came from (for the listing, never the token)."""
        if self.token is not None:
            return self.token, "the token given"
        if self.token_env is not None:
            value = os.environ.get(self.token_env)
            return (value or None), f"${self.token_env}" + ("" if value else " (not set)")
        return mint_token(
            MINTED_SUB, secret=secret, exp_seconds=MINTED_SECONDS
        ), f"minted by the mock (sub {MINTED_SUB})"

    def describe(self) -> dict[str, Any]:
        token_from = (
            "the token given"
            if self.token is not None
            else f"${self.token_env}"
            if self.token_env
            else f"minted by the mock with its secret (sub {MINTED_SUB})"
        )
        return {"tenant": self.tenant, "url": self.url, "token": token_from, "origin": self.origin}


def check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise IllegalArgument('url: the mirror\'s base URL, such as "http://127.0.0.1:9000"')
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IllegalArgument(f"url: an http:// or https:// URL with a host; got {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise IllegalArgument(f"url: a base URL without credentials, query or fragment; got {url!r}")
    try:
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        raise IllegalArgument(f"url: {url!r} has a port that is no number") from None
    return url


def check_tenant(tenant: Any) -> str:
    if not isinstance(tenant, str) or not _printable(tenant.strip(), 255):
        raise IllegalArgument("tenant: a tenant's name (a token's sub), printable text")
    return tenant.strip()


def _printable(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit and all(" " <= char <= "~" for char in text)


def parse_option(text: str, what: str) -> tuple[str, str]:
    """`TU-A=value` from the command line; ValueError names the option."""
    tenant, sep, value = text.partition("=")
    if not sep or not tenant.strip() or not value.strip():
        raise ValueError(f"{what} takes TENANT=VALUE, such as TU-A=http://127.0.0.1:9000; got {text!r}")
    return tenant.strip(), value.strip()


class Mirrors:
    """The tenants' mirrors, kept in the store so that every worker uses the same ones."""

    def __init__(self, store: TicketStore, startup: list[Mirror]) -> None:
        self.store, self.startup = store, startup
        store.ensure_tables(TABLES)
        self.restore()

    def restore(self) -> None:
        """Write the start-up mirrors (--mirror) over whatever the store holds for their tenants."""
        with self.store.transaction() as tx:
            for mirror in self.startup:
                self._put(tx, mirror)

    def reset(self) -> int:
        """Forget every mirror, then set the start-up ones again."""
        with self.store.transaction() as tx:
            removed = tx.execute("DELETE FROM mirrors")
        self.restore()
        return removed

    def put(self, mirror: Mirror) -> Mirror:
        with self.store.transaction() as tx:
            self._put(tx, mirror)
        return mirror

    @staticmethod
    def _put(tx: Tx, mirror: Mirror) -> None:
        tx.execute(
            "INSERT INTO mirrors (tenant, url, token, token_env, origin, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tenant) DO UPDATE SET url = excluded.url, token = excluded.token,"
            " token_env = excluded.token_env, origin = excluded.origin, updated_at = excluded.updated_at",
            (mirror.tenant, mirror.url, mirror.token, mirror.token_env, mirror.origin, now_iso()),
        )

    def remove(self, tenant: str) -> bool:
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM mirrors WHERE tenant = ?", (tenant,)) > 0

    def of(self, tenant: str, tx: Tx | None = None) -> Mirror | None:
        sql, params = "SELECT * FROM mirrors WHERE tenant = ?", (tenant,)
        rows = tx.query(sql, params) if tx is not None else self.store.query(sql, params)
        return _mirror(rows[0]) if rows else None

    def all(self) -> list[Mirror]:
        return [_mirror(row) for row in self.store.query("SELECT * FROM mirrors ORDER BY tenant")]


def _mirror(row: dict[str, Any]) -> Mirror:
    return Mirror(row["tenant"], row["url"], row["token"], row["token_env"], row["origin"])


@dataclass
class Claimed:
    """A delivery a sender holds while it sends one attempt."""

    id: int
    seq: int
    tenant: str
    path: str
    body: dict[str, Any]
    attempt: int
    at_ms: int  # the mock's time of the attempt
    mirror: Mirror | None


@dataclass
class Outcome:
    url: str
    status: int | None
    answer: str | None
    error: str | None
    duration_ms: float
    authorization: str  # how the journal shows the token
    retry_after: int | None = None  # seconds a 429 or 503 asked for


class Deliveries:
    """The outbox of callbacks: made from TO events, sent by `send_due`, listed for the control API."""

    def __init__(
        self,
        store: TicketStore,
        clock: Clock,
        feed: EventFeed,
        mirrors: Mirrors,
        contract: Contract,
        mirror_contract: MirrorContract,
        *,
        secret: str,
        journal: MemoryJournal | FileJournal | None = None,
    ) -> None:
        self.store, self.clock, self.mirrors, self.contract = store, clock, mirrors, contract
        self.mirror_contract, self.secret, self.journal = mirror_contract, secret, journal
        self.rules = BodyRules(mirror_contract.update.schema)
        self._session = threading.local()
        store.ensure_tables(TABLES)
        feed.listeners.append(self.on_event)

    # -- making deliveries ---------------------------------------------------------------------

    def on_event(self, tx: Tx, event: Event, now_ms: int) -> None:
        """A TO move on a ticket of a tenant with a mirror becomes a delivery."""
        if event.side != "TO" or event.seeded or self.mirrors.of(event.tenant, tx) is None:
            return
        body = self.body_of(event)
        path = self.mirror_contract.ticket_path(quote(event.mirror_key, safe=""))
        status, note = PENDING, None
        try:
            self.rules.check(json.loads(json.dumps(body)))
        except ApiError as invalid:  # e.g. a mirrorKey of 255 characters, which no mirror takes
            status, note = SKIPPED, f"not sent: the mirror's contract would refuse it ({invalid.render(self.contract)})"
        move = {"from": event.from_state, "to": event.to_state, "actor": event.actor, "at": event.at, "event": event.id}
        tx.execute(
            "INSERT INTO deliveries (ticket_seq, event_id, tenant, path, body, move, status, attempts, next_ms,"
            " created_ms, note) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (event.seq, event.id, event.tenant, path, json.dumps(body), json.dumps(move), status, now_ms, now_ms, note),
        )

    def body_of(self, event: Event) -> dict[str, Any]:
        """The mirror's update body for a TO move: the update schema's fields the move carried."""
        names, properties = self.mirror_contract.names, self.mirror_contract.update.properties
        body = {name: value for name, value in event.changes.items() if name in properties}
        body.update(
            {
                names.state: event.to_state,
                names.ticket_id: self.contract.ticket_ids.of(event.seq),
                names.mirror_key: event.mirror_key,
                names.dialog: event.dialog
                if event.dialog is not None
                else f"the TO moved the ticket to {event.to_state}",
            }
        )
        return body

    # -- sending them --------------------------------------------------------------------------

    def waiting(self) -> bool:
        """Whether a delivery is due, or held by a sender that may have died (reads only)."""
        rows = self.store.query(
            "SELECT COUNT(*) AS n FROM deliveries WHERE (status = ? AND next_ms <= ?) OR (status = ? AND lease_ms < ?)",
            (PENDING, self.clock.now_ms(), SENDING, wall_ms()),
        )
        return int(rows[0]["n"]) > 0

    def sending(self) -> int:
        return int(self.store.query("SELECT COUNT(*) AS n FROM deliveries WHERE status = ?", (SENDING,))[0]["n"])

    def send_due(self, limit: int = 100) -> list[dict[str, Any]]:
        """Claim and send due deliveries, one attempt each, until none is due; return the attempts."""
        sent = []
        for _ in range(limit):
            claimed = self.claim()
            if claimed is None:
                break
            sent.append(self.record(claimed, self.send(claimed)))
        return sent

    def claim(self) -> Claimed | None:
        """The oldest due delivery whose ticket has no earlier one still being tried, held for one attempt."""
        with self.store.transaction() as tx:
            now, wall = self.clock.now_ms(tx), wall_ms()
            tx.execute("UPDATE deliveries SET status = ? WHERE status = ? AND lease_ms < ?", (PENDING, SENDING, wall))
            rows = tx.query(
                "SELECT d.* FROM deliveries d WHERE d.status = ? AND d.next_ms <= ? AND NOT EXISTS"
                " (SELECT 1 FROM deliveries e WHERE e.ticket_seq = d.ticket_seq AND e.id < d.id"
                " AND e.status IN (?, ?)) ORDER BY d.next_ms, d.id LIMIT 1",
                (PENDING, now, PENDING, SENDING),
            )
            if not rows:
                return None
            row = rows[0]
            attempt = int(row["attempts"]) + 1
            tx.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, lease_ms = ? WHERE id = ?",
                (SENDING, attempt, wall + LEASE_MS, row["id"]),
            )
            mirror = self.mirrors.of(row["tenant"], tx)
        return Claimed(
            int(row["id"]),
            int(row["ticket_seq"]),
            row["tenant"],
            row["path"],
            json.loads(row["body"]),
            attempt,
            now,
            mirror,
        )

    def send(self, claimed: Claimed) -> Outcome:
        """One attempt: PATCH the mirror, outside any transaction."""
        if claimed.mirror is None:
            return Outcome("", None, None, f"{claimed.tenant} has no mirror any more", 0.0, "")
        url = claimed.mirror.url + claimed.path
        token, token_from = claimed.mirror.bearer(self.secret)
        if token is None:
            return Outcome(url, None, None, f"no token to send: {token_from}", 0.0, "")
        session = getattr(self._session, "value", None)
        if session is None:
            session = self._session.value = requests.Session()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            answer = session.patch(url, data=json.dumps(claimed.body), headers=headers, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            took = (time.perf_counter() - started) * 1000
            return Outcome(url, None, None, f"no answer: {type(error).__name__}", took, f"Bearer ... ({token_from})")
        took = (time.perf_counter() - started) * 1000
        retry_after = answer.headers.get("Retry-After")
        text = answer.content.decode(answer.encoding or "utf-8", "replace")[:ANSWER_LIMIT]
        wait = int(retry_after) if retry_after and retry_after.isdigit() else None
        return Outcome(url, answer.status_code, text, None, took, f"Bearer ... ({token_from})", wait)

    def record(self, claimed: Claimed, outcome: Outcome) -> dict[str, Any]:
        """Keep the attempt, and decide what comes next: done, refused, another try, or give up."""
        status_code = outcome.status
        if status_code is not None and 200 <= status_code < 300:
            status, next_ms, note = DELIVERED, claimed.at_ms, None
        elif status_code is not None and 400 <= status_code < 500 and status_code not in RETRIED_STATUSES:
            status, next_ms, note = REFUSED, claimed.at_ms, f"the mirror refused it ({status_code})"
        elif claimed.mirror is None:
            status, next_ms, note = FAILED, claimed.at_ms, outcome.error
        elif claimed.attempt >= MAX_ATTEMPTS:
            status, next_ms, note = FAILED, claimed.at_ms, f"gave up after {claimed.attempt} attempts"
        else:
            delay = max(backoff_ms(claimed.attempt), (outcome.retry_after or 0) * 1000)
            status, next_ms, note = PENDING, claimed.at_ms + delay, outcome.error or f"answered {status_code}"
        wall = now_iso()
        with self.store.transaction() as tx:
            still = tx.execute(
                "UPDATE deliveries SET status = ?, next_ms = ?, lease_ms = NULL, note = ? WHERE id = ? AND status = ?",
                (status, next_ms, note, claimed.id, SENDING),
            )
            if still:  # not forgotten (a reset) meanwhile
                tx.execute(
                    "INSERT INTO delivery_attempts (delivery_id, attempt, at, wall_at, url, status, answer, error,"
                    " duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        claimed.id,
                        claimed.attempt,
                        format_ms(claimed.at_ms),
                        wall,
                        outcome.url,
                        status_code,
                        outcome.answer,
                        outcome.error,
                        round(outcome.duration_ms, 3),
                    ),
                )
        self._journal(claimed, outcome, status, wall)
        return {"id": claimed.id, "attempt": claimed.attempt, "status": status, "answered": status_code}

    def _journal(self, claimed: Claimed, outcome: Outcome, status: str, wall: str) -> None:
        if self.journal is None:
            return
        answer: Any = outcome.answer
        try:
            answer = json.loads(outcome.answer) if outcome.answer else None
        except ValueError:
            pass
        entry = {
            "at": wall,
            "receivedAt": wall,
            "clock": format_ms(claimed.at_ms),
            "direction": "out",
            "method": "PATCH",
            "path": outcome.url or claimed.path,
            "query": "",
            "tenant": claimed.tenant,
            "ticketId": self.contract.ticket_ids.of(claimed.seq),
            "headers": {"Content-Type": "application/json", "Authorization": outcome.authorization},
            "body": json.dumps(claimed.body),
            "status": outcome.status,
            "response": answer,
            "durationMs": round(outcome.duration_ms, 3),
            "warnings": [],
            "rules": [],
            "fault": None,
            "expectRefusal": None,
            "callback": {"id": claimed.id, "attempt": claimed.attempt, "outcome": status, "error": outcome.error},
        }
        try:
            self.journal.record(entry)
        except OSError as error:  # the journal is a view: a lost entry must not lose the delivery
            log.warning("journal entry of callback %s lost: %s", claimed.id, error)

    # -- what the control API shows ------------------------------------------------------------

    def listing(
        self, *, seq: int | None = None, status: str | None = None, tenant: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Deliveries, newest first, each with its attempts and the mirror's answers."""
        where, params = [], []
        for column, value in (("ticket_seq", seq), ("status", status), ("tenant", tenant)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.store.query(f"SELECT * FROM deliveries{clause} ORDER BY id DESC LIMIT ?", (*params, limit))
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        marks = ", ".join("?" for _ in ids)
        attempts: dict[int, list[dict[str, Any]]] = {}
        for attempt in self.store.query(
            f"SELECT * FROM delivery_attempts WHERE delivery_id IN ({marks}) ORDER BY attempt", tuple(ids)
        ):
            attempts.setdefault(int(attempt["delivery_id"]), []).append(_attempt(attempt))
        return [self._delivery(row, attempts.get(int(row["id"]), [])) for row in rows]

    def _delivery(self, row: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
        names = self.contract.names
        waiting = row["status"] == PENDING
        return {
            "id": row["id"],
            names.ticket_id: self.contract.ticket_ids.of(int(row["ticket_seq"])),
            "tenant": row["tenant"],
            "method": "PATCH",
            "path": row["path"],
            "body": json.loads(row["body"]),
            "move": json.loads(row["move"]),
            "status": row["status"],
            "attempts": attempts,
            "nextAttemptAt": format_ms(int(row["next_ms"])) if waiting else None,
            "createdAt": format_ms(int(row["created_ms"])),
            "note": row["note"],
        }


def _attempt(row: dict[str, Any]) -> dict[str, Any]:
    answer: Any = row["answer"]
    try:
        answer = json.loads(row["answer"]) if row["answer"] else None
    except ValueError:
        pass
    return {
        "attempt": row["attempt"],
        "at": row["at"],
        "wallAt": row["wall_at"],
        "url": row["url"],
        "status": row["status"],
        "answer": answer,
        "error": row["error"],
        "durationMs": row["duration_ms"],
    }
