"""`python -m bench.fuzz`: a seeded fuzz of malformed requests against the served mock.

Each request is written by hand on a raw socket, so that nothing between the fuzz and the mock
tidies it: raw UTF-8 surrogate bytes and bytes that are no UTF-8 in JSON strings (create,
update, the TO hook, multipart), surrogate escapes, tokens with odd claims (a `sub` holding a
surrogate, a string `exp`), ticket and attachment ids beyond any store's integers, paths with
doubled slashes and odd escapes, other methods, odd media types, chunked bodies with bad chunk
sizes, multipart bodies with too many parts or none, bodies shorter than declared, odd control
API queries, and malformed HTTP (bad request lines, URLs and headers too long).

Every answer is sorted: a 5xx; the app's answer (it always names a Content-Type), which must be
JSON, and for a 4xx the contract's error body; granian's own answer to HTTP it could not parse
(a status line and no body: the app never saw the request); or no answer at all.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.auth import mint_token, resolve_secret
from spec.contract import Contract


@dataclass(frozen=True)
class Probe:
    """One malformed request: its kind, its bytes, and whether they make a whole request. The fuzz
    closes its side after an incomplete one, as a client that gives up does; the server may then
    close without answering."""

    kind: str
    raw: bytes
    complete: bool = True


class Incomplete(bytes):
    """Bytes of a request that never ends (a body shorter than declared, a chunked body never closed)."""


# What granian (hyper) answers, itself, to HTTP it cannot parse: no body, no Content-Type.
SERVER_STATUSES = frozenset({400, 414, 431})
INVALID_UTF8 = (
    b"\xed\xa0\x80",  # a UTF-8-encoded high surrogate (U+D800)
    b"\xed\xbf\xbf",  # a low surrogate (U+DFFF)
    b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair, encoded one half at a time (CESU-8)
    b"\xc0\x80",  # an overlong NUL
    b"\xff\xfe",
    b"\xe2\x82",  # a cut-off sequence
    b"\xf4\x90\x80\x80",  # past U+10FFFF
)
HUGE_NUMBERS = (2**63 - 1, 2**63, 2**64, 10**30, 10**100)


@dataclass
class Answer:
    status: int | None
    content_type: str | None
    body: bytes
    error: str | None = None


@dataclass
class Tally:
    """What the fuzz saw, by kind of request."""

    sent: Counter[str] = field(default_factory=Counter)
    server_errors: list[tuple[str, bytes, Answer]] = field(default_factory=list)
    not_json: list[tuple[str, bytes, Answer]] = field(default_factory=list)
    granian_own: Counter[int] = field(default_factory=Counter)
    abandoned: int = 0  # incomplete requests the fuzz gave up on, which the server closed unanswered
    no_answer: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def summary(self) -> str:
        granian = ", ".join(f"{status}: {count}" for status, count in sorted(self.granian_own.items())) or "none"
        lines = [
            f"{self.total} malformed requests sent ({', '.join(f'{k} {v}' for k, v in sorted(self.sent.items()))})",
            f"5xx answers: {len(self.server_errors)}",
            f"answers from the app that are not the contract's JSON: {len(self.not_json)}",
            f"granian's own empty answers to HTTP it could not parse (the app never saw them): {granian}",
            f"no answer to a whole request: {sum(self.no_answer.values())} {dict(self.no_answer) or ''}".rstrip(),
            f"incomplete requests the fuzz gave up on, closed unanswered: {self.abandoned}",
            f"statuses: {dict(sorted(self.statuses.items()))}",
        ]
        for label, cases in (("5xx", self.server_errors), ("not JSON", self.not_json)):
            for kind, raw, answer in cases[:5]:
                lines.append(
                    f"  {label} [{kind}] {raw[:160]!r} -> {answer.status} {answer.content_type} {answer.body[:160]!r}"
                )
        return "\n".join(lines)


def exchange(port: int, raw: bytes, *, timeout: float = 10, half_close: bool = False) -> Answer:
    """Send `raw` on a new connection and read the answer until the server closes it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            try:
                sock.sendall(raw)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before reading everything
            data = b""
            while not _is_whole(data):  # a kept-alive connection ends no other way
                try:
                    chunk = sock.recv(65536)
                except (TimeoutError, ConnectionResetError):
                    break
                if not chunk:
                    break
                data += chunk
    except OSError as error:
        return Answer(None, None, b"", error=str(error))
    if not data:
        return Answer(None, None, b"", error="the connection closed without an answer")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        return Answer(None, None, data, error=f"not an HTTP answer: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return Answer(status, headers.get("content-type"), body)


def _is_whole(data: bytes) -> bool:
    """Whether `data` holds an answer's head and the whole body its Content-Length announces."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value)
    return False


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2 :]
    return out


def classify(tally: Tally, probe: Probe, answer: Answer, errors: tuple[str, ...]) -> None:
    kind, raw = probe.kind, probe.raw
    tally.sent[kind] += 1
    if answer.status is None:
        if probe.complete:
            tally.no_answer[kind] += 1
        else:
            tally.abandoned += 1
        return
    tally.statuses[answer.status] += 1
    if answer.status >= 500:
        tally.server_errors.append((kind, raw, answer))
        return
    if answer.content_type is None and not answer.body:
        if answer.status in SERVER_STATUSES:
            tally.granian_own[answer.status] += 1
        else:
            tally.not_json.append((kind, raw, answer))
        return
    is_head = raw.startswith(b"HEAD ")
    if not (answer.content_type or "").startswith("application/json"):
        tally.not_json.append((kind, raw, answer))
        return
    if is_head:
        if answer.body:
            tally.not_json.append((kind, raw, answer))
        return
    try:
        payload = json.loads(answer.body)
    except ValueError:
        tally.not_json.append((kind, raw, answer))
        return
    if answer.status >= 400:
        is_error = isinstance(payload, dict) and len(payload) == 1
        if not is_error or next(iter(payload)) not in errors or not isinstance(next(iter(payload.values())), str):
            tally.not_json.append((kind, raw, answer))


class Generator:
    """Malformed requests, drawn from a seeded random source."""

    def __init__(self, contract: Contract, seed: int, ticket_id: str, mirror_key: str) -> None:
        self.contract, self.random = contract, random.Random(seed)
        self.ticket_id, self.mirror_key = ticket_id, mirror_key
        self.secret = resolve_secret()
        self.token = mint_token("TU-FUZZ", secret=self.secret)
        names = contract.names
        self.create = contract.example_create("FZ-1")
        self.update = contract.example_update(ticket_id, mirror_key, "OPENACTIVE")
        self.hook = {names.state: "OPENACTIVE", names.dialog: "fuzz"}
        self.kinds: dict[str, Callable[[], bytes]] = {
            "invalid-utf8-json": self.invalid_utf8_json,
            "surrogate-escape": self.surrogate_escape,
            "token": self.odd_token,
            "ids": self.odd_ids,
            "attachment-ids": self.attachment_ids,
            "chunked": self.bad_chunked,
            "multipart": self.bad_multipart,
            "methods": self.other_methods,
            "media-types": self.odd_media_types,
            "control": self.odd_control,
            "numbers": self.odd_numbers,
            "short-body": self.short_body,
            "http": self.malformed_http,
        }

    def requests(self, count: int) -> Iterator[Probe]:
        kinds = sorted(self.kinds)
        for n in range(count):
            kind = kinds[n % len(kinds)]  # every kind alike, in a seeded order within
            raw = self.kinds[kind]()
            yield Probe(kind, bytes(raw), complete=not isinstance(raw, Incomplete))

    # -- building blocks -----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: bytes | str,
        body: bytes = b"",
        *,
        content_type: bytes | str | None = "application/json",
        token: bytes | str | None = "",
        headers: bytes = b"",
        length: int | None = None,
    ) -> bytes:
        path = path.encode("latin-1") if isinstance(path, str) else path
        token = self.token if token == "" else token
        lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        if token is not None:
            lines.append(b"Authorization: Bearer " + (token.encode("latin-1") if isinstance(token, str) else token))
        if content_type is not None and (body or method in ("POST", "PATCH")):
            ctype = content_type.encode("latin-1") if isinstance(content_type, str) else content_type
            lines.append(b"Content-Type: " + ctype)
        if body or method in ("POST", "PATCH", "PUT"):
            lines.append(b"Content-Length: %d" % (len(body) if length is None else length))
        raw = b"\r\n".join(lines) + b"\r\n" + headers + b"\r\n" + body
        return raw

    def operation(self) -> tuple[str, str, dict[str, Any]]:
        """A (method, path, valid body) of an operation that takes a body."""
        contract = self.contract
        choice = self.random.randrange(3)
        if choice == 0:
            return "POST", contract.collection_path, dict(self.create, mirrorKey=f"FZ-{self.random.randrange(10**9)}")
        if choice == 1:
            return "PATCH", contract.ticket_path(self.ticket_id), dict(self.update)
        return "POST", "/_mock" + contract.ticket_path(self.ticket_id) + "/transition", dict(self.hook)

    def string_field(self, body: dict[str, Any]) -> str:
        return self.random.choice([name for name, value in body.items() if isinstance(value, str)])

    def spliced(self, body: dict[str, Any], field_name: str, insert: bytes) -> bytes:
        """The body as JSON with `insert` (raw bytes) inside the string value of `field_name`."""
        marker = "\u2603MARK\u2603"
        text = json.dumps({**body, field_name: body[field_name][:5] + marker}, ensure_ascii=False).encode()
        return text.replace(marker.encode(), insert)

    def multipart(self, parts: list[tuple[bytes, bytes]], boundary: bytes = b"fuzzbound") -> bytes:
        out = b""
        for disposition, content in parts:
            out += b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + content
            out += b"\r\n"
        return out + b"--" + boundary + b"--\r\n"

    def signed(self, header: bytes, payload: bytes) -> str:
        """An HS256 token over exactly these header and payload bytes, signed with the mock's secret."""

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = f"{b64(header)}.{b64(payload)}"
        signature = hmac.new(self.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(signature)}"

    # -- the kinds -----------------------------------------------------------------------

    def invalid_utf8_json(self) -> bytes:
        method, path, body = self.operation()
        raw = self.spliced(body, self.string_field(body), self.random.choice(INVALID_UTF8))
        if self.random.random() < 0.3:  # the same JSON as a multipart 'data' part
            data_part = self.contract.create.data_part
            multipart = self.multipart([(b'name="' + data_part.encode() + b'"', raw)])
            return self.request(method, path, multipart, content_type="multipart/form-data; boundary=fuzzbound")
        return self.request(method, path, raw)

    def surrogate_escape(self) -> bytes:
        method, path, body = self.operation()
        escape = self.random.choice([b"\\ud800", b"\\udfff", b"\\udbff\\u0041", b"\\ud800\\ud800"])
        return self.request(method, path, self.spliced(body, self.string_field(body), escape))

    def odd_token(self) -> bytes:
        r = self.random
        header = b'{"alg":"HS256","typ":"JWT"}'
        subs = [b'"TU-' + r.choice(INVALID_UTF8) + b'"', b"12", b"null", b"[]", b'{"a":1}', b'""', b'"\\ud800"']
        payloads = [
            b'{"sub":' + r.choice(subs) + b"}",
            b'{"sub":"TU-A","exp":' + r.choice([b'"9999999999"', b'"soon"', b"[]", b"{}", b"true", b"1e400"]) + b"}",
            b'{"sub":"TU-A","nbf":' + r.choice([b'"0"', b"[]", b"1e400"]) + b"}",
            b'{"sub":"TU-A","iat":' + r.choice([b'"0"', b"null", b"1e400"]) + b"}",
            b'{"sub":"TU-A","exp":' + str(r.choice(HUGE_NUMBERS)).encode() + b"}",
            b"[]",
            b'"sub"',
            b'{"sub":"TU-A"',  # cut off
        ]
        choice = r.randrange(4)
        if choice == 0:
            token: bytes | str = self.signed(header, r.choice(payloads))
        elif choice == 1:
            token = self.signed(
                r.choice([b'{"alg":"none"}', b"{}", b'{"alg":"HS256","kid":[1]}', b"\xed\xa0\x80"]), b'{"sub":"TU-A"}'
            )
        elif choice == 2:
            token = r.choice([b"a.b.c", b"....", b"\xff\xfe.\xff.\xff", b"x" * 8000, b"e30.e30.", b"Bearer Bearer"])
        else:
            token = self.signed(header, r.choice(payloads)).encode() + r.choice([b"", b"\xff", b".x"])
        method, path, body = (
            self.operation() if r.random() < 0.5 else ("GET", self.contract.ticket_path(self.ticket_id), {})
        )
        return self.request(method, path, json.dumps(body).encode() if body else b"", token=token)

    def odd_ids(self) -> bytes:
        r = self.random
        prefix = self.contract.ticket_ids.prefix
        ticket = r.choice(
            [
                f"{prefix}{r.choice(HUGE_NUMBERS)}",
                f"{prefix}-1",
                f"{prefix}0",
                f"{prefix}01",
                "%ED%A0%80",
                "%FF%FE",
                "%00",
                f"{prefix}1%2F2",
                "..%2F..",
                "%C0%AF",
                "é",
                "R" * r.choice([16, 300, 4000]),
            ]
        )
        item = self.contract.ticket_path(ticket)
        path = r.choice([item, "/" + item, item.replace("/", "//"), item + "/", item + "/.", "/./" + item.lstrip("/")])
        method = r.choice(["GET", "PATCH", "HEAD", "POST"])
        body = json.dumps(self.update).encode() if method in ("PATCH", "POST") else b""
        if method == "POST":
            path = "/_mock" + item + "/transition"
            body = json.dumps(self.hook).encode()
        return self.request(method, path, body)

    def attachment_ids(self) -> bytes:
        r = self.random
        number = r.choice([*map(str, HUGE_NUMBERS), "0", "-1", "1e3", "abc", "%00", "1" * 400])
        ticket = r.choice([self.ticket_id, f"{self.contract.ticket_ids.prefix}{2**64}", "x"])
        query = r.choice(["", "?tenant=TU-FUZZ", "?tenant=%ED%A0%80", "?tenant=" + "t" * 2000])
        return self.request("GET", f"/_mock/tickets/{ticket}/attachments/{number}{query}", token=None)

    def bad_chunked(self) -> bytes:
        r = self.random
        method, path, body = self.operation()
        payload = json.dumps(body).encode()
        size = r.choice([b"zz", b"-5", b"0x10", b"ffffffffffffffffff", b"", b" 5", b"5;ext=\xff", b"%x" % len(payload)])
        trailer = r.choice([b"\r\n0\r\n\r\n", b"\r\n", b"", b"\r\n0\r\nX-Trailer: \xff\r\n\r\n", b"0\r\n\r\n"])
        head = self.request(method, path, content_type="application/json", headers=b"Transfer-Encoding: chunked\r\n")
        head = head.replace(b"Content-Length: 0\r\n", b"")
        raw = head + size + b"\r\n" + payload + trailer
        return raw if trailer.endswith(b"\r\n\r\n") else Incomplete(raw)

    def bad_multipart(self) -> bytes:
        r = self.random
        method, path, body = self.operation()
        data = json.dumps(body).encode()
        data_part = self.contract.create.data_part if method == "POST" else self.contract.update.data_part
        named = b'name="' + data_part.encode() + b'"'
        choice = r.randrange(7)
        boundary = b"fuzzbound"
        if choice == 0:  # more parts than the parser takes
            parts = [(named, data)] + [(b'name="p%d"' % n, b"x") for n in range(r.choice([1001, 1500]))]
            raw = self.multipart(parts)
        elif choice == 1:  # no boundary parameter, or an empty one
            raw = self.multipart([(named, data)])
            boundary = r.choice([b"", b'""', b"\xff"])
        elif choice == 2:  # a boundary the body never uses
            raw = self.multipart([(named, data)], boundary=b"other")
        elif choice == 3:  # parts with odd dispositions
            disposition = r.choice(
                [b"", b'name=""', b'filename="a.bin"', b'name="attachment"; filename="\xed\xa0\x80"', b"name=x\xff"]
            )
            raw = self.multipart([(disposition, b"zz"), (named, data)])
        elif choice == 4:  # the data part holding what is no JSON object
            raw = self.multipart([(named, r.choice([b"null", b"[]", b"\xed\xa0\x80", b"{", b"1e400", b'"x"']))])
        elif choice == 5:  # cut off
            raw = self.multipart([(named, data)])[: r.randrange(5, 60)]
        else:  # a part's own headers too long
            raw = (
                b"--fuzzbound\r\nContent-Disposition: form-data; "
                + named
                + b"\r\nX-Pad: "
                + b"p" * 70000
                + b"\r\n\r\n"
                + data
            )
            raw += b"\r\n--fuzzbound--\r\n"
        ctype = b"multipart/form-data" + (b"; boundary=" + boundary if boundary else b"")
        return self.request(method, path, raw, content_type=ctype)

    def other_methods(self) -> bytes:
        r = self.random
        method = r.choice(["OPTIONS", "HEAD", "PUT", "DELETE", "TRACE", "FOO", "PROPFIND", "PATCH", "POST"])
        path = r.choice(
            [
                self.contract.collection_path,
                self.contract.ticket_path(self.ticket_id),
                "/_mock/reset",
                "/_mock/tickets",
                "/_mock/health",
                "/openapi.json",
                "/",
                "/_mock",
                "*",
            ]
        )
        if path == "/_mock/reset" and method == "POST":
            method = "PUT"  # never wipe the store the fuzz works on
        return self.request(method, path, b"{}" if method in ("PUT", "POST", "PATCH") else b"")

    def odd_media_types(self) -> bytes:
        r = self.random
        method, path, body = self.operation()
        ctype = r.choice(
            [
                b"application/json; charset=latin-1",
                b"application/json;;;",
                b"application/json; charset=\xff",
                b"APPLICATION/JSON",
                b"application/json\t",
                b"text/plain",
                b"application/x-www-form-urlencoded",
                b"multipart/mixed; boundary=x",
                b"*/*",
                b"\xed\xa0\x80/json",
                b"",
            ]
        )
        return self.request(method, path, json.dumps(body).encode(), content_type=ctype)

    def odd_control(self) -> bytes:
        r = self.random
        query = r.choice(
            [
                f"limit={r.choice([*map(str, HUGE_NUMBERS), '-1', '0', 'abc', '%FF', '1' * 5000])}",
                "tenant=%ED%A0%80",
                "tenant=%FF",
                "tenant=" + "t" * 3000,
                "limit=1&limit=2",
                "%",
                "a=%zz",
            ]
        )
        path = r.choice(["/_mock/journal", "/_mock/tickets", "/_mock/health"])
        return self.request("GET", f"{path}?{query}", token=None)

    def odd_numbers(self) -> bytes:
        r = self.random
        method, path, body = self.operation()
        value = r.choice(
            [b"1e400", b"-1e400", b"1" * 5000, b"-0", b"1.0", b"2.5", b"1E2", b"[" * 100000 + b"]" * 100000]
        )
        name = r.choice(list(body))
        raw = json.dumps({**body, name: "\u2603"}).encode().replace(b'"\\u2603"', value)
        return self.request(method, path, raw)

    def short_body(self) -> bytes:
        method, path, body = self.operation()
        payload = json.dumps(body).encode()
        return Incomplete(
            self.request(method, path, payload, length=len(payload) + self.random.choice([1, 100, 10000]))
        )

    def malformed_http(self) -> bytes:
        r = self.random
        return r.choice(
            [
                b"THIS IS NOT HTTP\r\n\r\n",
                b"GET /troubleTicket HTTP/9.9\r\nHost: x\r\n\r\n",
                b"GET /" + b"A" * r.choice([70000, 100000]) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-H: " + b"a" * 500000 + b"\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColon\r\n\r\n",
                b"POST /troubleTicket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
                b"GET /trouble\x01Ticket HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                b"GET\x00/ HTTP/1.1\r\n\r\n",
            ]
        )


def setup(url_port: int, contract: Contract) -> tuple[str, str]:
    """A ticket of the fuzz's tenant for updates and the hook to aim at."""
    token = mint_token("TU-FUZZ", secret=resolve_secret())
    body = json.dumps(contract.example_create("FZ-BASE")).encode()
    raw = (
        f"POST {contract.collection_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    answer = exchange(url_port, raw)
    created = json.loads(answer.body)
    if answer.status not in (201, 400):
        raise RuntimeError(f"the fuzz could not open its ticket: {answer}")
    if answer.status == 400:  # a second run on the same store: the key is taken
        ticket_id = created[contract.errors.illegal_argument].split("trouble ticket ")[1].split(";")[0]
        return ticket_id, "FZ-BASE"
    names = contract.names
    return created[names.ticket_id], created[names.mirror_key]


def run(port: int, *, count: int, seed: int, threads: int = 8, contract: Contract | None = None) -> Tally:
    """Send `count` malformed requests, seeded, to the mock on 127.0.0.1:`port`; tally the answers."""
    contract = contract or Contract.load()
    ticket_id, mirror_key = setup(port, contract)
    generator = Generator(contract, seed, ticket_id, mirror_key)
    requests = list(generator.requests(count))
    tally = Tally()

    def send(probe: Probe) -> tuple[Probe, Answer]:
        return probe, exchange(port, probe.raw, half_close=not probe.complete)

    with ThreadPoolExecutor(threads) as pool:
        for probe, answer in pool.map(send, requests):
            classify(tally, probe, answer, contract.errors.all)
    return tally


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import served_mock

    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="how many malformed requests")
    parser.add_argument("--seed", type=int, default=1, help="the random seed (the same seed sends the same requests)")
    parser.add_argument("serve_args", nargs="*", help="extra `mockserver serve` options, after --")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir, served_mock(Path(workdir) / "fuzz.db", args.serve_args) as mock:
        started = time.monotonic()
        tally = run(int(mock.url.rsplit(":", 1)[1]), count=args.requests, seed=args.seed)
        print(f"seed {args.seed}, {time.monotonic() - started:.1f} s")
        print(tally.summary())
    return 1 if tally.server_errors or tally.not_json else 0


if __name__ == "__main__":
    sys.exit(main())
