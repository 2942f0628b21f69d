"""The store, on SQLite and on PostgreSQL: persistence, atomic updates and concurrent writers.

Each test that takes `db` runs on both: a SQLite file, and a fresh schema of the test database
(tests/postgres.py; skipped when there is none, unless $TT_TEST_POSTGRES is set)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from mockserver import MockConfig, create_app
from mockserver.store import Attachment, Change, DuplicateMirrorKey, TicketStore, open_store
from tests import postgres
from tests.support import SECRET, Api, update_body


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A --db of each back end, empty."""
    if request.param == "sqlite":
        yield str(tmp_path / "tickets.db")
        return
    with postgres.schema_dsn() as dsn:
        yield dsn


@pytest.fixture
def store(db: str) -> Iterator[TicketStore]:
    opened = open_store(db)
    yield opened
    opened.close()


@pytest.fixture
def apps() -> Iterator[Callable[[str], Api]]:
    """Apps on a --db, their stores closed afterwards (a PostgreSQL connection left to the garbage
    collector may be finalized before the store that would close it, and warn)."""
    stores: list[TicketStore] = []

    def app_on(db: str) -> Api:
        app = create_app(MockConfig(db=db, jwt_secret=SECRET))
        stores.append(app.extensions["mockserver"].store)
        return Api(app.test_client(), "TU-A", app.extensions["mockserver"].lifecycle)

    yield app_on
    for store in stores:
        store.close()


def test_tickets_survive_a_restart_on_the_same_store(db: str, apps: Callable[[str], Api]) -> None:
    _api = apps
    first = _api(db)
    ticket_id, mirror_key = first.open_ticket()
    assert first.patch(ticket_id, update_body(ticket_id, mirror_key, dialog="before restart")).status_code == 200
    answer_before = first.get(ticket_id).get_json()

    second = _api(db)  # a new app, a new store, the same database
    assert second.get(ticket_id).get_json() == answer_before
    assert second.open_ticket()[0] == "RED-2"  # the sequence carries on


def test_a_store_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    sqlite3.connect(db).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        TicketStore(str(db))


@pytest.mark.postgres
def test_a_postgres_schema_of_another_version_is_refused() -> None:
    with postgres.schema_dsn() as dsn:
        open_store(dsn).close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE tt_mock_store SET version = 99")
        with pytest.raises(RuntimeError, match="schema version 99"):
            open_store(dsn)


def _leave(store: TicketStore) -> None:
    """A thread done with a store closes its connection (a `:memory:` store's is everyone's)."""
    if store.path != ":memory:":
        store.close()


def _create(store: TicketStore, tenant: str, key: str) -> int:
    return store.create(tenant=tenant, mirror_key=key, state="OPENACTIVE", fields={}, dialog=None, attachments=[]).seq


def test_a_refusing_decision_rolls_back(store: TicketStore) -> None:
    ticket_id = _create(store, "TU-A", "K1")

    def refuse(ticket):
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.update("TU-A", ticket_id, refuse)
    assert [len(t.events) for t in store.history()] == [1]


@pytest.fixture(params=["file", ":memory:", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    if request.param == "postgres":
        with postgres.schema_dsn() as dsn:
            opened = open_store(dsn)
            yield opened
            opened.close()
        return
    yield TicketStore(str(tmp_path / "t.db") if request.param == "file" else ":memory:")


def test_concurrent_creates_get_distinct_ids_and_one_ticket_per_mirror_key(any_store: TicketStore) -> None:
    store = any_store
    ids: list[int] = []
    duplicates: list[int] = []

    def worker(n: int) -> None:
        for i in range(25):
            try:
                ids.append(_create(store, "TU-A", f"K-{i % 10}-{n % 2}"))
            except DuplicateMirrorKey as duplicate:
                duplicates.append(duplicate.seq)
        _leave(store)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == len(set(ids)) == 20  # 10 keys x 2 variants
    assert sorted(ids) == list(range(1, 21))  # no id lost to a refused duplicate
    assert len(duplicates) == 100 - 20
    assert set(duplicates) <= set(ids)


def test_concurrent_updates_are_serialized(store: TicketStore) -> None:
    """Each update reads the state it changes inside its own write transaction."""
    ticket_id = _create(store, "TU-A", "K")

    def bump(ticket):
        count = ticket.fields.get("count", 0)
        return Change(side="TU", actor="TU-A", state="OPENACTIVE", dialog=None, fields={"count": count + 1})

    def worker() -> None:
        for _ in range(20):
            store.update("TU-A", ticket_id, bump)
        _leave(store)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("TU-A", ticket_id).fields["count"] == 80


def test_two_stores_on_one_database_see_and_serialize_each_other(db: str) -> None:
    """Two stores on one database, as two instances (or workers) have: each sees the other's
    tickets, and their updates of one ticket take turns."""
    first, second = open_store(db), open_store(db)
    ticket_id = _create(first, "TU-A", "K")
    assert second.get("TU-A", ticket_id) is not None

    def bump(ticket):
        count = ticket.fields.get("count", 0)
        return Change(side="TU", actor="TU-A", state="OPENACTIVE", dialog=None, fields={"count": count + 1})

    def worker(store: TicketStore) -> None:
        for _ in range(15):
            store.update("TU-A", ticket_id, bump)
        store.close()

    threads = [threading.Thread(target=worker, args=(store,)) for store in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first.get("TU-A", ticket_id).fields["count"] == 60
    assert len(second.history_of(ticket_id).events) == 61
    first.close()
    second.close()


def test_attachments_keep_their_bytes_and_tenants_their_tickets(store: TicketStore) -> None:
    content = bytes(range(256)) * 3
    ticket = store.create(
        tenant="TU-A",
        mirror_key="K",
        state="OPENACTIVE",
        fields={"a": 1},
        dialog="hi",
        attachments=[Attachment("f.bin", "application/octet-stream", content)],
    )
    [event] = store.history_of(ticket.seq).events
    [meta] = event["attachments"]
    assert meta["size"] == len(content) and meta["name"] == "f.bin"
    assert store.attachment("TU-A", ticket.seq, meta["id"]) == Attachment("f.bin", "application/octet-stream", content)
    assert store.attachment(None, ticket.seq, meta["id"]) is not None  # the control API: any tenant's
    assert store.attachment("TU-B", ticket.seq, meta["id"]) is None
    assert store.get("TU-B", ticket.seq) is None
    assert store.history_of(ticket.seq, "TU-B") is None
    assert [h.ticket.seq for h in store.history("TU-A")] == [ticket.seq]
    assert store.history("TU-B") == []


def test_seeded_ids_are_kept_and_later_ids_come_after_them(store: TicketStore) -> None:
    opened = Change(side="TU", actor="TU-A", state="OPENACTIVE", dialog=None, fields={})
    assert store.seed(tenant="TU-A", mirror_key="S1", seq=50, events=[(opened, None)]).seq == 50
    assert _create(store, "TU-A", "K1") == 51
    assert store.seed(tenant="TU-A", mirror_key="S2", seq=7, events=[(opened, None)]).seq == 7
    assert _create(store, "TU-A", "K2") == 52
    assert store.seed(tenant="TU-A", mirror_key="S3", seq=None, events=[(opened, None)]).seq == 53
    with pytest.raises(DuplicateMirrorKey):
        store.seed(tenant="TU-A", mirror_key="S1", seq=None, events=[(opened, None)])


def test_reset_removes_a_tenants_tickets_with_their_history_and_ids_are_not_reused(store: TicketStore) -> None:
    first = _create(store, "TU-A", "K1")
    _create(store, "TU-B", "K1")
    assert store.reset("TU-A") == 1
    assert [h.ticket.tenant for h in store.history()] == ["TU-B"]
    assert store.reset() == 1
    assert store.history() == []
    assert _create(store, "TU-A", "K1") > first + 1
    assert store.query("SELECT COUNT(*) AS n FROM events")[0]["n"] == 1  # the cascade took the old events


def test_faults_are_claimed_atomically_by_concurrent_stores(db: str) -> None:
    """Two stores (two instances) share a fault's counters: "the next 30 requests" means 30."""
    stores = [open_store(db), open_store(db)]
    fault = stores[0].add_fault({"kind": "test"})
    assert stores[0].add_faults_once([{"kind": "file"}], origin="file")
    assert not stores[1].add_faults_once([{"kind": "file"}], origin="file")
    fired: list[int] = []

    def worker(store: TicketStore) -> None:
        for _ in range(20):
            claimed = store.claim_fault(lambda row: row.id == fault.id, lambda row, n: n <= 30)
            if claimed is not None:
                fired.append(claimed[1])
        store.close()

    threads = [threading.Thread(target=worker, args=(store,)) for store in (*stores, *stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(fired) == list(range(1, 31))
    [row] = [row for row in stores[1].faults() if row.id == fault.id]
    assert (row.seen, row.hits) == (80, 30)
    assert stores[1].remove_faults() == 2
    for store in stores:
        store.close()


def test_tables_of_other_modules_get_the_identity_column_of_the_database(store: TicketStore) -> None:
    store.ensure_tables(["CREATE TABLE IF NOT EXISTS notes (id {id}, body TEXT NOT NULL, big BIGINT)"])
    with store.transaction() as tx:
        first = tx.query("INSERT INTO notes (body, big) VALUES (?, ?) RETURNING id", ("a", 2**40))[0]["id"]
        assert tx.execute("UPDATE notes SET body = ? WHERE id = ?", ("b", first)) == 1
    assert store.query("SELECT body, big FROM notes WHERE id = ?", (first,)) == [{"body": "b", "big": 2**40}]
    assert store.query("SELECT '100%' AS literal, ? AS param", ("x?",)) == [{"literal": "100%", "param": "x?"}]


@pytest.mark.postgres
def test_a_lost_database_connection_is_a_store_error_and_the_next_request_reconnects(
    apps: Callable[[str], Api],
) -> None:
    with postgres.schema_dsn() as dsn:
        api = apps(dsn)
        ticket_id, _ = api.open_ticket()
        store = api.client.application.extensions["mockserver"].store
        with store._connection() as conn:
            backend = conn.raw.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        lost = api.get(ticket_id)  # answered as a SQLite error is: the contract's remote error, "retry"
        assert "the ticket store could not serve the request" in lost.get_json()["remoteException"]
        assert api.get(ticket_id).status_code == 200


@pytest.mark.parametrize(
    ("dsn", "named"),
    [
        ("postgresql://tt_user:s3cret@127.0.0.1:1/tt_db", "postgresql://tt_user@127.0.0.1:1/tt_db"),
        ("postgresql:///tt_db?port=1&password=s3cret", "postgresql://localhost:1/tt_db"),
        ("postgresql://tt_user:s3cret@127.0.0.1/tt_db?colour=red", "does not parse"),
    ],
)
def test_a_database_that_cannot_be_opened_is_named_without_its_password(
    dsn: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import EXIT_USAGE, main

    assert main(["serve", "--db", dsn, "--data-dir", str(tmp_path), "--workers", "1"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "cannot open the store" in error and named in error
    assert "s3cret" not in error


@pytest.mark.postgres
def test_closing_a_postgres_store_ends_its_database_session() -> None:
    with postgres.schema_dsn() as dsn:
        store = open_store(dsn)
        (row,) = store.query("SELECT pg_backend_pid() AS pid")
        backend = row["pid"]
        store.close()
        with psycopg.connect(dsn, autocommit=True) as admin:
            for _ in range(50):  # the server ends a session a moment after its client leaves
                if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone() is None:
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the session of the closed store (backend {backend}) is still open")
