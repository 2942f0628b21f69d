"""The suite's HTTP client: rate-limited, safe on a real provider, and recording every exchange.

Every ticket it creates carries a mirrorKey with the run's prefix and is remembered for the
clean-up; creations are counted against a budget; in read-only mode it refuses anything but GET.
Each request comes back as an `Exchange`, which a report can replay as a curl command.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import shlex
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

TOKEN_ENV = {"a": "TT_TOKEN", "b": "TT_TOKEN_B"}
# A multipart part: (part name, filename or None for a form field, media type, content).
Part = tuple[str, str | None, str | None, bytes]
FilePart = tuple[str, str, str, bytes]


class SkipRule(Exception):
    """A rule that cannot run here (read-only mode, creation budget spent, no second token...)."""


class RateLimiter:
    """At most N requests per second, minute or hour (`10/s`, `600/m`), shared by every layer."""

    def __init__(self, spec: str | None) -> None:
        self.interval = parse_rate(spec) if spec else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


def parse_rate(text: str) -> float:
    """Seconds between requests for a rate such as `10/s`; ValueError when it is not one."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|h)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"rate limit must look like 10/s, 100/m or 1000/h, not {text!r}")
    return {"s": 1, "m": 60, "h": 3600}[match.group(2)] / float(match.group(1))


@dataclass
class Exchange:
    """One request and what came back."""

    method: str
    url: str
    headers: dict[str, str]
    json_body: Any = None
    raw_body: bytes | None = None
    multipart: list[Part] | None = None
    token_label: str | None = None  # how the Authorization header is shown: an env var or a description
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str = ""
    error: str | None = None

    @property
    def response_json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None

    def summary(self) -> str:
        answer = self.error or f"{self.status} {self.response_text[:300]}"
        return f"{self.method} {self.url} -> {answer}"

    def curl(self) -> str:
        """A curl command that sends the same request, with the token read from the environment."""
        parts = ["curl", "-i", "-X", self.method]
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                continue
            parts += ["-H", f"{name}: {value}"]
        command = " ".join(shlex.quote(part) for part in parts)
        if self.token_label:
            # Kept outside quotes so that the shell expands $TT_TOKEN.
            command += f' -H "Authorization: Bearer {self.token_label}"'
        if self.json_body is not None:
            command += " --data-raw " + shlex.quote(json.dumps(self.json_body, ensure_ascii=False))
        elif self.raw_body is not None:
            command += " --data-binary " + shlex.quote(self.raw_body.decode("utf-8", "replace"))
        for name, filename, mime, content in self.multipart or ():
            if filename is None:
                value = content.decode("utf-8", "replace") + (f";type={mime}" if mime else "")
                command += " -F " + shlex.quote(f"{name}={value}")
            else:
                command += " -F " + shlex.quote(f"{name}=@{filename};type={mime or 'application/octet-stream'}")
                command += f"  # {filename}: {len(content)} bytes"
        return command + " " + shlex.quote(self.url)


class CreationBudget:
    """How many tickets the suite may still create (`--max-creates`); None: no bound."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise SkipRule(f"the creation budget (--max-creates {self.limit}) is spent")
            self.used += 1

    def spend(self) -> None:
        """Count a creation made by another engine (Schemathesis), which cannot be refused here."""
        with self._lock:
            self.used += 1

    @property
    def left(self) -> int | None:
        return None if self.limit is None else self.limit - self.used


class MirrorKeys:
    """Unique mirrorKeys of one run: prefix, run id, counter (`CT-k3f9-1a`), 15 characters at most."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.run_id = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(4))
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def fresh(self, length: int | None = None) -> str:
        """A key never used before; exactly `length` characters when asked (padded after the prefix)."""
        with self._lock:
            serial = _base36(next(self._counter))
        key = f"{self.prefix}{self.run_id}-{serial}"
        if length is not None:
            key = key[: len(self.prefix)] + "0" * max(length - len(key), 0) + key[len(self.prefix) :]
        return key

    def owns(self, key: Any) -> bool:
        return isinstance(key, str) and key.startswith(self.prefix)


def _base36(number: int) -> str:
    digits = string.digits + string.ascii_lowercase
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


@dataclass
class CreatedTicket:
    ticket_id: str
    mirror_key: str
    token: str  # "a" or "b"
    final_state: str | None = None
    cleanup: str = ""


class ApiClient:
    """Requests to the provider under test, as tenant A (and B when a second token is given)."""

    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        *,
        keys: MirrorKeys,
        budget: CreationBudget,
        limiter: RateLimiter,
        read_only: bool = False,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.keys = keys
        self.budget = budget
        self.limiter = limiter
        self.read_only = read_only
        self.timeout = timeout
        self.created: dict[str, CreatedTicket] = {}
        self.requests_sent = 0
        self._session = requests.Session()
        self._lock = threading.Lock()

    def count_request(self) -> None:
        """Count a request sent (by this client or by Schemathesis, for the report)."""
        with self._lock:
            self.requests_sent += 1

    def has_token(self, role: str) -> bool:
        return role in self.tokens

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | None = None,
        multipart: list[Part] | None = None,
        token: str | None = "a",
        authorization: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """Send one request. `token` names a role ("a", "b") or None for no token; `authorization`
        gives a forged header value and how reports should show it."""
        if self.read_only and method != "GET":
            raise SkipRule("read-only mode sends GET requests only")
        sent_headers = dict(headers or {})
        label = None
        if authorization is not None:
            sent_headers["Authorization"], label = authorization
        elif token is not None:
            if token not in self.tokens:
                raise SkipRule(f"needs the second tenant's token (--token-b or ${TOKEN_ENV[token]})")
            sent_headers["Authorization"] = f"Bearer {self.tokens[token]}"
            label = f"${TOKEN_ENV[token]}"
        exchange = Exchange(
            method, self.base_url + path, {k: v for k, v in sent_headers.items()}, json_body, raw_body, multipart, label
        )
        kwargs: dict[str, Any] = {"headers": sent_headers, "timeout": self.timeout, "allow_redirects": False}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body).encode()
            sent_headers.setdefault("Content-Type", "application/json")
            exchange.headers.setdefault("Content-Type", "application/json")
        elif raw_body is not None:
            kwargs["data"] = raw_body
        elif multipart is not None:
            kwargs["files"] = [(name, (filename, content, mime)) for name, filename, mime, content in multipart]
        self.limiter.wait()
        self.count_request()
        try:
            response = self._session.request(method, exchange.url, **kwargs)
        except requests.RequestException as error:
            exchange.error = f"{type(error).__name__}: {error}"
            return exchange
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers)
        exchange.response_text = response.text
        return exchange

    # -- the operations ------------------------------------------------------------------------

    def create(
        self,
        path: str,
        body: Any,
        *,
        encoding: str = "json",
        data_part: str = "data",
        files: list[FilePart] = (),
        token: str = "a",
    ) -> Exchange:
        """POST a new ticket (counted against the budget; remembered for the clean-up when created)."""
        if self.read_only:
            raise SkipRule("read-only mode creates no tickets")
        self.budget.take()
        exchange = self._send_body("POST", path, body, encoding, data_part, files, token)
        self.remember_created(exchange, body, token)
        return exchange

    def remember_created(self, exchange: Exchange, body: Any, token: str) -> None:
        """Keep a ticket the endpoint says it created, for the clean-up and the report."""
        answer = exchange.response_json
        if exchange.status == 201 and isinstance(answer, dict):
            self.note_created(answer, body, token)

    def note_created(self, answer: Any, body: Any, token: str) -> None:
        """Keep a ticket from a create's answer and the body that made it."""
        if isinstance(answer, dict) and isinstance(answer.get("ticketId"), str):
            key = body.get("mirrorKey") if isinstance(body, dict) else None
            with self._lock:
                self.created.setdefault(answer["ticketId"], CreatedTicket(answer["ticketId"], str(key), token))

    def update(
        self,
        path: str,
        body: Any,
        *,
        encoding: str = "json",
        data_part: str = "data",
        files: list[FilePart] = (),
        token: str = "a",
    ) -> Exchange:
        return self._send_body("PATCH", path, body, encoding, data_part, files, token)

    def _send_body(
        self,
        method: str,
        path: str,
        body: Any,
        encoding: str,
        data_part: str,
        files: list[FilePart],
        token: str,
    ) -> Exchange:
        if encoding == "json":
            return self.send(method, path, json_body=body, token=token)
        parts = [(data_part, None, "application/json", json.dumps(body).encode())]
        parts += [(name, filename, mime, content) for name, filename, mime, content in files]
        return self.send(method, path, multipart=parts, token=token)

    def get(self, path: str, *, token: str = "a") -> Exchange:
        return self.send("GET", path, token=token)
