"""The SQLite store: persistence, atomic updates and concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mockserver import MockConfig, create_app
from mockserver.store import Change, DuplicateMirrorKey, TicketStore
from tests.support import SECRET, Api, update_body


def _api(db: Path, tenant: str = "TU-A") -> Api:
    app = create_app(MockConfig(db=str(db), jwt_secret=SECRET))
    return Api(app.test_client(), tenant, app.extensions["mockserver"].lifecycle)


def test_tickets_survive_a_restart_on_the_same_file(tmp_path: Path) -> None:
    db = tmp_path / "tickets.db"
    first = _api(db)
    ticket_id, mirror_key = first.open_ticket()
    assert first.patch(ticket_id, update_body(ticket_id, mirror_key, dialog="before restart")).status_code == 200
    answer_before = first.get(ticket_id).get_json()

    second = _api(db)  # a new app, a new store, the same file
    assert second.get(ticket_id).get_json() == answer_before
    assert second.open_ticket()[0] == "RED-2"  # the sequence carries on


def test_a_store_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    sqlite3.connect(db).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        TicketStore(str(db))


def _create(store: TicketStore, tenant: str, key: str) -> int:
    return store.create(tenant=tenant, mirror_key=key, state="OPENACTIVE", fields={}, dialog=None, attachments=[]).seq


def test_a_refusing_decision_rolls_back(tmp_path: Path) -> None:
    store = TicketStore(str(tmp_path / "t.db"))
    ticket_id = _create(store, "TU-A", "K1")

    def refuse(ticket):
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.update("TU-A", ticket_id, refuse)
    assert [len(t.events) for t in store.history()] == [1]


@pytest.mark.parametrize("db", ["file", ":memory:"])
def test_concurrent_creates_get_distinct_ids_and_one_ticket_per_mirror_key(tmp_path: Path, db: str) -> None:
    store = TicketStore(str(tmp_path / "t.db") if db == "file" else db)
    ids: list[int] = []
    duplicates: list[int] = []

    def worker(n: int) -> None:
        for i in range(25):
            try:
                ids.append(_create(store, "TU-A", f"K-{i % 10}-{n % 2}"))
            except DuplicateMirrorKey as duplicate:
                duplicates.append(duplicate.seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == len(set(ids)) == 20  # 10 keys x 2 variants
    assert len(duplicates) == 100 - 20
    assert set(duplicates) <= set(ids)


def test_concurrent_updates_are_serialized(tmp_path: Path) -> None:
    """Each update reads the state it changes inside its own write transaction."""
    store = TicketStore(str(tmp_path / "t.db"))
    ticket_id = _create(store, "TU-A", "K")

    def bump(ticket):
        count = ticket.fields.get("count", 0)
        return Change(side="TU", actor="TU-A", state="OPENACTIVE", dialog=None, fields={"count": count + 1})

    threads = [
        threading.Thread(target=lambda: [store.update("TU-A", ticket_id, bump) for _ in range(20)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("TU-A", ticket_id).fields["count"] == 80
