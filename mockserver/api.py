"""The provider's API: thin handlers that authenticate, parse, call the service, serialize."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from mockserver.auth import Authenticator
from mockserver.bodies import read_body
from mockserver.responses import json_response
from mockserver.tickets import TicketService


def api_blueprint(service: TicketService, authenticator: Authenticator, *, max_body_bytes: int) -> Blueprint:
    """The three operations of the spec."""
    api = Blueprint("api", __name__)

    @api.before_request
    def authenticate() -> None:
        # Routing (404, 405) has already answered for unknown paths and methods.
        if request.method != "OPTIONS":
            g.tenant = authenticator.tenant(request.headers.get("Authorization"))

    @api.post("/troubleTicket")
    def create_trouble_ticket() -> Response:
        parsed = read_body(request, service.create_rules, max_bytes=max_body_bytes)
        answer = service.create(g.tenant, parsed.body, parsed.files)
        return json_response(answer, 201, warnings=parsed.warnings + service.create_warnings(parsed.body))

    @api.get("/troubleTicket/<ticket_id>")
    def get_trouble_ticket(ticket_id: str) -> Response:
        return json_response(service.read(g.tenant, ticket_id))

    @api.patch("/troubleTicket/<ticket_id>")
    def update_trouble_ticket(ticket_id: str) -> Response:
        parsed = read_body(request, service.update_rules, max_bytes=max_body_bytes)
        answer = service.update(g.tenant, ticket_id, parsed.body, parsed.files)
        return json_response(answer, warnings=parsed.warnings)

    return api
