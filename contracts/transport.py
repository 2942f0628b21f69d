"""How every request of a run reaches the provider: one guarded HTTP adapter for every layer.

The suite's own client and Schemathesis both send through `GuardedAdapter`, so that the same
rules hold for every request of a run:

- the rate limit (`--rate-limit`), slowed further when the provider answers 429;
- 429 and 503 answers are waited out (their `Retry-After`, within bounds) and sent again,
  counted, never reported as violations; a dropped connection is sent again once;
- each request has a total deadline (`--timeout`: connect, headers and body together) and each
  answer a size cap (`--max-response-bytes`); the run has a deadline (`--max-time`); breaking
  any of them halts the run (exit 2) with a message naming the cause;
- a `Monitor` tells a provider that died or broke from one failed request: when the endpoint
  stops answering, or answers 5xx even to a request that worked before, the run halts with a
  finding that names the request(s) after which it happened.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import shlex
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

# A multipart part: (part name, filename or None for a form field, media type, content).
Part = tuple[str, str | None, str | None, bytes]

RETRY_STATUSES = (429, 503)
MAX_RETRIES_PER_REQUEST = 5
MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is waited out in several steps
DEFAULT_RETRY_WAIT_BUDGET = 300.0  # seconds of waiting for 429/503 in a whole run


class RunHalted(Exception):
    """The run cannot go on. `exit_code` 1: the provider died or broke (a finding); 2: a deadline
    or a cap was hit, or the endpoint never answered."""

    def __init__(self, reason: str, *, exit_code: int, finding: Finding | None = None) -> None:
        super().__init__(reason)
        self.reason, self.exit_code, self.finding = reason, exit_code, finding


class HaltedRequest(requests.exceptions.ConnectionError):
    """Raised for every request sent after the run halted, so that engines unwind quickly."""


@dataclass
class Exchange:
    """One request and what came back."""

    method: str
    url: str
    headers: dict[str, str]
    json_body: Any = None
    raw_body: bytes | None = None
    multipart: list[Part] | None = None
    authorization: str | None = None  # the Authorization header as reports show it: "Bearer $TT_TOKEN"
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when filled
    response_text: str = ""
    error: str | None = None
    at: str = ""  # when it was sent, UTC
    retries: int = 0  # 429/503 answers and dropped connections sent again

    @property
    def response_json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None

    def summary(self) -> str:
        answer = self.error or f"{self.status} {self.response_text[:300]}"
        return f"{self.method} {self.url} -> {answer}"

    def answer(self, limit: int = 300) -> str:
        return self.error or f"{self.status} {self.response_text[:limit]}"

    def curl(self) -> str:
        """A curl command that sends the same request, with the token read from the environment."""
        parts = ["curl", "-i", "-X", self.method]
        for name, value in self.headers.items():
            if name.lower() in ("authorization", "content-length", "user-agent", "accept-encoding", "connection"):
                continue
            if name.lower() == "content-type" and self.multipart:
                continue  # curl -F writes its own, with the boundary
            parts += ["-H", f"{name}: {value}"]
        command = " ".join(shlex.quote(part) for part in parts)
        if self.authorization:
            # Kept outside single quotes so that the shell expands $TT_TOKEN.
            command += f' -H "Authorization: {self.authorization}"'
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


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Finding:
    """The provider died or broke during the run: when, and after which request(s)."""

    message: str
    at: str
    exchanges: list[Exchange]


@dataclass
class Traffic:
    """What a run sent, for the report."""

    requests: int = 0
    retried: dict[int | str, int] = field(default_factory=dict)  # status (or "dropped") -> count
    waited: float = 0.0


class Credentials(Protocol):
    """The run's tokens, as the transport needs them (`contracts.tokens.Tokens`)."""

    def of(self, authorization: str | None) -> str | None:
        """How reports show an Authorization header."""

    def current_header(self, authorization: str | None) -> str | None:
        """The header with an expired, replaced token swapped for the current one."""

    def refresh(self) -> None:
        """Obtain again the tokens about to expire."""


def exchange_of(request: requests.PreparedRequest, labels: Credentials) -> Exchange:
    """An Exchange for a request prepared elsewhere (by Schemathesis), with its token labelled."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode() or None
    exchange = Exchange(str(request.method), str(request.url), headers, raw_body=body)
    exchange.authorization = labels.of(request.headers.get("Authorization"))
    if body is not None and len(body) < 64 * 1024 and "json" in headers.get("Content-Type", ""):
        try:  # shown as JSON in a curl when it is JSON
            exchange.json_body, exchange.raw_body = json.loads(body), None
        except (ValueError, RecursionError):
            pass
    return exchange


class RateLimiter:
    """At most N requests per second, minute or hour (`10/s`, `600/m`), shared by every layer;
    slowed down when the provider answers 429."""

    def __init__(self, spec: str | None) -> None:
        self.interval = parse_rate(spec) if spec else 0.0
        self._next = 0.0
        self._recent: deque[float] = deque(maxlen=1000)  # when the last requests went out
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now if self.interval else 0.0
            self._next = max(now, self._next) + self.interval
            self._recent.append(now + max(delay, 0.0))
        if delay > 0:
            time.sleep(delay)

    def slow_down(self) -> None:
        """The provider said 429: from now on, send at 90% of the rate it was getting, and slower
        each time it says so again (a request a second at the slowest)."""
        with self._lock:
            now = time.monotonic()
            last_second = sum(1 for sent in self._recent if now - sent <= 1.0)
            slower = max(self.interval * 1.25, 1 / (0.9 * last_second) if last_second else 0.02)
            self.interval = min(slower, 1.0)


def parse_rate(text: str) -> float:
    """Seconds between requests for a rate such as `10/s`; ValueError when it is not one."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|h)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"rate limit must look like 10/s, 100/m or 1000/h, not {text!r}")
    return {"s": 1, "m": 60, "h": 3600}[match.group(2)] / float(match.group(1))


def retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP-date), within bounds."""
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (ValueError, TypeError):
            return default
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.UTC)
        seconds = (parsed - datetime.datetime.now(datetime.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass
class Limits:
    """The bounds of one run."""

    request_timeout: float = 15.0  # seconds for one request, all of it
    max_response_bytes: int = 16 * 1024 * 1024
    run_deadline: float | None = None  # time.monotonic() at which the run must end
    retry_wait_budget: float = DEFAULT_RETRY_WAIT_BUDGET


class Monitor:
    """Remembers what was sent, and tells a dead or broken provider from one failed request."""

    def __init__(self, labels: Credentials, probe: Callable[[], int | None]) -> None:
        self.labels = labels
        # The canary: a request that worked before; its status now, or None for no answer at all.
        self._probe = probe
        self.canary_ready = False  # True once the canary is a real request (after the pre-flight)
        self.recent: deque[Exchange] = deque(maxlen=20)
        self.answered_any = False
        self._lock = threading.Lock()

    def set_probe(self, probe: Callable[[], int | None]) -> None:
        self._probe, self.canary_ready = probe, True

    def sent(self, request: requests.PreparedRequest) -> Exchange:
        exchange = exchange_of(request, self.labels)
        exchange.at = now_utc()
        with self._lock:
            self.recent.append(exchange)
        return exchange

    def answered(self, exchange: Exchange, status: int) -> None:
        exchange.status = status
        self.answered_any = True

    def last_normal(self, before: Exchange) -> Exchange | None:
        """The newest request before `before` that got an answer other than 5xx."""
        with self._lock:
            entries = list(self.recent)
        earlier = [e for e in entries if e is not before and e.status is not None and e.status < 500]
        return earlier[-1] if earlier else None

    def probe(self) -> int | None:
        """The canary's status now (None: no answer), asked three times over about a second."""
        status = None
        for attempt in range(3):
            if attempt:
                time.sleep(0.4)
            status = self._probe()
            if status is not None:
                return status
        return status

    def died(self, failed: Exchange, error: BaseException) -> Finding | None:
        """A finding when the endpoint, which answered before, answers nothing now."""
        if not self.answered_any or self.probe() is not None:
            return None
        refused = _is_refused(error)
        if refused:
            # It was gone before this request: the one before is the likeliest cause.
            killer = self.last_normal(failed) or failed
            message = (
                f"the provider stopped answering: {failed.method} {failed.url} found the connection refused, and so "
                f"does every request since. The last request it answered is the likeliest cause."
            )
            exchanges = [killer, failed] if killer is not failed else [failed]
        else:
            message = (
                f"the provider stopped answering while it served {failed.method} {failed.url} "
                f"({type(error).__name__}), and answers nothing since: this request took it down."
            )
            exchanges = [failed]
        return Finding(message, failed.at, exchanges)

    def broke(self, failed: Exchange) -> Finding | None:
        """A finding when a 5xx is not one request's: a request that worked before gets 5xx now too."""
        if not self.canary_ready:
            return None
        status = self._probe()
        if status is None or status < 500:
            return None
        before = self.last_normal(failed)
        message = (
            f"the provider broke: {failed.method} {failed.url} got {failed.status}, and so does a GET that "
            f"answered 200 earlier in the run. " + ("The request before the change is listed first." if before else "")
        )
        return Finding(message, failed.at, [e for e in (before, failed) if e is not None])


def _is_refused(error: BaseException, depth: int = 0) -> bool:
    """Whether a (wrapped) connection error is a refusal: nothing listens any more."""
    if isinstance(error, ConnectionRefusedError):
        return True
    if depth > 6:
        return False
    inner = [arg for arg in error.args if isinstance(arg, BaseException)]
    inner += [e for e in (error.__cause__, error.__context__, getattr(error, "reason", None)) if e is not None]
    return any(_is_refused(e, depth + 1) for e in inner if isinstance(e, BaseException))


def bytes_after_head(url: str, method: str, headers: Mapping[str, str], timeout: float, quiet: float = 0.5) -> bytes:
    """Send a bodiless request on a connection of its own and return the bytes that follow the
    answer's header block, until the provider closes or stays quiet for `quiet` seconds.

    For what requests cannot show: it reads no body after HEAD, whatever the provider sends (RFC
    9110 9.3.2: a HEAD answer has none; bytes sent anyway corrupt the next answer on the connection).
    Raise OSError when no answer's head comes within `timeout`.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in ("host", "connection")]
    deadline = time.monotonic() + timeout
    with socket.create_connection((parts.hostname or "", port), timeout=timeout) as plain:
        sock = (
            ssl.create_default_context().wrap_socket(plain, server_hostname=parts.hostname)
            if parts.scheme == "https"
            else plain
        )
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = b""
        while b"\r\n\r\n" not in received:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError(f"the connection closed before the head of the answer to {method} {target}")
            received += chunk
        after = received.split(b"\r\n\r\n", 1)[1]
        sock.settimeout(quiet)
        try:
            while len(after) < 65536 and (chunk := sock.recv(65536)):
                after += chunk
        except TimeoutError:
            pass  # quiet: nothing more is coming
    return after


def accepts_connections(url: str) -> bool:
    """Whether anything accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=1.0).close()
    except OSError:
        return False
    return True


class GuardedAdapter(HTTPAdapter):
    """A requests adapter that keeps every bound of the run (see the module's docstring)."""

    def __init__(self, *, limiter: RateLimiter, limits: Limits, monitor: Monitor, traffic: Traffic) -> None:
        super().__init__(pool_connections=4, pool_maxsize=4)
        self.limiter, self.limits, self.monitor, self.traffic = limiter, limits, monitor, traffic
        self.halted: RunHalted | None = None
        self.last_exchange: Exchange | None = None  # what the latest send saw, for the client
        self._lock = threading.Lock()

    def halt(self, reason: RunHalted) -> RunHalted:
        with self._lock:
            if self.halted is None:
                self.halted = reason
            return self.halted

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if self.halted is not None:
            raise HaltedRequest(f"the run has halted: {self.halted.reason}", request=request)
        retries = 0
        first_failure: tuple[Exchange, BaseException] | None = None  # the attempt that first got no answer
        credentials = self.monitor.labels
        credentials.refresh()
        current = credentials.current_header(request.headers.get("Authorization"))
        if current is not None:
            request.headers["Authorization"] = current
        while True:
            self._check_run_deadline(request)
            self.limiter.wait()
            exchange = self.monitor.sent(request)
            exchange.retries = retries
            self.last_exchange = exchange
            with self._lock:
                self.traffic.requests += 1
            started = time.monotonic()
            try:
                response = self._send_once(request, verify, cert, proxies, started)
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                if isinstance(error, HaltedRequest):
                    raise
                exchange.error = f"{type(error).__name__}: {error}"
                if first_failure is None:  # sent again once: a keep-alive race or a hiccup is not a verdict
                    first_failure = (exchange, error)
                    retries += 1
                    self._count_retry("dropped")
                    time.sleep(0.05)
                    continue
                finding = self.monitor.died(*first_failure)
                if finding is not None:
                    raise self._halted(RunHalted(finding.message, exit_code=1, finding=finding), request) from error
                raise
            except requests.exceptions.Timeout as error:
                exchange.error = f"no answer within {self.limits.request_timeout:g} s"
                raise self._halted(
                    RunHalted(
                        f"{request.method} {request.url} got no answer within {self.limits.request_timeout:g} s "
                        "(--timeout bounds each request, all of it)",
                        exit_code=2,
                    ),
                    request,
                ) from error
            self.monitor.answered(exchange, response.status_code)
            if response.status_code in RETRY_STATUSES and retries < MAX_RETRIES_PER_REQUEST:
                wait = retry_after(response.headers.get("Retry-After"))
                if self.traffic.waited + wait <= self.limits.retry_wait_budget:
                    self._count_retry(response.status_code, wait)
                    if response.status_code == 429:
                        self.limiter.slow_down()
                    retries += 1
                    time.sleep(wait)
                    continue
            if response.status_code >= 500 and response.status_code not in RETRY_STATUSES:
                finding = self.monitor.broke(exchange)
                if finding is not None:
                    raise self._halted(RunHalted(finding.message, exit_code=1, finding=finding), request)
            return response

    def _send_once(
        self, request: requests.PreparedRequest, verify: Any, cert: Any, proxies: Any, started: float
    ) -> requests.Response:
        limit = self.limits.request_timeout
        response = super().send(
            request, stream=True, timeout=(min(limit, 10.0), limit), verify=verify, cert=cert, proxies=proxies
        )
        chunks, size = [], 0
        try:
            # read1 hands over what has arrived: a provider dripping a byte a second meets the
            # deadline instead of filling a 64 KiB read for ever.
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > self.limits.max_response_bytes:
                    raise self._halted(
                        RunHalted(
                            f"{request.method} {request.url} answered more than {self.limits.max_response_bytes} "
                            "bytes (--max-response-bytes)",
                            exit_code=2,
                        ),
                        request,
                    )
                if time.monotonic() - started > limit:
                    raise requests.exceptions.ReadTimeout(f"the answer took more than {limit:g} s", request=request)
                chunks.append(chunk)
        except HaltedRequest:
            response.close()
            raise
        except Exception as error:  # urllib3's errors, as requests would raise them
            response.close()
            if isinstance(error, requests.exceptions.RequestException):
                raise
            if "timed out" in str(error).lower():
                raise requests.exceptions.ReadTimeout(str(error), request=request) from error
            raise requests.exceptions.ChunkedEncodingError(str(error), request=request) from error
        response._content = b"".join(chunks)  # type: ignore[attr-defined]
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    def _halted(self, reason: RunHalted, request: requests.PreparedRequest) -> HaltedRequest:
        halted = self.halt(reason)
        return HaltedRequest(f"the run has halted: {halted.reason}", request=request)

    def _check_run_deadline(self, request: requests.PreparedRequest) -> None:
        deadline = self.limits.run_deadline
        if deadline is not None and time.monotonic() > deadline:
            raise self._halted(
                RunHalted("the run reached its deadline (--max-time) before it could finish", exit_code=2), request
            )

    def _count_retry(self, key: int | str, wait: float = 0.0) -> None:
        with self._lock:
            self.traffic.retried[key] = self.traffic.retried.get(key, 0) + 1
            self.traffic.waited += wait
