"""The suite's HTTP client: rate-limited, safe on a real provider, and recording every exchange.

Every ticket it creates carries a mirrorKey with the run's prefix and is remembered for the
clean-up; creations are counted against a budget; in read-only mode it refuses anything but GET.
Each request comes back as an `Exchange`, which a report can replay as a curl command.
"""

from __future__ import annotations

import itertools
import json
import random
import string
import threading
from dataclasses import dataclass
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from contracts.tokens import Tokens
from contracts.transport import RETRY_STATUSES, Exchange, GuardedAdapter, HaltedRequest, Part
from spec.contract import FieldNames

FilePart = tuple[str, str, str, bytes]


class SkipRule(Exception):
    """A rule that cannot run here (read-only mode, creation budget spent, no second token...),
    with how to lift it when there is a way (`remedy`, e.g. "add --to-hook")."""

    def __init__(self, reason: str, remedy: str | None = None) -> None:
        super().__init__(reason)
        self.remedy = remedy


class CreationBudget:
    """How many tickets the suite may still create (`--max-creates`); None: no bound."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise SkipRule(f"the creation budget (--max-creates {self.limit}) is spent", "raise --max-creates")
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
        credentials: Tokens,
        *,
        names: FieldNames,
        keys: MirrorKeys,
        budget: CreationBudget,
        adapter: GuardedAdapter,
        read_only: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.names = names  # the contract's field names: which one holds a new ticket's id
        self.keys = keys
        self.budget = budget
        self.adapter = adapter
        self.read_only = read_only
        self.created: dict[str, CreatedTicket] = {}
        self.session = guarded_session(adapter)
        self._lock = threading.Lock()

    @property
    def tokens(self) -> dict[str, str]:
        """Each role's current token ("a", and "b" when there is a second tenant)."""
        return self.credentials.by_role()

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
        gives a forged header value and how reports should show it. A request the endpoint did
        not answer comes back with `error` set; a run that halted raises RunHalted."""
        if self.read_only and method not in ("GET", "HEAD"):
            raise SkipRule("read-only mode sends GET and HEAD requests only")
        sent_headers = dict(headers or {})
        label = None
        if authorization is not None:
            sent_headers["Authorization"], label = authorization
        elif token is not None:
            if token not in self.tokens:
                raise SkipRule("needs a second tenant's token", "set $TT_TOKEN_B (or give --jwt-secret)")
            sent_headers["Authorization"] = f"Bearer {self.tokens[token]}"
            label = f"Bearer {self.credentials.role_labels()[token]}"
        exchange = Exchange(
            method, self.base_url + path, {k: v for k, v in sent_headers.items()}, json_body, raw_body, multipart, label
        )
        kwargs: dict[str, Any] = {"headers": sent_headers, "allow_redirects": False}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body).encode()
            sent_headers.setdefault("Content-Type", "application/json")
            exchange.headers.setdefault("Content-Type", "application/json")
        elif raw_body is not None:
            kwargs["data"] = raw_body
        elif multipart is not None:
            kwargs["files"] = [(name, (filename, content, mime)) for name, filename, mime, content in multipart]
        try:
            response = self.session.request(method, exchange.url, **kwargs)
        except HaltedRequest:
            assert self.adapter.halted is not None
            raise self.adapter.halted from None
        except requests.RequestException as error:
            exchange.error = f"no answer: {type(error).__name__}: {error}"
            self._copy_attempt(exchange)
            return exchange
        self._copy_attempt(exchange)
        exchange.status = response.status_code
        exchange.response_headers = CaseInsensitiveDict(response.headers)  # header names have no case
        exchange.response_text = response.content.decode(response.encoding or "utf-8", "replace")
        if exchange.status in RETRY_STATUSES:
            # Still rate limited or unavailable after the retries: not an answer a rule can judge.
            raise SkipRule(
                f"the provider kept answering {exchange.status} to {method} {path} "
                f"(sent {exchange.retries + 1} times, waiting as Retry-After asked)"
            )
        return exchange

    def _copy_attempt(self, exchange: Exchange) -> None:
        attempt = self.adapter.last_exchange
        if attempt is not None:
            exchange.at, exchange.retries = attempt.at, attempt.retries

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
        names = self.names
        ticket_id = answer.get(names.ticket_id) if isinstance(answer, dict) else None
        if isinstance(ticket_id, str):
            key = body.get(names.mirror_key) if isinstance(body, dict) else None
            with self._lock:
                self.created.setdefault(ticket_id, CreatedTicket(ticket_id, str(key), token))

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


def guarded_session(adapter: GuardedAdapter) -> requests.Session:
    """A session whose every request goes through the run's adapter."""
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
