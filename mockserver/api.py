"""The provider's API: thin handlers that authenticate, parse, call the service, serialize."""

from __future__ import annotations

import re

from flask import Blueprint, Response, g, request

from mockserver.auth import Authenticator
from mockserver.bodies import read_body
from mockserver.responses import json_response
from mockserver.tickets import TicketService


def flask_rule(path: str) -> str:
    """An OpenAPI path as a Flask URL rule: `/troubleTicket/{ticketId}` -> `/troubleTicket/<ticketId>`."""
    return re.sub(r"\{([^}/]+)\}", r"<\1>", path)


def api_blueprint(service: TicketService, authenticator: Authenticator, *, max_body_bytes: int) -> Blueprint:
    """The three operations of the spec, on the spec's paths."""
    api = Blueprint("api", __name__)
    contract = service.contract
    collection, item = flask_rule(contract.collection_path), flask_rule(contract.item_path)
    parameter = contract.path_parameter

    @api.before_request
    def authenticate() -> None:
        # Routing (404, 405) has already answered for unknown paths and methods.
        if request.method != "OPTIONS":
            g.tenant = authenticator.tenant(request.headers.get("Authorization"))

    @api.post(collection)
    def create_trouble_ticket() -> Response:
        parsed = read_body(request, service.create_rules, max_bytes=max_body_bytes)
        answer = service.create(g.tenant, parsed.body, parsed.files)
        g.warnings = parsed.warnings + service.create_warnings(parsed.body)  # the journal shows them too
        return json_response(answer, 201, warnings=g.warnings)

    @api.get(item)
    def get_trouble_ticket(**path: str) -> Response:
        return json_response(service.read(g.tenant, path[parameter]))

    @api.patch(item)
    def update_trouble_ticket(**path: str) -> Response:
        parsed = read_body(request, service.update_rules, max_bytes=max_body_bytes)
        answer = service.update(g.tenant, path[parameter], parsed.body, parsed.files)
        return json_response(answer, warnings=parsed.warnings)

    return api
