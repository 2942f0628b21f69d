"""The ticket store: SQLite, shared safely by every thread and worker process serving one file.

It keeps tickets and their history (every state, dialog and attachment, and who sent it).
It knows no API rule, not even how ticket ids look: a ticket is its sequence number here. An
update hands it a `decide` function that runs inside the write transaction, so a rule checked
there cannot race with another worker. `PostgresStore` (mockserver.pgstore) is the same store on
PostgreSQL, for several instances; `open_store` picks one by the --db given.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mockserver.dialect import SQLITE, Dialect

SCHEMA_VERSION = 1

# The store's own tables, in the SQL of mockserver.dialect (`{id}`, `{blob}`).
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS tickets (
        seq {id},
        tenant TEXT NOT NULL,
        mirror_key TEXT NOT NULL,
        state TEXT NOT NULL,
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant, mirror_key)
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        id {id},
        ticket_seq INTEGER NOT NULL REFERENCES tickets (seq) ON DELETE CASCADE,
        at TEXT NOT NULL,
        side TEXT NOT NULL,
        actor TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        dialog TEXT,
        changes TEXT NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS events_by_ticket ON events (ticket_seq)""",
    """CREATE TABLE IF NOT EXISTS attachments (
        id {id},
        ticket_seq INTEGER NOT NULL REFERENCES tickets (seq) ON DELETE CASCADE,
        event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        mime_type TEXT,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        content {blob} NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS attachments_by_ticket ON attachments (ticket_seq)""",
    """CREATE TABLE IF NOT EXISTS faults (
        id {id},
        spec TEXT NOT NULL,
        origin TEXT NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0,
        hits INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
]


POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def is_postgres(db: str) -> bool:
    """Whether a --db names a PostgreSQL database (a URL) rather than a SQLite file."""
    return db.startswith(POSTGRES_PREFIXES)


def open_store(db: str) -> TicketStore:
    """The store a --db names: a PostgreSQL database (`postgresql://user:password@host/dbname`,
    mockserver.pgstore), else a SQLite file, or `:memory:`."""
    if is_postgres(db):
        from mockserver.pgstore import PostgresStore  # psycopg only when it is used

        return PostgresStore(db)
    return TicketStore(db)


def store_errors() -> tuple[type[Exception], ...]:
    """What a store raises when it cannot serve a request now (the app answers StoreUnavailable):
    SQLite's errors, and PostgreSQL's once a PostgresStore has loaded its driver (a mock on SQLite
    does not load it: 11 MB in each process)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def now_iso() -> str:
    """The current UTC time, RFC 3339 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Attachment:
    name: str
    mime_type: str | None
    content: bytes


@dataclass(frozen=True)
class Ticket:
    """A stored ticket: its sequence number, owner, state and the fields the TU and TO have sent."""

    seq: int
    tenant: str
    mirror_key: str
    state: str
    fields: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Change:
    """What an update does to a ticket, as decided by the API's rules."""

    side: str
    actor: str
    state: str
    dialog: str | None
    fields: dict[str, Any]
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class TicketHistory:
    """A ticket with every event of its life, oldest first, and its attachments' metadata."""

    ticket: Ticket
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class FaultRow:
    """A fault as stored: what it is (the control API's JSON), where it came from, and its counters.
    The store keeps the counters in step across workers; what a fault means is mockserver.faults'."""

    id: int
    spec: dict[str, Any]
    origin: str
    seen: int  # matching requests offered to it
    hits: int  # requests it was injected into
    created_at: str


class TicketIdTaken(Exception):
    """A seeded ticket asked for a sequence number another ticket has."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


class DuplicateMirrorKey(Exception):
    """The tenant already has a ticket with this mirrorKey."""

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


class Tx:
    """A write transaction as modules with tables of their own see it (mockserver.clock, .schedule,
    .mirrors, .tu_mirror): plain SQL with `?` placeholders, rows as dicts. Those modules reach the
    database through this, `TicketStore.query` and `TicketStore.ensure_tables` only, and write the
    SQL both databases take (mockserver.dialect), so that each back end serves them unchanged."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn  # a sqlite3.Connection, or a _PgConnection: both `execute(sql, params)`

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows a statement returns (a SELECT, or a write with RETURNING)."""
        return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run a statement; return how many rows it changed."""
        return self._conn.execute(sql, params).rowcount


# The identity column of a table made through `ensure_tables` on SQLite: `{id}` in its DDL stands
# for it (mockserver.dialect has each database's).
ID_COLUMN = SQLITE.id_column


class TicketStore:
    """Tickets and their history in one SQLite database (`:memory:` for a private one).

    The ticket logic here is written in the SQL of mockserver.dialect; the connections, the
    transactions and the schema's version are SQLite's. `PostgresStore` keeps the logic and brings
    its own of those (`open_store` picks one by the --db given)."""

    dialect: Dialect = SQLITE

    def __init__(self, path: str) -> None:
        self.path = path
        # When events happen: the mock's clock once mockserver.clock is installed (a test may
        # advance it), the wall clock until then.
        self.now: Callable[[], str] = now_iso
        self._local = threading.local()
        self._memory = path == ":memory:"
        if self._memory:
            # One connection for all threads: a private in-memory database lives in it.
            self._shared = self._connect(":memory:")
            self._lock = threading.RLock()
        else:
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
        with self._connection() as conn:
            self._migrate(conn)

    # -- connections -------------------------------------------------------------------------

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=15)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            # WAL lets readers run beside the one writer. synchronous=OFF leaves syncing to the
            # kernel: every committed ticket survives a crash of the process (not of the machine).
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = OFF")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._memory:
            with self._lock:
                yield self._shared
            return
        yield self._thread_local().conn

    def _thread_local(self) -> threading.local:
        """This thread's connection and lock file (a forked worker must not reuse its parent's)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn = self._connect(self.path)
            local.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            local.pid = os.getpid()
        return local

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A write transaction. Writers queue on a lock file first: SQLite's own busy handler
        sleeps for milliseconds between retries, a blocked flock wakes as soon as it is free."""
        if self._memory:
            with self._connection() as conn:
                yield from self._in_transaction(conn)
            return
        local = self._thread_local()
        fcntl.flock(local.lock_fd, fcntl.LOCK_EX)
        try:
            yield from self._in_transaction(local.conn)
        finally:
            fcntl.flock(local.lock_fd, fcntl.LOCK_UN)

    @staticmethod
    def _in_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(
                f"{self.path} holds store schema version {version}, this mock needs {SCHEMA_VERSION}: "
                "use another --db file"
            )
        for statement in SCHEMA:
            conn.execute(self.dialect.ddl(statement))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- the API of modules with tables of their own (see Tx) ------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: everything in it is committed together, or nothing is. Writers of
        every worker queue for it, so a row read in it cannot change before the commit."""
        with self._transaction() as conn:
            yield Tx(conn)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows of one read, outside a write transaction."""
        with self._connection() as conn:
            return [dict(row) for row in conn.execute(sql, params).fetchall()]

    def ensure_tables(self, statements: list[str]) -> None:
        """Create a module's tables and indexes (`CREATE ... IF NOT EXISTS`), `{id}` standing for
        the identity column. Run by each worker at start-up; the first one creates them."""
        with self.transaction() as tx:
            for statement in statements:
                tx.execute(self.dialect.ddl(statement))

    # -- tickets -----------------------------------------------------------------------------

    def create(
        self,
        *,
        tenant: str,
        mirror_key: str,
        state: str,
        fields: dict[str, Any],
        dialog: str | None,
        attachments: list[Attachment],
    ) -> Ticket:
        """Store a new ticket; raise DuplicateMirrorKey when the tenant already used the key."""
        at = self.now()
        with self._transaction() as conn:
            # Writers take turns (see _transaction), so no other can take the key in between; the
            # UNIQUE (tenant, mirror_key) constraint still stands behind this.
            existing = conn.execute(
                "SELECT seq FROM tickets WHERE tenant = ? AND mirror_key = ?", (tenant, mirror_key)
            ).fetchone()
            if existing:
                raise DuplicateMirrorKey(existing["seq"])
            seq = conn.execute(
                "INSERT INTO tickets (tenant, mirror_key, state, fields, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
                (tenant, mirror_key, state, json.dumps(fields), at, at),
            ).fetchone()["seq"]
            change = Change(side="TU", actor=tenant, state=state, dialog=dialog, fields=fields, attachments=attachments)
            self._record_event(conn, seq, None, change, at)
        return Ticket(seq, tenant, mirror_key, state, fields, at, at)

    def seed(self, *, tenant: str, mirror_key: str, seq: int | None, events: list[tuple[Change, str | None]]) -> Ticket:
        """Store a ticket with a history made up front (seeding): the first event opens it, each
        later one moves it; an event's time is its own or now. All or nothing, in one transaction.
        Raise DuplicateMirrorKey, or TicketIdTaken when `seq` is another ticket's."""
        now = self.now()
        times = [at or now for _, at in events]
        last = events[-1][0]
        with self._transaction() as conn:
            existing = conn.execute(
                "SELECT seq FROM tickets WHERE tenant = ? AND mirror_key = ?", (tenant, mirror_key)
            ).fetchone()
            if existing:  # first: a seed applied again meets its own ticket
                raise DuplicateMirrorKey(existing["seq"])
            if seq is not None and conn.execute("SELECT 1 FROM tickets WHERE seq = ?", (seq,)).fetchone():
                raise TicketIdTaken(seq)
            fields: dict[str, Any] = {}
            for change, _ in events:
                fields.update(change.fields)
            row = (tenant, mirror_key, last.state, json.dumps(fields), times[0], times[-1])
            columns = "tenant, mirror_key, state, fields, created_at, updated_at"
            if seq is None:
                seq = conn.execute(
                    f"INSERT INTO tickets ({columns}) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq", row
                ).fetchone()["seq"]
            else:
                conn.execute(f"INSERT INTO tickets (seq, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", (seq, *row))
                self._catch_up_sequence(conn, "tickets", "seq", seq)
            previous: str | None = None
            for (change, _), at in zip(events, times, strict=True):
                self._record_event(conn, seq, previous, change, at)
                previous = change.state
        return Ticket(seq, tenant, mirror_key, last.state, fields, times[0], times[-1])

    def get(self, tenant: str, seq: int) -> Ticket | None:
        """The tenant's ticket with this sequence number, or None."""
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM tickets WHERE seq = ? AND tenant = ?", (seq, tenant)).fetchone()
        return _ticket(row) if row else None

    def update(self, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change]) -> Ticket:
        """Apply `decide(current ticket)`'s change atomically; `decide` may raise to refuse it.
        A `seq` of None (an id no ticket can have) meets `decide(None)` like an unknown ticket."""
        at = self.now()
        with self._transaction() as conn:
            return self._update(conn, tenant, seq, decide, at)

    def update_within(
        self, tx: Tx, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change], *, at: str | None = None
    ) -> Ticket:
        """`update`, inside a transaction of the caller's (so that the change and the caller's own
        rows commit together), at a time of the caller's (a scheduled step's due time)."""
        return self._update(tx._conn, tenant, seq, decide, at or self.now())

    def _update(
        self, conn: Any, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change], at: str
    ) -> Ticket:
        row = None
        if seq is not None:
            # Locked until the commit where writers do not take turns by themselves (PostgreSQL).
            row = conn.execute(
                "SELECT * FROM tickets WHERE seq = ? AND tenant = ?" + self.dialect.row_lock, (seq, tenant)
            ).fetchone()
        current = _ticket(row) if row else None
        change = decide(current)
        assert current is not None and seq is not None, "decide() must refuse a missing ticket"
        fields = {**current.fields, **change.fields}
        conn.execute(
            "UPDATE tickets SET state = ?, fields = ?, updated_at = ? WHERE seq = ?",
            (change.state, json.dumps(fields), at, seq),
        )
        self._record_event(conn, seq, current.state, change, at)
        return Ticket(seq, tenant, current.mirror_key, change.state, fields, current.created_at, at)

    @staticmethod
    def _record_event(conn: Any, seq: int, from_state: str | None, change: Change, at: str) -> None:
        event_id = conn.execute(
            "INSERT INTO events (ticket_seq, at, side, actor, from_state, to_state, dialog, changes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (seq, at, change.side, change.actor, from_state, change.state, change.dialog, json.dumps(change.fields)),
        ).fetchone()["id"]
        for a in change.attachments:
            conn.execute(
                "INSERT INTO attachments (ticket_seq, event_id, name, mime_type, size, sha256, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, event_id, a.name, a.mime_type, len(a.content), hashlib.sha256(a.content).hexdigest(), a.content),
            )

    def _catch_up_sequence(self, conn: Any, table: str, column: str, given: int) -> None:
        """After a row made with an explicit id: the next generated id comes after it."""
        if self.dialect.sequence_catch_up is not None:
            conn.execute(self.dialect.sequence_catch_up.format(table=table, column=column), (given, given))

    def history(self, tenant: str | None = None) -> list[TicketHistory]:
        """Every ticket (of one tenant, or all) with its events and attachment metadata."""
        with self._connection() as conn:
            where, args = ("WHERE tenant = ?", (tenant,)) if tenant else ("", ())
            rows = conn.execute(f"SELECT * FROM tickets {where} ORDER BY seq", args).fetchall()
            return [self._history_of(conn, row) for row in rows]

    def history_of(self, seq: int, tenant: str | None = None) -> TicketHistory | None:
        """One ticket (any tenant's, or only `tenant`'s) with its events, or None."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT * FROM tickets WHERE seq = ? AND (CAST(? AS TEXT) IS NULL OR tenant = ?)", (seq, tenant, tenant)
            ).fetchone()
            return self._history_of(conn, row) if row else None

    @staticmethod
    def _history_of(conn: Any, row: Any) -> TicketHistory:
        events = conn.execute("SELECT * FROM events WHERE ticket_seq = ? ORDER BY id", (row["seq"],)).fetchall()
        files = conn.execute(
            "SELECT id, event_id, name, mime_type, size, sha256 FROM attachments WHERE ticket_seq = ? ORDER BY id",
            (row["seq"],),
        ).fetchall()
        return TicketHistory(_ticket(row), [_event(event, files) for event in events])

    def attachment(self, tenant: str | None, seq: int, attachment_id: int) -> Attachment | None:
        """One stored attachment's content."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT a.name, a.mime_type, a.content FROM attachments a JOIN tickets t ON t.seq = a.ticket_seq"
                " WHERE a.id = ? AND a.ticket_seq = ? AND (CAST(? AS TEXT) IS NULL OR t.tenant = ?)",
                (attachment_id, seq, tenant, tenant),
            ).fetchone()
        return Attachment(row["name"], row["mime_type"], row["content"]) if row else None

    # -- faults (shared by every worker: the counters live here, not in a process) -------------

    def add_fault(self, spec: dict[str, Any], origin: str = "api") -> FaultRow:
        with self._transaction() as conn:
            return self._insert_fault(conn, spec, origin)

    def add_faults_once(self, specs: list[dict[str, Any]], origin: str) -> bool:
        """Store `specs` unless faults of this origin are stored already (each worker loads the
        same file at start-up; the first one does it). True when they were stored."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM faults WHERE origin = ?", (origin,)).fetchone():
                return False
            for spec in specs:
                self._insert_fault(conn, spec, origin)
        return True

    @staticmethod
    def _insert_fault(conn: Any, spec: dict[str, Any], origin: str) -> FaultRow:
        at = now_iso()
        fault_id = conn.execute(
            "INSERT INTO faults (spec, origin, created_at) VALUES (?, ?, ?) RETURNING id",
            (json.dumps(spec), origin, at),
        ).fetchone()["id"]
        return FaultRow(fault_id, spec, origin, 0, 0, at)

    def faults(self) -> list[FaultRow]:
        """Every stored fault, oldest first."""
        with self._connection() as conn:
            return [_fault(row) for row in conn.execute("SELECT * FROM faults ORDER BY id").fetchall()]

    def remove_faults(self, fault_id: int | None = None) -> int:
        """Forget one fault, or all; return how many went."""
        with self._transaction() as conn:
            if fault_id is None:
                return conn.execute("DELETE FROM faults").rowcount
            return conn.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount

    def claim_fault(
        self, matches: Callable[[FaultRow], bool], fires: Callable[[FaultRow, int], bool]
    ) -> tuple[FaultRow, int] | None:
        """Offer a request to the faults it `matches`, oldest first, counting it as each one's next
        request; the first that `fires(fault, n)` for its n-th takes it. Atomic across workers, so
        "the next 2 requests" means two, whichever worker serves them."""
        with self._transaction() as conn:
            for row in conn.execute("SELECT * FROM faults ORDER BY id").fetchall():
                fault = _fault(row)
                if not matches(fault):
                    continue
                seen = fault.seen + 1
                fired = fires(fault, seen)
                hits = fault.hits + (1 if fired else 0)
                conn.execute("UPDATE faults SET seen = ?, hits = ? WHERE id = ?", (seen, hits, fault.id))
                if fired:
                    return FaultRow(fault.id, fault.spec, fault.origin, seen, hits, fault.created_at), seen
        return None

    def close(self) -> None:
        """Close this process's connection. A connection must never be closed, or used, in a forked
        child: closing it there drops the parent's locks and may checkpoint away the shared WAL."""
        if self._memory:
            self._shared.close()
            return
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            local.conn.close()
            os.close(local.lock_fd)
            local.pid = None

    def reset(self, tenant: str | None = None) -> int:
        """Forget one tenant's tickets, or every ticket; return how many went."""
        with self._transaction() as conn:
            if tenant:
                return conn.execute("DELETE FROM tickets WHERE tenant = ?", (tenant,)).rowcount
            return conn.execute("DELETE FROM tickets").rowcount


def _fault(row: Any) -> FaultRow:
    return FaultRow(row["id"], json.loads(row["spec"]), row["origin"], row["seen"], row["hits"], row["created_at"])


def _ticket(row: Any) -> Ticket:
    return Ticket(
        seq=row["seq"],
        tenant=row["tenant"],
        mirror_key=row["mirror_key"],
        state=row["state"],
        fields=json.loads(row["fields"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _event(row: Any, files: list[Any]) -> dict[str, Any]:
    return {
        "at": row["at"],
        "side": row["side"],
        "actor": row["actor"],
        "from": row["from_state"],
        "to": row["to_state"],
        "dialog": row["dialog"],
        "changes": json.loads(row["changes"]),
        "attachments": [
            {"id": f["id"], "name": f["name"], "mimeType": f["mime_type"], "size": f["size"], "sha256": f["sha256"]}
            for f in files
            if f["event_id"] == row["id"]
        ],
    }
