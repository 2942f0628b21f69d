"""JSON answers, in one place."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

WARNING_HEADER = "X-Mock-Warning"


def json_response(
    payload: Any, status: int = 200, *, headers: dict[str, str] | None = None, warnings: list[str] | None = None
) -> Response:
    """A JSON response; `warnings` (things the mock ignored) travel in X-Mock-Warning headers."""
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    response.payload = payload  # type: ignore[attr-defined]  # read by the journal
    for name, value in (headers or {}).items():
        response.headers[name] = value
    for warning in warnings or ():
        response.headers.add(WARNING_HEADER, _header_safe(warning))
    return response


def _header_safe(text: str, limit: int = 300) -> str:
    """Printable ASCII only: a client's field names must not be able to break a header."""
    safe = "".join(char if " " <= char <= "~" else "?" for char in text)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."
