"""Serving the mock with a real production server: granian (default, RSGI or WSGI) or gunicorn."""

from __future__ import annotations

import functools
import gc
import json
import os
from dataclasses import dataclass
from typing import Any

from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.faults import STREAM_ENVIRON
from mockserver.rsgi import RSGIBridge


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 1
    access_log: bool = False
    server: str = "granian"
    interface: str = "rsgi"  # granian's: "rsgi" (bodies awaited, see mockserver.rsgi) or "wsgi"
    body_timeout: float = 30  # seconds a request body may take to come (rsgi; see --body-timeout)


def serve(config: MockConfig, options: ServeOptions) -> None:
    """Serve until interrupted."""
    if options.server == "gunicorn":
        _serve_gunicorn(config, options)
    else:
        _serve_granian(config, options)


def _serve_granian(config: MockConfig, options: ServeOptions) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    rsgi = options.interface == "rsgi"
    server = Server(
        "mockserver.app:create_app",  # names the processes only: the loader below builds the app
        address=options.host,
        port=options.port,
        interface=Interfaces.RSGI if rsgi else Interfaces.WSGI,
        workers=options.workers,
        # WSGI: the threads that run the app (and wait for its bodies); RSGI: the event loop's one.
        blocking_threads=1 if rsgi else options.threads,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(),
        log_level=LogLevels.warning,
        log_access=options.access_log,
        # A worker still building its app ignores SIGTERM (it holds the parent's handler): kill
        # it after this many seconds rather than wait for ever, as gunicorn's graceful timeout did.
        workers_kill_timeout=5,
    )
    # Each worker builds its own app: SQLite connections must not cross a fork. A partial of
    # module-level names pickles, so this holds under the spawn start method too.
    loader = functools.partial(_worker_rsgi_app if rsgi else _worker_app, config, options)
    server.serve(target_loader=loader, wrap_loader=False)


def build_app(config: MockConfig) -> Any:
    """The app of the role `config` names, with its background work started: in a worker only."""
    if config.role == "tu-mirror":
        from mockserver.tu_mirror import create_mirror_app

        return create_mirror_app(config)
    app = create_app(config)
    app.extensions["mockserver"].to_side.start()  # scenario steps and callbacks, outside requests
    return app


def _worker_app(config: MockConfig, options: ServeOptions) -> Any:
    """A worker's WSGI app, built in the worker."""
    app = buffered(build_app(config))
    _settle()
    return app


def _worker_rsgi_app(config: MockConfig, options: ServeOptions) -> RSGIBridge:
    """A worker's RSGI app, built in the worker: the WSGI app behind a bridge that awaits bodies."""
    flask_app = build_app(config)
    contract = flask_app.extensions["mockserver"].contract
    app = RSGIBridge(
        flask_app,
        max_body_bytes=config.max_body_bytes,
        body_timeout=options.body_timeout,
        threads=options.threads,
        render=lambda error: json.dumps(error.to_dict(contract)).encode(),
    )
    _settle()
    return app


def _settle() -> None:
    # What start-up built (spec, schemas, routes) lives as long as the worker: keep it out of
    # every collection, and collect the young generation less often (a request makes few cycles).
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


def buffered(app: Any) -> Any:
    """The app with each answer's body joined into one list item.

    granian writes a list in one step; any other iterable it pulls chunk by chunk, taking the
    GIL back for each (a Flask response is such an iterable). Every answer of the mock is in
    memory already, so joining costs a copy and saves those round trips.
    """

    def joined(environ: dict[str, Any], start_response: Any) -> Any:
        chunks = app(environ, start_response)
        if environ.get(STREAM_ENVIRON):  # a fault sends this answer in pieces, or only part of it
            return chunks
        try:
            return [b"".join(chunks)]
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    return joined


def _serve_gunicorn(config: MockConfig, options: ServeOptions) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        raise SystemExit("error: --server gunicorn needs gunicorn (pip install gunicorn, or the dev extra)") from None

    class MockServer(BaseApplication):  # type: ignore[misc]
        """gunicorn running `create_app(config)` in each worker process."""

        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "threads": options.threads,
                "worker_class": "gthread" if options.threads > 1 else "sync",
                "preload_app": False,
                "accesslog": "-" if options.access_log else None,
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
            return build_app(config)

    MockServer().run()
