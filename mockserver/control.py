"""The mock's control API under /_mock: not part of the provider's contract.

It lets a test play the TO (the transition hook), start from a clean slate (reset), and see
what the mock holds (tickets with history) and what clients sent (the journal).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from mockserver.api import flask_rule
from mockserver.auth import Authenticator
from mockserver.bodies import read_body
from mockserver.errors import IllegalArgument, TicketNotFound
from mockserver.journal import FileJournal, MemoryJournal
from mockserver.responses import json_response
from mockserver.tickets import TicketService

PREFIX = "/_mock"


def control_blueprint(
    service: TicketService,
    authenticator: Authenticator,
    requests_seen: MemoryJournal | FileJournal,
    *,
    max_body_bytes: int,
) -> Blueprint:
    """Routes under /_mock."""
    control = Blueprint("control", __name__, url_prefix=PREFIX)
    parameter = service.contract.path_parameter

    @control.post(flask_rule(service.contract.item_path) + "/transition")
    def transition(**path: str) -> Response:
        """Apply a TO edge to the caller's ticket, with the same validation as PATCH."""
        g.tenant = authenticator.tenant(request.headers.get("Authorization"))
        parsed = read_body(request, service.transition_rules, max_bytes=max_body_bytes)
        return json_response(service.transition(g.tenant, path[parameter], parsed.body), warnings=parsed.warnings)

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
        return json_response({"tickets": service.history(request.args.get("tenant") or None)})

    @control.get("/tickets/<ticket_id>/attachments/<int:attachment_id>")
    def attachment(ticket_id: str, attachment_id: int) -> Response:
        """One stored attachment, as the bytes that were sent."""
        found = service.attachment(request.args.get("tenant") or None, ticket_id, attachment_id)
        if found is None:
            raise TicketNotFound(f"{ticket_id} attachment {attachment_id}")
        response = Response(found.content, mimetype=found.mime_type or "application/octet-stream")
        response.headers["Content-Disposition"] = f'attachment; filename="{_ascii(found.name)}"'
        return response

    @control.get("/journal")
    def journal() -> Response:
        """The newest requests received, newest first (?limit=N, ?tenant=)."""
        limit_text = request.args.get("limit", "")
        if limit_text and not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 9):
            raise IllegalArgument(f"limit must be a positive integer of at most 9 digits, not {limit_text[:20]!r}")
        entries = requests_seen.newest(int(limit_text) if limit_text else None, request.args.get("tenant") or None)
        return json_response({"requests": entries})

    return control


def _ascii(name: str) -> str:
    return "".join(char if " " <= char <= "~" and char not in '"\\' else "_" for char in name)
