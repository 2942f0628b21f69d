"""The fast path (mockserver.fastpath) answers exactly as the Flask app does.

Every other test of the API goes through it already (it is the app's `wsgi_app`); these send the
same requests to two fresh mocks, one of them with the fast path taken out, and compare the
answers byte for byte and the journal entries field by field.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from mockserver import MockConfig, create_app
from mockserver.fastpath import FastPath, hooks
from tests.support import SECRET, create_body, token, update_body

# The hooks the fast path does the work of; a new one must be mirrored in mockserver/fastpath.py
# (or make the fast path leave the requests it concerns to Flask), then listed here.
MIRRORED = {
    "before_request_funcs api api_blueprint.<locals>.authenticate",
    "before_request_funcs None _register_journal.<locals>.start_clock",
    "before_request_funcs None create_app.<locals>.guard_request",
    "before_request_funcs None FaultInjector.before",
    "before_request_funcs None ToSide.install.<locals>.mock_time",
    "after_request_funcs None ToSide.install.<locals>.wake",
    "after_request_funcs None install_cors.<locals>.allow_origin",
    "after_request_funcs None _register_journal.<locals>.record",
    "after_request_funcs None FaultInjector.after",
}
TIMES = ("at", "receivedAt", "durationMs", "clock")  # compared as present or not: two apps, two clocks

Call = Callable[..., tuple[str, list[tuple[str, str]], bytes]]


def fast_path_of(app: Flask) -> FastPath:
    assert isinstance(app.wsgi_app, FastPath)
    return app.wsgi_app


def caller(app: Flask) -> Call:
    def call(method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[str, list, bytes]:
        builder = EnvironBuilder(path=path, method=method, data=body, headers=headers)
        environ = builder.get_environ()
        environ["wsgi.input"] = io.BytesIO(body or b"")
        started: list[Any] = []
        chunks = app(
            environ, lambda status, response_headers, exc_info=None: started.extend([status, response_headers])
        )
        return started[0], list(started[1]), b"".join(chunks)

    return call


def pair(**config: Any) -> tuple[Flask, Flask]:
    """Two fresh mocks; the second without its fast path."""
    fast, slow = (create_app(MockConfig(jwt_secret=SECRET, **config)) for _ in range(2))
    slow.wsgi_app = fast_path_of(slow).app  # type: ignore[method-assign]
    return fast, slow


def journal_of(app: Flask) -> list[dict[str, Any]]:
    entries = app.extensions["mockserver"].journal.newest()
    return [{key: (value is not None) if key in TIMES else value for key, value in entry.items()} for entry in entries]


def bearer(sub: str, **kwargs: Any) -> str:
    return f"Bearer {token(sub, **kwargs)}"


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


def exchanges() -> list[tuple[str, str, bytes | None, dict[str, str]]]:
    """Requests of every kind the fast path takes, accepted and refused; tickets RED-1 and RED-2 exist."""
    a, b = bearer("TU-A"), bearer("TU-B")
    json_headers = {"Authorization": a, "Content-Type": "application/json"}
    first = create_body(mirrorKey="K-1")
    attachment = {"content": base64.b64encode(b"photo").decode(), "name": "ont.jpg", "mimeType": "image/jpeg"}
    return [
        ("POST", "/troubleTicket", as_json(first), json_headers),
        (
            "POST",
            "/troubleTicket",
            as_json(create_body(mirrorKey="K-2", attachments=[attachment], extra=1)),
            json_headers,
        ),
        ("POST", "/troubleTicket", as_json(first), json_headers),  # the same mirrorKey again
        ("POST", "/troubleTicket", as_json(create_body(mirrorKey="K" * 40)), json_headers),  # too long to update
        ("POST", "/troubleTicket", as_json({"dialog": 3}), json_headers),
        ("POST", "/troubleTicket", as_json(create_body(dialog="x" * 5000)), json_headers),
        ("POST", "/troubleTicket", as_json([1, 2]), json_headers),
        ("POST", "/troubleTicket", b'{"dialog": ', json_headers),
        ("POST", "/troubleTicket", b'{"dialog": "\xff"}', json_headers),
        ("POST", "/troubleTicket", b"", json_headers),
        ("POST", "/troubleTicket", as_json(create_body()), {"Content-Type": "application/json"}),
        ("POST", "/troubleTicket", as_json(create_body()), {**json_headers, "Authorization": "Basic abc"}),
        ("POST", "/troubleTicket", as_json(create_body()), {**json_headers, "Authorization": "Bearer not.a.jwt"}),
        ("GET", "/troubleTicket/RED-1", None, {"Authorization": a, "Accept": "application/json", "User-Agent": "t"}),
        ("GET", "/troubleTicket/RED-1?x=1", None, {"Authorization": a, "X-Mock-Expect-Refusal": "why"}),
        ("GET", "/troubleTicket/RED-1", None, {"Authorization": b}),
        ("GET", "/troubleTicket/RED-99", None, {"Authorization": a}),
        ("GET", "/troubleTicket/RED-01", None, {"Authorization": a}),
        ("GET", "/troubleTicket/RED-" + "9" * 30, None, {"Authorization": a}),
        ("GET", "/troubleTicket/%C3%A9", None, {"Authorization": a}),
        ("GET", "/troubleTicket/RED-1", None, {"Authorization": bearer("TU-A", exp_seconds=-10)}),
        ("GET", "/troubleTicket/RED-1", None, {}),
        ("GET", "/troubleTicket/RED-1", None, {"Authorization": a, "Host": "evil.example"}),
        ("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-1", "K-1", dialog="hello")), json_headers),
        ("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-1", "K-1", "CLOSED")), json_headers),
        ("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-2", "K-1")), json_headers),
        ("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-1", "K-9")), json_headers),
        ("PATCH", "/troubleTicket/RED-77", as_json(update_body("RED-77", "K-1")), json_headers),
        ("PATCH", "/troubleTicket/RED-1", as_json({"ticketId": "RED-1"}), json_headers),
        ("PATCH", "/troubleTicket/RED-2", as_json(update_body("RED-2", "K-2", extra=2)), json_headers),
        ("PATCH", "/troubleTicket/RED-2", as_json(update_body("RED-2", "K-2")), {**json_headers, "Authorization": b}),
        ("GET", "/troubleTicket/RED-1", None, {"Authorization": a}),
        ("GET", "/troubleTicket/RED-2", None, {"Authorization": a, "Origin": "http://localhost:3000"}),
        ("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-1", "K-1")), {**json_headers, "Origin": "http://x"}),
    ]


@pytest.mark.parametrize("config", [{}, {"cors_origins": ("*",)}, {"cors_origins": ("http://localhost:3000",)}])
def test_every_answer_and_journal_entry_is_the_flask_apps(config: dict[str, Any]) -> None:
    fast, slow = pair(**config)
    fast_call, slow_call = caller(fast), caller(slow)
    for method, path, body, headers in exchanges():
        assert fast_call(method, path, body, **headers) == slow_call(method, path, body, **headers), (method, path)
    assert journal_of(fast) == journal_of(slow)
    assert len(journal_of(fast)) == len(exchanges())


def test_the_usual_requests_never_reach_flask() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET))
    fast = fast_path_of(app)
    reached: list[str] = []
    flask_app = fast.app
    fast.app = lambda environ, start_response: (
        reached.append(environ["PATH_INFO"]) or flask_app(environ, start_response)
    )
    call = caller(app)
    headers = {"Authorization": bearer("TU-A"), "Content-Type": "application/json"}
    assert call("POST", "/troubleTicket", as_json(create_body(mirrorKey="K-1")), **headers)[0] == "201 CREATED"
    assert call("GET", "/troubleTicket/RED-1", None, **headers)[0] == "200 OK"
    assert call("PATCH", "/troubleTicket/RED-1", as_json(update_body("RED-1", "K-1")), **headers)[0] == "200 OK"
    assert reached == []
    # Others are Flask's: HEAD, OPTIONS, other media types, control paths.
    call("HEAD", "/troubleTicket/RED-1", None, **headers)
    call("OPTIONS", "/troubleTicket/RED-1", None)
    call("POST", "/troubleTicket", b"data=1", **{**headers, "Content-Type": "application/x-www-form-urlencoded"})
    call("GET", "/_mock/health", None)
    assert reached == ["/troubleTicket/RED-1", "/troubleTicket/RED-1", "/troubleTicket", "/_mock/health"]


def test_with_faults_stored_every_request_is_flasks() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET))
    client = app.test_client()
    client.post("/_mock/faults", json={"kind": "error", "status": 503, "times": 1})
    headers = {"Authorization": bearer("TU-A")}
    assert client.get("/troubleTicket/RED-1", headers=headers).status_code == 503
    assert client.get("/troubleTicket/RED-1", headers=headers).status_code == 404
    assert [entry["fault"] is not None for entry in app.extensions["mockserver"].journal.newest()] == [False, True]


def test_the_fast_path_mirrors_every_hook_of_the_app() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET, cors_origins=("*",)))
    # make mutation's copy of the code renames a function f to x_f__mutmut_orig: the same hook
    found = {re.sub(r"\bx_(\w+?)__mutmut_orig\b", r"\1", hook) for hook in hooks(app)}
    assert found == MIRRORED, "a hook the fast path skips: mirror it in mockserver/fastpath.py"


def test_a_hook_added_later_turns_the_fast_path_off(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(MockConfig(jwt_secret=SECRET))
    seen: list[str] = []
    app.after_request(lambda response: seen.append(response.status) or response)
    caller(app)("GET", "/troubleTicket/RED-1", None, Authorization=bearer("TU-A"))
    assert seen == ["404 NOT FOUND"]
    assert "the fast path is off" in caplog.text


def test_writes_wake_the_to_side_as_through_flask(monkeypatch: pytest.MonkeyPatch) -> None:
    """A create or update that succeeded may start a scenario or a callback: both paths say so."""
    fast, slow = pair()
    woken = {"fast": 0, "slow": 0}
    for name, app in (("fast", fast), ("slow", slow)):
        monkeypatch.setattr(
            app.extensions["mockserver"].to_side, "kick", lambda name=name: woken.__setitem__(name, woken[name] + 1)
        )
    fast_call, slow_call = caller(fast), caller(slow)
    for method, path, body, headers in exchanges():
        fast_call(method, path, body, **headers)
        slow_call(method, path, body, **headers)
    writes = [entry for entry in journal_of(slow) if entry["method"] != "GET" and entry["status"] < 400]
    assert woken["fast"] == woken["slow"] == len(writes) > 0
