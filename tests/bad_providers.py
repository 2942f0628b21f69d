"""Endpoints that misbehave below the API: they hang, drip, flood, redirect, babble or drop writes.

Each is a raw socket server on loopback, so that it can do what no web framework would let it
(never answer, answer forever, answer with bytes that are not HTTP). The suite pointed at any of
them must end within its deadline, never with exit 0.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from spec.contract import Contract

CONTRACT = Contract.load()
NOT_FOUND = json.dumps({CONTRACT.errors.not_found: "trouble ticket not found"}).encode()


def _read_request(sock: socket.socket) -> tuple[str, bytes]:
    """The request line and whatever body its Content-Length announces."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return "", b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n")[0].decode("latin-1"), body


def _answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Behaviour(socketserver.BaseRequestHandler):
    kind = ""
    stop = threading.Event()

    def handle(self) -> None:
        sock: socket.socket = self.request
        line, _ = _read_request(sock)
        if not line:
            return
        try:
            getattr(self, self.kind.replace("-", "_"))(sock, line)
        except OSError:
            pass  # the client gave up: that is the point

    def hang(self, sock: socket.socket, line: str) -> None:
        self.stop.wait()

    def garbage(self, sock: socket.socket, line: str) -> None:
        sock.sendall(b"\x00\xff\xfe not HTTP at all \x01\x02\r\n\r\n")

    def redirect(self, sock: socket.socket, line: str) -> None:
        sock.sendall(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: http://127.0.0.1:9/\r\nContent-Length: 0\r\n\r\n")

    def huge(self, sock: socket.socket, line: str) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n[")
        block = b"0," * 32768
        while not self.stop.is_set():
            sock.sendall(block)

    def drip(self, sock: socket.socket, line: str) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        while not self.stop.is_set():
            sock.sendall(b" ")
            time.sleep(1)

    def dropped_writes(self, sock: socket.socket, line: str) -> None:
        if line.startswith(("GET ", "HEAD ")):
            sock.sendall(_answer("404 Not Found", NOT_FOUND))
        # anything else: the connection closes unanswered


KINDS = ("hang", "garbage", "redirect", "huge", "drip", "dropped-writes")


@contextmanager
def bad_provider(kind: str) -> Iterator[str]:
    """Serve one misbehaviour on a loopback port; yield its base URL."""
    handler = type("Handler", (Behaviour,), {"kind": kind, "stop": threading.Event()})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        handler.stop.set()
        server.shutdown()
        server.server_close()
