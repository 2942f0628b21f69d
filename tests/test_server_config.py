"""How `tt-mock serve` configures its production server (mockserver.server), in-process.

granian's `Server` and gunicorn's `BaseApplication.run` are replaced by recorders, so nothing is
served: the tests look at the settings the servers would run with, and at the app a worker would
load, as an operator starting the mock relies on them.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import pickle
import sys
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import granian.server
import pytest
import yaml
from flask import Flask
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker
from werkzeug.test import EnvironBuilder

from mockserver import MockConfig, cli, server
from mockserver.fastpath import FastPath
from mockserver.faults import STREAM_ENVIRON
from mockserver.server import ServeOptions, buffered, build_app, serve
from spec import MIRROR_PATH
from tests.support import DOCUMENT, SECRET
from tests.test_rsgi_bridge import Protocol, json_post, request, send

PROVIDER_TITLE = DOCUMENT["info"]["title"]
MIRROR_TITLE = yaml.safe_load(MIRROR_PATH.read_text())["info"]["title"]


class Granian:
    """Stands in for granian's Server: keeps its arguments (checked against the real signature)
    and those of `serve`."""

    signature = inspect.signature(granian.server.Server)
    made: list[Granian] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.settings = self.signature.bind(*args, **kwargs).arguments  # as granian would take them
        self.served: dict[str, Any] | None = None
        self.made.append(self)

    def serve(self, **kwargs: Any) -> None:
        self.served = kwargs


@pytest.fixture(autouse=True)
def no_real_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that starts a server it did not stand in for fails, rather than serving for ever."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a real server would have started")

    monkeypatch.setattr(granian.server, "Server", refuse)
    monkeypatch.setattr(BaseApplication, "run", refuse)


@pytest.fixture
def granian_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Granian]]:
    monkeypatch.setattr(granian.server, "Server", Granian)
    monkeypatch.setattr(Granian, "made", [])
    yield Granian.made


@pytest.fixture
def gunicorn_server(monkeypatch: pytest.MonkeyPatch) -> list[BaseApplication]:
    """The gunicorn applications `run`, each with its loaded config."""
    ran: list[BaseApplication] = []
    monkeypatch.setattr(BaseApplication, "run", lambda self: ran.append(self))
    return ran


@pytest.fixture
def worker_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Flask]]:
    """The apps built, as a worker builds them; afterwards, what building them changed in this
    process put back: their background threads stopped, the garbage collector's settings restored."""
    threshold = gc.get_threshold()
    apps: list[Flask] = []

    def recorded(config: MockConfig) -> Flask:
        app = build_app(config)
        apps.append(app)
        return app

    monkeypatch.setattr(server, "build_app", recorded)
    yield apps
    for app in apps:
        to_side = getattr(app.extensions["mockserver"], "to_side", None)
        if to_side is not None:
            to_side.stop()
    gc.unfreeze()
    gc.set_threshold(*threshold)


def run_cli(*options: str) -> None:
    """`tt-mock serve` with these options, on an in-memory store unless they name another."""
    defaults = ["--db", ":memory:", "--workers", "1"]
    assert cli.main(["serve", *defaults, *options]) == 0


def config() -> MockConfig:
    return MockConfig(jwt_secret=SECRET, max_body_bytes=4096)


def title(app: Any) -> str:
    return json.loads(app.test_client().get("/openapi.json").data)["info"]["title"]


# -- granian, the default server ---------------------------------------------------------------


def test_granian_serves_by_default_with_the_settings_an_operator_expects(
    granian_server: list[Granian], capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli()
    [made] = granian_server
    settings = made.settings
    module, _, name = settings.pop("target").partition(":")
    assert getattr(import_module(module), name).__name__ == "create_app"  # names the processes
    http1 = settings.pop("http1_settings")
    assert isinstance(http1, HTTP1Settings)
    assert settings == {
        "address": "127.0.0.1",
        "port": 8080,
        "interface": Interfaces.RSGI,
        "workers": 1,
        "blocking_threads": 1,
        "http": HTTPModes.http1,
        "websockets": False,
        "log_level": LogLevels.warning,
        "log_access": False,  # the access log is off unless asked for
        "workers_kill_timeout": 5,  # a worker stuck starting is killed, not waited for
    }
    assert made.served is not None and made.served["wrap_loader"] is False
    assert "127.0.0.1:8080" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--host", "0.0.0.0", "--port", "9123"], {"address": "0.0.0.0", "port": 9123}),
        (["--access-log"], {"log_access": True}),
        (["--interface", "wsgi", "--threads", "4"], {"interface": Interfaces.WSGI, "blocking_threads": 4}),
        (["--interface", "wsgi"], {"interface": Interfaces.WSGI, "blocking_threads": 1}),
        # RSGI: the app runs on the event loop's thread, or on --threads threads of the bridge's own.
        (["--interface", "rsgi", "--threads", "4"], {"interface": Interfaces.RSGI, "blocking_threads": 1}),
    ],
    ids=["bind", "access-log", "wsgi-threads", "wsgi", "rsgi-threads"],
)
def test_granian_takes_the_command_line_options(
    granian_server: list[Granian], options: list[str], expected: dict[str, Any]
) -> None:
    run_cli(*options)
    [made] = granian_server
    assert {key: made.settings[key] for key in expected} == expected


def test_granian_runs_the_workers_asked_for(granian_server: list[Granian], tmp_path: Path) -> None:
    run_cli("--db", str(tmp_path / "tickets.db"), "--workers", "3")
    [made] = granian_server
    assert made.settings["workers"] == 3


@pytest.mark.parametrize("interface", ["rsgi", "wsgi"])
def test_granians_loader_survives_pickling(granian_server: list[Granian], interface: str) -> None:
    """Under the spawn start method, the loader is pickled to reach the workers."""
    serve(config(), ServeOptions(interface=interface))
    [made] = granian_server
    assert made.served is not None
    loader = pickle.loads(pickle.dumps(made.served["target_loader"]))
    assert loader.args == (config(), ServeOptions(interface=interface))


def worker_app(granian_server: list[Granian], cfg: MockConfig, options: ServeOptions) -> Any:
    """The app a granian worker would load, serving `cfg` with `options`."""
    serve(cfg, options)
    [made] = granian_server
    assert made.served is not None
    return made.served["target_loader"]()


# -- the app a granian worker loads ------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("to", PROVIDER_TITLE), ("tu-mirror", MIRROR_TITLE)])
@pytest.mark.parametrize("interface", ["rsgi", "wsgi"])
def test_a_worker_serves_the_role_asked_for(
    granian_server: list[Granian], worker_state: list[Flask], interface: str, role: str, expected: str
) -> None:
    cfg = MockConfig(jwt_secret=SECRET, role=role)
    app = worker_app(granian_server, cfg, ServeOptions(interface=interface))
    if interface == "rsgi":
        sent = send(app, request("GET", "/openapi.json"))
        assert sent.status == 200 and json.loads(sent.body)["info"]["title"] == expected
    else:
        environ = EnvironBuilder(path="/openapi.json").get_environ()
        started: list[str] = []
        body = app(environ, lambda status, headers, exc_info=None: started.append(status))
        assert started == ["200 OK"] and json.loads(b"".join(body))["info"]["title"] == expected


def test_a_wsgi_worker_answers_in_one_piece(granian_server: list[Granian], worker_state: list[Flask]) -> None:
    """granian writes a list in one step; a Flask response it would pull chunk by chunk."""
    app = worker_app(granian_server, config(), ServeOptions(interface="wsgi"))
    body = app(EnvironBuilder(path="/_mock/health").get_environ(), lambda *args: None)
    assert isinstance(body, list) and len(body) == 1
    assert json.loads(body[0])["status"] == "ok"


def test_an_rsgi_worker_takes_its_limits_from_the_options(
    granian_server: list[Granian], worker_state: list[Flask]
) -> None:
    bridge = worker_app(granian_server, config(), ServeOptions(body_timeout=0.05))
    # --body-timeout: a body that does not come is answered 408, in the contract's words.
    slow = request("POST", "/troubleTicket", headers=[*json_post(), ("content-length", "9")])
    sent = send(bridge, slow, Protocol(stall=True))
    assert sent.status == 408
    assert json.loads(sent.body) == {"illegalArgumentException": "the request body did not arrive within 0.05 s"}
    # --max-body-bytes: a body declared larger is refused unread.
    large = request("POST", "/troubleTicket", headers=[*json_post(), ("content-length", "5000")])
    protocol = Protocol([b"x" * 5000])
    sent = send(bridge, large, protocol)
    assert sent.status == 413 and "4096" in json.loads(sent.body)["illegalArgumentException"]
    assert protocol.pieces_read == 0


@pytest.mark.parametrize(("threads", "multithread"), [(1, False), (2, True)])
def test_an_rsgi_worker_runs_the_app_on_the_threads_asked_for(
    granian_server: list[Granian], worker_state: list[Flask], threads: int, multithread: bool
) -> None:
    bridge = worker_app(granian_server, config(), ServeOptions(threads=threads))
    assert bridge.environ(request(), b"")["wsgi.multithread"] is multithread
    assert send(bridge, request("GET", "/_mock/health")).status == 200


@pytest.mark.parametrize(("role", "fast"), [("to", True), ("tu-mirror", False)])
def test_the_providers_rsgi_worker_has_the_fast_path(
    granian_server: list[Granian], worker_state: list[Flask], role: str, fast: bool
) -> None:
    bridge = worker_app(granian_server, MockConfig(jwt_secret=SECRET, role=role), ServeOptions())
    [app] = worker_state
    if fast:
        assert isinstance(app.wsgi_app, FastPath) and bridge.fast == app.wsgi_app.answer
    else:
        assert bridge.fast is None


@pytest.mark.parametrize("interface", ["rsgi", "wsgi"])
def test_a_worker_keeps_what_start_up_built_out_of_the_collector(
    granian_server: list[Granian], worker_state: list[Flask], interface: str
) -> None:
    gc.unfreeze()
    worker_app(granian_server, config(), ServeOptions(interface=interface))
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] > 700  # the young generation collected less often than Python's default


# -- the app of each role ----------------------------------------------------------------------


def test_the_provider_starts_its_background_work(worker_state: list[Flask]) -> None:
    app = server.build_app(config())
    assert title(app) == PROVIDER_TITLE
    threads = app.extensions["mockserver"].to_side._threads
    assert sorted(thread.name for thread in threads) == ["tt-callbacks", "tt-steps"]
    assert all(thread.is_alive() for thread in threads)


def test_the_mirror_is_served_for_its_role(worker_state: list[Flask]) -> None:
    app = server.build_app(MockConfig(jwt_secret=SECRET, role="tu-mirror"))
    assert title(app) == MIRROR_TITLE
    assert not hasattr(app.extensions["mockserver"], "to_side")


# -- buffered: a WSGI answer in one piece --------------------------------------------------------


class Chunks:
    def __init__(self, *chunks: bytes) -> None:
        self.chunks, self.closed = list(chunks), False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True


def test_buffered_joins_the_answer_and_closes_it() -> None:
    chunks = Chunks(b"one ", b"two")
    started: list[tuple[str, list[tuple[str, str]]]] = []
    app = buffered(lambda environ, start_response: (start_response("200 OK", [("X-A", "1")]), chunks)[1])
    body = app({}, lambda status, headers: started.append((status, headers)))
    assert body == [b"one two"]
    assert started == [("200 OK", [("X-A", "1")])]
    assert chunks.closed


def test_buffered_takes_an_answer_without_close() -> None:
    assert buffered(lambda environ, start_response: iter([b"a", b"b"]))({}, None) == [b"ab"]


def test_buffered_leaves_a_streamed_answer_in_its_pieces() -> None:
    chunks = Chunks(b"one ", b"two")

    def app(environ: dict[str, Any], start_response: Any) -> Chunks:
        environ[STREAM_ENVIRON] = True
        return chunks

    assert buffered(app)({}, None) is chunks
    assert not chunks.closed


# -- gunicorn, for comparison ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threads", "worker"),
    [(1, SyncWorker), (2, ThreadWorker), (4, ThreadWorker)],
)
def test_gunicorn_threads_give_a_threaded_worker(
    gunicorn_server: list[BaseApplication], threads: int, worker: type
) -> None:
    run_cli("--server", "gunicorn", "--threads", str(threads))
    [application] = gunicorn_server
    assert application.cfg.worker_class is worker
    # Asked for by name, not left to gunicorn's own switch from sync to gthread when threads > 1.
    assert application.cfg.settings["worker_class"].get() == worker.__module__.rsplit(".", 1)[-1]
    assert application.cfg.threads == threads


def test_gunicorn_runs_with_the_settings_an_operator_expects(
    gunicorn_server: list[BaseApplication], tmp_path: Path
) -> None:
    run_cli(
        "--server", "gunicorn", "--host", "0.0.0.0", "--port", "9123", "--db", str(tmp_path / "t.db"), "--workers", "3"
    )
    [application] = gunicorn_server
    cfg = application.cfg
    assert cfg.bind == ["0.0.0.0:9123"]
    assert cfg.workers == 3
    assert cfg.preload_app is False  # each worker builds its own app: SQLite must not cross a fork
    assert cfg.accesslog is None  # the access log is off unless asked for
    assert cfg.errorlog == "-"
    assert cfg.loglevel == "warning"
    assert cfg.proc_name == "trouble-ticket-mock"
    assert cfg.graceful_timeout == 5


def test_gunicorn_writes_the_access_log_to_stdout_when_asked(gunicorn_server: list[BaseApplication]) -> None:
    run_cli("--server", "gunicorn", "--access-log")
    [application] = gunicorn_server
    assert application.cfg.accesslog == "-"


@pytest.mark.parametrize("shm", [True, False])
def test_gunicorn_keeps_its_heartbeat_files_in_memory_when_it_can(
    gunicorn_server: list[BaseApplication], monkeypatch: pytest.MonkeyPatch, shm: bool
) -> None:
    isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda path: shm if path == "/dev/shm" else isdir(path))
    serve(config(), ServeOptions(server="gunicorn"))
    [application] = gunicorn_server
    assert application.cfg.worker_tmp_dir == ("/dev/shm" if shm else None)


@pytest.mark.parametrize(("role", "expected"), [("to", PROVIDER_TITLE), ("tu-mirror", MIRROR_TITLE)])
def test_a_gunicorn_worker_loads_the_app_of_the_role(
    gunicorn_server: list[BaseApplication], worker_state: list[Flask], role: str, expected: str
) -> None:
    serve(MockConfig(jwt_secret=SECRET, role=role), ServeOptions(server="gunicorn"))
    [application] = gunicorn_server
    app = application.load()
    assert worker_state == [app] and title(app) == expected


def test_gunicorn_missing_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gunicorn.app.base", None)
    with pytest.raises(SystemExit, match="--server gunicorn needs gunicorn"):
        serve(config(), ServeOptions(server="gunicorn"))


def test_only_the_server_asked_for_is_started(
    granian_server: list[Granian], gunicorn_server: list[BaseApplication]
) -> None:
    serve(config(), ServeOptions(server="gunicorn"))
    assert (len(granian_server), len(gunicorn_server)) == (0, 1)
    serve(config(), ServeOptions())
    assert (len(granian_server), len(gunicorn_server)) == (1, 1)
