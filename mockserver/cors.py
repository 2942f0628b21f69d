"""Opt-in CORS (`--cors ORIGIN`), so that a browser client can call the API of a local mock.

Only the provider's API answers other origins; the control API under /_mock does not (a page of
another origin must not be able to reset or seed the mock).
"""

from __future__ import annotations

from flask import Flask, Response, request

from mockserver.journal import EXPECT_REFUSAL_HEADER
from mockserver.responses import WARNING_HEADER

ALLOWED_HEADERS = ("Authorization", "Content-Type", EXPECT_REFUSAL_HEADER)
EXPOSED_HEADERS = (WARNING_HEADER, "Retry-After", "WWW-Authenticate", "Allow")
PREFLIGHT_MAX_AGE = 600


def install_cors(app: Flask, origins: tuple[str, ...], methods: list[str], *, skip: tuple[str, ...]) -> None:
    """Answer browsers from `origins` ('*': any) on every path but those starting with `skip`."""
    allowed_methods = ", ".join(sorted({*methods, "OPTIONS"}))

    @app.after_request
    def allow_origin(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin or request.path.startswith(skip):
            return response
        if "*" in origins:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")
        else:
            return response
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response.headers["Access-Control-Allow-Methods"] = allowed_methods
            response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response
