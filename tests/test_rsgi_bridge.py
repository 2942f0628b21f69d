"""The RSGI bridge (mockserver.rsgi) driven in-process, with fake RSGI scopes and protocols.

The fakes mirror the part of granian's RSGI interface the bridge uses: a scope with the request's
line, headers and addresses, and a protocol that gives the body (`await protocol()` whole, or
`async for` chunk by chunk) and takes the answer (`response_bytes`, or `response_stream` and its
`send_bytes`). Each test looks at what the client would get: status, headers and body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from mockserver import MockConfig, create_app, rsgi
from mockserver.errors import ApiError
from mockserver.faults import STREAM_ENVIRON
from mockserver.responses import json_answer
from mockserver.rsgi import WHOLE_BODY_BYTES, RSGIBridge
from tests.support import SECRET, auth, create_body

JSON = "application/json"
# How long a stalled client stays silent: far past every body timeout below, yet a test of a bridge
# that forgot its timeout fails rather than hangs.
STALL_SECONDS = 2.0


# -- the fakes: granian's RSGI scope and protocol, as far as the bridge uses them ------------------


class Headers:
    """granian's request headers: `get` gives a name's first value, `items` every (name, value)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = [(name.lower(), value) for name, value in pairs]

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((value for key, value in self.pairs if key == name), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


@dataclass
class Scope:
    method: str = "GET"
    path: str = "/"
    query_string: str = ""
    headers: Headers = field(default_factory=lambda: Headers([]))
    http_version: str = "1.1"
    scheme: str = "http"
    server: str = "127.0.0.1:8080"
    client: str = "127.0.0.1:50000"
    authority: str | None = None
    proto: str = "http"
    rsgi_version: str = "1.5"


@dataclass
class Sent:
    """What the client got."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    streamed: bool

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name), None)

    def json(self) -> Any:
        return json.loads(self.body)


class Transport:
    """What `response_stream` gives: the answer's body, a piece at a time."""

    def __init__(self, sent: Sent, fail_after: int | None) -> None:
        self.sent, self.fail_after = sent, fail_after

    async def send_bytes(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.sent.body) >= self.fail_after:
            raise ConnectionResetError("the client went away")
        self.sent.body += data


class Protocol:
    """A request's body, sent in `pieces` with `gap` seconds before each, after which the client
    falls silent (`stall`) or the stream fails (`error`); and the answers the bridge sends back."""

    def __init__(
        self,
        pieces: Iterable[bytes] = (),
        *,
        gap: float = 0.0,
        stall: bool = False,
        error: Exception | None = None,
        stream_fails_after: int | None = None,
    ) -> None:
        self.pieces, self.gap, self.stall, self.error = list(pieces), gap, stall, error
        self.stream_fails_after = stream_fails_after
        self.pieces_read = 0  # how many of the pieces the bridge took
        self.sent: list[Sent] = []

    async def _end(self) -> None:
        """After the pieces: the client stops sending, or the stream fails."""
        if self.stall:
            await asyncio.sleep(STALL_SECONDS)  # for ever, as far as the bridge's timeouts go
        if self.error is not None:
            raise self.error

    async def __call__(self) -> bytes:
        for _ in self.pieces:
            await asyncio.sleep(self.gap)
            self.pieces_read += 1
        await self._end()
        return b"".join(self.pieces)

    async def _chunks(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            await asyncio.sleep(self.gap)
            self.pieces_read += 1
            yield piece
        await self._end()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.sent.append(Sent(status, list(headers), body, streamed=False))

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Transport:
        self.sent.append(Sent(status, list(headers), b"", streamed=True))
        return Transport(self.sent[-1], self.stream_fails_after)

    @property
    def answer(self) -> Sent:
        assert len(self.sent) == 1, f"the bridge answered {len(self.sent)} times"
        return self.sent[0]


def request(method: str = "GET", path: str = "/", *, headers: Iterable[tuple[str, str]] = (), **scope: Any) -> Scope:
    return Scope(method=method, path=path, headers=Headers(headers), **scope)


def send(bridge: RSGIBridge, scope: Scope, protocol: Protocol | None = None) -> Sent:
    protocol = protocol or Protocol()
    asyncio.run(bridge.__rsgi__(scope, protocol))
    return protocol.answer


# -- the apps behind the bridge ----------------------------------------------------------------


class Recorder:
    """A WSGI app that keeps the environ and body it was called with and answers 200 `ok`."""

    def __init__(self, answer: Callable[[dict[str, Any]], Iterable[bytes]] | None = None) -> None:
        self.environs: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.threads: list[str] = []
        self.answer = answer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.environs.append(environ)
        self.bodies.append(environ["wsgi.input"].read())
        self.threads.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Seen", "yes")])
        return self.answer(environ) if self.answer is not None else [b"o", b"k"]

    @property
    def environ(self) -> dict[str, Any]:
        assert len(self.environs) == 1
        return self.environs[0]


def render(error: ApiError) -> bytes:
    return json.dumps({"error": error.message, "status": error.status}).encode()


def bridge_for(app: Any, *, max_body_bytes: int = 1000, body_timeout: float = 5, **options: Any) -> RSGIBridge:
    return RSGIBridge(app, max_body_bytes=max_body_bytes, body_timeout=body_timeout, render=render, **options)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def provider() -> Flask:
    return create_app(MockConfig(jwt_secret=SECRET, max_body_bytes=1000))


def provider_bridge(app: Flask, *, fast: bool) -> RSGIBridge:
    """The bridge as a served worker makes it (mockserver.server): the contract's error bodies."""
    contract = app.extensions["mockserver"].contract
    return RSGIBridge(
        app,
        max_body_bytes=1000,
        body_timeout=5,
        render=lambda error: json.dumps(error.to_dict(contract)).encode(),
        fast=app.wsgi_app.answer if fast else None,
    )


def json_post() -> list[tuple[str, str]]:
    """The headers of a tenant's JSON request."""
    return [("content-type", JSON), *auth("TU-A").items()]


# -- the provider's Flask app behind the bridge ------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "flask"])
def test_a_ticket_is_created_through_the_bridge(provider: Flask, fast: bool) -> None:
    bridge = provider_bridge(provider, fast=fast)
    body = json.dumps(create_body(mirrorKey="ONV-BRIDGE")).encode()
    scope = request("POST", "/troubleTicket", headers=[*json_post(), ("content-length", str(len(body)))])

    sent = send(bridge, scope, Protocol([body]))

    assert sent.status == 201
    assert sent.json() == {"ticketId": "RED-1", "mirrorKey": "ONV-BRIDGE"}
    assert sent.header("content-type") == JSON
    assert sent.header("content-length") == str(len(sent.body))
    answered = send(bridge, request("GET", "/troubleTicket/RED-1", headers=auth("TU-A").items()))
    assert answered.status == 200 and answered.json()["mirrorKey"] == "ONV-BRIDGE"


def test_a_request_the_fast_path_leaves_goes_to_flask(provider: Flask) -> None:
    sent = send(provider_bridge(provider, fast=True), request("GET", "/_mock/health"))
    assert sent.status == 200 and sent.json()["status"] == "ok"
    assert not sent.streamed


@pytest.mark.parametrize(
    "framing",
    [[("content-length", "5000")], [("transfer-encoding", "chunked")]],
    ids=["declared", "chunked"],
)
def test_a_body_over_the_limit_is_refused_by_the_app(provider: Flask, framing: list[tuple[str, str]]) -> None:
    bridge = provider_bridge(provider, fast=True)
    protocol = Protocol([b"x" * 600] * 10)  # 6000 bytes, over the 1000 allowed
    sent = send(bridge, request("POST", "/troubleTicket", headers=[*json_post(), *framing]), protocol)
    assert sent.status == 413
    assert "1000" in sent.json()["illegalArgumentException"]
    # Declared too large: not read at all. Chunked: read one byte past the limit, no further.
    assert protocol.pieces_read == (0 if framing[0][0] == "content-length" else 2)


def test_a_slow_body_is_answered_408_in_the_contracts_words(provider: Flask) -> None:
    contract = provider.extensions["mockserver"].contract
    bridge = RSGIBridge(
        provider,
        max_body_bytes=1000,
        body_timeout=0.05,
        render=lambda error: json.dumps(error.to_dict(contract)).encode(),
    )
    scope = request("POST", "/troubleTicket", headers=[*json_post(), ("content-length", "10")])
    sent = send(bridge, scope, Protocol(stall=True))
    assert sent.status == 408
    assert sent.json() == {"illegalArgumentException": "the request body did not arrive within 0.05 s"}
    assert sent.header("connection") == "close"


# -- what the bridge reads of the body ---------------------------------------------------------


def test_a_request_without_a_body_is_not_waited_for(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    protocol = Protocol([b"late"], stall=True)  # awaiting this body would stall the request
    sent = send(bridge, request("GET", "/things"), protocol)
    assert (sent.status, sent.body) == (200, b"ok")
    assert recorder.bodies == [b""]


@pytest.mark.parametrize(
    "headers",
    [[("content-length", "11")], [("transfer-encoding", "chunked")], [("Transfer-Encoding", "gzip, Chunked")]],
    ids=["content-length", "chunked", "chunked-mixed-case"],
)
def test_the_body_reaches_the_app_whole(recorder: Recorder, headers: list[tuple[str, str]]) -> None:
    bridge = bridge_for(recorder)
    sent = send(bridge, request("POST", "/things", headers=headers), Protocol([b"hello", b" ", b"world"]))
    assert sent.status == 200
    assert recorder.bodies == [b"hello world"]
    assert recorder.environ["wsgi.input_terminated"] is True


@pytest.mark.parametrize("length", ["abc", "-", "1e3"])
def test_a_content_length_that_is_no_number_leaves_the_body_unread(recorder: Recorder, length: str) -> None:
    bridge = bridge_for(recorder)
    protocol = Protocol([b"{}"])
    sent = send(bridge, request("POST", "/things", headers=[("content-length", length)]), protocol)
    # The app answers it (Werkzeug takes such a request as one without a body).
    assert sent.status == 200
    assert recorder.bodies == [b""]
    assert recorder.environ["CONTENT_LENGTH"] == length
    assert protocol.pieces_read == 0


def test_a_bad_content_length_gets_the_apps_own_answer(provider: Flask) -> None:
    bridge = provider_bridge(provider, fast=True)
    scope = request("POST", "/troubleTicket", headers=[*json_post(), ("content-length", "ten")])
    sent = send(bridge, scope, Protocol([b"{}"]))
    assert sent.status == 400
    assert "not valid JSON" in sent.json()["illegalArgumentException"]


@pytest.mark.parametrize(
    ("declared", "read"),
    [(1000, True), (1001, False)],
    ids=["at-the-limit", "over-the-limit"],
)
def test_a_body_declared_over_the_limit_is_not_read(recorder: Recorder, declared: int, read: bool) -> None:
    bridge = bridge_for(recorder, max_body_bytes=1000)
    body = b"x" * declared
    protocol = Protocol([body])
    send(bridge, request("POST", "/things", headers=[("content-length", str(declared))]), protocol)
    assert recorder.bodies == [body if read else b""]
    assert protocol.pieces_read == (1 if read else 0)


def test_a_chunked_body_is_read_one_byte_past_the_limit(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, max_body_bytes=1000)
    protocol = Protocol([b"x" * 1000, b"y", b"z", b"more"])
    send(bridge, request("POST", "/things", headers=[("transfer-encoding", "chunked")]), protocol)
    assert recorder.bodies == [b"x" * 1000 + b"y"]  # enough for the app to tell it is too large
    assert protocol.pieces_read == 2  # and no more of it


def test_a_chunked_body_at_the_limit_is_read_whole(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, max_body_bytes=1000)
    protocol = Protocol([b"x" * 500, b"y" * 500])
    send(bridge, request("POST", "/things", headers=[("transfer-encoding", "chunked")]), protocol)
    assert recorder.bodies == [b"x" * 500 + b"y" * 500]


# -- bodies that do not come -------------------------------------------------------------------


def refusal(sent: Sent, status: int) -> str:
    """The message of an answer the bridge gave itself; checks what every such answer carries."""
    assert sent.status == status
    assert sent.headers == [("content-type", JSON), ("connection", "close")]
    assert not sent.streamed
    payload = sent.json()
    assert payload["status"] == status  # rendered from the error the bridge refused with
    return payload["error"]


def test_a_small_body_must_come_whole_within_the_timeout(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, max_body_bytes=10 * WHOLE_BODY_BYTES, body_timeout=0.05)
    protocol = Protocol([b"x"], stall=True)
    sent = send(bridge, request("POST", "/things", headers=[("content-length", "2")]), protocol)
    assert refusal(sent, 408) == "the request body did not arrive within 0.05 s"
    assert recorder.environs == []


def test_a_large_body_that_stops_coming_is_answered_408(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, max_body_bytes=10 * WHOLE_BODY_BYTES, body_timeout=0.05)
    protocol = Protocol([b"x" * 1000, b"y" * 500], stall=True)
    headers = [("content-length", str(2 * WHOLE_BODY_BYTES))]
    sent = send(bridge, request("POST", "/things", headers=headers), protocol)
    assert refusal(sent, 408) == "no byte of the request body arrived for 0.05 s (1500 bytes received)"
    assert recorder.environs == []


@pytest.mark.parametrize(
    ("size", "accepted"),
    [(WHOLE_BODY_BYTES, False), (WHOLE_BODY_BYTES + 1, True)],
    ids=["256KiB-whole-within-the-timeout", "larger-no-gap-over-the-timeout"],
)
def test_how_long_a_body_may_take_depends_on_its_size(recorder: Recorder, size: int, accepted: bool) -> None:
    """Up to 256 KiB, the body must be in within --body-timeout; a larger one may take longer, as
    long as no gap between its pieces is that long."""
    bridge = bridge_for(recorder, max_body_bytes=10 * WHOLE_BODY_BYTES, body_timeout=0.2)
    pieces = [b"a" * (size - 3), b"b", b"c", b"d"]  # 0.28 s in all, 0.07 s apart
    protocol = Protocol(pieces, gap=0.07)
    sent = send(bridge, request("POST", "/things", headers=[("content-length", str(size))]), protocol)
    if accepted:
        assert sent.status == 200
        assert recorder.bodies == [b"".join(pieces)]
    else:
        assert refusal(sent, 408) == "the request body did not arrive within 0.2 s"


def test_a_body_cut_short_is_refused_not_taken_for_the_whole(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, max_body_bytes=10 * WHOLE_BODY_BYTES)
    size = WHOLE_BODY_BYTES + 10
    protocol = Protocol([b"x" * 1000])  # the client stopped sending after 1000 bytes
    sent = send(bridge, request("POST", "/things", headers=[("content-length", str(size))]), protocol)
    assert refusal(sent, 400) == f"the request body ended after 1000 of the {size} bytes announced"
    assert recorder.environs == []


@pytest.mark.parametrize("framing", [("content-length", "10"), ("transfer-encoding", "chunked")])
def test_a_body_granian_fails_to_read_is_refused(recorder: Recorder, framing: tuple[str, str]) -> None:
    bridge = bridge_for(recorder)
    protocol = Protocol(error=ConnectionError("stream closed"))
    sent = send(bridge, request("POST", "/things", headers=[framing]), protocol)
    assert refusal(sent, 400) == "the request body could not be read (ConnectionError('stream closed'))"
    assert recorder.environs == []


# -- the answer --------------------------------------------------------------------------------


def test_the_apps_answer_reaches_the_client_as_given(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    sent = send(bridge, request())
    assert sent == Sent(200, [("Content-Type", "text/plain"), ("X-Seen", "yes")], b"ok", streamed=False)


def test_the_apps_body_iterable_is_closed(recorder: Recorder) -> None:
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    bridge = bridge_for(Recorder(lambda environ: Body([b"a", b"b"])))
    assert send(bridge, request()).body == b"ab"
    assert closed == [True]


class Pieces:
    """A fault's body, sent in pieces (mockserver.faults marks its environ)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces, self.closed = pieces, False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.pieces)

    def close(self) -> None:
        self.closed = True


def streamed_app(pieces: Pieces) -> Recorder:
    def answer(environ: dict[str, Any]) -> Iterable[bytes]:
        environ[STREAM_ENVIRON] = True
        return pieces

    return Recorder(answer)


def test_an_answer_a_fault_streams_is_sent_piece_by_piece() -> None:
    pieces = Pieces([b"first ", b"second"])
    bridge = bridge_for(streamed_app(pieces))
    sent = send(bridge, request())
    assert sent == Sent(200, [("Content-Type", "text/plain"), ("X-Seen", "yes")], b"first second", streamed=True)
    assert pieces.closed


def test_a_streamed_answer_is_closed_when_the_client_goes_away() -> None:
    pieces = Pieces([b"first ", b"second"])
    bridge = bridge_for(streamed_app(pieces))
    protocol = Protocol(stream_fails_after=1)
    with pytest.raises(ConnectionResetError):
        asyncio.run(bridge.__rsgi__(request(), protocol))
    assert protocol.answer.body == b"first "
    assert pieces.closed


def test_a_fast_answer_is_sent_without_calling_the_app(recorder: Recorder) -> None:
    seen: list[dict[str, Any]] = []

    def fast(environ: dict[str, Any]) -> Any:
        seen.append(environ)
        return json_answer({"fast": True}, 201, headers={"X-Fast": "1"})

    bridge = bridge_for(recorder, fast=fast)
    sent = send(bridge, request("GET", "/quick", query_string="a=1"))
    assert (sent.status, sent.json(), sent.header("x-fast")) == (201, {"fast": True}, "1")
    assert sent.header("content-type") == JSON
    assert recorder.environs == []
    assert [(environ["PATH_INFO"], environ["QUERY_STRING"]) for environ in seen] == [("/quick", "a=1")]


def test_what_the_fast_path_leaves_goes_to_the_app(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, fast=lambda environ: None)
    assert send(bridge, request()).body == b"ok"
    assert len(recorder.environs) == 1


def test_a_bug_in_the_app_is_answered_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise KeyError("oops")

    bridge = bridge_for(broken)
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        sent = send(bridge, request("PATCH", "/troubleTicket/RED-9"))
    assert refusal(sent, 500) == "internal error in the mock (KeyError); see its log"
    [record] = caplog.records
    assert record.getMessage() == "unexpected error on PATCH /troubleTicket/RED-9"
    assert record.exc_info is not None and record.exc_info[0] is KeyError


# -- threads -----------------------------------------------------------------------------------


def test_one_thread_runs_the_app_on_the_loop(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, threads=1)
    send(bridge, request())
    assert recorder.threads == [threading.current_thread().name]
    assert recorder.environ["wsgi.multithread"] is False


def test_threads_run_the_app_off_the_loop_and_skip_the_fast_path(recorder: Recorder) -> None:
    bridge = bridge_for(recorder, threads=2, fast=lambda environ: json_answer({"fast": True}))
    sent = send(bridge, request())
    assert (sent.status, sent.body) == (200, b"ok")
    [thread] = recorder.threads
    assert thread.startswith("mock-app")
    assert recorder.environ["wsgi.multithread"] is True


def test_threads_bound_how_many_requests_the_app_serves_at_once() -> None:
    running, peak, release, lock = [0], [0], threading.Event(), threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1
        start_response("204 No Content", [])
        return []

    bridge = bridge_for(app, threads=2)

    async def three_at_once() -> list[Sent]:
        protocols = [Protocol() for _ in range(3)]
        tasks = [asyncio.create_task(bridge.__rsgi__(request(), protocol)) for protocol in protocols]
        deadline = time.monotonic() + 5
        while running[0] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # time for a third thread, were there one
        release.set()
        await asyncio.gather(*tasks)
        return [protocol.answer for protocol in protocols]

    answers = asyncio.run(three_at_once())
    assert [sent.status for sent in answers] == [204, 204, 204]
    assert peak[0] == 2


# -- the environ -------------------------------------------------------------------------------


def test_the_environ_is_a_pep_3333_one(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    scope = request(
        "DELETE",
        "/troubleTicket/RED-1",
        query_string="fields=id&limit=2",
        headers=[("host", "mock.test:8080"), ("content-type", "text/plain"), ("content-length", "3")],
        scheme="https",
        server="10.0.0.1:8443",
        client="192.0.2.7:61000",
    )
    send(bridge, scope, Protocol([b"abc"]))
    environ = recorder.environ
    assert callable(environ["wsgi.errors"].write)  # a stream for the app's errors (the process's stderr)
    assert {key: value for key, value in environ.items() if key not in ("wsgi.input", "wsgi.errors")} == {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SCRIPT_NAME": "",
        "SERVER_SOFTWARE": "granian (RSGI)",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.url_scheme": "https",
        "REQUEST_METHOD": "DELETE",
        "PATH_INFO": "/troubleTicket/RED-1",
        "QUERY_STRING": "fields=id&limit=2",
        "SERVER_NAME": "10.0.0.1",
        "SERVER_PORT": "8443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "REMOTE_PORT": "61000",
        "HTTP_HOST": "mock.test:8080",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "3",
    }
    assert recorder.bodies == [b"abc"]


@pytest.mark.parametrize(
    ("http_version", "protocol"),
    [("1", "HTTP/1.0"), ("1.0", "HTTP/1.0"), ("1.1", "HTTP/1.1"), ("2", "HTTP/2"), ("3", "HTTP/3")],
)
def test_the_server_protocol_names_the_http_version(recorder: Recorder, http_version: str, protocol: str) -> None:
    bridge = bridge_for(recorder)
    send(bridge, request(http_version=http_version))
    assert recorder.environ["SERVER_PROTOCOL"] == protocol


def test_ipv6_addresses_lose_their_brackets(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    send(bridge, request(server="[::1]:8080", client="[2001:db8::7]:61000"))
    environ = recorder.environ
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("::1", "8080")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("2001:db8::7", "61000")


def test_the_path_is_given_as_wsgi_gives_it(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    send(bridge, request(path="/troubleTicket/caf\u00e9"))
    # PEP 3333: the path's bytes (UTF-8, as the client sent them) as latin-1 text.
    assert recorder.environ["PATH_INFO"] == "/troubleTicket/caf\u00c3\u00a9"


def test_headers_sent_more_than_once_are_joined(recorder: Recorder) -> None:
    bridge = bridge_for(recorder)
    headers = [("accept", "text/plain"), ("cookie", "a=1"), ("accept", "application/json"), ("cookie", "b=2")]
    send(bridge, request(headers=headers))
    assert recorder.environ["HTTP_ACCEPT"] == "text/plain,application/json"
    assert recorder.environ["HTTP_COOKIE"] == "a=1; b=2"


@pytest.mark.parametrize(
    ("headers", "authority", "host"),
    [
        ([], "mock.test:9000", "mock.test:9000"),
        ([("host", "named.test")], "mock.test:9000", "named.test"),
        ([], None, None),
        ([], "", None),
    ],
    ids=["from-the-authority", "host-header-first", "none", "empty-authority"],
)
def test_the_host_comes_from_the_header_else_the_authority(
    recorder: Recorder, headers: list[tuple[str, str]], authority: str | None, host: str | None
) -> None:
    bridge = bridge_for(recorder)
    send(bridge, request(headers=headers, authority=authority))
    assert recorder.environ.get("HTTP_HOST") == host


def test_header_names_become_cgi_keys_and_are_remembered(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    monkeypatch.setattr(rsgi, "_ENVIRON_KEYS", dict(rsgi._ENVIRON_KEYS))
    bridge = bridge_for(recorder)
    send(bridge, request(headers=[("x-request-id", "r-1"), ("x-mock-expect-refusal", "yes")]))
    assert recorder.environ["HTTP_X_REQUEST_ID"] == "r-1"
    assert recorder.environ["HTTP_X_MOCK_EXPECT_REFUSAL"] == "yes"
    assert rsgi._ENVIRON_KEYS["x-request-id"] == "HTTP_X_REQUEST_ID"


def test_remembered_header_names_are_bounded(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    """A client sending ever new header names must not grow a worker's memory without end."""
    monkeypatch.setattr(rsgi, "_ENVIRON_KEYS", dict(rsgi._ENVIRON_KEYS))
    bridge = bridge_for(recorder)
    names = [f"x-n{number}" for number in range(600)]
    send(bridge, request(headers=[(name, "v") for name in names]))
    assert all(recorder.environ[f"HTTP_X_N{number}"] == "v" for number in range(600))
    assert len(rsgi._ENVIRON_KEYS) == 512
