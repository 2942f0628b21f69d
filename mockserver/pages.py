"""The mock's pages: the API reference at /docs and the console at /_mock/ui.

Both are plain files shipped in `mockserver/static/` (no build step); the reference's Swagger UI
comes from the flask-swagger-ui package, so the pages work with no network. They read the
spec (`/openapi.json`) and the control API (`/_mock/...`) only, like any other client.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory
from werkzeug.wrappers import Response as WerkzeugResponse

DOCS = "/docs"
CONSOLE = "/_mock/ui"
STATIC = Path(__file__).resolve().parent / "static"


def swagger_ui_dir() -> Path:
    """Swagger UI's distribution files, as the flask-swagger-ui package ships them."""
    return Path(str(resources.files("flask_swagger_ui") / "dist"))


def is_page(path: str) -> bool:
    """True for the reference page and its assets: the journal leaves them out (the console is under /_mock)."""
    return path == DOCS or path.startswith(DOCS + "/")


def pages_blueprint() -> Blueprint:
    """Routes for /docs and /_mock/ui, and their files."""
    pages = Blueprint("pages", __name__)
    swagger_ui = swagger_ui_dir()

    @pages.get(DOCS)
    def docs() -> Response:
        return send_from_directory(STATIC / "docs", "index.html")

    @pages.get(DOCS + "/swagger-ui/<path:name>")
    def swagger_ui_file(name: str) -> Response:
        return send_from_directory(swagger_ui, name)

    @pages.get(DOCS + "/<path:name>")
    def docs_file(name: str) -> Response:
        return send_from_directory(STATIC / "docs", name)

    @pages.get(CONSOLE)
    def console() -> Response:
        return send_from_directory(STATIC / "console", "index.html")

    @pages.get(CONSOLE + "/<path:name>")
    def console_file(name: str) -> Response:
        return send_from_directory(STATIC / "console", name)

    # A trailing slash typed by hand still finds the page.
    for endpoint, path in (("docs_slash", DOCS), ("console_slash", CONSOLE)):
        pages.add_url_rule(path + "/", endpoint, _redirect_to(path))
    return pages


def _redirect_to(path: str) -> Callable[[], WerkzeugResponse]:
    return lambda: redirect(path, 308)
