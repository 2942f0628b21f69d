"""JSON answers, in one place: made as plain data, which both the Flask app and its fast path send."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES

WARNING_HEADER = "X-Mock-Warning"


class AnswerHeaders:
    """An answer's headers as a list, changed as Werkzeug's `Headers` changes its own (`[name] =`
    replaces the first of that name and drops the rest, `add` appends), so that the same code
    (CORS) can change either."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def __setitem__(self, name: str, value: str) -> None:
        key, items = name.lower(), self.items
        for index, (old, _) in enumerate(items):
            if old.lower() == key:
                items[index] = (name, value)
                items[index + 1 :] = [item for item in items[index + 1 :] if item[0].lower() != key]
                return
        items.append((name, value))

    def add(self, name: str, value: str) -> None:
        self.items.append((name, value))


class Answer:
    """A whole answer: status, headers, body, and the payload it serialized (read by the journal)."""

    __slots__ = ("status", "headers", "body", "payload")

    def __init__(self, status: int, headers: AnswerHeaders, body: bytes, payload: Any) -> None:
        self.status, self.headers, self.body, self.payload = status, headers, body, payload

    @property
    def status_line(self) -> str:
        """The status as WSGI and Werkzeug write it: `201 CREATED`."""
        return f"{self.status} {HTTP_STATUS_CODES.get(self.status, 'unknown').upper()}"


def json_answer(
    payload: Any, status: int = 200, *, headers: dict[str, str] | None = None, warnings: list[str] | None = None
) -> Answer:
    """A JSON answer; `warnings` (things the mock ignored) travel in X-Mock-Warning headers."""
    body = json.dumps(payload).encode()
    answer = Answer(
        status,
        AnswerHeaders([("Content-Type", "application/json"), ("Content-Length", str(len(body)))]),
        body,
        payload,
    )
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    for warning in warnings or ():
        answer.headers.add(WARNING_HEADER, _header_safe(warning))
    return answer


def as_response(answer: Answer) -> Response:
    """An answer as a Flask response (the payload kept for the journal)."""
    response = Response(answer.body, status=answer.status, headers=answer.headers.items)
    response.payload = answer.payload  # type: ignore[attr-defined]  # read by the journal
    return response


def json_response(
    payload: Any, status: int = 200, *, headers: dict[str, str] | None = None, warnings: list[str] | None = None
) -> Response:
    """A JSON response; `warnings` (things the mock ignored) travel in X-Mock-Warning headers."""
    return as_response(json_answer(payload, status, headers=headers, warnings=warnings))


def _header_safe(text: str, limit: int = 300) -> str:
    """Printable ASCII only: a client's field names must not be able to break a header."""
    safe = "".join(char if " " <= char <= "~" else "?" for char in text)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."
