"""`python -m bench.robustness`: slow clients and malformed HTTP against the served mock.

Slow clients: opens connections that send their request headers (then, in a second round, a
request body) one byte a second, holding them open for the whole test, while timing ordinary
GET requests beside them; a server that gives each such connection a worker stops answering.
Malformed HTTP: sends a bad request line, an over-long URL, huge headers and the like on raw
sockets and prints what the server answers (status line, Content-Type and the start of the body).
Extra `serve` options go after `--`, e.g. `python -m bench.robustness -- --server gunicorn`.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.__main__ import mock_token, served_mock

# name -> raw bytes sent on a fresh connection
MALFORMED: dict[str, bytes] = {
    "bad request line": b"THIS IS NOT HTTP\r\n\r\n",
    "bad HTTP version": b"GET /troubleTicket/RED-1 HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    "URL of 64 KiB (414?)": b"GET /troubleTicket/" + b"A" * 65536 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "one header of 64 KiB (431?)": b"GET /troubleTicket/RED-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    + b"a" * 65536
    + b"\r\n\r\n",
    "headers of 1 MiB (431?)": b"GET /troubleTicket/RED-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    + b"".join(b"X-H%d: %s\r\n" % (n, b"a" * 1000) for n in range(1024))
    + b"\r\n",
    "header line without colon": b"GET /troubleTicket/RED-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n",
    "bad Content-Length": b"POST /troubleTicket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
    "Content-Length and chunked": b"POST /troubleTicket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad chunk size": b"POST /troubleTicket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "control character in path": b"GET /trouble\x01Ticket HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
}


def probe(url: str, raw: bytes, timeout: float = 5) -> str:
    """What the server answers to `raw`, in one line."""
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            try:
                sock.sendall(raw)
            except OSError as error:  # the server may close before reading it all
                sent_note = f" (send stopped: {error.strerror})"
            else:
                sent_note = ""
            answer = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:  # an answer on a kept-alive connection ends no other way
                    break
                if not chunk:
                    break
                answer += chunk
    except OSError as error:
        return f"connection error: {error.strerror or error}"
    if not answer:
        return f"no answer within {timeout:.0f} s" + sent_note
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    content_type = next((line for line in lines[1:] if line.lower().startswith("content-type:")), "no Content-Type")
    return f"{lines[0]} | {content_type} | body {body[:100]!r}{sent_note}"


def slow_client(url: str, stop: threading.Event, sent: list[int], prefix: bytes, trickle: bytes) -> None:
    """Send `prefix` at once, then `trickle` one byte a second until stopped."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(prefix)
        for byte in trickle:
            if stop.is_set():
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return  # the server gave up on it, as it may
            sent[0] += 1
            stop.wait(1)


def slow_clients(url: str, token: str, clients: int, seconds: int, *, body: bool = False) -> None:
    """Time normal GETs beside `clients` connections trickling their headers (or, with `body`, their body)."""
    if body:
        prefix = (
            b"POST /troubleTicket HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 600\r\n\r\n"
        )
        trickle, what = b"{" + b" " * 598 + b"}", "slow-body"
    else:
        prefix, what = b"", "slow-header"
        trickle = b"GET /troubleTicket/RED-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 600 + b"\r\n\r\n"
    stop = threading.Event()
    counters = [[0] for _ in range(clients)]
    threads = [
        threading.Thread(target=slow_client, args=(url, stop, c, prefix, trickle), daemon=True) for c in counters
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    timings, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            # A new connection each time, as a fresh client would open.
            answer = requests.get(
                f"{url}/troubleTicket/RED-1", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            answer.raise_for_status()
            timings.append(time.perf_counter() - started)
        except requests.RequestException:
            failures += 1
        time.sleep(0.05)
    stop.set()
    if timings:
        timings.sort()
        print(
            f"  {clients} {what} connections held for {seconds} s ({sum(c[0] for c in counters)} bytes sent): "
            f"{len(timings)} normal GETs answered, median {statistics.median(timings) * 1000:.1f} ms, "
            f"max {timings[-1] * 1000:.1f} ms; {failures} failed or timed out (10 s)"
        )
    else:
        print(f"  {clients} {what} connections: no normal GET answered in {seconds} s; {failures} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.robustness", description=__doc__.splitlines()[0])
    parser.add_argument("--slow-clients", type=int, default=4, help="slow-header connections held open")
    parser.add_argument("--seconds", type=int, default=15, help="how long normal requests are timed beside them")
    parser.add_argument("serve_args", nargs="*", help="extra `mockserver serve` options, after --")
    args = parser.parse_args(argv)
    token = mock_token()
    with tempfile.TemporaryDirectory() as workdir, served_mock(Path(workdir) / "r.db", args.serve_args) as mock:
        session = requests.Session()
        body = {
            "baseTroubleTicketState": "OPENACTIVE",
            "mirrorKey": "R-1",
            "dialog": "d",
            "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
            "troubleDescription": "d",
            "troubleDetectionTime": "2025-01-15T10:30:00Z",
            "preferredPriority": 2,
            "troubledObject": "CTO",
            "customerTroubleNum": "O1",
            "wh1Parameter": "red",
            "clearencePerson": "agent-7",
        }
        session.post(f"{mock.url}/troubleTicket", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        print("slow clients:")
        slow_clients(mock.url, token, args.slow_clients, args.seconds)
        slow_clients(mock.url, token, args.slow_clients, args.seconds, body=True)
        print("malformed HTTP (what the server answers):")
        for name, raw in MALFORMED.items():
            print(f"  {name:30} -> {probe(mock.url, raw)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
