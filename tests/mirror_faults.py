"""Deliberate bugs of a TU mirror, each a small named modifier of the reference mirror.

Test code only, like tests/faults.py for the provider: each fault builds a mirror that is correct
but for one realistic bug, and names the layer of the mirror suite that must report it and the
contract rule (spec.catalogue, built from spec/mirror.yaml) it breaks.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request

from mockserver import MockConfig
from mockserver.auth import Authenticator
from mockserver.errors import IllegalArgument
from mockserver.store import Attachment
from mockserver.tu_mirror import MirrorService, create_mirror_app
from spec import lifecycle as lifecycle_module
from spec.lifecycle import Transition
from spec.mirror import load_document
from tests.support import SECRET

CONFIG = MockConfig(role="tu-mirror", jwt_secret=SECRET)
NOT_FOUND, ILLEGAL = "objectNotFoundException", "illegalArgumentException"


@dataclass(frozen=True)
class MirrorFault:
    name: str
    layer: str  # the mirror suite's layer that must report it
    breaks: str  # the contract rule its report must name
    bug: str
    build: Callable[[], Flask]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # of the run that must find it


def correct_mirror() -> Flask:
    return create_mirror_app(CONFIG)


# -- ways to break the mirror ----------------------------------------------------------------------


def lifecycle_changed(change: Callable[[Any], Any]) -> Callable[[], Flask]:
    """A mirror that enforces a lifecycle with one rule changed (the suite keeps the true one)."""
    return lambda: create_mirror_app(CONFIG, lifecycle=change(lifecycle_module.load()))


def update_schema_changed(change: Callable[[dict[str, Any]], None]) -> Callable[[], Flask]:
    """A mirror that enforces an update body with one rule changed, as JSON and inside multipart."""

    def build() -> Flask:
        document = load_document()
        for operation in document["paths"].values():
            content = operation.get("patch", {}).get("requestBody", {}).get("content", {})
            for media, body in content.items():
                schema = body["schema"]
                change(schema["properties"]["data"] if media.startswith("multipart/") else schema)
        return create_mirror_app(CONFIG, document=document)

    return build


def service_of(service_class: type[MirrorService]) -> Callable[[], Flask]:
    return lambda: create_mirror_app(CONFIG, service_class=service_class)


def authenticator_of(auth_class: type[Authenticator]) -> Callable[[], Flask]:
    return lambda: create_mirror_app(CONFIG, authenticator=auth_class(SECRET))


def answers_rewritten(rewrite: Callable[[Response], None]) -> Callable[[], Flask]:
    def build() -> Flask:
        app = create_mirror_app(CONFIG)
        app.after_request(lambda response: (rewrite(response), response)[1])
        return app

    return build


def requests_intercepted(intercept: Callable[[], Response | None]) -> Callable[[], Flask]:
    def build() -> Flask:
        app = create_mirror_app(CONFIG)
        app.before_request(intercept)
        return app

    return build


def _json_of(response: Response) -> Any:
    return json.loads(response.get_data()) if response.mimetype == "application/json" else None


def _on_api(method: str | None = None) -> bool:
    return request.path.startswith("/troubleTicket") and (method is None or request.method == method)


# -- the bugs --------------------------------------------------------------------------------------


class AnyMirrorKey(MirrorService):
    """Takes the path's ticket whatever mirrorKey the body names."""

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        return super().update(mirror_key, {**body, "mirrorKey": mirror_key}, files, caller)


class AnyTicketId(MirrorService):
    """Never compares the body's ticketId with the TO's id it holds."""

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        ticket = self._get(mirror_key)
        fixed = {**body, "ticketId": ticket.ticket_id} if ticket is not None else body
        return super().update(mirror_key, fixed, files, caller)


class AdoptsUnknownTickets(MirrorService):
    """Opens a ticket it has never heard of when the TO reports on it, instead of saying it does not know it."""

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        if self._get(mirror_key) is None:
            self.open({"mirrorKey": mirror_key, "ticketId": body["ticketId"]})
        return super().update(mirror_key, body, files, caller)


class KeepsRefusedDialogs(MirrorService):
    """Refuses a move it may not take, but keeps the dialog that came with it."""

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        try:
            return super().update(mirror_key, body, files, caller)
        except IllegalArgument:
            ticket = self._get(mirror_key)
            if ticket is not None and not self.contract.lifecycle.is_terminal(ticket.state):
                with self.store.transaction() as tx:
                    fields = json.dumps({**ticket.fields, "dialog": body.get("dialog")})
                    tx.execute("UPDATE mirror_tickets SET fields = ? WHERE mirror_key = ?", (fields, mirror_key))
            raise


class ForgetsUpdates(MirrorService):
    """Answers every TO update as taken, but its GET shows the ticket as it was."""

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        before = self._get(mirror_key)
        answer = super().update(mirror_key, body, files, caller)
        if before is not None:
            with self.store.transaction() as tx:
                tx.execute(
                    "UPDATE mirror_tickets SET state = ?, fields = ? WHERE mirror_key = ?",
                    (before.state, json.dumps(before.fields), mirror_key),
                )
        return answer


class NoTokenNeeded(Authenticator):
    def tenant(self, authorization: str | None) -> str:
        return super().tenant(authorization) if authorization else "anyone"


class AcceptsAlgNone(Authenticator):
    def tenant(self, authorization: str | None) -> str:
        import jwt

        token = (authorization or "").partition(" ")[2]
        if token and jwt.get_unverified_header(token).get("alg") == "none":
            return "whoever"
        return super().tenant(authorization)


class IgnoresExpiry(Authenticator):
    def _verify(self, token: str) -> dict[str, Any]:
        import jwt

        return jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_exp": False})


def _edge_for_both(lifecycle: Any, source: str, target: str) -> Any:
    extra = Transition(source, target, "TO", "a TU edge the mirror lets the TO take too")
    return dataclasses.replace(lifecycle, transitions=(*lifecycle.transitions, extra))


def _without_edge(lifecycle: Any, source: str, target: str, side: str) -> Any:
    kept = tuple(t for t in lifecycle.transitions if (t.source, t.target, t.side) != (source, target, side))
    return dataclasses.replace(lifecycle, transitions=kept)


def _no_challenge(response: Response) -> None:
    if response.status_code == 401:
        del response.headers["WWW-Authenticate"]


def _two_keys(response: Response) -> None:
    answer = _json_of(response)
    if 400 <= response.status_code < 500 and response.status_code != 401 and isinstance(answer, dict):
        response.set_data(json.dumps({**answer, "code": response.status_code}))


def _vague_refusal(response: Response) -> None:
    answer = _json_of(response)
    message = answer.get(ILLEGAL, "") if isinstance(answer, dict) else ""
    if message.startswith("baseTroubleTicketState:"):
        response.set_data(json.dumps({ILLEGAL: "baseTroubleTicketState: this move is not allowed"}))


def _required_lists_everything(response: Response) -> None:
    answer = _json_of(response)
    message = answer.get(ILLEGAL, "") if isinstance(answer, dict) else ""
    if message.startswith("required fields:") and _on_api("PATCH"):
        response.set_data(json.dumps({ILLEGAL: "required fields: baseTroubleTicketState,ticketId,mirrorKey,dialog"}))


def _echoes_the_stored_dialog(response: Response) -> None:
    answer = _json_of(response)
    if _on_api("PATCH") and response.status_code == 200 and isinstance(answer, dict):
        response.set_data(json.dumps({**answer, "dialog": "received"}))


def _unknown_key_answers_200(response: Response) -> None:
    if _on_api("GET") and response.status_code == 404:
        response.status_code = 200
        response.set_data(b"{}")


def _drop_allow(response: Response) -> None:
    if response.status_code == 405:
        del response.headers["Allow"]


def _other_media_type_is_400() -> Response | None:
    if _on_api("PATCH") and request.mimetype not in ("application/json", "multipart/form-data"):
        return Response(json.dumps({ILLEGAL: "bad request"}), 400, mimetype="application/json")
    return None


def _json_only() -> Response | None:
    if _on_api("PATCH") and request.mimetype == "multipart/form-data":
        return Response(json.dumps({ILLEGAL: "send JSON"}), 415, mimetype="application/json")
    return None


def _crashes_on_broken_json() -> None:
    if _on_api("PATCH") and request.mimetype == "application/json":
        json.loads(request.get_data() or b"{}")  # an unguarded parse: a 500 for the TO


def _crashes_on_multipart_without_parts() -> None:
    boundary = request.mimetype_params.get("boundary")
    if _on_api("PATCH") and request.mimetype == "multipart/form-data" and boundary:
        if request.get_data().startswith(b"--" + boundary.encode() + b"--"):  # closed before any part
            raise IndexError("the first part of a multipart body without parts")  # a 500 for the TO


def _no_max(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda schema: schema["properties"][name].pop("maxLength")


def _one_more(name: str) -> Callable[[dict[str, Any]], None]:
    def change(schema: dict[str, Any]) -> None:
        schema["properties"][name]["maxLength"] += 1

    return change


def _not_required(name: str) -> Callable[[dict[str, Any]], None]:
    def change(schema: dict[str, Any]) -> None:
        schema["required"] = [n for n in schema["required"] if n != name]

    return change


def _key_of_path() -> str | None:
    """The mirrorKey a request's path names, if it names one."""
    prefix = "/troubleTicket/"
    rest = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
    return rest if rest and "/" not in rest else None


def _known(key: str) -> bool:
    from flask import current_app

    return current_app.extensions["mockserver"].service._get(key) is not None


def _answer_edited(
    method: str, status: int, edit: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[Response], None]:
    """Rewrites the JSON answers of `method` with this status on the API."""

    def rewrite(response: Response) -> None:
        answer = _json_of(response)
        if _on_api(method) and response.status_code == status and isinstance(answer, dict):
            response.set_data(json.dumps(edit(answer)))

    return rewrite


def _without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda answer: {k: v for k, v in answer.items() if k != name}


def _not_found_as_number(response: Response) -> None:
    answer = _json_of(response)
    if _on_api("GET") and response.status_code == 404 and isinstance(answer, dict) and NOT_FOUND in answer:
        response.set_data(json.dumps({NOT_FOUND: 404}))


def _not_found_empty(response: Response) -> None:
    if _on_api("GET") and response.status_code == 404:
        response.set_data(b"{}")


def _reading_is_202(response: Response) -> None:
    if _on_api("GET") and response.status_code == 200:
        response.status_code = 202  # "accepted, still mirroring"


def _updated_reads_202() -> Callable[[], Flask]:
    """GET of a ticket the TO updated answers 202 while the mirror 'syncs' it."""

    def build() -> Flask:
        app = create_mirror_app(CONFIG)
        updated: set[str] = set()

        def note(response: Response) -> Response:
            key = _key_of_path()
            if key is not None and _on_api("PATCH") and response.status_code == 200:
                updated.add(key)
            elif key in updated and _on_api("GET") and response.status_code == 200:
                response.status_code = 202
            return response

        app.after_request(note)
        return app

    return build


def _update_answers_204(response: Response) -> None:
    if _on_api("PATCH") and response.status_code == 200:
        response.status_code = 204
        response.set_data(b"")


def _ids_refused_as_text(response: Response) -> None:
    answer = _json_of(response)
    message = answer.get(ILLEGAL, "") if isinstance(answer, dict) else ""
    if _on_api("PATCH") and response.status_code == 400 and ("mirrorKey" in message or "ticketId" in message):
        response.set_data(message.encode())
        response.mimetype = "text/plain"


def _foreign_key_409() -> Response | None:
    body = request.get_json(silent=True) if request.mimetype == "application/json" else None
    key = _key_of_path()
    if _on_api("PATCH") and key and isinstance(body, dict) and body.get("mirrorKey") not in (None, key):
        return Response(json.dumps({ILLEGAL: "mirrorKey: another ticket's"}), 409, mimetype="application/json")
    return None


def _unknown_update_404() -> Response | None:
    key = _key_of_path()
    if _on_api("PATCH") and key and not _known(key):
        return Response(json.dumps({NOT_FOUND: f"no ticket {key}"}), 404, mimetype="application/json")
    return None


def _existence_before_body() -> Response | None:
    key = _key_of_path()
    if _on_api("PATCH") and key and not _known(key):
        return Response(json.dumps({NOT_FOUND: f"no ticket {key}"}), 400, mimetype="application/json")
    return None


def _malformed_json_other_key() -> Response | None:
    if _on_api("PATCH") and request.mimetype == "application/json":
        try:
            json.loads(request.get_data() or b"{}")
        except ValueError:
            return Response(json.dumps({"error": "malformed JSON"}), 400, mimetype="application/json")
    return None


def _unknown_paths_400() -> Response | None:
    if request.path.startswith("/troubleTicket") and request.method == "GET" and _key_of_path() is None:
        return Response(json.dumps({ILLEGAL: f"unknown path {request.path}"}), 400, mimetype="application/json")
    return None


def _no_head() -> Response | None:
    if _on_api("HEAD"):
        return Response(
            json.dumps({ILLEGAL: "HEAD is not allowed"}), 405, {"Allow": "GET, PATCH"}, mimetype="application/json"
        )
    return None


def _unusable_bodies_422(response: Response) -> None:
    if _on_api("PATCH") and response.status_code == 400 and request.mimetype == "application/json":
        if not isinstance(request.get_json(silent=True), dict):
            response.status_code = 422


def _attachments_only_as_files() -> Response | None:
    body = request.get_json(silent=True) if _on_api("PATCH") and request.mimetype == "application/json" else None
    if isinstance(body, dict) and "attachments" in body:
        return Response(json.dumps({ILLEGAL: "attachments: send files as multipart"}), 400, mimetype="application/json")
    return None


def _closed_to_extra_fields(schema: dict[str, Any]) -> None:
    schema["additionalProperties"] = False


def _untyped(name: str) -> Callable[[dict[str, Any]], None]:
    def change(schema: dict[str, Any]) -> None:
        schema["properties"][name].pop("type", None)

    return change


MIRROR_FAULTS = [
    MirrorFault("to-takes-a-tu-edge", "lifecycle", "lifecycle.TO.OPENACTIVE->DEFERRED.AWAITING-CANCELATION",
                "lets the TO ask to cancel for the TU",
                lifecycle_changed(lambda lc: _edge_for_both(lc, "OPENACTIVE", "DEFERRED.AWAITING-CANCELATION"))),
    MirrorFault("refuses-the-resolution", "lifecycle", "lifecycle.TO.OPENACTIVE->CLEARED",
                "refuses the TO's resolution of an open ticket",
                lifecycle_changed(lambda lc: _without_edge(lc, "OPENACTIVE", "CLEARED", "TO"))),
    MirrorFault("refuses-the-auto-close", "lifecycle", "lifecycle.TO.CLEARED->CLOSED",
                "refuses the TO's auto-close after the TU's silence",
                lifecycle_changed(lambda lc: _without_edge(lc, "CLEARED", "CLOSED", "TO"))),
    MirrorFault("cleared-without-close-out", "lifecycle", "lifecycle.entry.CLEARED",
                "takes a resolution without its close-out fields",
                lifecycle_changed(lambda lc: dataclasses.replace(lc, requires_on_entry={}))),
    MirrorFault("closed-takes-dialogs", "lifecycle", "lifecycle.terminal.CLOSED",
                "keeps taking dialogs on a closed ticket",
                lifecycle_changed(lambda lc: dataclasses.replace(lc, terminal=frozenset({"CLOSED.CANCELED"})))),
    MirrorFault("refusal-keeps-the-dialog", "lifecycle", "lifecycle.refusal-changes-nothing",
                "refuses a move but keeps its dialog", service_of(KeepsRefusedDialogs)),
    MirrorFault("vague-refusal", "lifecycle", "lifecycle.refusal-names-states",
                "refuses a move without naming the states", answers_rewritten(_vague_refusal)),
    MirrorFault("body-mirror-key-ignored", "roundtrip", "ids.path-body-match",
                "never compares the body's mirrorKey with the path's", service_of(AnyMirrorKey)),
    MirrorFault("ticket-id-ignored", "roundtrip", "ids.ticket-id-match",
                "never compares the body's ticketId with the TO's id it holds", service_of(AnyTicketId)),
    MirrorFault("adopts-unknown-tickets", "roundtrip", "ids.unknown-ticket-update",
                "opens a ticket it never heard of when the TO reports on it", service_of(AdoptsUnknownTickets)),
    MirrorFault("forgets-updates", "roundtrip", "read.reflects-update",
                "answers an update as taken but keeps nothing", service_of(ForgetsUpdates)),
    MirrorFault("echoes-no-dialog", "roundtrip", "update.answer-echoes-dialog",
                "answers every update with a dialog of its own", answers_rewritten(_echoes_the_stored_dialog)),
    MirrorFault("unknown-key-200", "roundtrip", "read.404",
                "answers 200 for a mirrorKey it does not have", answers_rewritten(_unknown_key_answers_200)),
    MirrorFault("dialog-one-over", "boundaries", "update.dialog.maxLength",
                "takes a dialog one character over the limit", update_schema_changed(_one_more("dialog"))),
    MirrorFault("close-out-unlimited", "boundaries", "update.closeOutNarr.maxLength",
                "takes a closeOutNarr of any length", update_schema_changed(_no_max("closeOutNarr"))),
    MirrorFault("dialog-optional", "boundaries", "update.dialog.required",
                "takes an update without a dialog", update_schema_changed(_not_required("dialog"))),
    MirrorFault("required-lists-everything", "boundaries", "body.required-fields-message",
                "names every required field whatever is missing", answers_rewritten(_required_lists_everything)),
    MirrorFault("json-only", "boundaries", "update.multipart",
                "refuses multipart updates (the TO may send files)", requests_intercepted(_json_only)),
    MirrorFault("no-token-needed", "auth", "auth.no-token",
                "answers requests that carry no token", authenticator_of(NoTokenNeeded)),
    MirrorFault("alg-none-accepted", "auth", "auth.alg-none",
                "takes an unsigned token", authenticator_of(AcceptsAlgNone)),
    MirrorFault("expiry-ignored", "auth", "auth.expired",
                "takes a token past its exp", authenticator_of(IgnoresExpiry)),
    MirrorFault("401-without-challenge", "auth", "auth.challenge",
                "answers 401 without WWW-Authenticate", answers_rewritten(_no_challenge)),
    MirrorFault("two-error-keys", "protocol", "errors.exactly-one-key",
                "adds a code beside the error's one key", answers_rewritten(_two_keys)),
    MirrorFault("405-without-allow", "protocol", "http.allow-header",
                "answers 405 without an Allow header", answers_rewritten(_drop_allow)),
    MirrorFault("other-media-type-400", "protocol", "update.415",
                "answers 400 to a body of another media type", requests_intercepted(_other_media_type_is_400)),
    MirrorFault("500-on-broken-json", "protocol", "http.no-5xx",
                "fails with a 500 on a body that is not JSON", requests_intercepted(_crashes_on_broken_json)),
    MirrorFault("500-on-multipart-without-parts", "protocol", "http.no-5xx",
                "fails with a 500 on a multipart body closed before any part",
                requests_intercepted(_crashes_on_multipart_without_parts)),
    MirrorFault("not-found-as-number", "roundtrip", "read.404.body",
                "answers an unknown mirrorKey with the status as the message", answers_rewritten(_not_found_as_number)),
    MirrorFault("not-found-empty", "roundtrip", "read.404.body",
                "answers an unknown mirrorKey with an empty object", answers_rewritten(_not_found_empty)),
    MirrorFault("reads-202", "roundtrip", "read.200",
                "answers GET of its tickets with 202 as if still mirroring", answers_rewritten(_reading_is_202)),
    MirrorFault("updated-reads-202", "roundtrip", "read.reflects-update",
                "answers GET of a ticket just updated with 202 while it syncs", _updated_reads_202()),
    MirrorFault("read-without-ticket-id", "roundtrip", "read.200.required",
                "leaves the TO's ticketId out of GET",
                answers_rewritten(_answer_edited("GET", 200, _without("ticketId")))),
    MirrorFault("update-answers-204", "roundtrip", "update.200",
                "answers a taken update 204 without the ticket", answers_rewritten(_update_answers_204)),
    MirrorFault("update-answer-without-ticket-id", "roundtrip", "update.200.required",
                "leaves the TO's ticketId out of the PATCH answer",
                answers_rewritten(_answer_edited("PATCH", 200, _without("ticketId")))),
    MirrorFault("update-answer-key-as-id", "roundtrip", "update.answer-stored-values",
                "answers an update with the mirrorKey as the ticketId",
                answers_rewritten(_answer_edited("PATCH", 200, lambda a: {**a, "ticketId": a.get("mirrorKey")}))),
    MirrorFault("json-attachments-refused", "roundtrip", "body.seed-examples",
                "refuses attachments inside a JSON update (the page's own example)",
                requests_intercepted(_attachments_only_as_files)),
    MirrorFault("unknown-fields-refused", "roundtrip", "body.unknown-fields-ignored",
                "refuses an update with a field it does not know", update_schema_changed(_closed_to_extra_fields)),
    MirrorFault("ids-refused-as-text", "roundtrip", "ids.path-body-match",
                "refuses mismatched ids with a plain-text answer", answers_rewritten(_ids_refused_as_text)),
    MirrorFault("foreign-key-409", "roundtrip", "ids.path-body-match",
                "answers 409 to an update naming another ticket's mirrorKey", requests_intercepted(_foreign_key_409)),
    MirrorFault("unknown-update-404", "roundtrip", "ids.unknown-ticket-update",
                "answers 404 to an update of a mirrorKey it does not have", requests_intercepted(_unknown_update_404)),
    MirrorFault("existence-before-body", "roundtrip", "order.body-before-existence",
                "looks the ticket up before judging the body", requests_intercepted(_existence_before_body)),
    MirrorFault("dialog-untyped", "boundaries", "update.dialog.type",
                "takes a dialog of any JSON type", update_schema_changed(_untyped("dialog"))),
    MirrorFault("malformed-json-other-key", "protocol", "http.malformed-json",
                "refuses malformed JSON with an error key of its own", requests_intercepted(_malformed_json_other_key)),
    MirrorFault("unknown-paths-400", "protocol", "http.unknown-path",
                "answers 400 for a path it does not serve", requests_intercepted(_unknown_paths_400)),
    MirrorFault("no-head", "protocol", "http.head",
                "answers HEAD with 405", requests_intercepted(_no_head)),
    MirrorFault("unknown-update-404-strict", "protocol", "http.documented-statuses",
                "answers 404, which the spec does not document for PATCH, to an update of an unknown mirrorKey",
                requests_intercepted(_unknown_update_404),
                {"strict": True}),  # the statuses a refusal may take are the mock's own reading: a warning otherwise
    MirrorFault("bad-bodies-422", "protocol", "http.malformed-json",
                "refuses the bodies it cannot use (malformed JSON, no object) with 422",
                answers_rewritten(_unusable_bodies_422)),
]  # fmt: skip
