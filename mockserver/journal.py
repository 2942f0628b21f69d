"""The request journal: what each client really sent, and what the mock answered."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Request, Response, g

from mockserver.store import now_iso

BODY_LIMIT = 4096
_RECORDED_HEADERS = ("Content-Type", "Content-Length", "Accept", "User-Agent")


def _clip(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} characters in all)"


def _redacted(authorization: str | None) -> str | None:
    """Enough of the Authorization header to tell tokens apart, never the whole token."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    tenant = g.get("tenant")
    shown = f"{scheme} {token[:10]}...{token[-6:]}" if len(token) > 24 else f"{scheme} <{len(token)} characters>"
    return f"{shown} (sub={tenant})" if tenant else shown


def entry_for(request: Request, response: Response) -> dict[str, Any]:
    """A journal entry for one request and its answer."""
    headers = {name: request.headers[name] for name in _RECORDED_HEADERS if name in request.headers}
    authorization = _redacted(request.headers.get("Authorization"))
    if authorization:
        headers["Authorization"] = authorization
    body = g.get("request_body")
    if isinstance(body, bytes):
        body = _clip(body.decode("utf-8", "replace"))
    elif isinstance(body, dict):
        body = {key: _clip(value) if isinstance(value, str) else value for key, value in body.items()}
    answer: Any = None
    if response.mimetype == "application/json" and not response.direct_passthrough:
        text = response.get_data(as_text=True)
        try:
            answer = json.loads(text) if len(text) <= BODY_LIMIT else _clip(text)
        except ValueError:
            answer = _clip(text)
    started = g.get("started")
    return {
        "at": now_iso(),
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "tenant": g.get("tenant"),
        "headers": headers,
        "body": body,
        "status": response.status_code,
        "response": answer,
        "durationMs": round((time.perf_counter() - started) * 1000, 3) if started else None,
        "warnings": g.get("warnings", []),
    }
