"""`make bench`: the served mock under a mixed load, measured with wrk on loopback.

60% GET, 20% create, 20% PATCH over 16 connections, 10 s per run after a warm-up. The mock runs
as `make mock` runs it (`python -m mockserver serve` with its default workers), on a fresh store
file. Each run prints requests/s, p50, p99, the non-2xx count and the server's CPU time per
request (steadier than the rate on a shared machine); the summary gives medians. When npm is
available, Stoplight Prism 5 (a stateless, validating mock) serves the same spec under the same
load for comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.common import free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "mixed.lua"
SPEC = ROOT / "spec" / "openapi.yaml"
PRISM_DIR = ROOT / ".bench"
SEED_TICKETS = 200
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_us_per_request: float
    statuses: str

    def line(self) -> str:
        return (
            f"{self.requests_per_second:7.0f} req/s  p50 {self.p50_ms:5.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"non-2xx {self.non_2xx}  socket errors {self.socket_errors}  "
            f"server CPU {self.cpu_us_per_request:4.0f} us/request  ({self.statuses})"
        )


@dataclass
class Target:
    name: str
    url: str
    server_pid: int

    def pids(self) -> list[int]:
        """The server and its worker processes, read when asked: workers start after the server."""
        return [self.server_pid, *children(self.server_pid)]


def ensure_wrk() -> str:
    """wrk from Debian, installed on first use when we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package) ...", flush=True)
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        if shutil.which("wrk"):
            return shutil.which("wrk")  # type: ignore[return-value]
    sys.exit("make bench needs wrk: install it (Debian: apt-get install wrk) and run again")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


@contextmanager
def served_mock(workdir: Path, serve_args: list[str]) -> Iterator[Target]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", str(workdir / "bench.db")]
    with open(workdir / "mock.log", "w") as log:
        server = subprocess.Popen([*command, *serve_args], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until_up(url, server, "/_mock/health")
        print(f"mock:  python -m mockserver serve {' '.join(serve_args)} (on a fresh store file)")
        yield Target("mock", url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=15)


@contextmanager
def served_prism(workdir: Path) -> Iterator[Target | None]:
    if not shutil.which("npm"):
        print("prism: skipped (no npm)")
        yield None
        return
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        print("installing Stoplight Prism 5 (npm) into .bench/ ...", flush=True)
        PRISM_DIR.mkdir(exist_ok=True)
        install = [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(PRISM_DIR),
            "@stoplight/prism-cli@5",
        ]
        if subprocess.run(install, capture_output=True).returncode != 0 or not binary.exists():
            print("prism: skipped (npm could not install @stoplight/prism-cli)")
            yield None
            return
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(binary), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url, server, "/troubleTicket/RED-1")
        print("prism: prism mock spec/openapi.yaml (stateless; its log discarded)")
        yield Target("prism", url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=15)


def seed(url: str, token: str) -> str:
    """Create the tickets that GET and PATCH will hit; return them as the Lua script reads them."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    pairs = []
    for n in range(1, SEED_TICKETS + 1):
        body = {
            "baseTroubleTicketState": "OPENACTIVE",
            "mirrorKey": f"B-{n}",
            "dialog": "seed",
            "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
            "troubleDescription": "seed",
            "troubleDetectionTime": "2025-01-15T10:30:00Z",
            "preferredPriority": 2,
            "troubledObject": "CTO",
            "customerTroubleNum": "O1",
            "wh1Parameter": "red",
            "clearencePerson": "agent-7",
        }
        answer = session.post(f"{url}/troubleTicket", json=body, timeout=10)
        answer.raise_for_status()
        pairs.append(f"{answer.json()['ticketId']}={body['mirrorKey']}")
    return ",".join(pairs)


def run_wrk(wrk: str, target: Target, env: dict[str, str], *, seconds: int, connections: int, threads: int) -> Result:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(SCRIPT), target.url]
    pids = target.pids()
    cpu_before = cpu_seconds(pids)
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    cpu_used = cpu_seconds(pids) - cpu_before
    if finished.returncode != 0:
        sys.exit(f"wrk failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}")
    match = re.search(
        r"RESULT requests=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+) errors=(\d+) statuses=(\S*)",
        finished.stdout,
    )
    if not match:
        sys.exit(f"could not read wrk's output:\n{finished.stdout}")
    total, duration, p50, p99, errors, statuses = match.groups()
    counts = dict(item.split(":") for item in statuses.split(",") if item)
    non_2xx = sum(int(count) for status, count in counts.items() if not status.startswith("2"))
    return Result(
        requests_per_second=int(total) / float(duration),
        p50_ms=int(p50) / 1000,
        p99_ms=int(p99) / 1000,
        non_2xx=non_2xx,
        socket_errors=int(errors),
        cpu_us_per_request=cpu_used / max(int(total), 1) * 1e6,
        statuses=statuses,
    )


def measure(wrk: str, target: Target, token: str, args: argparse.Namespace) -> list[Result]:
    env = {**os.environ, "TOKEN": token, "TICKETS": seed(target.url, token)}
    load = {"connections": args.connections, "threads": args.wrk_threads}
    run_wrk(wrk, target, {**env, "RUN": f"{target.name}-warm"}, seconds=args.warmup, **load)
    results = []
    for n in range(args.runs):
        result = run_wrk(wrk, target, {**env, "RUN": f"{target.name}-{n}"}, seconds=args.seconds, **load)
        print(f"  {target.name} run {n + 1}: {result.line()}", flush=True)
        results.append(result)
    return results


def median(results: list[Result], field: str) -> float:
    return statistics.median(getattr(result, field) for result in results)


def summary(name: str, results: list[Result]) -> str:
    return (
        f"{name}: median of {len(results)} runs: {median(results, 'requests_per_second'):.0f} req/s, "
        f"p50 {median(results, 'p50_ms'):.2f} ms, p99 {median(results, 'p99_ms'):.2f} ms, "
        f"server CPU {median(results, 'cpu_us_per_request'):.0f} us/request, "
        f"non-2xx {sum(r.non_2xx for r in results)}, socket errors {sum(r.socket_errors for r in results)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds before the runs")
    parser.add_argument("--runs", type=int, default=3, help="measured runs; the medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--no-prism", action="store_true", help="skip the comparison with Stoplight Prism")
    parser.add_argument("serve_args", nargs="*", help="extra `mockserver serve` options, after --")
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    token = (
        subprocess.run(
            [sys.executable, "-m", "mockserver", "token", "--sub", "TU-BENCH"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    print(
        f"load:  wrk, {args.connections} connections, 60% GET / 20% POST / 20% PATCH, "
        f"{args.runs} x {args.seconds} s after {args.warmup} s warm-up, loopback"
    )
    with tempfile.TemporaryDirectory() as workdir:
        with served_mock(Path(workdir), args.serve_args) as mock:
            mock_results = measure(wrk, mock, token, args)
        prism_results: list[Result] = []
        if not args.no_prism:
            with served_prism(Path(workdir)) as prism:
                if prism is not None:
                    prism_results = measure(wrk, prism, token, args)
    print(summary("mock ", mock_results))
    if prism_results:
        print(summary("prism", prism_results))
        ratio = median(mock_results, "requests_per_second") / median(prism_results, "requests_per_second")
        print(f"mock / prism throughput: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
