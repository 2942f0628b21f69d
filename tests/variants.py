"""Correct providers that choose differently where the page is silent: the suite must pass each.

Test code only, like `tests/faults.py`: each variant is the mock with one choice changed, a choice
the provider's page and CONTRACT.md leave open (each says why). A suite that fails any of them
would teach a provider's team to ignore red.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import Headers

from mockserver import MockConfig, create_app
from mockserver.store import DuplicateMirrorKey, Ticket, TicketStore
from spec.contract import Contract
from tests.support import SECRET

CONFIG = MockConfig(jwt_secret=SECRET)
CONTRACT = Contract.load()
NAMES = CONTRACT.names


@dataclass(frozen=True)
class Variant:
    name: str
    choice: str  # what this provider does differently from the mock
    why: str  # why the page and CONTRACT.md allow it
    build: Callable[[], Any]  # a WSGI app


def _json(response: Response) -> Any:
    return json.loads(response.get_data()) if response.mimetype == "application/json" else None


def answers_rewritten(rewrite: Callable[[Response], None]) -> Callable[[], Flask]:
    def build() -> Flask:
        app = create_app(CONFIG)
        app.after_request(lambda response: rewrite(response) or response)
        return app

    return build


def requests_refused(refuse: Callable[[], Response | None]) -> Callable[[], Flask]:
    def build() -> Flask:
        app = create_app(CONFIG)
        app.before_request(refuse)
        return app

    return build


def _refusal(message: str) -> Response:
    return Response(json.dumps({CONTRACT.errors.illegal_argument: message}), 400, mimetype="application/json")


def _sent_body() -> tuple[Any, Any]:
    """The JSON a create or update sent (a multipart request's data part), and which body it is."""
    body = CONTRACT.create if request.method == "POST" else CONTRACT.update
    if request.mimetype == "multipart/form-data":
        raw = request.form.get(body.data_part)
    else:
        raw = request.get_data(cache=True)
    try:
        return (json.loads(raw) if raw else None), body
    except (ValueError, RecursionError):  # not JSON: the mock behind refuses it
        return None, body


def _fields_sent(keep: Callable[[dict[str, Any]], bool]) -> Iterable[tuple[str, Any]]:
    if request.method not in ("POST", "PATCH"):
        return []
    sent, body = _sent_body()
    if not isinstance(sent, dict):
        return []
    return [(name, sent[name]) for name, schema in body.properties.items() if name in sent and keep(schema)]


# -- the choices -------------------------------------------------------------------------------


def _refuse_integral_floats() -> Response | None:
    for name, value in _fields_sent(lambda schema: schema.get("type") == "integer"):
        if isinstance(value, float):
            return _refusal(f"{name}: {value!r} is not an integer")
    return None


class GatewayPages:
    """A gateway in front: its own HTML pages for unknown paths, methods, large and foreign bodies."""

    PAGES = {
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Request Entity Too Large",
        415: "Unsupported Media Type",
    }
    LIMIT = 1024 * 1024
    ITEM = re.compile("^" + re.escape(CONTRACT.collection_path) + "/[^/]+$")

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if int(environ.get("CONTENT_LENGTH") or 0) > self.LIMIT:
            return self._page(413, [], start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured.update(status=int(status.split()[0]), headers=headers)
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        path = environ.get("PATH_INFO", "")
        api_path = path == CONTRACT.collection_path or bool(self.ITEM.match(path))
        status = captured["status"]
        if status in (405, 413, 415) or (status == 404 and not api_path):
            allow = [(k, v) for k, v in captured["headers"] if k.lower() == "allow"]
            return self._page(status, allow, start_response)
        start_response(f"{status} {HTTPStatus(status).phrase}", captured["headers"])
        return [body]

    def _page(self, status: int, headers: list[tuple[str, str]], start_response: Callable[..., Any]) -> list[bytes]:
        page = f"<html><head><title>{status}</title></head><body><h1>{self.PAGES[status]}</h1><hr>gateway</body></html>"
        start_response(f"{status} {self.PAGES[status]}", [("Content-Type", "text/html"), *headers])
        return [page.encode()]


class RateLimited:
    """A gateway that answers 429 with Retry-After: 1 above 150 requests a second."""

    def __init__(self, app: Flask, per_second: int = 150) -> None:
        self.app, self.per_second = app, per_second
        self.recent: deque[float] = deque()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        now = time.monotonic()
        with self.lock:
            while self.recent and now - self.recent[0] > 1.0:
                self.recent.popleft()
            limited = len(self.recent) >= self.per_second
            if not limited:
                self.recent.append(now)
        if limited:
            start_response("429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", "1")])
            return [b'{"message": "rate limit exceeded"}']
        return self.app(environ, start_response)


class IdempotentCreates(TicketStore):
    def create(self, *, tenant: str, mirror_key: str, **fields: Any) -> Ticket:
        try:
            return super().create(tenant=tenant, mirror_key=mirror_key, **fields)
        except DuplicateMirrorKey as duplicate:
            existing = self.get(tenant, duplicate.seq)
            assert existing is not None
            return existing


def _extra_fields(response: Response) -> None:
    answer = _json(response)
    if response.status_code in (200, 201) and isinstance(answer, dict):
        answer.update(createdAt="2025-01-15T10:30:00Z", links={"self": request.path}, source="TO")
        response.set_data(json.dumps(answer))
        response.headers["Content-Type"] = "application/json; charset=utf-8"


def _lower_case_header_names(response: Response) -> None:
    response.headers = Headers([(name.lower(), value) for name, value in response.headers.items()])


def _customer_as_text(response: Response) -> None:
    answer = _json(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        # The fields the page types two ways (string and integer) are shown as text.
        for field in CONTRACT.ticket_view:
            if isinstance(field.type, list) and field.name in answer:
                answer[field.name] = str(answer[field.name])
        response.set_data(json.dumps(answer))


_REQUEST_DATE_TIMES = {
    name
    for body in (CONTRACT.create, CONTRACT.update)
    for name, s in body.properties.items()
    if s.get("format") == "date-time"
}
DATE_TIME_FIELDS = [f.name for f in CONTRACT.ticket_view if f.source in _REQUEST_DATE_TIMES]


def _date_times_in_utc(response: Response) -> None:
    answer = _json(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        for name in DATE_TIME_FIELDS:
            if isinstance(answer.get(name), str):
                instant = datetime.datetime.fromisoformat(answer[name].upper().replace("Z", "+00:00"))
                answer[name] = instant.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        response.set_data(json.dumps(answer))


_STATES = sorted(CONTRACT.lifecycle.states, key=len, reverse=True)
_FIELD_NAMES = set(re.findall(r"\"([A-Za-z0-9]+)\":", json.dumps([CONTRACT.create.schema, CONTRACT.update.schema])))


def _messages_in_spanish(response: Response) -> None:
    """Every message reworded, naming only what the contract asks a message to name."""
    answer = _json(response)
    message = CONTRACT.errors.message(answer)
    if message is None or CONTRACT.required_message.parse(message) is not None:
        return
    states = [s for s in _STATES if s in message]
    for state in states:
        message = message.replace(state, " ")
    named = [word for word in re.findall(r"[A-Za-z0-9]+", message) if word in _FIELD_NAMES]
    ids = re.findall(re.escape(CONTRACT.ticket_ids.prefix) + r"\d+", message)
    parts = [f"campos: {', '.join(dict.fromkeys(named))}"] if named else []
    parts += [f"estados: {' -> '.join(states)}"] if states else []
    parts += [f"incidencia: {', '.join(ids)}"] if ids else []
    ((key, _),) = answer.items()
    response.set_data(json.dumps({key: "Solicitud rechazada (" + "; ".join(parts or ["sin detalle"]) + ")"}))


_JAVA_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](0\d|1[0-8]):\d\d)", re.ASCII)


def _java_date_times() -> Response | None:
    for name, value in _fields_sent(lambda schema: schema.get("format") == "date-time"):
        if isinstance(value, str) and not _JAVA_DATE_TIME.fullmatch(value):
            return _refusal(f"{name}: {value!r} cannot be parsed as an OffsetDateTime")
    return None


def _oauth_401(response: Response) -> None:
    if response.status_code == 401:
        response.set_data(json.dumps({"error": "invalid_token", "error_description": "the access token is not valid"}))


_WELL_FORMED = re.compile(re.escape(CONTRACT.ticket_ids.prefix) + r"[0-9]+", re.ASCII)


def _malformed_ids_are_bad_requests() -> Response | None:
    prefix = CONTRACT.collection_path + "/"
    if request.method == "GET" and request.path.startswith(prefix):
        ticket_id = request.path[len(prefix) :]
        if "/" not in ticket_id and not _WELL_FORMED.fullmatch(ticket_id):
            return _refusal(f"{NAMES.ticket_id}: {ticket_id[:30]!r} is not a ticket id")
    return None


def _blank_strings_refused() -> Response | None:
    for name, value in _fields_sent(lambda schema: schema.get("type") == "string"):
        if isinstance(value, str) and not value.strip():
            return _refusal(f"{name}: must not be blank")
    return None


def _multipart_parts_in_base64() -> Response | None:
    if request.mimetype != "multipart/form-data" or request.method not in ("POST", "PATCH"):
        return None
    body = CONTRACT.create if request.method == "POST" else CONTRACT.update
    for part in request.files.getlist(body.file_part):
        content = part.stream.read()
        part.stream.seek(0)
        try:
            base64.b64decode(content, validate=True)
        except ValueError:
            return _refusal(f"{body.file_part}: the part {part.filename!r} is not base64")
    return None


VARIANTS = [
    Variant(
        "integers-strictly-integral",
        "refuses 2.0 where an integer is asked",
        "the page types preferredPriority as an integer, no more; that JSON Schema counts 2.0 as one is a reading",
        requests_refused(_refuse_integral_floats),
    ),
    Variant(
        "gateway-error-pages",
        "a gateway answers unknown paths, other methods, bodies over 1 MiB and other media types with HTML pages",
        "the statuses (and Allow) are the contract's; the page documents no body for them",
        lambda: GatewayPages(create_app(CONFIG)),
    ),
    Variant(
        "rate-limited",
        "answers 429 with Retry-After: 1 above 150 requests a second",
        "rate limits are a provider's to set; Retry-After tells a client when to come back (RFC 6585, RFC 9110)",
        lambda: RateLimited(create_app(CONFIG)),
    ),
    Variant(
        "idempotent-create",
        "a repeated mirrorKey answers 201 with the ticket it already opened",
        "CONTRACT.md allows it beside the 400 naming the ticket",
        lambda: create_app(CONFIG, store=IdempotentCreates(":memory:")),
    ),
    Variant(
        "extra-response-fields",
        "answers carry fields of their own (createdAt, links) and a charset in the Content-Type",
        "CONTRACT.md allows extra fields; application/json with charset=utf-8 is JSON",
        answers_rewritten(_extra_fields),
    ),
    Variant(
        "lower-case-header-names",
        "writes header names in lower case (www-authenticate, allow, content-type)",
        "HTTP field names are case-insensitive (RFC 9110 §5.1); HTTP/2 sends them in lower case",
        answers_rewritten(_lower_case_header_names),
    ),
    Variant(
        "customer-as-text",
        "GET shows customer as text, even after an update sent it as an integer",
        "the page declares customer a string in the answer and shows the integer 100: both types are its own",
        answers_rewritten(_customer_as_text),
    ),
    Variant(
        "date-times-in-utc",
        "GET shows date-times converted to UTC with milliseconds",
        "a date-time is an instant; the page does not say its text is kept",
        answers_rewritten(_date_times_in_utc),
    ),
    Variant(
        "messages-in-spanish",
        "every message but 'required fields:' is its own wording, naming the fields, states and ids it is about",
        "the page fixes the required-fields message only; CONTRACT.md asks messages to name what they are about",
        answers_rewritten(_messages_in_spanish),
    ),
    Variant(
        "java-date-times",
        "parses date-times as Java's OffsetDateTime: upper-case T and Z, offsets up to 18 h, no leap seconds",
        "RFC 3339 lets a specification require upper case; offsets past 18 h and leap seconds are rarely kept",
        requests_refused(_java_date_times),
    ),
    Variant(
        "oauth-style-401",
        "a 401's body is the RFC 6750 error object, not one of the exception keys",
        "CONTRACT.md asks for a JSON message body on 401; the key is the mock's choice",
        answers_rewritten(_oauth_401),
    ),
    Variant(
        "malformed-ids-are-bad-requests",
        "GET of something that cannot be a ticket id answers 400, a well-formed unknown id 404",
        "the page documents no GET errors; a malformed id is a bad request as much as an unknown ticket",
        requests_refused(_malformed_ids_are_bad_requests),
    ),
    Variant(
        "blank-strings-refused",
        "refuses fields that are empty or blank, naming them (never as missing)",
        "CONTRACT.md says an empty string is a value, not that every value is taken",
        requests_refused(_blank_strings_refused),
    ),
    Variant(
        "multipart-parts-in-base64",
        "reads multipart attachment parts as base64 text, as the page words it",
        "the page says 'array of attachments in base64 (multipart/form-data)'",
        requests_refused(_multipart_parts_in_base64),
    ),
]
