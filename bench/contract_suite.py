"""`make contract-bench`: how long a full default contract-suite run takes against the served mock.

The mock runs as `make mock` runs it, on a fresh store file for each run; the suite runs as a CI
pipeline would run it (every layer, the TO hook, a second tenant). Prints the median wall time of
several runs at the default --max-examples, then one run at each other depth to show the trade.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import free_port, wait_until_up
from contracts.config import DEFAULT_MAX_EXAMPLES


def mint(sub: str) -> str:
    command = [sys.executable, "-m", "mockserver", "token", "--sub", sub]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]


def one_run(max_examples: int, seed: int) -> tuple[float, str]:
    """Seconds for one full run against a freshly served mock, and its verdict line."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        db = Path(workdir) / "tickets.db"
        with open(Path(workdir) / "mock.log", "w") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", str(db)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_up(url, server, "/_mock/health")
            env = {**os.environ, "TT_TOKEN": mint("TU-A"), "TT_TOKEN_B": mint("TU-B")}
            command = [
                sys.executable,
                "-m",
                "contracts",
                "run",
                "--base-url",
                url,
                "--to-hook",
                "--quiet",
                "--max-examples",
                str(max_examples),
                "--seed",
                str(seed),
            ]
            started = time.monotonic()
            finished = subprocess.run(command, env=env, capture_output=True, text=True)
            seconds = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=15)
    verdict = next((line for line in finished.stdout.splitlines() if "CONFORM" in line), finished.stdout[-300:])
    if finished.returncode != 0:
        sys.exit(f"the suite did not pass against the mock (exit {finished.returncode}):\n{finished.stdout}")
    return seconds, verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contract_suite", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs at the default depth; the median is reported")
    parser.add_argument("--depths", default="5,25,100", help="other --max-examples values, one run each")
    args = parser.parse_args(argv)
    print("full contract-suite runs (all layers, --to-hook, two tenants) against `mockserver serve`")
    times = []
    for run in range(args.runs):
        seconds, verdict = one_run(DEFAULT_MAX_EXAMPLES, seed=run + 1)
        times.append(seconds)
        print(f"  --max-examples {DEFAULT_MAX_EXAMPLES} (default), seed {run + 1}: {seconds:5.1f} s   {verdict}")
    print(f"median at the default depth: {statistics.median(times):.1f} s (bar: under 60 s)")
    for depth in (int(value) for value in args.depths.split(",") if value):
        seconds, verdict = one_run(depth, seed=1)
        print(f"  --max-examples {depth}: {seconds:5.1f} s   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
