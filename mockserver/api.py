"""The provider's API: thin handlers that authenticate, parse, call the service, serialize.

`Operations` is each step once; the Flask routes below and the fast path (mockserver.fastpath)
both call it, with the request's state in Flask's `g` or in the fast path's Exchange.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Request, Response, g, request

from mockserver.auth import Authenticator
from mockserver.bodies import JsonRequest, read_body
from mockserver.responses import Answer, as_response, json_answer
from mockserver.tickets import TicketService


def flask_rule(path: str) -> str:
    """An OpenAPI path as a Flask URL rule: `/troubleTicket/{ticketId}` -> `/troubleTicket/<ticketId>`."""
    return re.sub(r"\{([^}/]+)\}", r"<\1>", path)


class Operations:
    """The three operations of the spec: authenticate, then create, read or update."""

    def __init__(self, service: TicketService, authenticator: Authenticator, *, max_body_bytes: int) -> None:
        self.service, self.authenticator, self.max_body_bytes = service, authenticator, max_body_bytes

    def authenticate(self, authorization: str | None, state: Any) -> None:
        state.tenant = self.authenticator.tenant(authorization)

    def create(self, request: Request | JsonRequest, state: Any) -> Answer:
        service = self.service
        parsed = read_body(request, service.create_rules, max_bytes=self.max_body_bytes, state=state)
        answer = service.create(state.tenant, parsed.body, parsed.files)
        state.warnings = parsed.warnings + service.create_warnings(parsed.body)  # the journal shows them too
        return json_answer(answer, 201, warnings=state.warnings)

    def read(self, ticket_id: str, state: Any) -> Answer:
        return json_answer(self.service.read(state.tenant, ticket_id))

    def update(self, request: Request | JsonRequest, ticket_id: str, state: Any) -> Answer:
        service = self.service
        parsed = read_body(request, service.update_rules, max_bytes=self.max_body_bytes, state=state)
        answer = service.update(state.tenant, ticket_id, parsed.body, parsed.files)
        return json_answer(answer, warnings=parsed.warnings)


def api_blueprint(operations: Operations) -> Blueprint:
    """The three operations of the spec, on the spec's paths."""
    api = Blueprint("api", __name__)
    contract = operations.service.contract
    collection, item = flask_rule(contract.collection_path), flask_rule(contract.item_path)
    parameter = contract.path_parameter

    @api.before_request
    def authenticate() -> None:
        # Routing (404, 405) has already answered for unknown paths and methods.
        if request.method != "OPTIONS":
            operations.authenticate(request.headers.get("Authorization"), g)

    @api.post(collection)
    def create_trouble_ticket() -> Response:
        return as_response(operations.create(request, g))

    @api.get(item)
    def get_trouble_ticket(**path: str) -> Response:
        return as_response(operations.read(path[parameter], g))

    @api.patch(item)
    def update_trouble_ticket(**path: str) -> Response:
        return as_response(operations.update(request, path[parameter], g))

    return api
