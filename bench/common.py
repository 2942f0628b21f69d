"""What both benchmarks need: a free loopback port and a server that answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, probe: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url}: the server exited before serving")
        try:
            requests.get(f"{url}{probe}", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    sys.exit(f"{url}: no answer within 60 s")
