"""`make bench`: the served mock against Stoplight Prism under the same wrk loads, on loopback.

Three workloads over 16 connections: mixed (60% GET, 20% create, 20% PATCH), GET alone and
create alone; 10 s per run after a warm-up. The mock runs as `make mock` runs it (`python -m
mockserver serve` with its defaults) on a fresh store file; Prism 5 (a stateless, validating mock,
installed with npm into .bench/) serves the same spec at `-v error`, as one tuning it for speed
would run it. Both are up for the whole bench and take turns, run by run, so that a noisy
neighbour hits both alike. Each run prints requests/s, p50, p99, the non-2xx and socket error
counts and the server's CPU time per request (steadier than the rate on a shared machine); the
summary gives, per workload, the medians of each side and their ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.common import free_port, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "load.lua"
SPEC = ROOT / "spec" / "openapi.yaml"
PRISM_DIR = ROOT / ".bench"
SEED_TICKETS = 200
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WORKLOADS = ("mixed", "get", "create")
# The targets: the mock's throughput over Prism's, per workload; and mixed p99.
TARGET_RATIOS = {"mixed": 1.5, "get": 2.0, "create": 1.2}
TARGET_P99_MS = {"mixed": 10.0}


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_us_per_request: float
    statuses: str
    served_connections: float

    def line(self) -> str:
        return (
            f"{self.requests_per_second:7.0f} req/s  p50 {self.p50_ms:5.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"non-2xx {self.non_2xx}  socket errors {self.socket_errors}  "
            f"server CPU {self.cpu_us_per_request:4.0f} us/request  busy connections {self.served_connections:4.1f}  "
            f"({self.statuses})"
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
    """Every descendant of `pid` (a server's workers, and theirs if they have any)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    direct = [int(child) for child in path.read_text().split()] if path.exists() else []
    return [pid for child in direct for pid in (child, *children(child))]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a process that ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def mock_token() -> str:
    command = [sys.executable, "-m", "mockserver", "token", "--sub", "TU-BENCH"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]


@contextmanager
def served_mock(db: Path, serve_args: list[str], *, name: str = "mock", quiet: bool = False) -> Iterator[Target]:
    """`python -m mockserver serve` on `db` and a free port, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", str(db)]
    with open(db.with_suffix(".log"), "w") as log:
        server = subprocess.Popen([*command, *serve_args], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until_up(url, server, "/_mock/health")
        if not quiet:
            print(f"{name}:  python -m mockserver serve {' '.join(serve_args)} (on a fresh store file)")
        yield Target(name, url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=15)


def prism_binary() -> Path | None:
    """Prism 5 from npm, installed into .bench/ on first use; None when that cannot be done."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary
    if not shutil.which("npm"):
        print("prism: skipped (no npm)")
        return None
    print("installing Stoplight Prism 5 (npm) into .bench/ ...", flush=True)
    PRISM_DIR.mkdir(exist_ok=True)
    install = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR)]
    if subprocess.run([*install, "@stoplight/prism-cli@5"], capture_output=True).returncode != 0 or not binary.exists():
        print("prism: skipped (npm could not install @stoplight/prism-cli)")
        return None
    return binary


@contextmanager
def served_prism() -> Iterator[Target | None]:
    binary = prism_binary()
    if binary is None:
        yield None
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # -v error: Prism logs a line per request by default, which halves its throughput.
    server = subprocess.Popen(
        [str(binary), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port), "-v", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url, server, "/troubleTicket/RED-1")
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
        print(f"prism: prism mock spec/openapi.yaml -v error (Prism {version}, stateless)")
        yield Target("prism", url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=15)


def create_body(mirror_key: str) -> dict[str, object]:
    return {
        "baseTroubleTicketState": "OPENACTIVE",
        "mirrorKey": mirror_key,
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


def seed(url: str, token: str) -> str:
    """Create the tickets that GET and PATCH will hit; return them as the Lua script reads them."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    pairs = []
    for n in range(1, SEED_TICKETS + 1):
        answer = session.post(f"{url}/troubleTicket", json=create_body(f"B-{n}"), timeout=10)
        answer.raise_for_status()
        pairs.append(f"{answer.json()['ticketId']}=B-{n}")
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
        r"RESULT requests=(\d+) seconds=([\d.]+) mean_us=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+) statuses=(\S*)",
        finished.stdout,
    )
    if not match:
        sys.exit(f"could not read wrk's output:\n{finished.stdout}")
    total, duration, mean, p50, p99, errors, statuses = match.groups()
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
        # Little's law: connections kept busy on average. Far below the connections wrk opened,
        # the server served a few of them and left the rest waiting (their wait is not in p99).
        served_connections=int(total) / float(duration) * int(mean) / 1e6,
    )


@dataclass
class Load:
    """How wrk loads every target: the same for all, so that their figures compare."""

    wrk: str
    seconds: int
    warmup: int
    runs: int
    connections: int
    threads: int

    def run(self, target: Target, env: dict[str, str], seconds: int) -> Result:
        return run_wrk(self.wrk, target, env, seconds=seconds, connections=self.connections, threads=self.threads)

    def rounds(self, workload: str, targets: list[tuple[Target, dict[str, str]]]) -> dict[str, list[Result]]:
        """Warm each target up, then `runs` rounds in which each target takes one run in turn."""
        for target, env in targets:
            self.run(target, {**env, "WORKLOAD": workload, "RUN": f"{workload}-warm"}, self.warmup)
        results: dict[str, list[Result]] = {target.name: [] for target, _ in targets}
        for n in range(self.runs):
            for target, env in targets:
                result = self.run(target, {**env, "WORKLOAD": workload, "RUN": f"{workload}-{n}"}, self.seconds)
                print(f"  {workload:6} {target.name:6} run {n + 1}: {result.line()}", flush=True)
                results[target.name].append(result)
        return results


def median(results: list[Result], field: str) -> float:
    return statistics.median(getattr(result, field) for result in results)


def summary_row(workload: str, name: str, results: list[Result]) -> str:
    return (
        f"| {workload} | {name} | {median(results, 'requests_per_second'):.0f} | {median(results, 'p50_ms'):.2f} | "
        f"{median(results, 'p99_ms'):.2f} | {sum(r.non_2xx + r.socket_errors for r in results)} | "
        f"{median(results, 'cpu_us_per_request'):.0f} |"
    )


def verdicts(workload: str, mock: list[Result], prism: list[Result]) -> str:
    ratio = median(mock, "requests_per_second") / median(prism, "requests_per_second")
    cpu_ratio = median(prism, "cpu_us_per_request") / median(mock, "cpu_us_per_request")
    parts = [f"{workload}: mock / prism throughput {ratio:.2f}x (target {TARGET_RATIOS[workload]}x: "]
    parts.append("met)" if ratio >= TARGET_RATIOS[workload] else "MISSED)")
    parts.append(f", prism / mock CPU per request {cpu_ratio:.2f}x")
    if workload in TARGET_P99_MS:
        p99, limit = median(mock, "p99_ms"), TARGET_P99_MS[workload]
        parts.append(f", mock p99 {p99:.2f} ms (target < {limit:.0f} ms: {'met' if p99 < limit else 'MISSED'})")
    errors = sum(r.non_2xx + r.socket_errors for r in mock)
    parts.append(f", mock errors {errors}")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each workload's runs")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per workload; the medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workload", choices=WORKLOADS, action="append", help="run only these (repeatable)")
    parser.add_argument("--no-prism", action="store_true", help="skip the comparison with Stoplight Prism")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="ARGS",
        help="also serve the mock with these `serve` options (e.g. '--server gunicorn'), under the same load",
    )
    parser.add_argument("serve_args", nargs="*", help="extra `mockserver serve` options, after --")
    args = parser.parse_args(argv)

    load = Load(ensure_wrk(), args.seconds, args.warmup, args.runs, args.connections, args.wrk_threads)
    token = mock_token()
    workloads = args.workload or list(WORKLOADS)
    print(
        f"load:  wrk, {args.wrk_threads} threads, {args.connections} connections, workloads {', '.join(workloads)} "
        f"(mixed: 60% GET / 20% POST / 20% PATCH), {args.runs} x {args.seconds} s after {args.warmup} s warm-up, "
        "loopback; the servers take turns run by run"
    )
    results: dict[str, dict[str, list[Result]]] = {}
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
        targets = [stack.enter_context(served_mock(Path(workdir) / "bench.db", args.serve_args))]
        for n, variant in enumerate(args.variant, start=1):
            db, serve_args = Path(workdir) / f"variant-{n}.db", [*args.serve_args, *shlex.split(variant)]
            targets.append(stack.enter_context(served_mock(db, serve_args, name=f"mock{n}")))
        if not args.no_prism:
            prism = stack.enter_context(served_prism())
            if prism is not None:
                targets.append(prism)
        envs = [(target, {**os.environ, "TOKEN": token, "TICKETS": seed(target.url, token)}) for target in targets]
        for workload in workloads:
            results[workload] = load.rounds(workload, envs)
    print(f"\nmedians of {args.runs} runs each:\n")
    print("| workload | server | req/s | p50 ms | p99 ms | errors | CPU us/req |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for workload, by_target in results.items():
        for name, runs in by_target.items():
            print(summary_row(workload, name, runs))
    print()
    for workload, by_target in results.items():
        if "prism" in by_target:
            print(verdicts(workload, by_target["mock"], by_target["prism"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
