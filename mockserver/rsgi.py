"""The WSGI app served over granian's RSGI interface, so that no slow client holds a thread.

Under WSGI granian gives each request one of its threads at once, and the body is read in that
thread: a client that sends its headers and then trickles its body holds the thread for as
long as it likes (granian has a timeout for headers, none for bodies), and with one thread per
worker, two such clients stopped the mock. Under RSGI the app is a coroutine on the worker's
event loop: the body is awaited there, holding no thread, and a body that does not come within
`body_timeout` seconds (a large one: with a gap that long between its bytes) is answered 408.
Once the body is in, the WSGI app runs on the loop's thread, as it ran on granian's one WSGI
thread before (or on `threads` threads of its own).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mockserver.errors import ApiError, IllegalArgument, InternalError
from mockserver.faults import STREAM_ENVIRON

log = logging.getLogger("mockserver")
_PROTOCOLS = {"1": "HTTP/1.0", "1.0": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
JSON_HEADERS = [("content-type", "application/json")]
# Bodies up to this size are awaited whole, within --body-timeout; larger ones chunk by chunk, the
# timeout counted between chunks, so that a slow link may take as long as it keeps sending.
WHOLE_BODY_BYTES = 256 * 1024

_BASE_ENVIRON: dict[str, Any] = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "granian (RSGI)",
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    # The body is whole (or cut one byte past the limit): Werkzeug may read it to its end.
    "wsgi.input_terminated": True,
}


_ENVIRON_KEYS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


def _environ_key(name: str) -> str:
    key = "HTTP_" + name.upper().replace("-", "_")
    if len(_ENVIRON_KEYS) < 512:  # header names repeat: remember them, but not every name ever sent
        _ENVIRON_KEYS[name] = key
    return key


class BodyTooSlow(Exception):
    """The body did not come within the body timeout."""


class BodyCutShort(Exception):
    """The client stopped sending before the end of the body its Content-Length announced."""


class RSGIBridge:
    """An RSGI app that awaits a request's whole body, then calls a WSGI app with it.

    `render(error)` makes the contract's body of an answer the bridge gives itself (a body too
    slow, or cut short), which the WSGI app never sees.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_body_bytes: int,
        body_timeout: float,
        render: Callable[[ApiError], bytes],
        threads: int = 1,
    ) -> None:
        self.app, self.max_body_bytes, self.body_timeout, self.render = app, max_body_bytes, body_timeout, render
        self._runner = ThreadPoolExecutor(threads, thread_name_prefix="mock-app") if threads > 1 else None
        self._base = {**_BASE_ENVIRON, "wsgi.multithread": threads > 1}

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        headers = scope.headers
        declared = headers.get("content-length")
        body = b""
        if declared or "chunked" in headers.get("transfer-encoding", "").lower():
            try:
                body = await self._body(protocol, declared)
            except BodyTooSlow as error:
                self._refuse(protocol, IllegalArgument(str(error), status=408))
                return
            except Exception as error:  # a body cut short, or granian's stream failing
                message = (
                    str(error) if isinstance(error, BodyCutShort) else f"the request body could not be read ({error!r})"
                )
                self._refuse(protocol, IllegalArgument(message))
                return
        environ = self.environ(scope, body)
        try:
            if self._runner is None:
                status, response_headers, payload = self._call(environ)
            else:
                loop = asyncio.get_running_loop()
                status, response_headers, payload = await loop.run_in_executor(self._runner, self._call, environ)
        except Exception as error:  # the app answers its own errors: this is a bug, said as the app says it
            log.exception("unexpected error on %s %s", scope.method, scope.path)
            self._refuse(protocol, InternalError(f"internal error in the mock ({type(error).__name__}); see its log"))
            return
        if isinstance(payload, bytes):
            protocol.response_bytes(status, response_headers, payload)
            return
        # An answer a fault sends in pieces, or only in part (see mockserver.faults): granian closes
        # the connection when the pieces stop short of the Content-Length.
        transport = protocol.response_stream(status, response_headers)
        try:
            for piece in payload:
                await transport.send_bytes(piece)
        finally:
            close = getattr(payload, "close", None)
            if close is not None:
                close()

    def _refuse(self, protocol: Any, error: ApiError) -> None:
        # The body may be left unread: the connection cannot carry another request.
        protocol.response_bytes(error.status, [*JSON_HEADERS, ("connection", "close")], self.render(error))

    async def _body(self, protocol: Any, declared: str | None) -> bytes:
        """The body, or its first `max_body_bytes` + 1 bytes: enough for the app to tell it is too
        large. A body declared larger than that is not read at all: the app refuses it by its length."""
        length = None
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return b""  # the app answers a Content-Length that is no number
            if length > self.max_body_bytes:
                return b""
        if length is not None and length <= WHOLE_BODY_BYTES:
            # Most bodies: awaited whole, in one step of the loop (each step costs a wake-up of it).
            try:
                async with asyncio.timeout(self.body_timeout):
                    return await protocol()
            except TimeoutError:
                raise BodyTooSlow(f"the request body did not arrive within {self.body_timeout:g} s") from None
        limit, received = self.max_body_bytes + 1, bytearray()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.body_timeout) as deadline:
                async for chunk in protocol:
                    received += chunk
                    if len(received) >= limit:
                        break
                    deadline.reschedule(loop.time() + self.body_timeout)  # a timeout between bytes, not in all
        except TimeoutError:
            raise BodyTooSlow(
                f"no byte of the request body arrived for {self.body_timeout:g} s ({len(received)} bytes received)"
            ) from None
        # granian ends the body where the client stopped sending: the app must not take the part for the whole.
        if length is not None and len(received) < length:
            raise BodyCutShort(f"the request body ended after {len(received)} of the {length} bytes announced")
        return bytes(received)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes | Iterable[bytes]]:
        """Run the WSGI app; its status, headers and whole body (its pieces, when a fault streams it)."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [int(status[:3]), headers]

        chunks = self.app(environ, start_response)
        if environ.get(STREAM_ENVIRON):
            return started[0], started[1], chunks
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return started[0], started[1], payload

    def environ(self, scope: Any, body: bytes) -> dict[str, Any]:
        """The WSGI environ (PEP 3333) of an RSGI request scope, as granian's WSGI interface makes it."""
        server_host, _, server_port = scope.server.rpartition(":")
        client_host, _, client_port = scope.client.rpartition(":")
        environ = {
            **self._base,
            "REQUEST_METHOD": scope.method,
            # The path's bytes, percent-decoded, as latin-1 text. granian hands the path over decoded
            # as UTF-8 (bytes that are not UTF-8 replaced), so encoding it back gives those bytes.
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server_host.strip("[]"),
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": _PROTOCOLS.get(scope.http_version, f"HTTP/{scope.http_version}"),
            "REMOTE_ADDR": client_host.strip("[]"),
            "REMOTE_PORT": client_port,
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
        }
        for name, value in scope.headers.items():  # one call into granian for them all
            key = _ENVIRON_KEYS.get(name) or _environ_key(name)
            if key in environ:  # a header sent more than once
                environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
            else:
                environ[key] = value
        if "HTTP_HOST" not in environ and scope.authority:
            environ["HTTP_HOST"] = scope.authority
        return environ
