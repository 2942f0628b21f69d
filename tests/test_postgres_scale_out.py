"""Scale-out: two mock instances (`tt-mock serve --db postgresql://...`, two workers each, separate
processes, ports and --data-dir) on one PostgreSQL database, as behind a load balancer.

A ticket made on one is read and moved on the other; concurrent moves split across both lose
nothing; scenario steps fire once and callbacks reach the TU's mirror once, whichever instance's
request or background worker gets to them. Runs where tests/postgres.py finds a database (always
in `.ci/run`); about 15 s.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.control import PREFIX
from mockserver.testing import START_TIMEOUT, ServedMock, TTMirror, TTMock, free_port
from tests import postgres
from tests.support import update_body

pytestmark = [pytest.mark.postgres, pytest.mark.server, pytest.mark.timeout(120)]


class Instance:
    """One `tt-mock serve` on the shared database, with its own port and --data-dir."""

    def __init__(self, dsn: str, data_dir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True)
        self.log = data_dir / "serve.log"
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(self.port), "--db", dsn]
        command += ["--data-dir", str(data_dir), "--workers", "2", "--threads", "4", *extra]
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the mock exited: {self.log.read_text()}")
            try:
                if requests.get(f"{self.url}{PREFIX}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the mock did not answer within {START_TIMEOUT} s: {self.log.read_text()}")
            time.sleep(0.1)
        self.tt = TTMock(self.url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[TTMirror]:
    with ServedMock(tmp_path / "mirror" / "mirror.db", "--role", "tu-mirror") as served:
        yield TTMirror(served.url)


@pytest.fixture
def farm(tmp_path: Path, mirror: TTMirror) -> Iterator[tuple[Instance, Instance]]:
    """Instances A and B on one fresh schema, both delivering TU-A's callbacks to `mirror`."""
    with postgres.schema_dsn() as dsn:
        started: list[Instance] = []
        try:
            for name in ("a", "b"):
                started.append(Instance(dsn, tmp_path / name, "--mirror", f"TU-A={mirror.url}"))
            yield started[0], started[1]
        finally:
            for instance in started:
                instance.stop()


def _create(instance: Instance, key: str) -> str:
    tt = instance.tt
    answer = requests.post(
        f"{instance.url}/troubleTicket", json=tt.contract.example_create(key), headers=tt.headers("TU-A"), timeout=10
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()[tt.contract.names.ticket_id])


def _patch(instance: Instance, ticket_id: str, body: dict[str, Any]) -> requests.Response:
    return requests.patch(
        f"{instance.url}/troubleTicket/{ticket_id}", json=body, headers=instance.tt.headers("TU-A"), timeout=20
    )


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once, one thread each; their results in order."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_ticket_made_on_one_instance_is_read_and_moved_on_the_other(farm: tuple[Instance, Instance]) -> None:
    a, b = farm
    names = a.tt.contract.names
    ticket_id = _create(a, "SCALE-1")
    read_on_b = requests.get(f"{b.url}/troubleTicket/{ticket_id}", headers=b.tt.headers("TU-A"), timeout=10)
    assert read_on_b.status_code == 200 and read_on_b.json()[names.mirror_key] == "SCALE-1"

    moved = _patch(b, ticket_id, update_body(ticket_id, "SCALE-1", dialog="moved on B"))
    assert moved.status_code == 200, moved.text
    assert [e["dialog"] for e in a.tt.history(ticket_id)][-1] == "moved on B"
    again = requests.post(  # the key is taken across instances too
        f"{b.url}/troubleTicket", json=b.tt.contract.example_create("SCALE-1"), headers=b.tt.headers("TU-A"), timeout=10
    )
    assert again.status_code == 400 and ticket_id in again.text
    other = requests.get(f"{a.url}/troubleTicket/{ticket_id}", headers=a.tt.headers("TU-B"), timeout=10)
    assert other.status_code == 404  # tenants stay apart, whichever instance answers


def test_concurrent_moves_across_instances_lose_nothing(farm: tuple[Instance, Instance]) -> None:
    a, b = farm
    ticket_id = _create(a, "SCALE-2")
    dialogs = [f"update {n}" for n in range(20)]
    answers = _together(
        [
            lambda n=n: _patch((a, b)[n % 2], ticket_id, update_body(ticket_id, "SCALE-2", dialog=dialogs[n]))
            for n in range(20)
        ]
    )
    assert [answer.status_code for answer in answers] == [200] * 20, [answer.text for answer in answers]
    history = b.tt.history(ticket_id)
    assert len(history) == 21  # the creation and every update, none lost
    assert sorted(e["dialog"] for e in history[1:]) == sorted(dialogs)
    # A serial order: each update moved the state the one before left.
    assert all(later["from"] == earlier["to"] for earlier, later in zip(history, history[1:], strict=False))
    final = requests.get(f"{a.url}/troubleTicket/{ticket_id}", headers=a.tt.headers("TU-A"), timeout=10).json()
    assert final[a.tt.contract.names.state] == history[-1]["to"]


def test_scenario_steps_fire_once_and_callbacks_arrive_once_across_instances(
    farm: tuple[Instance, Instance], mirror: TTMirror
) -> None:
    a, b = farm
    ask = next(s for s in a.tt.scenarios() if s["name"] == "ask-for-information")
    keys = [f"INFO-SCALE-{n}" for n in range(4)]
    ids = {}
    for n, key in enumerate(keys):
        ids[key] = _create((a, b)[n % 2], key)
        mirror.open(key, ids[key])

    # A moves the shared clock past the steps while B, asked at the same moment, fires what is due,
    # and so do the four workers' background threads: each step fires once, in whichever of them.
    answers = _together([lambda: a.tt.advance(ask["after"]), lambda: b.tt.advance("0s"), lambda: b.tt.advance("0s")])
    reported = [step for answer in answers for step in answer]
    assert len({step["id"] for step in reported}) == len(reported) <= len(keys)
    assert {step["status"] for step in reported} <= {"fired"}
    until = time.monotonic() + 15
    while len(a.tt.steps(status="fired")) < len(keys):
        assert time.monotonic() < until, "the steps did not all fire"
        time.sleep(0.1)
    for key in keys:
        assert [s["status"] for s in a.tt.steps(ids[key])] == ["fired"]
        to_moves = [e for e in b.tt.history(ids[key]) if e["side"] == "TO"]
        assert [e["to"] for e in to_moves] == [ask["then"]["to"]]

    # Both instances' requests and background workers send the callbacks: each arrives once.
    _together([a.tt.deliver_callbacks, b.tt.deliver_callbacks])
    deadline = time.monotonic() + 15
    while len(mirror.requests(method="PATCH")) < len(keys):
        assert time.monotonic() < deadline, "the callbacks did not all arrive"
        time.sleep(0.1)
    time.sleep(1)  # the four workers' senders poll every quarter second: give a duplicate its chance
    for key in keys:
        callbacks = a.tt.callbacks(ids[key])
        assert [(c["status"], len(c["attempts"])) for c in callbacks] == [("delivered", 1)]
        assert b.tt.callbacks(ids[key], deliver=False) == callbacks
        assert [e["to"] for e in mirror.history(key) if e["side"] == "TO"] == [ask["then"]["to"]]
    patches = mirror.requests(method="PATCH")
    assert sorted(r.path for r in patches) == sorted({r.path for r in patches}) and len(patches) == len(keys)
    assert [r.status for r in patches] == [200] * len(keys)
