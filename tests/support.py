"""Helpers shared by the tests: tokens, valid bodies from the spec's examples, an API client."""

from __future__ import annotations

import itertools
import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import spec
from mockserver.auth import mint_token
from spec.lifecycle import Lifecycle

SECRET = "tests-only-secret-of-at-least-32-bytes"
DOCUMENT = spec.load_openapi()
LIFECYCLE_STATES = tuple(DOCUMENT["components"]["schemas"]["TicketState"]["enum"])
CLOSE_OUT = {
    "closeOutType": "FTTH_RESOLVED_CTO",
    "closeOutNarr": "splitter replaced at the CTO",
    "serviceRestoredTime": "2025-01-16T09:00:00Z",
}
_keys = itertools.count(1)


def token(sub: str, **kwargs: Any) -> str:
    return mint_token(sub, secret=SECRET, **kwargs)


def auth(sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub)}"}


def unique_mirror_key() -> str:
    return f"ONV-{next(_keys)}"


def create_body(**overrides: Any) -> dict[str, Any]:
    """The seed's create example with a fresh mirrorKey (a key opens one ticket only)."""
    body = spec.example(DOCUMENT, "createTroubleTicket")
    body["mirrorKey"] = unique_mirror_key()
    body.update(overrides)
    return body


def update_body(ticket_id: str, mirror_key: str, state: str = "OPENACTIVE", **overrides: Any) -> dict[str, Any]:
    """The seed's update example, aimed at one ticket."""
    body = spec.example(DOCUMENT, "updateTroubleTicket")
    body.update(ticketId=ticket_id, mirrorKey=mirror_key, baseTroubleTicketState=state)
    body.update(overrides)
    return body


def multipart(data: dict[str, Any] | str, files: list[tuple[bytes, str, str]] = (), part: str = "attachment") -> dict:
    """A werkzeug test-client multipart body: `data` as JSON text and raw file parts."""
    import io

    payload: dict[str, Any] = {"data": data if isinstance(data, str) else json.dumps(data)}
    if files:
        payload[part] = [(io.BytesIO(content), name, mime) for content, name, mime in files]
    return payload


class Api:
    """One tenant's view of the mock, through the Flask test client."""

    def __init__(self, client: FlaskClient, tenant: str, lifecycle: Lifecycle) -> None:
        self.client = client
        self.tenant = tenant
        self.lifecycle = lifecycle
        self.headers = auth(tenant)

    def create(self, body: dict[str, Any] | None = None, **overrides: Any) -> TestResponse:
        return self.client.post(
            "/troubleTicket", json=body if body is not None else create_body(**overrides), headers=self.headers
        )

    def get(self, ticket_id: str) -> TestResponse:
        return self.client.get(f"/troubleTicket/{ticket_id}", headers=self.headers)

    def patch(self, ticket_id: str, body: Any) -> TestResponse:
        return self.client.patch(f"/troubleTicket/{ticket_id}", json=body, headers=self.headers)

    def transition(self, ticket_id: str, body: Any) -> TestResponse:
        return self.client.post(f"/_mock/troubleTicket/{ticket_id}/transition", json=body, headers=self.headers)

    def open_ticket(self, **overrides: Any) -> tuple[str, str]:
        """Create a ticket; return (ticketId, mirrorKey)."""
        response = self.create(**overrides)
        assert response.status_code == 201, response.get_json()
        answer = response.get_json()
        return answer["ticketId"], answer["mirrorKey"]

    def move(self, ticket_id: str, mirror_key: str, target: str, side: str, **extra: Any) -> TestResponse:
        """Ask for `target` as `side`: TU through PATCH, TO through the mock's hook."""
        if side == "TU":
            return self.patch(ticket_id, update_body(ticket_id, mirror_key, target, **extra))
        hook_body = {"baseTroubleTicketState": target, "dialog": f"TO moves to {target}", **extra}
        return self.transition(ticket_id, hook_body)

    def ticket_in(self, state: str) -> tuple[str, str]:
        """A new ticket walked into `state` along the lifecycle's shortest route."""
        ticket_id, mirror_key = self.open_ticket()
        for edge in self.lifecycle.route(state):
            extra = CLOSE_OUT if self.lifecycle.entry_requirements(edge.source, edge.target) else {}
            response = self.move(ticket_id, mirror_key, edge.target, edge.side, **extra)
            assert response.status_code == 200, response.get_json()
        return ticket_id, mirror_key
