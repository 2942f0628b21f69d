"""Providers that fail as whole servers, not as rules: one dies on a kind of request, one breaks.

`python -m tests.providers --port P --dies-on multipart-update` serves the mock until a multipart
PATCH arrives, then exits mid-request (as Prism's multipart parser once did). `breaking_mock()`
is the mock until a multipart create; from then on it answers 500 to everything.
"""

from __future__ import annotations

import argparse
import json
import os
import threading

from flask import Flask, Response, request
from werkzeug.serving import make_server

from mockserver import MockConfig, create_app
from spec.contract import Contract
from tests.serving import QuietHandler
from tests.support import SECRET

CONTRACT = Contract.load()


def is_multipart_update() -> bool:
    return request.method == "PATCH" and request.mimetype == "multipart/form-data"


def is_multipart_create() -> bool:
    return request.method == "POST" and request.mimetype == "multipart/form-data"


def dying_mock() -> Flask:
    """Exits the whole process on the first multipart update, before it answers."""
    app = create_app(MockConfig(jwt_secret=SECRET))

    @app.before_request
    def die() -> None:
        if is_multipart_update():
            os._exit(3)

    return app


def breaking_mock() -> Flask:
    """Answers the first multipart create as usual, and 500 to every request after it."""
    app = create_app(MockConfig(jwt_secret=SECRET))
    broken = threading.Event()

    @app.before_request
    def refuse() -> Response | None:
        if broken.is_set():
            body = {CONTRACT.errors.remote: "internal error: connection pool exhausted"}
            return Response(json.dumps(body), 500, mimetype="application/json")
        return None

    @app.after_request
    def break_after(response: Response) -> Response:
        if is_multipart_create() and response.status_code == 201:
            broken.set()
        return response

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="serve a mock that dies on its first multipart update")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = make_server("127.0.0.1", args.port, dying_mock(), threaded=True, request_handler=QuietHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
