"""The ticket store on PostgreSQL (`--db postgresql://...`): several mock instances, on several
machines, serve one team or CI farm from one database.

It is `TicketStore` with PostgreSQL's connections, transactions and schema version: every rule
of the tickets, and every statement, is the same (mockserver.dialect turns the statements into
PostgreSQL's). What SQLite's single writer guarantees holds here too: a write transaction first
takes one advisory lock of the database (of its schema), so write transactions of every worker
of every instance take turns, as on SQLite. A row read in one cannot change before it commits
(an update's `decide`, a claimed scenario step, a claimed callback, a fault's counters), and ids
are handed out in commit order (the event feed's cursor relies on it). The ticket an update
changes is locked (`SELECT ... FOR UPDATE`) as well, so that the update stays safe on its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from mockserver.dialect import POSTGRES
from mockserver.store import SCHEMA, SCHEMA_VERSION, TicketStore, now_iso

CONNECT_TIMEOUT_SECONDS = 5  # unless the DSN says otherwise: an unreachable server fails fast
LOCK_TIMEOUT = "15s"  # a writer waits this long for its turn, then the request gets 503 (SQLite's timeout too)
VERSION_TABLE = "tt_mock_store"
# Connections a forked child inherited: never used there, and never finalized either (libpq would
# send the server the parent's goodbye on the shared socket).
_inherited: list[Any] = []


def describe(dsn: str) -> str:
    """The database a DSN names, without its password: `user@host:port/dbname`."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "postgresql://(a DSN that does not parse)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host') or 'localhost'}{port}/{parts.get('dbname') or ''}"


class _PgConnection:
    """A psycopg connection that takes the store's statements (`?` placeholders) and answers
    like sqlite3's: `execute` returns a cursor, rows are dicts."""

    def __init__(self, raw: psycopg.Connection[dict[str, Any]]) -> None:
        self.raw, self.pid = raw, os.getpid()

    def __del__(self) -> None:
        # Closed with its store (a test's app, a thread that ended), not left to psycopg's warning;
        # in a forked child, kept from being finalized at all.
        if os.getpid() != self.pid:
            _inherited.append(self.raw)
        elif not self.raw.closed:
            self.raw.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[dict[str, Any]]:
        return self.raw.execute(POSTGRES.sql(sql), tuple(params))


class PostgresStore(TicketStore):
    """Tickets and their history in a PostgreSQL database, shared by every worker of every instance
    that names it. The tables go in the connection's schema (the first of its `search_path`)."""

    dialect = POSTGRES

    def __init__(self, dsn: str) -> None:  # not TicketStore's: that one opens a file
        self.path = describe(dsn)  # what messages name: never the password
        self.dsn = dsn
        self.now = now_iso
        self._local = threading.local()
        try:
            self._migrate_schema()
        except BaseException:
            self.close()
            raise

    # -- connections -------------------------------------------------------------------------

    def _open(self) -> _PgConnection:
        extra: dict[str, Any] = {}
        if "connect_timeout" not in conninfo_to_dict(self.dsn):
            extra["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        raw = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row, application_name="tt-mock", **extra)
        raw.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        return _PgConnection(raw)

    @contextmanager
    def _connection(self) -> Iterator[_PgConnection]:
        yield self._thread_local().conn

    def _thread_local(self) -> threading.local:
        """This thread's connection: a new one in a forked worker, or after the last one broke
        (a database restart: the request that met it got 503, the next one reconnects)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn, local.pid = None, None  # a parent's: see _PgConnection.__del__
        if local.conn is None or local.conn.raw.closed or local.conn.raw.broken:
            local.conn = self._open()
            local.pid = os.getpid()
        return local

    @contextmanager
    def _transaction(self) -> Iterator[_PgConnection]:
        """A write transaction, its turn taken first (see the module's docstring)."""
        conn = self._thread_local().conn
        with conn.raw.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('tt-mock:' || current_schema()))")
            yield conn

    def _migrate_schema(self) -> None:
        with self._transaction() as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
            row = conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
            if row is not None and row["version"] != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} holds store schema version {row['version']}, this mock needs {SCHEMA_VERSION}: "
                    "use another database or schema"
                )
            for statement in SCHEMA:
                conn.execute(self.dialect.ddl(statement))
            if row is None:
                conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        """Close this thread's connection (in this process: a forked child leaves its parent's)."""
        local = self._local
        if getattr(local, "pid", None) == os.getpid() and local.conn is not None:
            local.conn.raw.close()
            local.conn, local.pid = None, None
