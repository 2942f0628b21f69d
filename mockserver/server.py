"""Serving the mock with gunicorn, a real pre-fork WSGI server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from mockserver.app import create_app
from mockserver.config import MockConfig


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 1
    access_log: bool = False


class MockServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running `create_app(config)` in each worker process."""

    def __init__(self, config: MockConfig, options: ServeOptions) -> None:
        self.config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        settings: dict[str, Any] = {
            "bind": f"{self.options.host}:{self.options.port}",
            "workers": self.options.workers,
            "threads": self.options.threads,
            "worker_class": "gthread" if self.options.threads > 1 else "sync",
            # Each worker builds its own app: SQLite connections must not cross a fork.
            "preload_app": False,
            "accesslog": "-" if self.options.access_log else None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "trouble-ticket-mock",
            "graceful_timeout": 5,
            # The workers' heartbeat files, touched on every request: keep them in memory.
            "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.config)


def serve(config: MockConfig, options: ServeOptions) -> None:
    """Serve until interrupted."""
    MockServer(config, options).run()
