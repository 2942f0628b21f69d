"""Deliberate provider bugs, each a small named modifier of the mock, for proving the suite's teeth.

Test code only: nothing in `mockserver` can switch these on. Each fault builds a mock that is
correct but for one realistic bug, and names the layer of the contract suite that must report it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, Response, request

import spec
from mockserver import MockConfig, create_app
from mockserver.auth import Authenticator
from mockserver.errors import IllegalArgument
from mockserver.store import Change, DuplicateMirrorKey, Ticket, TicketStore
from spec import lifecycle as lifecycle_module
from spec.lifecycle import Transition
from tests.support import SECRET

CONFIG = MockConfig(jwt_secret=SECRET)


@dataclass(frozen=True)
class Fault:
    name: str
    layer: str  # the suite's layer that must report it
    bug: str
    build: Callable[[], Flask]


def correct_mock() -> Flask:
    return create_app(CONFIG)


# -- ways to break the mock ------------------------------------------------------------------


def spec_changed(change: Callable[[dict[str, Any]], None]) -> Callable[[], Flask]:
    """A mock that enforces a spec with one rule changed (the suite keeps the true spec)."""

    def build() -> Flask:
        document = spec.load_openapi()
        change(document["components"]["schemas"])
        return create_app(CONFIG, document=document)

    return build


def lifecycle_changed(**changes: Any) -> Callable[[], Flask]:
    def build() -> Flask:
        true = lifecycle_module.load()
        values = {key: value(true) if callable(value) else value for key, value in changes.items()}
        return create_app(CONFIG, lifecycle=dataclasses.replace(true, **values))

    return build


def store_of(store_class: type[TicketStore]) -> Callable[[], Flask]:
    return lambda: create_app(CONFIG, store=store_class(":memory:"))


def authenticator_of(auth_class: type[Authenticator]) -> Callable[[], Flask]:
    return lambda: create_app(CONFIG, authenticator=auth_class(SECRET))


def answers_rewritten(rewrite: Callable[[Response], None]) -> Callable[[], Flask]:
    """A mock whose answers pass through `rewrite` on their way out."""

    def build() -> Flask:
        app = create_app(CONFIG)

        @app.after_request
        def fault(response: Response) -> Response:
            rewrite(response)
            return response

        return app

    return build


def requests_intercepted(intercept: Callable[[], Response | None]) -> Callable[[], Flask]:
    """A mock that answers some requests itself before its API sees them."""

    def build() -> Flask:
        app = create_app(CONFIG)
        app.before_request(intercept)
        return app

    return build


def _json_of(response: Response) -> Any:
    return json.loads(response.get_data()) if response.mimetype == "application/json" else None


def _set_json(response: Response, payload: Any) -> None:
    response.set_data(json.dumps(payload))


# -- the bugs --------------------------------------------------------------------------------


def _get_without_state(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        answer.pop("baseTroubleTicketState", None)
        _set_json(response, answer)


def _error_with_code(response: Response) -> None:
    answer = _json_of(response)
    if 400 <= response.status_code < 500 and isinstance(answer, dict):
        _set_json(response, {**answer, "code": response.status_code})


def _html_404(response: Response) -> None:
    if response.status_code == 404:
        response.set_data(b"<html><body>Not Found</body></html>")
        response.mimetype = "text/html"


def _required_lists_everything(response: Response) -> None:
    answer = _json_of(response)
    message = answer.get("illegalArgumentException", "") if isinstance(answer, dict) else ""
    if message.startswith("required fields:"):
        document = spec.load_openapi()
        schema = "CreateTroubleTicket" if request.method == "POST" else "UpdateTroubleTicket"
        _set_json(
            response,
            {
                "illegalArgumentException": "required fields: "
                + ",".join(document["components"]["schemas"][schema]["required"])
            },
        )


def _unknown_ticket_400(response: Response) -> None:
    if request.method == "GET" and response.status_code == 404 and request.path.startswith("/troubleTicket/"):
        response.status_code = 400


def _detection_time_misspelt_back(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        answer["troubleDetectionTime"] = answer.pop("troubleDectectionTime", None)
        _set_json(response, answer)


def _patch_echoes_nothing_sent(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "PATCH" and response.status_code == 200 and isinstance(answer, dict):
        _set_json(response, {**answer, "dialog": "Update received"})


def _no_multipart_create() -> Response | None:
    if request.method == "POST" and request.path == "/troubleTicket" and request.mimetype == "multipart/form-data":
        return Response(
            json.dumps({"illegalArgumentException": "only JSON is supported"}), 415, mimetype="application/json"
        )
    return None


def _wrong_media_type_is_400() -> Response | None:
    if request.method in ("POST", "PATCH") and request.mimetype not in ("application/json", "multipart/form-data"):
        return Response(json.dumps({"illegalArgumentException": "bad request"}), 400, mimetype="application/json")
    return None


def _crash_on_non_ascii_path() -> None:
    if not request.path.isascii():
        raise UnicodeEncodeError("ascii", request.path, 0, 1, "the ticket lookup only knows ASCII")


def _drop_allow(response: Response) -> None:
    if response.status_code == 405:
        del response.headers["Allow"]


def _delete_answers_204() -> Flask:
    app = create_app(CONFIG)
    app.add_url_rule("/troubleTicket/<ticket_id>", "delete_ticket", lambda ticket_id: ("", 204), methods=["DELETE"])
    return app


class UpdateNotPersisted(TicketStore):
    """Answers every update as done but keeps nothing."""

    def update(self, tenant: str, ticket_id: str, decide: Callable[[Ticket | None], Change]) -> Ticket:
        current = self.get(tenant, ticket_id)
        change = decide(current)
        assert current is not None
        return dataclasses.replace(current, state=change.state, fields={**current.fields, **change.fields})


class CustomerNotReplaced(TicketStore):
    """Keeps an update's fields but the customer count."""

    def update(self, tenant: str, ticket_id: str, decide: Callable[[Ticket | None], Change]) -> Ticket:
        def forgetful(ticket: Ticket | None) -> Change:
            change = decide(ticket)
            return dataclasses.replace(change, fields={k: v for k, v in change.fields.items() if k != "customer"})

        return super().update(tenant, ticket_id, forgetful)


class TenantLeak(TicketStore):
    """Finds a ticket by id whoever asks."""

    def get(self, tenant: str, ticket_id: str) -> Ticket | None:
        owners = [t["tenant"] for t in self.history() if t["ticketId"] == ticket_id]
        return super().get(owners[0], ticket_id) if owners else None


class RepeatedKeyNewTicket(TicketStore):
    """Opens a second ticket for a mirrorKey the tenant already used."""

    def create(self, *, mirror_key: str, **fields: Any) -> Ticket:
        try:
            return super().create(mirror_key=mirror_key, **fields)
        except DuplicateMirrorKey as duplicate:
            ticket = super().create(mirror_key=f"{mirror_key}~{duplicate.ticket_id}", **fields)
            return dataclasses.replace(ticket, mirror_key=mirror_key)


def _refused_move_keeps_dialog() -> Flask:
    app = create_app(CONFIG)
    service = app.extensions["mockserver"].service
    update = service.update

    def careless_update(tenant: str, ticket_id: str, body: dict[str, Any], files: list) -> dict[str, Any]:
        try:
            return update(tenant, ticket_id, body, files)
        except IllegalArgument:

            def keep_dialog(ticket: Ticket | None) -> Change:
                assert ticket is not None  # refused by the lifecycle, so it exists
                return Change(
                    side="TU",
                    actor=tenant,
                    state=ticket.state,
                    dialog=body["dialog"],
                    fields={"dialog": body["dialog"]},
                )

            service.store.update(tenant, ticket_id, keep_dialog)
            raise

    service.update = careless_update
    return app


class NoTokenAccepted(Authenticator):
    def tenant(self, authorization: str | None) -> str:
        return "TU-A" if not authorization else super().tenant(authorization)


class AlgNoneAccepted(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        try:
            if jwt.get_unverified_header(token).get("alg") == "none":
                return jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            pass
        return super()._verify(token)


class SignatureNotChecked(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return super()._verify(token)
        return claims if isinstance(claims.get("sub"), str) else super()._verify(token)


def _prop(schemas: dict[str, Any], schema: str, field: str) -> dict[str, Any]:
    return schemas[schema]["properties"][field]


FAULTS = [
    # schema conformance
    Fault(
        "get-answer-without-state",
        "schema",
        "GET answers lack baseTroubleTicketState",
        answers_rewritten(_get_without_state),
    ),
    Fault(
        "error-body-with-extra-key",
        "schema",
        "error bodies carry a 'code' besides the exception",
        answers_rewritten(_error_with_code),
    ),
    Fault("html-404", "schema", "unknown tickets and paths get an HTML page", answers_rewritten(_html_404)),
    Fault(
        "required-message-lists-everything",
        "schema",
        "'required fields:' names every required field, not the missing ones",
        answers_rewritten(_required_lists_everything),
    ),
    Fault(
        "unknown-ticket-is-400-on-get",
        "schema",
        "GET of an unknown ticket answers 400, not 404",
        answers_rewritten(_unknown_ticket_400),
    ),
    # boundaries
    Fault(
        "dialog-limit-one-short",
        "boundaries",
        "dialog refused at 4000 characters (limit set to 3999)",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "dialog").update(maxLength=3999)),
    ),
    Fault(
        "trouble-type-limit-one-long",
        "boundaries",
        "troubleType of 36 characters accepted",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "troubleType").update(maxLength=36)),
    ),
    Fault(
        "clearence-person-optional",
        "boundaries",
        "a create without clearencePerson is accepted",
        spec_changed(lambda s: s["CreateTroubleTicket"]["required"].remove("clearencePerson")),
    ),
    Fault(
        "wh1-enum-open",
        "boundaries",
        "wh1Parameter takes any text ('Cliente', 'red ')",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "wh1Parameter").pop("enum")),
    ),
    Fault(
        "priority-range-widened",
        "boundaries",
        "preferredPriority 0 and 4 accepted",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "preferredPriority").update(minimum=0, maximum=4)),
    ),
    Fault(
        "detection-time-unchecked",
        "boundaries",
        "troubleDetectionTime takes any text",
        spec_changed(lambda s: s["DateTime"].pop("format")),
    ),
    Fault(
        "priority-as-text-accepted",
        "boundaries",
        'preferredPriority "1" accepted as a number',
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "preferredPriority").update(type=["integer", "string"])),
    ),
    Fault(
        "base64-unchecked",
        "boundaries",
        "attachment content is not checked as base64 (and then crashes)",
        spec_changed(lambda s: s["Attachment"]["properties"]["content"].pop("format")),
    ),
    Fault("no-multipart-create", "boundaries", "multipart creates get 415", requests_intercepted(_no_multipart_create)),
    # round trip
    Fault("update-not-persisted", "roundtrip", "PATCH answers 200 but stores nothing", store_of(UpdateNotPersisted)),
    Fault("customer-not-replaced", "roundtrip", "an update's customer count is dropped", store_of(CustomerNotReplaced)),
    Fault(
        "detection-time-under-request-name",
        "roundtrip",
        "GET spells troubleDectectionTime as the request does",
        answers_rewritten(_detection_time_misspelt_back),
    ),
    Fault(
        "patch-answer-ignores-dialog",
        "roundtrip",
        "the PATCH answer does not echo the dialog sent",
        answers_rewritten(_patch_echoes_nothing_sent),
    ),
    # lifecycle
    Fault(
        "tu-may-close-directly",
        "lifecycle",
        "the TU can move OPENACTIVE straight to CLOSED",
        lifecycle_changed(transitions=lambda t: (*t.transitions, Transition("OPENACTIVE", "CLOSED", "TU"))),
    ),
    Fault(
        "tu-accepts-own-cancellation",
        "lifecycle",
        "the TU takes the TO's edge to CLOSED.CANCELED",
        lifecycle_changed(
            transitions=lambda t: (*t.transitions, Transition("DEFERRED.AWAITING-CANCELATION", "CLOSED.CANCELED", "TU"))
        ),
    ),
    Fault(
        "canceled-is-not-terminal",
        "lifecycle",
        "a CLOSED.CANCELED ticket still takes updates",
        lifecycle_changed(terminal=frozenset({"CLOSED"})),
    ),
    Fault(
        "cleared-without-close-out",
        "lifecycle",
        "CLEARED is entered without the close-out fields",
        lifecycle_changed(requires_on_entry={}),
    ),
    Fault(
        "refused-move-keeps-dialog", "lifecycle", "a refused move still stores its dialog", _refused_move_keeps_dialog
    ),
    # auth and tenancy
    Fault("no-token-accepted", "auth", "requests without a token are served", authenticator_of(NoTokenAccepted)),
    Fault("alg-none-accepted", "auth", "unsigned tokens (alg none) are accepted", authenticator_of(AlgNoneAccepted)),
    Fault("signature-not-checked", "auth", "a token's payload can be rewritten", authenticator_of(SignatureNotChecked)),
    Fault("tenant-leak", "auth", "any tenant can read any ticket", store_of(TenantLeak)),
    Fault(
        "repeated-mirror-key-new-ticket",
        "auth",
        "a repeated mirrorKey opens a second ticket",
        store_of(RepeatedKeyNewTicket),
    ),
    # protocol
    Fault("delete-answers-204", "protocol", "DELETE on a ticket answers 204", _delete_answers_204),
    Fault("405-without-allow", "protocol", "405 answers lack the Allow header", answers_rewritten(_drop_allow)),
    Fault(
        "wrong-media-type-is-400",
        "protocol",
        "a text/plain body gets 400, not 415",
        requests_intercepted(_wrong_media_type_is_400),
    ),
    Fault(
        "crash-on-non-ascii-id",
        "protocol",
        "a ticket id with non-ASCII letters crashes the server (500)",
        requests_intercepted(_crash_on_non_ascii_path),
    ),
]
