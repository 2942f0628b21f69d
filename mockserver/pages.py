"""The mock's pages: the API reference at /docs and the console at /_mock/ui.

Both are plain files shipped in `mockserver/static/` (no build step); the reference's Swagger UI
comes from the flask-swagger-ui package, so the pages work with no network. They read the
spec (`/openapi.json`) and the control API (`/_mock/...`) only, like any other client; the
small part of the control API that only they need lives here: the lifecycle as JSON and drawn,
how the mock checks tokens, and minting a development token.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, request, send_from_directory
from werkzeug.wrappers import Response as WerkzeugResponse

from mockserver.auth import DEFAULT_SECRET, SECRET_ENV, Authenticator, mint_token
from mockserver.control import PREFIX
from mockserver.errors import IllegalArgument
from mockserver.responses import json_response
from spec.diagram import lifecycle_svg
from spec.lifecycle import SIDES, Lifecycle

DOCS = "/docs"
CONSOLE = PREFIX + "/ui"
STATIC = Path(__file__).resolve().parent / "static"
# Tokens minted for the pages expire, unlike the command line's: a forgotten tab stops working.
MINTED_TOKEN_SECONDS = 12 * 3600
_TENANT_MAX = 64


def swagger_ui_dir() -> Path:
    """Swagger UI's distribution files, as the flask-swagger-ui package ships them."""
    return Path(str(resources.files("flask_swagger_ui") / "dist"))


def is_page(path: str) -> bool:
    """True for the reference page and its assets: the journal leaves them out (the console is under /_mock)."""
    return path == DOCS or path.startswith(DOCS + "/")


def pages_blueprint(lifecycle: Lifecycle, authenticator: Authenticator) -> Blueprint:
    """Routes for /docs and /_mock/ui, their files, and the control endpoints they read."""
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

    lifecycle_json = lifecycle_document(lifecycle)
    picture = lifecycle_svg(lifecycle)

    @pages.get(PREFIX + "/lifecycle")
    def lifecycle_table() -> Response:
        """The lifecycle the mock enforces: states, edges and the side that may take each."""
        return json_response(lifecycle_json)

    @pages.get(PREFIX + "/lifecycle.svg")
    def lifecycle_picture() -> Response:
        """The same lifecycle drawn (spec/diagram.py): states and edges carry data attributes."""
        return Response(picture, mimetype="image/svg+xml")

    development = authenticator.secret == DEFAULT_SECRET

    @pages.get(PREFIX + "/auth")
    def auth_info() -> Response:
        """How this mock checks tokens, and whether a page may mint one."""
        return json_response(
            {
                "scheme": "Bearer JWT, HS256; the token's sub names the tenant",
                "developmentSecret": development,
                "canMint": development,
                "message": _minting_message(development),
            }
        )

    @pages.post(PREFIX + "/token")
    def token() -> Response:
        """A token for {"sub": tenant}, on the development secret only: anyone can mint those anyway."""
        if not development:
            raise IllegalArgument(_minting_message(False), status=403)
        body = request.get_json(silent=True)
        sub = body.get("sub") if isinstance(body, dict) else None
        if not isinstance(sub, str) or not _printable(sub.strip(), _TENANT_MAX):
            raise IllegalArgument(
                f'sub: send JSON {{"sub": "TU-A"}}, a tenant name of 1 to {_TENANT_MAX} printable characters'
            )
        sub = sub.strip()
        minted = mint_token(sub, secret=authenticator.secret, exp_seconds=MINTED_TOKEN_SECONDS)
        return json_response({"token": minted, "sub": sub, "expiresInSeconds": MINTED_TOKEN_SECONDS})

    return pages


def lifecycle_document(lifecycle: Lifecycle) -> dict[str, Any]:
    """The lifecycle as JSON, in the names the spec uses elsewhere."""
    return {
        "initial": lifecycle.initial,
        "cancelRequest": lifecycle.cancel_request,
        "sides": list(SIDES),
        "states": [
            {
                "name": state,
                "terminal": lifecycle.is_terminal(state),
                "requiresOnEntry": list(lifecycle.requires_on_entry.get(state, ())),
            }
            for state in lifecycle.states
        ],
        "transitions": [
            {"from": t.source, "to": t.target, "side": t.side, "meaning": t.meaning} for t in lifecycle.transitions
        ],
    }


def _minting_message(development: bool) -> str:
    if development:
        return (
            "This mock signs and checks tokens with its development secret, so this page can mint one "
            "for any tenant (POST /_mock/token). Anyone who reaches the mock can do the same."
        )
    return (
        f"This mock checks tokens with a secret of its own (${SECRET_ENV}), so it mints none here. Mint one "
        f"where that secret is kept: {SECRET_ENV}=<the secret> python -m mockserver token --sub TU-A; "
        "then paste it (Authorize on /docs, the token field of the console)."
    )


def _printable(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit and all(" " <= char <= "~" for char in text)


def _redirect_to(path: str) -> Callable[[], WerkzeugResponse]:
    return lambda: redirect(path, 308)
