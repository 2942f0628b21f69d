"""Opt-in CORS (`--cors ORIGIN`), so that a browser client can call the API of a local mock.

Only the provider's API answers other origins; the control API under /_mock does not (a page of
another origin must not be able to reset or seed the mock).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from mockserver.journal import EXPECT_REFUSAL_HEADER
from mockserver.responses import WARNING_HEADER

ALLOWED_HEADERS = ("Authorization", "Content-Type", EXPECT_REFUSAL_HEADER)
EXPOSED_HEADERS = (WARNING_HEADER, "Retry-After", "WWW-Authenticate", "Allow")
PREFLIGHT_MAX_AGE = 600


class Cors:
    """Which origins the API answers ('*': any), on every path but those starting with `skip`."""

    def __init__(self, origins: tuple[str, ...], methods: list[str], *, skip: tuple[str, ...]) -> None:
        self.origins, self.skip = origins, skip
        self.allowed_methods = ", ".join(sorted({*methods, "OPTIONS"}))

    def apply(self, headers: Any, origin: str | None, path: str, method: str, preflight: bool) -> None:
        """Add the CORS headers an answer needs to `headers` (Werkzeug's or an AnswerHeaders);
        `preflight`: the request asked Access-Control-Request-Method."""
        if not origin or path.startswith(self.skip):
            return
        if "*" in self.origins:
            headers["Access-Control-Allow-Origin"] = "*"
        elif origin in self.origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers.add("Vary", "Origin")
        else:
            return
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        if method == "OPTIONS" and preflight:
            headers["Access-Control-Allow-Methods"] = self.allowed_methods
            headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
            headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)


def install_cors(app: Flask, origins: tuple[str, ...], methods: list[str], *, skip: tuple[str, ...]) -> Cors:
    """Answer browsers from `origins` ('*': any) on every path but those starting with `skip`."""
    cors = Cors(origins, methods, skip=skip)

    @app.after_request
    def allow_origin(response: Response) -> Response:
        preflight = "Access-Control-Request-Method" in request.headers
        cors.apply(response.headers, request.headers.get("Origin"), request.path, request.method, preflight)
        return response

    return cors
