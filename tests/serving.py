"""Serving the mock for a test: an app in a thread of the test process, or the real server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log(self, *args: object) -> None:  # the suite sends thousands of requests
        pass


def _quiet_about_dropped_connections(request: object, address: object) -> None:
    """A connection a client (or a fault) dropped is no news; anything else is printed."""
    error = sys.exc_info()[1]
    if not isinstance(error, OSError):
        traceback.print_exc()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (threaded, as a real provider is) and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    server.handle_error = _quiet_about_dropped_connections  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedMock:
    """The mock served by `python -m mockserver serve` in a subprocess, on a loopback port."""

    def __init__(self, db: Path, *extra: str, workers: int = 2) -> None:
        self.db, self.extra, self.workers = db, extra, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> ServedMock:
        command = [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            "--workers",
            str(self.workers),
            *self.extra,
        ]
        self.log = self.db.with_suffix(".log")
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the mock exited: {self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/_mock/health", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the mock did not answer within 20 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]


def mint(sub: str) -> str:
    """A token a served mock accepts, from the mock's own `token` command (same secret resolution)."""
    command = [sys.executable, "-m", "mockserver", "token", "--sub", sub]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
