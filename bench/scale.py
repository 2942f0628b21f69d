"""`make bench-scale`: does a ticket cost the same with a million stored? Start-up and memory.

Fills two store files, one with 1,000 tickets and one with 1,000,000 (each a copy of a ticket
created through the mock's own service, with its history), serves both at once and loads them
in turns with wrk: GET, create and PATCH alone, each on tickets drawn at random from the whole
store. Prints per operation the server CPU per request and the requests/s of each and their
ratio; then the time from `python -m mockserver serve` to its first answer on each file, and the
memory of the served mock (server and workers) on a store of 100,000 tickets after a mixed load.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.__main__ import ROOT, Load, Result, Target, children, ensure_wrk, median, mock_token, served_mock
from bench.common import free_port
from mockserver.store import TicketStore
from mockserver.tickets import TicketService
from spec.contract import Contract

TENANT = "TU-BENCH"  # the `sub` of mock_token()
KEY_PREFIX = "S-"
OPERATIONS = ("get", "create", "update")
TEMPLATE = {
    "baseTroubleTicketState": "OPENACTIVE",
    "dialog": "scale",
    "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
    "troubleDescription": "ONT sincronizado, pero no navega.",
    "troubleDetectionTime": "2025-01-15T10:30:00Z",
    "preferredPriority": 1,
    "troubledObject": "CTO",
    "customerTroubleNum": "O99999999999/M9999999999",
    "wh1Parameter": "red",
    "clearencePerson": "agent-7",
}


def fill(db: Path, count: int) -> None:
    """A store of `count` tickets RED-1..RED-n of the bench's tenant, mirrorKeys S-1..S-n."""
    store = TicketStore(str(db))
    service = TicketService.of(Contract.load(), store)
    service.create(TENANT, {**TEMPLATE, "mirrorKey": f"{KEY_PREFIX}1"}, [])
    # The rest are copies of ticket 1 and its creation event, made inside SQLite: minutes faster
    # than a million creates, and the rows are the ones the mock itself wrote.
    with sqlite3.connect(db) as conn:
        series = "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        conn.execute(
            series + "INSERT INTO tickets (seq, tenant, mirror_key, state, fields, created_at, updated_at)"
            " SELECT i, t.tenant, ? || i, t.state, t.fields, t.created_at, t.updated_at"
            " FROM n, tickets t WHERE t.seq = 1",
            (count, KEY_PREFIX),
        )
        conn.execute(
            series + "INSERT INTO events (ticket_seq, at, side, actor, from_state, to_state, dialog, changes)"
            " SELECT i, e.at, e.side, e.actor, e.from_state, e.to_state, e.dialog, e.changes"
            " FROM n, events e WHERE e.ticket_seq = 1",
            (count,),
        )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def startup_seconds(db: Path) -> float:
    """From launching `python -m mockserver serve` on `db` to its first answer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/_mock/health"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", str(db)]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        while True:
            try:
                if requests.get(url, timeout=1).ok:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 60:
                sys.exit(f"the mock on {db} did not start")
            time.sleep(0.005)
    finally:
        server.terminate()
        server.wait(timeout=15)


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS (shared pages divided among their sharers) of a server and its workers, in MB."""
    rss = pss = 0
    for process in (pid, *children(pid)):
        for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name == "Pss":
                pss += int(value.split()[0])
    return rss / 1024, pss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000, help="tickets in the small store")
    parser.add_argument("--large", type=int, default=1_000_000, help="tickets in the large store")
    parser.add_argument("--memory-tickets", type=int, default=100_000, help="tickets in the store whose memory is read")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs per operation and store; medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    args = parser.parse_args(argv)

    load = Load(ensure_wrk(), args.seconds, args.warmup, args.runs, args.connections, args.wrk_threads)
    token = mock_token()
    with tempfile.TemporaryDirectory() as workdir:
        stores = {}
        for name, count in (("small", args.small), ("large", args.large), ("memory", args.memory_tickets)):
            stores[name] = Path(workdir) / f"{name}.db"
            started = time.perf_counter()
            fill(stores[name], count)
            size = sum(f.stat().st_size for f in Path(workdir).glob(f"{name}.db*")) / 1e6
            print(f"filled {name} store: {count:,} tickets, {size:,.0f} MB, {time.perf_counter() - started:.1f} s")

        print(f"\nstart-up (launch to first answer, median of 5), {args.small:,} vs {args.large:,} tickets:")
        startup = {
            name: statistics.median(startup_seconds(stores[name]) for _ in range(5)) for name in ("small", "large")
        }
        for name in ("small", "large"):
            print(f"  {name}: {startup[name]:.2f} s")

        print(f"\nper operation, tickets drawn at random from the whole store, {args.runs} runs each in turns:")
        results: dict[str, dict[str, list[Result]]] = {}
        with served_mock(stores["small"], [], name="small", quiet=True) as small:
            with served_mock(stores["large"], [], name="large", quiet=True) as large:
                targets: list[tuple[Target, dict[str, str]]] = [
                    (small, {**os.environ, "TOKEN": token, "TICKET_RANGE": str(args.small), "KEY_PREFIX": KEY_PREFIX}),
                    (large, {**os.environ, "TOKEN": token, "TICKET_RANGE": str(args.large), "KEY_PREFIX": KEY_PREFIX}),
                ]
                for operation in OPERATIONS:
                    results[operation] = load.rounds(operation, targets)

        print(f"\nmemory with {args.memory_tickets:,} tickets (2 workers, after a {args.seconds} s mixed load):")
        with served_mock(stores["memory"], [], name="memory", quiet=True) as served:
            env = {**os.environ, "TOKEN": token, "TICKET_RANGE": str(args.memory_tickets), "KEY_PREFIX": KEY_PREFIX}
            load.run(served, {**env, "WORKLOAD": "mixed", "RUN": "memory"}, args.seconds)
            rss, pss = memory_mb(served.server_pid)

    small_n, large_n = f"{args.small:,}", f"{args.large:,}"
    print(
        f"\n| operation | CPU us/req, {small_n} | CPU us/req, {large_n} | ratio | req/s, {small_n} | req/s, {large_n} "
        "| ratio | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for operation, by_store in results.items():
        small_runs, large_runs = by_store["small"], by_store["large"]
        cpu_s, cpu_l = median(small_runs, "cpu_us_per_request"), median(large_runs, "cpu_us_per_request")
        rps_s, rps_l = median(small_runs, "requests_per_second"), median(large_runs, "requests_per_second")
        errors = sum(r.non_2xx + r.socket_errors for r in small_runs + large_runs)
        print(
            f"| {operation} | {cpu_s:.0f} | {cpu_l:.0f} | {cpu_l / cpu_s:.2f} | {rps_s:.0f} | {rps_l:.0f} | "
            f"{rps_l / rps_s:.2f} | {errors} |"
        )
    print(
        f"\nstart-up: {startup['small']:.2f} s with {args.small:,} tickets, {startup['large']:.2f} s with "
        f"{args.large:,} (target < 1 s: {'met' if startup['large'] < 1 else 'MISSED'})"
    )
    print(
        f"memory with {args.memory_tickets:,} tickets: server and workers RSS {rss:.0f} MB, PSS {pss:.0f} MB "
        f"(target RSS < 200 MB: {'met' if rss < 200 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
