"""The mock's control API under /_mock: not part of the provider's contract.

It lets a test play the TO (the transition hook), start from a clean slate (reset), and see
what the mock holds (tickets with history) and what clients sent (the journal). The pages
(`/docs`, the console at `/_mock/ui`) read the lifecycle and mint development tokens here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request

from mockserver.auth import DEFAULT_SECRET, SECRET_ENV, Authenticator, mint_token
from mockserver.bodies import read_body
from mockserver.errors import IllegalArgument, TicketNotFound
from mockserver.journal import FileJournal, MemoryJournal
from mockserver.responses import json_response
from mockserver.tickets import TicketService
from spec.diagram import lifecycle_svg
from spec.lifecycle import SIDES, Lifecycle

PREFIX = "/_mock"
# Tokens minted for the pages expire, unlike the command line's: a forgotten tab stops working.
MINTED_TOKEN_SECONDS = 12 * 3600
_TENANT_MAX = 64


def control_blueprint(
    service: TicketService,
    authenticator: Authenticator,
    requests_seen: MemoryJournal | FileJournal,
    *,
    max_body_bytes: int,
) -> Blueprint:
    """Routes under /_mock."""
    control = Blueprint("control", __name__, url_prefix=PREFIX)

    @control.post("/troubleTicket/<ticket_id>/transition")
    def transition(ticket_id: str) -> Response:
        """Apply a TO edge to the caller's ticket, with the same validation as PATCH."""
        g.tenant = authenticator.tenant(request.headers.get("Authorization"))
        parsed = read_body(request, service.transition_rules, max_bytes=max_body_bytes)
        return json_response(service.transition(g.tenant, ticket_id, parsed.body), warnings=parsed.warnings)

    @control.get("/health")
    def health() -> Response:
        return json_response({"status": "ok"})

    @control.post("/reset")
    def reset() -> Response:
        """Forget every ticket and the journal, or only one tenant's tickets with ?tenant=."""
        tenant = request.args.get("tenant") or None
        deleted = service.store.reset(tenant)
        if tenant is None:
            requests_seen.clear()
        return json_response({"deleted": deleted, "tenant": tenant})

    @control.get("/tickets")
    def tickets() -> Response:
        """Every ticket (or one tenant's, ?tenant=) with its full history."""
        return json_response({"tickets": service.store.history(request.args.get("tenant") or None)})

    @control.get("/tickets/<ticket_id>/attachments/<int:attachment_id>")
    def attachment(ticket_id: str, attachment_id: int) -> Response:
        """One stored attachment, as the bytes that were sent."""
        found = service.store.attachment(request.args.get("tenant") or None, ticket_id, attachment_id)
        if found is None:
            raise TicketNotFound(f"{ticket_id} attachment {attachment_id}")
        response = Response(found.content, mimetype=found.mime_type or "application/octet-stream")
        response.headers["Content-Disposition"] = f'attachment; filename="{_ascii(found.name)}"'
        return response

    @control.get("/journal")
    def journal() -> Response:
        """The newest requests received, newest first (?limit=N, ?tenant=)."""
        limit_text = request.args.get("limit", "")
        if limit_text and not (limit_text.isascii() and limit_text.isdigit()):
            raise IllegalArgument(f"limit must be a positive integer, not {limit_text!r}")
        entries = requests_seen.newest(int(limit_text) if limit_text else None, request.args.get("tenant") or None)
        return json_response({"requests": entries})

    # -- read by the pages (/docs and the console) -----------------------------------------

    lifecycle = service.lifecycle
    lifecycle_json = lifecycle_document(lifecycle)
    picture = lifecycle_svg(lifecycle)

    @control.get("/lifecycle")
    def lifecycle_table() -> Response:
        """The lifecycle the mock enforces: states, edges and the side that may take each."""
        return json_response(lifecycle_json)

    @control.get("/lifecycle.svg")
    def lifecycle_picture() -> Response:
        """The same lifecycle drawn (spec/diagram.py): states and edges carry data attributes."""
        return Response(picture, mimetype="image/svg+xml")

    development = authenticator.secret == DEFAULT_SECRET

    @control.get("/auth")
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

    @control.post("/token")
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

    return control


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


def _ascii(name: str) -> str:
    return "".join(char if " " <= char <= "~" and char not in '"\\' else "_" for char in name)
