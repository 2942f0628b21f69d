"""No SQLite connection crosses gunicorn's fork.

`serve` builds an app once in the master to fail early with one message. That app holds a
SQLite connection and sits in reference cycles; when the garbage collector closed it in the
master after the workers had forked, SQLite, seeing its last connection go, checkpointed and
deleted the -wal and -shm files under the workers' feet: "disk I/O error", "no such table",
"database disk image is malformed" on a few runs in ten of the two-worker tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import ServedMock

pytestmark = pytest.mark.server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path / "tickets.db").start()
    yield mock
    mock.stop()


def _open_files(pid: int) -> list[str]:
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:  # closed while listed
            continue
    return names


def test_the_master_holds_no_database_connection_and_workers_no_deleted_file(served: ServedMock) -> None:
    database = str(served.db)
    # The first worker to answer ends start(); wait until each has built its app and store.
    deadline = time.monotonic() + 15
    while not all(database in _open_files(pid) for pid in served.worker_pids()):
        assert time.monotonic() < deadline, "a worker never opened the store"
        time.sleep(0.05)
    master = _open_files(served.process.pid)  # type: ignore[union-attr]
    assert [name for name in master if name.startswith(database) and not name.endswith(".lock")] == []
    for worker in served.worker_pids():
        deleted = [name for name in _open_files(worker) if name.startswith(database) and name.endswith("(deleted)")]
        assert deleted == []
