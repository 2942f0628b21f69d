"""Deliberate provider bugs, each a small named modifier of the mock, for proving the suite's teeth.

Test code only: nothing in `mockserver` can switch these on. Each fault builds a mock that is
correct but for one realistic bug, and names the layer of the contract suite that must report it
and the contract rule (`spec.catalogue`) it breaks.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import socket
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
from spec.contract import Contract
from spec.lifecycle import Transition
from tests.support import SECRET

CONFIG = MockConfig(jwt_secret=SECRET)


@dataclass(frozen=True)
class Fault:
    name: str
    layer: str  # the suite's layer that must report it
    breaks: str  # the contract rule its report must name
    bug: str
    build: Callable[[], Flask]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # of the run that must find it


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

HOUR = datetime.timedelta(hours=1)


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


def _crash_on_multipart_without_parts() -> None:
    """A hand-written multipart reader that takes the first part for granted: none there is a 500."""
    boundary = request.mimetype_params.get("boundary")
    if request.method in ("POST", "PATCH") and request.mimetype == "multipart/form-data" and boundary:
        if request.get_data().startswith(b"--" + boundary.encode() + b"--"):  # the closing delimiter first
            raise IndexError("the first part of a multipart body without parts")


def _drop_allow(response: Response) -> None:
    if response.status_code == 405:
        del response.headers["Allow"]


def _delete_answers_204() -> Flask:
    app = create_app(CONFIG)
    app.add_url_rule("/troubleTicket/<ticket_id>", "delete_ticket", lambda ticket_id: ("", 204), methods=["DELETE"])
    return app


class UpdateNotPersisted(TicketStore):
    """Answers every update as done but keeps nothing."""

    def update(self, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change]) -> Ticket:
        current = self.get(tenant, seq) if seq is not None else None
        change = decide(current)
        assert current is not None
        return dataclasses.replace(current, state=change.state, fields={**current.fields, **change.fields})


class CustomerNotReplaced(TicketStore):
    """Keeps an update's fields but the customer count."""

    def update(self, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change]) -> Ticket:
        def forgetful(ticket: Ticket | None) -> Change:
            change = decide(ticket)
            return dataclasses.replace(change, fields={k: v for k, v in change.fields.items() if k != "customer"})

        return super().update(tenant, seq, forgetful)


class TenantLeak(TicketStore):
    """Finds a ticket by id whoever asks."""

    def get(self, tenant: str, seq: int) -> Ticket | None:
        owners = [entry.ticket.tenant for entry in self.history() if entry.ticket.seq == seq]
        return super().get(owners[0], seq) if owners else None


class RepeatedKeyNewTicket(TicketStore):
    """Opens a second ticket for a mirrorKey the tenant already used."""

    def create(self, *, mirror_key: str, **fields: Any) -> Ticket:
        try:
            return super().create(mirror_key=mirror_key, **fields)
        except DuplicateMirrorKey as duplicate:
            ticket = super().create(mirror_key=f"{mirror_key}~{duplicate.seq}", **fields)
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

            service.store.update(tenant, service.contract.ticket_ids.sequence(ticket_id), keep_dialog)
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


CONTRACT = Contract.load()
NAMES = CONTRACT.names
ITEM_PREFIX = CONTRACT.collection_path + "/"


def _error(key: str, message: str, status: int = 400) -> Response:
    return Response(json.dumps({key: message}), status, mimetype="application/json")


def _sent() -> Any:
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        return None


def _create_answers_200(response: Response) -> None:
    if request.method == "POST" and response.status_code == 201:
        response.status_code = 200


def _bad_request_as_text(response: Response) -> None:
    if response.status_code == 400:
        response.set_data(b"Bad Request")
        response.mimetype = "text/plain"


def _field_as_text_in_get(field: str) -> Callable[[Response], None]:
    def rewrite(response: Response) -> None:
        answer = _json_of(response)
        if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict) and field in answer:
            _set_json(response, {**answer, field: str(answer[field])})

    return rewrite


def _patch_priority_as_integer(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "PATCH" and response.status_code == 200 and isinstance(answer, dict):
        _set_json(response, {**answer, "preferredPriority": int(answer["preferredPriority"])})


def _drop_patch_connections() -> Response | None:
    if request.method == "PATCH":
        sock = request.environ["werkzeug.socket"]
        sock.shutdown(socket.SHUT_RDWR)  # no answer at all: the client sees the connection dropped
        return Response(b"", 500)
    return None


def _truncate_json_errors(response: Response) -> None:
    if 400 <= response.status_code < 500 and response.mimetype == "application/json":
        response.set_data(response.get_data()[:-3])


def _drop_challenge(response: Response) -> None:
    if response.status_code == 401:
        del response.headers["WWW-Authenticate"]


def _401_as_html(response: Response) -> None:
    if response.status_code == 401:
        response.set_data(b"<html><body>401 Unauthorized</body></html>")
        response.mimetype = "text/html"


def _create_answer_without_key(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "POST" and response.status_code == 201 and isinstance(answer, dict):
        answer.pop(NAMES.mirror_key, None)
        _set_json(response, answer)


def _patch_unknown_is_404(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "PATCH" and isinstance(answer, dict) and CONTRACT.errors.not_found in answer:
        response.status_code = 404


def _crash_on_huge_fields() -> None:
    if request.method in ("POST", "PATCH") and (request.content_length or 0) > 100_000:
        raise MemoryError("the ticket's fields do not fit the row")


def _media_type_before_auth() -> Response | None:
    if request.method in ("POST", "PATCH") and request.mimetype not in ("application/json", "multipart/form-data"):
        return _error(CONTRACT.errors.illegal_argument, "unsupported media type", 415)
    return None


def _body_before_media_type() -> Response | None:
    if request.method in ("POST", "PATCH") and request.mimetype == "text/plain" and _sent() is None:
        return _error(CONTRACT.errors.illegal_argument, "the body is not JSON")
    return None


def _existence_before_body() -> Flask:
    """Looks the ticket up before it reads the body."""
    app = create_app(CONFIG)
    service = app.extensions["mockserver"].service

    @app.before_request
    def look_up_first() -> Response | None:
        if request.method == "PATCH" and request.path.startswith(ITEM_PREFIX):
            ticket_id = request.path[len(ITEM_PREFIX) :]
            seq = CONTRACT.ticket_ids.sequence(ticket_id)
            tenant = service.store.history()  # any tenant's: the fault is in the order, not the tenancy
            if seq is None or all(entry.ticket.seq != seq for entry in tenant):
                return _error(CONTRACT.errors.not_found, f"trouble ticket {ticket_id} not found")
        return None

    return app


def _ids_before_existence() -> Response | None:
    sent = _sent()
    if request.method == "PATCH" and isinstance(sent, dict) and request.path.startswith(ITEM_PREFIX):
        if sent.get(NAMES.ticket_id) != request.path[len(ITEM_PREFIX) :]:
            return _error(CONTRACT.errors.illegal_argument, f"{NAMES.ticket_id} differs from the path")
    return None


def _lifecycle_before_ids() -> Flask:
    """Judges the requested state before it checks the ids."""
    app = create_app(CONFIG)
    service = app.extensions["mockserver"].service
    update = service.update

    def hasty(tenant: str, ticket_id: str, body: dict[str, Any], files: list) -> dict[str, Any]:
        seq = CONTRACT.ticket_ids.sequence(ticket_id)
        ticket = service.store.get(tenant, seq) if seq is not None else None
        if ticket is not None:
            refusal = CONTRACT.lifecycle.refusal(ticket.state, body[NAMES.state], "TU")
            if refusal:
                raise IllegalArgument(f"{NAMES.state}: {refusal}")
        return update(tenant, ticket_id, body, files)

    service.update = hasty
    return app


class MirrorKeysUniqueAcrossTenants(TicketStore):
    def create(self, *, tenant: str, mirror_key: str, **fields: Any) -> Ticket:
        for entry in self.history():
            if entry.ticket.mirror_key == mirror_key:
                raise DuplicateMirrorKey(entry.ticket.seq)
        return super().create(tenant=tenant, mirror_key=mirror_key, **fields)


def _empty_is_missing() -> Response | None:
    sent = _sent()
    if request.method in ("POST", "PATCH") and isinstance(sent, dict):
        empty = [name for name, value in sent.items() if value == ""]
        if empty:
            return _error(CONTRACT.errors.illegal_argument, CONTRACT.required_message.format(empty))
    return None


def _unknown_fields_refused() -> Response | None:
    sent = _sent()
    if request.method == "POST" and isinstance(sent, dict):
        unknown = [name for name in sent if name not in CONTRACT.create.properties]
        if unknown:
            return _error(CONTRACT.errors.illegal_argument, f"unknown fields: {', '.join(unknown)}")
    return None


def _unknown_attachment_fields_refused() -> Response | None:
    sent = _sent()
    if request.method == "PATCH" and isinstance(sent, dict):
        known = set(vars(CONTRACT.attachment_names).values())
        for item in sent.get(NAMES.attachments) or ():
            if isinstance(item, dict) and set(item) - known:
                return _error(
                    CONTRACT.errors.illegal_argument, f"{NAMES.attachments}: unknown keys {set(item) - known}"
                )
    return None


def _head_not_supported() -> Response | None:
    if request.method == "HEAD":
        return Response(b"", 405, headers={"Allow": "GET, PATCH"})
    return None


def _head_with_a_body() -> Flask:
    """A HEAD answered as the GET, body and all (Flask drops a HEAD's body: this one is under it)."""
    app = create_app(CONFIG)
    inner = app.wsgi_app

    def answer_head_as_get(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "HEAD":
            environ = {**environ, "REQUEST_METHOD": "GET"}
        return inner(environ, start_response)

    app.wsgi_app = answer_head_as_get  # type: ignore[method-assign]
    return app


def _malformed_json_422() -> Response | None:
    if request.method in ("POST", "PATCH") and request.mimetype == "application/json":
        try:
            json.loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            return _error(CONTRACT.errors.illegal_argument, "unprocessable entity", 422)
    return None


def _patch_answer_without_stored_values(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "PATCH" and response.status_code == 200 and isinstance(answer, dict):
        _set_json(response, {k: v for k, v in answer.items() if k in (NAMES.ticket_id, NAMES.dialog)})


def _patch_answer_without_ticket_id(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "PATCH" and response.status_code == 200 and isinstance(answer, dict):
        answer.pop(NAMES.ticket_id, None)
        _set_json(response, answer)


def _refusal_without_states(response: Response) -> None:
    message = CONTRACT.errors.message(_json_of(response))
    if message is not None and message.startswith(NAMES.state):
        _set_json(response, {CONTRACT.errors.illegal_argument: "illegal transition"})


def _messages_name_no_field(response: Response) -> None:
    message = CONTRACT.errors.message(_json_of(response))
    if response.status_code == 400 and message is not None and CONTRACT.required_message.parse(message) is None:
        _set_json(response, {CONTRACT.errors.illegal_argument: "invalid request"})


def _null_is_a_value() -> Flask:
    """Takes a required field sent as null for an empty one."""
    app = create_app(CONFIG)

    @app.before_request
    def fill_nulls() -> None:
        sent = _sent()
        if request.method in ("POST", "PATCH") and isinstance(sent, dict) and None in sent.values():
            request._cached_data = json.dumps({k: "" if v is None else v for k, v in sent.items()}).encode()  # type: ignore[attr-defined]

    return app


class ForeignUpdatesApplied(TicketStore):
    """Applies an update to whichever tenant's ticket has the id."""

    def update(self, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change]) -> Ticket:
        owners = [entry.ticket.tenant for entry in self.history() if entry.ticket.seq == seq]
        return super().update(owners[0] if owners else tenant, seq, decide)


class AnySchemeAccepted(Authenticator):
    def tenant(self, authorization: str | None) -> str:
        if authorization and " " in authorization.strip():
            authorization = "Bearer " + authorization.strip().split(" ", 1)[1]
        return super().tenant(authorization)


class GarbageIsAnonymous(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        if token.count(".") != 2:
            return {"sub": "anonymous"}
        return super()._verify(token)


class ExpiryNotChecked(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, self.secret, algorithms=["HS256"], options={"verify_exp": False, "require": ["sub"]}
            )
        except jwt.InvalidTokenError:
            return super()._verify(token)


class NotBeforeNotChecked(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, self.secret, algorithms=["HS256"], options={"verify_nbf": False, "require": ["sub"]}
            )
        except jwt.InvalidTokenError:
            return super()._verify(token)


class OtherIdForm:
    """Issues ids as INC-84 but looks them up as RED-84: its ids break the contract's id rule."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.ours, self.theirs = CONTRACT.ticket_ids.prefix.encode(), b"INC-"
        assert len(self.ours) == len(self.theirs)  # bodies keep their length

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["PATH_INFO"] = environ.get("PATH_INFO", "").replace(self.theirs.decode(), self.ours.decode())
        stream = environ.get("wsgi.input")
        if stream is not None and environ.get("CONTENT_LENGTH"):
            environ["wsgi.input"] = io.BytesIO(
                stream.read(int(environ["CONTENT_LENGTH"])).replace(self.theirs, self.ours)
            )
        return [chunk.replace(self.ours, self.theirs) for chunk in self.app(environ, start_response)]


def _ids_not_checked(name: str) -> Callable[[], Flask]:
    """An update that takes the body's `name` (ticketId or mirrorKey) as right whatever it says."""

    def build() -> Flask:
        app = create_app(CONFIG)
        service = app.extensions["mockserver"].service
        update = service.update

        def lenient(tenant: str, ticket_id: str, body: dict[str, Any], files: list) -> dict[str, Any]:
            seq = CONTRACT.ticket_ids.sequence(ticket_id)
            ticket = service.store.get(tenant, seq) if seq is not None else None
            if ticket is not None:
                body = {**body, name: ticket.mirror_key if name == NAMES.mirror_key else ticket_id}
            return update(tenant, ticket_id, body, files)

        service.update = lenient
        return app

    return build


def _all_states_on_create(schemas: dict[str, Any]) -> None:
    _prop(schemas, "CreateTroubleTicket", "baseTroubleTicketState")["enum"] = schemas["TicketState"]["enum"]


FAULTS = [
    # schema conformance (Schemathesis, judged by the rule at stake)
    Fault(
        "get-answer-without-state",
        "schema",
        "read.200.required",
        "GET answers lack baseTroubleTicketState",
        answers_rewritten(_get_without_state),
    ),
    Fault(
        "error-body-with-extra-key",
        "schema",
        "errors.exactly-one-key",
        "error bodies carry a 'code' besides the exception",
        answers_rewritten(_error_with_code),
    ),
    Fault(
        "required-message-lists-everything",
        "schema",
        "body.required-fields-message",
        "'required fields:' names every required field, not the missing ones",
        answers_rewritten(_required_lists_everything),
    ),
    Fault(
        "patch-answer-without-ticket-id",
        "schema",
        "update.200.required",
        "the PATCH answer lacks ticketId",
        answers_rewritten(_patch_answer_without_ticket_id),
    ),
    # boundaries
    Fault(
        "dialog-limit-one-short",
        "boundaries",
        "create.dialog.maxLength",
        "dialog refused at 4000 characters (limit set to 3999)",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "dialog").update(maxLength=3999)),
    ),
    Fault(
        "trouble-type-limit-one-long",
        "boundaries",
        "create.troubleType.maxLength",
        "troubleType of 36 characters accepted",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "troubleType").update(maxLength=36)),
    ),
    Fault(
        "clearence-person-optional",
        "boundaries",
        "create.clearencePerson.required",
        "a create without clearencePerson is accepted",
        spec_changed(lambda s: s["CreateTroubleTicket"]["required"].remove("clearencePerson")),
    ),
    Fault(
        "wh1-enum-open",
        "boundaries",
        "create.wh1Parameter.enum",
        "wh1Parameter takes any text ('Cliente', 'red ')",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "wh1Parameter").pop("enum")),
    ),
    Fault(
        "priority-floor-lowered",
        "boundaries",
        "create.preferredPriority.minimum",
        "preferredPriority 0 accepted",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "preferredPriority").update(minimum=0)),
    ),
    Fault(
        "priority-ceiling-raised",
        "boundaries",
        "create.preferredPriority.maximum",
        "preferredPriority 4 accepted",
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "preferredPriority").update(maximum=4)),
    ),
    Fault(
        "detection-time-unchecked",
        "boundaries",
        "create.troubleDetectionTime.format",
        "troubleDetectionTime takes any text",
        spec_changed(lambda s: s["DateTime"].pop("format")),
    ),
    Fault(
        "priority-as-text-accepted",
        "boundaries",
        "create.preferredPriority.type",
        'preferredPriority "1" accepted as a number',
        spec_changed(lambda s: _prop(s, "CreateTroubleTicket", "preferredPriority").update(type=["integer", "string"])),
    ),
    Fault(
        "base64-unchecked",
        "boundaries",
        "http.no-5xx",
        "attachment content is not checked as base64, and then crashes",
        spec_changed(lambda s: s["Attachment"]["properties"]["content"].pop("format")),
    ),
    Fault(
        "no-multipart-create",
        "boundaries",
        "create.multipart",
        "multipart creates get 415",
        requests_intercepted(_no_multipart_create),
    ),
    Fault(
        "create-in-any-state",
        "boundaries",
        "create.baseTroubleTicketState.enum",
        "a create may open a ticket in any state (CLEARED, CLOSED...)",
        spec_changed(_all_states_on_create),
    ),
    Fault(
        "bad-request-as-text",
        "boundaries",
        "create.400.body",
        "400 answers are plain text, not an error body",
        answers_rewritten(_bad_request_as_text),
    ),
    Fault(
        "crash-on-huge-fields",
        "boundaries",
        "http.no-5xx",
        "a field of a few hundred kilobytes gets a 500",
        requests_intercepted(_crash_on_huge_fields),
    ),
    Fault(
        "empty-is-missing",
        "boundaries",
        "body.empty-string-is-a-value",
        "an empty string is reported as a missing field",
        requests_intercepted(_empty_is_missing),
    ),
    Fault(
        "null-is-a-value",
        "boundaries",
        "body.null-is-missing",
        "a required field sent as null is taken as empty",
        _null_is_a_value,
    ),
    Fault(
        "messages-name-no-field",
        "boundaries",
        "body.violation-names-field",
        "every refusal says only 'invalid request'",
        answers_rewritten(_messages_name_no_field),
    ),
    # round trip, ids and order of checks
    Fault(
        "update-not-persisted",
        "roundtrip",
        "read.reflects-update",
        "PATCH answers 200 but stores nothing",
        store_of(UpdateNotPersisted),
    ),
    Fault(
        "customer-not-replaced",
        "roundtrip",
        "read.reflects-update",
        "an update's customer count is dropped",
        store_of(CustomerNotReplaced),
    ),
    Fault(
        "detection-time-under-request-name",
        "roundtrip",
        "read.reflects-create",
        "GET spells troubleDectectionTime as the request does",
        answers_rewritten(_detection_time_misspelt_back),
    ),
    Fault(
        "patch-answer-ignores-dialog",
        "roundtrip",
        "update.answer-echoes-dialog",
        "the PATCH answer does not echo the dialog sent",
        answers_rewritten(_patch_echoes_nothing_sent),
    ),
    Fault(
        "patch-answer-without-stored-values",
        "roundtrip",
        "update.answer-stored-values",
        "the PATCH answer leaves out the ticket's stored values",
        answers_rewritten(_patch_answer_without_stored_values),
    ),
    Fault(
        "create-answers-200",
        "roundtrip",
        "create.201",
        "a create answers 200, not 201",
        answers_rewritten(_create_answers_200),
    ),
    Fault(
        "create-answer-without-mirror-key",
        "roundtrip",
        "create.echoes-mirror-key",
        "the create answer leaves out the mirrorKey",
        answers_rewritten(_create_answer_without_key),
    ),
    Fault(
        "priority-as-text-in-get",
        "roundtrip",
        "read.200.preferredPriority",
        "GET shows preferredPriority as text",
        answers_rewritten(_field_as_text_in_get("preferredPriority")),
    ),
    Fault(
        "patch-answer-priority-as-integer",
        "roundtrip",
        "update.200.preferredPriority",
        "the PATCH answer shows preferredPriority as a number, where the page says text",
        answers_rewritten(_patch_priority_as_integer),
    ),
    Fault(
        "html-404-for-tickets",
        "roundtrip",
        "read.404.body",
        "unknown tickets get an HTML page",
        answers_rewritten(_html_404),
    ),
    Fault(
        "unknown-ticket-is-400-on-get",
        "roundtrip",
        "read.404",
        "GET of an unknown ticket answers 400, not 404",
        answers_rewritten(_unknown_ticket_400),
    ),
    Fault(
        "patch-unknown-is-404",
        "roundtrip",
        "ids.unknown-ticket-update",
        "PATCH of an unknown ticket answers 404, where the page says 400",
        answers_rewritten(_patch_unknown_is_404),
    ),
    Fault(
        "ids-of-another-form",
        "roundtrip",
        "create.201.ticketId",
        "ticket ids are INC-84, not RED-84",
        lambda: OtherIdForm(create_app(CONFIG)),
    ),
    Fault(
        "drops-patch-connections",
        "roundtrip",
        "http.answers-every-request",
        "every PATCH has its connection dropped, unanswered",
        requests_intercepted(_drop_patch_connections),
    ),
    Fault(
        "mirror-key-not-matched",
        "roundtrip",
        "ids.mirror-key-match",
        "an update with another mirrorKey is accepted",
        _ids_not_checked(NAMES.mirror_key),
    ),
    Fault(
        "path-body-id-not-matched",
        "roundtrip",
        "ids.path-body-match",
        "an update whose body names another ticket is accepted",
        _ids_not_checked(NAMES.ticket_id),
    ),
    Fault(
        "existence-before-body",
        "roundtrip",
        "order.body-before-existence",
        "an invalid update of an unknown ticket gets not-found",
        _existence_before_body,
    ),
    Fault(
        "ids-before-existence",
        "roundtrip",
        "order.existence-before-ids",
        "ids are compared before the ticket is looked up",
        requests_intercepted(_ids_before_existence),
    ),
    Fault(
        "lifecycle-before-ids",
        "roundtrip",
        "order.ids-before-lifecycle",
        "the requested state is judged before the ids",
        _lifecycle_before_ids,
    ),
    Fault(
        "unknown-fields-refused",
        "roundtrip",
        "body.unknown-fields-ignored",
        "a create with an unknown field is refused",
        requests_intercepted(_unknown_fields_refused),
    ),
    Fault(
        "seed-update-example-refused",
        "roundtrip",
        "body.seed-examples",
        "the page's own update example (mimetype) is refused",
        requests_intercepted(_unknown_attachment_fields_refused),
    ),
    # lifecycle
    Fault(
        "tu-may-close-directly",
        "lifecycle",
        "lifecycle.TU.OPENACTIVE->CLOSED",
        "the TU can move OPENACTIVE straight to CLOSED",
        lifecycle_changed(transitions=lambda t: (*t.transitions, Transition("OPENACTIVE", "CLOSED", "TU"))),
    ),
    Fault(
        "tu-accepts-own-cancellation",
        "lifecycle",
        "lifecycle.TU.DEFERRED.AWAITING-CANCELATION->CLOSED.CANCELED",
        "the TU takes the TO's edge to CLOSED.CANCELED",
        lifecycle_changed(
            transitions=lambda t: (*t.transitions, Transition("DEFERRED.AWAITING-CANCELATION", "CLOSED.CANCELED", "TU"))
        ),
    ),
    Fault(
        "canceled-is-not-terminal",
        "lifecycle",
        "lifecycle.terminal.CLOSED.CANCELED",
        "a CLOSED.CANCELED ticket still takes updates",
        lifecycle_changed(terminal=frozenset({"CLOSED"})),
    ),
    Fault(
        "cleared-without-close-out",
        "lifecycle",
        "lifecycle.entry.CLEARED",
        "CLEARED is entered without the close-out fields",
        lifecycle_changed(requires_on_entry={}),
    ),
    Fault(
        "refused-move-keeps-dialog",
        "lifecycle",
        "lifecycle.refusal-changes-nothing",
        "a refused move still stores its dialog",
        _refused_move_keeps_dialog,
    ),
    Fault(
        "refusal-without-states",
        "lifecycle",
        "lifecycle.refusal-names-states",
        "a refused move says only 'illegal transition'",
        answers_rewritten(_refusal_without_states),
    ),
    # auth and tenancy
    Fault(
        "no-token-accepted",
        "auth",
        "auth.no-token",
        "requests without a token are served",
        authenticator_of(NoTokenAccepted),
    ),
    Fault(
        "alg-none-accepted",
        "auth",
        "auth.alg-none",
        "unsigned tokens (alg none) are accepted",
        authenticator_of(AlgNoneAccepted),
    ),
    Fault(
        "signature-not-checked",
        "auth",
        "auth.bad-signature",
        "a token's payload can be rewritten",
        authenticator_of(SignatureNotChecked),
    ),
    Fault(
        "any-scheme-accepted",
        "auth",
        "auth.wrong-scheme",
        "a JWT is accepted under any scheme ('Token ...')",
        authenticator_of(AnySchemeAccepted),
    ),
    Fault(
        "garbage-token-is-anonymous",
        "auth",
        "auth.malformed-token",
        "a token that is not a JWT is served as 'anonymous'",
        authenticator_of(GarbageIsAnonymous),
    ),
    Fault(
        "expiry-not-checked", "auth", "auth.expired", "expired tokens are accepted", authenticator_of(ExpiryNotChecked)
    ),
    Fault(
        "not-before-not-checked",
        "auth",
        "auth.not-yet-valid",
        "tokens before their nbf are accepted",
        authenticator_of(NotBeforeNotChecked),
    ),
    Fault(
        "401-without-challenge",
        "auth",
        "auth.challenge",
        "401 answers lack WWW-Authenticate",
        answers_rewritten(_drop_challenge),
    ),
    Fault("401-as-html", "auth", "auth.json-body", "401 answers are an HTML page", answers_rewritten(_401_as_html)),
    Fault(
        "media-type-before-auth",
        "auth",
        "order.auth-first",
        "a foreign media type gets 415 before the token is checked",
        requests_intercepted(_media_type_before_auth),
    ),
    Fault("tenant-leak", "auth", "tenancy.read", "any tenant can read any ticket", store_of(TenantLeak)),
    Fault(
        "foreign-updates-applied",
        "auth",
        "tenancy.update",
        "any tenant can update any ticket",
        store_of(ForeignUpdatesApplied),
    ),
    Fault(
        "mirror-key-unique-across-tenants",
        "auth",
        "tenancy.mirror-key-per-tenant",
        "a mirrorKey opens one ticket across all tenants",
        store_of(MirrorKeysUniqueAcrossTenants),
    ),
    Fault(
        "repeated-mirror-key-new-ticket",
        "auth",
        "ids.repeated-mirror-key",
        "a repeated mirrorKey opens a second ticket",
        store_of(RepeatedKeyNewTicket),
    ),
    # protocol
    Fault(
        "delete-answers-204",
        "protocol",
        "http.method-not-allowed",
        "DELETE on a ticket answers 204",
        _delete_answers_204,
    ),
    Fault(
        "405-without-allow",
        "protocol",
        "http.allow-header",
        "405 answers lack the Allow header",
        answers_rewritten(_drop_allow),
    ),
    Fault(
        "wrong-media-type-is-400",
        "protocol",
        "create.415",
        "a text/plain body gets 400, not 415",
        requests_intercepted(_wrong_media_type_is_400),
    ),
    Fault(
        "body-before-media-type",
        "protocol",
        "order.media-type-before-body",
        "a text/plain body that is not JSON gets 400",
        requests_intercepted(_body_before_media_type),
    ),
    Fault(
        "crash-on-non-ascii-id",
        "protocol",
        "http.no-5xx",
        "a ticket id with non-ASCII letters crashes the server (500)",
        requests_intercepted(_crash_on_non_ascii_path),
    ),
    Fault(
        "crash-on-multipart-without-parts",
        "protocol",
        "http.no-5xx",
        "a multipart body whose boundary closes at once, with no part at all, crashes the server (500)",
        requests_intercepted(_crash_on_multipart_without_parts),
    ),
    Fault(
        "truncated-json-errors",
        "protocol",
        "http.json-parses",
        "4xx answers say JSON but are cut short",
        answers_rewritten(_truncate_json_errors),
    ),
    Fault("head-not-supported", "protocol", "http.head", "HEAD gets 405", requests_intercepted(_head_not_supported)),
    Fault("head-with-a-body", "protocol", "http.head", "HEAD answers carry the GET's body", _head_with_a_body),
    Fault(
        "malformed-json-422",
        "protocol",
        "http.malformed-json",
        "malformed JSON gets 422, not 400",
        requests_intercepted(_malformed_json_422),
    ),
]


# -- faults that make mutation testing's survivors fail (issue 14): each is the only fault that
# a check of the suite catches, so a check weakened to let it through is seen.


def _refusal_names_only_the_target(response: Response) -> None:
    message = CONTRACT.errors.message(_json_of(response))
    sent = _sent()
    if response.status_code == 400 and message is not None and message.startswith(NAMES.state):
        target = sent.get(NAMES.state) if isinstance(sent, dict) else None
        _set_json(response, {CONTRACT.errors.illegal_argument: f"{NAMES.state}: a move to {target} is not allowed"})


def _field_beside_the_400_message(response: Response) -> None:
    answer = _json_of(response)
    if response.status_code == 400 and isinstance(answer, dict):
        _set_json(response, {**answer, "field": "unknown"})


def _required_names_sorted(response: Response) -> None:
    message = CONTRACT.errors.message(_json_of(response))
    named = CONTRACT.required_message.parse(message) if message is not None else None
    if response.status_code == 400 and named and len(named) > 1:
        _set_json(response, {CONTRACT.errors.illegal_argument: CONTRACT.required_message.format(sorted(named))})


def _clear_without_close_out_is_a_dialog_update() -> Response | None:
    """A TU's PATCH into CLEARED without the close-out fields is taken as a dialog: 200, nothing moves."""
    sent = _sent()
    entry = CONTRACT.lifecycle.requires_on_entry.get("CLEARED", ())
    if request.method == "PATCH" and isinstance(sent, dict) and sent.get(NAMES.state) == "CLEARED":
        if any(sent.get(name) is None for name in entry):
            answer = {NAMES.ticket_id: sent.get(NAMES.ticket_id), NAMES.dialog: sent.get(NAMES.dialog)}
            return Response(json.dumps(answer), 200, mimetype="application/json")
    return None


FAULTS += [
    Fault(
        "refusal-names-only-the-target",
        "lifecycle",
        "lifecycle.refusal-names-states",
        "a refused move names the state asked for, not the ticket's own",
        answers_rewritten(_refusal_names_only_the_target),
    ),
    Fault(
        "field-beside-the-400-message",
        "schema",
        "errors.exactly-one-key",
        "400 bodies carry a 'field' key besides the exception (other 4xx do not)",
        answers_rewritten(_field_beside_the_400_message),
    ),
    Fault(
        "required-names-sorted",
        "boundaries",
        "body.required-fields-message",
        "'required fields:' names the missing fields in alphabetical order, not the spec's",
        answers_rewritten(_required_names_sorted),
    ),
    Fault(
        "tu-clear-without-close-out-is-a-dialog",
        "lifecycle",
        "lifecycle.entry.CLEARED",
        "the TU asking for CLEARED without the close-out fields gets 200 and nothing moves (only random walks try it)",
        requests_intercepted(_clear_without_close_out_is_a_dialog_update),
        {"max_examples": 50},  # ten walks: the two of the default run may not try it
    ),
]


# -- faults for the checks of the suite that no fault failed (found by tools/unfailed_checks.py)


def _tenant_of_request() -> str | None:
    header = request.headers.get("Authorization", "")
    try:
        return jwt.decode(header.partition(" ")[2], options={"verify_signature": False}).get("sub")
    except jwt.InvalidTokenError:
        return None


def _foreign_ticket_named_as_foreign() -> Flask:
    """Another tenant's ticket gets 404 with a body of its own: the reader learns that it exists."""
    app = create_app(CONFIG)
    store = app.extensions["mockserver"].store

    @app.after_request
    def fault(response: Response) -> Response:
        seq = CONTRACT.ticket_ids.sequence(request.path.removeprefix(ITEM_PREFIX))
        if request.method == "GET" and response.status_code == 404 and seq is not None:
            if any(entry.ticket.seq == seq for entry in store.history()):
                _set_json(response, {CONTRACT.errors.illegal_argument: "this ticket belongs to another operator"})
        return response

    return app


class MirrorKeyAnswersTheOwnersTicket(TicketStore):
    """A create with a key another tenant used answers that tenant's ticket (an idempotent create across tenants)."""

    def create(self, *, tenant: str, mirror_key: str, **fields: Any) -> Ticket:
        for entry in self.history():
            if entry.ticket.mirror_key == mirror_key and entry.ticket.tenant != tenant:
                return entry.ticket
        return super().create(tenant=tenant, mirror_key=mirror_key, **fields)


def _repeated_mirror_key_unnamed(response: Response) -> None:
    sent = _sent()
    message = CONTRACT.errors.message(_json_of(response))
    key = sent.get(NAMES.mirror_key) if isinstance(sent, dict) else None
    if request.method == "POST" and response.status_code == 400 and message and isinstance(key, str) and key in message:
        _set_json(response, {CONTRACT.errors.illegal_argument: f"{NAMES.mirror_key}: already used"})


def _incomplete_attachments_dropped() -> Flask:
    """An attachment lacking a required field is dropped without a word, and the rest accepted."""
    app = create_app(CONFIG)
    required = tuple(CONTRACT.create.properties[NAMES.attachments]["items"].get("required", ()))

    @app.before_request
    def drop() -> None:
        sent = _sent()
        if (
            request.method in ("POST", "PATCH")
            and isinstance(sent, dict)
            and isinstance(sent.get(NAMES.attachments), list)
        ):
            kept = [a for a in sent[NAMES.attachments] if not isinstance(a, dict) or all(k in a for k in required)]
            request._cached_data = json.dumps({**sent, NAMES.attachments: kept}).encode()  # type: ignore[attr-defined]

    return app


def _nested_paths_without_index(response: Response) -> None:
    message = CONTRACT.errors.message(_json_of(response))
    named = CONTRACT.required_message.parse(message) if message is not None else None
    if response.status_code == 400 and named and any("[" in name for name in named):
        bare = [name.rsplit(".", 1)[-1] for name in named]
        _set_json(response, {CONTRACT.errors.illegal_argument: CONTRACT.required_message.format(bare)})


class ReopenNotApplied(TicketStore):
    """Answers the TU's reopen of a CLEARED ticket as done, and leaves it CLEARED."""

    def update(self, tenant: str, seq: int | None, decide: Callable[[Ticket | None], Change]) -> Ticket:
        def sticky(ticket: Ticket | None) -> Change:
            change = decide(ticket)
            if ticket is not None and ticket.state == "CLEARED" and change.state == CONTRACT.lifecycle.initial:
                return dataclasses.replace(change, state="CLEARED")
            return change

        return super().update(tenant, seq, sticky)


def _unknown_paths_are_400() -> Response | None:
    path = request.path
    known = path == CONTRACT.collection_path or (path.startswith(ITEM_PREFIX) and "/" not in path[len(ITEM_PREFIX) :])
    if not known and not path.startswith(("/_mock", "/openapi", "/docs")):
        return _error(CONTRACT.errors.illegal_argument, f"unknown resource {path}")
    return None


def _drop_on_non_ascii_path() -> Response | None:
    if not request.path.isascii():
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return Response(b"", 500)
    return None


def _get_answers_a_list(response: Response) -> None:
    answer = _json_of(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        _set_json(response, [answer])


def _date_times_shown(response: Response, show: Callable[[datetime.datetime], str]) -> None:
    """A GET answer's date-times (written ...Z) written as `show` writes each instant."""
    answer = _json_of(response)
    if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
        for name, value in answer.items():
            if isinstance(value, str) and value.endswith("Z") and "T" in value:
                try:
                    instant = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    continue
                answer[name] = show(instant)
        _set_json(response, answer)


def _date_times_in_another_offset(response: Response) -> None:
    _date_times_shown(response, lambda instant: instant.astimezone(datetime.timezone(HOUR)).isoformat())


def _first_read_after_a_multipart_write_not_found() -> Flask:
    """A multipart write lands on a replica the next read does not see yet."""
    app = create_app(CONFIG)
    lagging: set[str] = set()

    @app.after_request
    def fault(response: Response) -> Response:
        answer = _json_of(response)
        if (
            request.mimetype == "multipart/form-data"
            and response.status_code in (200, 201)
            and isinstance(answer, dict)
        ):
            lagging.add(str(answer.get(NAMES.ticket_id)))
        elif request.method == "GET" and request.path.removeprefix(ITEM_PREFIX) in lagging:
            lagging.discard(request.path.removeprefix(ITEM_PREFIX))
            response.status_code = 404
            _set_json(response, {CONTRACT.errors.not_found: "no such ticket"})
        return response

    return app


def _id_mismatch_as_text() -> Response | None:
    sent = _sent()
    if request.method == "PATCH" and isinstance(sent, dict) and request.path.startswith(ITEM_PREFIX):
        if sent.get(NAMES.ticket_id) not in (None, request.path.removeprefix(ITEM_PREFIX)):
            return Response("Bad Request: ids differ", 400, mimetype="text/plain")
    return None


FAULTS += [
    Fault(
        "foreign-ticket-named-as-foreign",
        "auth",
        "tenancy.read",
        "another tenant's ticket gets 404 saying it is another operator's, not the not-found body",
        _foreign_ticket_named_as_foreign,
    ),
    Fault(
        "mirror-key-answers-the-owners-ticket",
        "auth",
        "tenancy.mirror-key-per-tenant",
        "a create with another tenant's mirrorKey answers 201 with that tenant's ticket",
        store_of(MirrorKeyAnswersTheOwnersTicket),
    ),
    Fault(
        "repeated-mirror-key-unnamed",
        "auth",
        "ids.repeated-mirror-key",
        "a repeated mirrorKey is refused without naming the ticket it opened",
        answers_rewritten(_repeated_mirror_key_unnamed),
    ),
    Fault(
        "patch-unknown-is-404-at-max-length",
        "boundaries",
        "update.ticketId.maxLength",
        "an update of an unknown ticket (an id at its maxLength) gets 404, not 400 objectNotFoundException",
        answers_rewritten(_patch_unknown_is_404),
    ),
    Fault(
        "incomplete-attachments-dropped",
        "boundaries",
        "create.attachments[].name.required",
        "an attachment without its name or content is dropped without a word and the ticket accepted",
        _incomplete_attachments_dropped,
    ),
    Fault(
        "nested-paths-without-index",
        "boundaries",
        "body.nested-field-paths",
        "a missing attachment field is named bare ('name'), not 'attachments[0].name'",
        answers_rewritten(_nested_paths_without_index),
        {"strict": True},  # the path's spelling is the mock's own choice: a warning otherwise
    ),
    Fault(
        "tu-may-not-reopen",
        "lifecycle",
        "lifecycle.TU.CLEARED->OPENACTIVE",
        "the TU's reopen of a CLEARED ticket is refused",
        lifecycle_changed(
            transitions=lambda true: tuple(
                t
                for t in true.transitions
                if not (t.side == "TU" and (t.source, t.target) == ("CLEARED", "OPENACTIVE"))
            )
        ),
    ),
    Fault(
        "reopen-answered-not-applied",
        "lifecycle",
        "lifecycle.TU.CLEARED->OPENACTIVE",
        "the TU's reopen answers 200 and the ticket stays CLEARED",
        store_of(ReopenNotApplied),
    ),
    Fault(
        "unknown-paths-are-400",
        "protocol",
        "http.unknown-path",
        "a path the API does not have gets 400, not 404",
        requests_intercepted(_unknown_paths_are_400),
    ),
    Fault(
        "drops-on-non-ascii-id",
        "protocol",
        "http.answers-every-request",
        "a ticket id with non-ASCII letters has its connection dropped",
        requests_intercepted(_drop_on_non_ascii_path),
    ),
    Fault(
        "get-answers-a-list",
        "roundtrip",
        "read.reflects-create",
        "GET answers the ticket inside a one-element list",
        answers_rewritten(_get_answers_a_list),
    ),
    Fault(
        "date-times-in-another-offset",
        "roundtrip",
        "read.date-time-as-sent",
        "GET gives date-times at +01:00: the same instants, not the text sent",
        answers_rewritten(_date_times_in_another_offset),
        {"strict": True},  # the text of a date-time is the mock's own choice: a warning otherwise
    ),
    Fault(
        "first-read-after-multipart-write-not-found",
        "roundtrip",
        "read.200",
        "the first GET after a multipart create or update gets 404",
        _first_read_after_a_multipart_write_not_found,
    ),
    Fault(
        "id-mismatch-as-text",
        "roundtrip",
        "ids.path-body-match",
        "an update whose body ticketId is not the path's gets 400 as plain text",
        requests_intercepted(_id_mismatch_as_text),
    ),
    Fault(
        "get-answer-without-state-in-roundtrip",
        "roundtrip",
        "read.200.required",
        "GET answers lack baseTroubleTicketState (as get-answer-without-state, seen by the roundtrip layer)",
        answers_rewritten(_get_without_state),
    ),
    Fault(
        "drops-patch-connections-under-schemathesis",
        "schema",
        "http.answers-every-request",
        "every PATCH has its connection dropped (as drops-patch-connections, seen by the schema layer)",
        requests_intercepted(_drop_patch_connections),
    ),
]


def _repeated_mirror_key_409(response: Response) -> None:
    sent = _sent()
    message = CONTRACT.errors.message(_json_of(response))
    key = sent.get(NAMES.mirror_key) if isinstance(sent, dict) else None
    if request.method == "POST" and response.status_code == 400 and message and isinstance(key, str) and key in message:
        response.status_code = 409


def _get_names_another_ticket() -> Flask:
    """A mock holding one ticket (RED-1, for a read-only run) whose GET names it with its digits padded."""
    app = create_app(CONFIG)

    @app.after_request
    def fault(response: Response) -> Response:
        answer = _json_of(response)
        if request.method == "GET" and response.status_code == 200 and isinstance(answer, dict):
            ticket_id = str(answer.get(NAMES.ticket_id, ""))
            answer[NAMES.ticket_id] = ticket_id.replace(CONTRACT.ticket_ids.prefix, CONTRACT.ticket_ids.prefix + "0", 1)
            _set_json(response, answer)
        return response

    return _holding_red_1(app)


def _holding_red_1(app: Flask) -> Flask:
    """`app` with one ticket, RED-1, opened by TU-A (what a read-only run is pointed at)."""
    created = app.test_client().post(
        CONTRACT.collection_path,
        json=CONTRACT.example_create("RO-1"),
        headers={"Authorization": f"Bearer {_token_for('TU-A')}"},
    )
    assert created.status_code == 201, created.get_json()
    return app


def _token_for(tenant: str) -> str:
    return jwt.encode({"sub": tenant}, SECRET, algorithm="HS256")


FAULTS += [
    Fault(
        "required-names-sorted-on-entry",
        "lifecycle",
        "body.required-fields-message",
        "'required fields:' names the missing close-out fields in alphabetical order (as required-names-sorted)",
        answers_rewritten(_required_names_sorted),
    ),
    Fault(
        "repeated-mirror-key-409",
        "auth",
        "ids.repeated-mirror-key",
        "a repeated mirrorKey gets 409 Conflict, not the page's 400",
        answers_rewritten(_repeated_mirror_key_409),
    ),
    Fault(
        "get-names-another-ticket",
        "roundtrip",
        "read.reflects-create",
        "GET answers RED-1 as RED-01 (seen by a read-only run on RED-1)",
        _get_names_another_ticket,
        {"read_only": True, "ticket_ids": ("RED-1",)},
    ),
]


class LatestMirrorKeyWins(TicketStore):
    """A mirrorKey names one ticket: a newer ticket with the same key, any tenant's, hides the older one."""

    def get(self, tenant: str, seq: int) -> Ticket | None:
        ticket = super().get(tenant, seq)
        if ticket is None:
            return None
        newer = [e for e in self.history() if e.ticket.mirror_key == ticket.mirror_key and e.ticket.seq > seq]
        return None if newer else ticket


def _get_answers_as_created() -> Flask:
    """A mock holding one ticket (RED-1, for a read-only run) whose GET answers 201, the create's status."""
    app = create_app(CONFIG)

    @app.after_request
    def fault(response: Response) -> Response:
        if request.method == "GET" and response.status_code == 200 and request.path.startswith(ITEM_PREFIX):
            response.status_code = 201
        return response

    return _holding_red_1(app)


FAULTS += [
    Fault(
        "mirror-key-hides-the-owners-ticket",
        "auth",
        "tenancy.mirror-key-per-tenant",
        "a create with another tenant's mirrorKey opens a ticket and that tenant's ticket is gone",
        store_of(LatestMirrorKeyWins),
    ),
    Fault(
        "get-answers-201",
        "roundtrip",
        "read.200",
        "GET of a ticket answers 201, the create's status (seen by a read-only run on RED-1)",
        _get_answers_as_created,
        {"read_only": True, "ticket_ids": ("RED-1",)},
    ),
]


def _crash_on_deeply_nested_json() -> Response | None:
    """The JSON parser recurses: a body nested thousands of levels deep overflows its stack (500)."""
    if request.mimetype == "application/json" and request.get_data()[:2000].count(b"[") >= 2000:
        return Response("Internal Server Error", status=500, mimetype="text/plain")
    return None


def _date_times_an_hour_late(response: Response) -> None:
    """A time zone applied twice: 10:30Z sent, 11:30Z shown, still written in UTC."""
    _date_times_shown(response, lambda instant: (instant + HOUR).isoformat().replace("+00:00", "Z"))


FAULTS += [
    Fault(
        "crash-on-deeply-nested-json",
        "protocol",
        "http.no-5xx",
        "a JSON body of deeply nested arrays crashes the parser (500); the same bytes as text get 415",
        requests_intercepted(_crash_on_deeply_nested_json),
    ),
    Fault(
        "date-times-an-hour-late",
        "roundtrip",
        "read.reflects-create",
        "GET gives each date-time an hour later than sent, still in UTC: another instant",
        answers_rewritten(_date_times_an_hour_late),
    ),
    Fault(
        "nested-paths-without-index-under-schemathesis",
        "schema",
        "body.nested-field-paths",
        "a missing attachment field is named bare (as nested-paths-without-index, seen by the schema layer)",
        answers_rewritten(_nested_paths_without_index),
        {"strict": True},
    ),
]


def _integral_floats_refused() -> Response | None:
    sent = _sent()
    if request.method in ("POST", "PATCH") and isinstance(sent, dict):
        floats = [name for name, value in sent.items() if isinstance(value, float) and value.is_integer()]
        if floats:
            return _error(CONTRACT.errors.illegal_argument, f"{', '.join(floats)} must be written as an integer")
    return None


FAULTS += [
    Fault(
        "integral-floats-refused",
        "boundaries",
        "body.integer-as-float",
        "an integer field written 1.0 is refused: JSON Schema counts it as the integer 1",
        requests_intercepted(_integral_floats_refused),
        {"strict": True},  # taking 1.0 is the mock's own choice: a warning otherwise
    ),
]
