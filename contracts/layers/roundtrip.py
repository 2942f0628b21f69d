"""Layer 3, round trip: what is stored and shown, and which ticket an update is about.

What was created is what GET returns, under the response's own names (`troubleDectectionTime`
reports the request's `troubleDetectionTime`, as the spec's `x-request-field` says), compared by
meaning: a date-time is the same instant, a number the same number, whichever of the types the
page gives a field it is shown in. An update is echoed and kept. The page's own examples are
accepted, unknown fields ignored. An update names its ticket twice (path and body) and its
mirrorKey: mismatches are refused and change nothing, and the contract's order of checks holds.
"""

from __future__ import annotations

import datetime
from typing import Any

from contracts.client import Exchange, SkipRule
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule
from spec.catalogue import multipart_rule, response_rule
from spec.contract import ResponseField, as_declared

NAME, TITLE = "roundtrip", "Round trip: stored and shown, and which ticket an update is about"
UNKNOWN_FIELD = "contractSuiteUnknownField"


def _instant(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None


def _json_type_ok(value: Any, declared: Any) -> bool:
    kinds = [declared] if isinstance(declared, str) else list(declared or [])
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    return not kinds or any(checks.get(kind, lambda v: True)(value) for kind in kinds)


def same_meaning(shown: Any, sent: Any, declared: Any) -> bool:
    """Whether an answer's value means what was sent: the same instant, the same number."""
    expected = as_declared(sent, declared)
    if shown == expected or shown == sent:
        return True
    if isinstance(declared, list) and str(shown) == str(sent):  # a field the page types two ways
        return True
    sent_instant, shown_instant = _instant(sent), _instant(shown)
    return sent_instant is not None and shown_instant is not None and sent_instant == shown_instant


def compare(
    rule: Rule,
    view: list[ResponseField],
    sent: dict[str, Any],
    exchange: Exchange,
    what: str,
    *,
    role: str,
    status: int,
    breaks: str | None = None,
) -> None:
    """Each answer field that reports a sent field means the same; each has its declared type."""
    answer = exchange.response_json
    if not rule.expect(isinstance(answer, dict), f"{what}: the answer is not a JSON object", exchange):
        return
    for field in view:
        if field.name in answer and not _json_type_ok(answer[field.name], field.type):
            rule.violate(
                f"{what}: {field.name} is {answer[field.name]!r}, the spec declares {field.type}",
                exchange,
                breaks=response_rule(role, status, field.name),
            )
        if field.source not in sent:
            continue
        expected = as_declared(sent[field.source], field.type)
        if field.name not in answer:
            rule.violate(f"{what}: {field.name} is missing (sent {field.source}={expected!r})", exchange, breaks=breaks)
        elif not same_meaning(answer[field.name], sent[field.source], field.type):
            rule.violate(f"{what}: {field.name} is {answer[field.name]!r}, sent {expected!r}", exchange, breaks=breaks)
        elif _instant(expected) is not None and answer[field.name] != expected:
            rule.violate(
                f"{what}: {field.name} is {answer[field.name]!r}, the same instant as the {expected!r} sent",
                exchange,
                breaks="read.date-time-as-sent",
            )


def _view_rules(view: list[ResponseField], role: str, status: int) -> list[str]:
    return [response_rule(role, status, field.name) for field in view]


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    if ctx.config.read_only:
        _read_only(ctx, layer)
        return layer.finish()
    for encoding in ("json", "multipart"):
        created = _create_and_read(ctx, layer, encoding)
        if created:
            _update_and_read(ctx, layer, encoding, created)
    _unknown_ticket(ctx, layer)
    _examples_and_unknown_fields(ctx, layer)
    _ids(ctx, layer)
    return layer.finish()


def _read_only(ctx: Context, layer: LayerRun) -> None:
    contract = ctx.contract
    covers = [response_rule("read", 200), *_view_rules(contract.ticket_view, "read", 200)]
    for ticket_id in ctx.config.ticket_ids:
        with layer.rule(f"read.{ticket_id}", f"GET {ticket_id} answers 200 with its id", covers) as rule:
            exchange = ctx.client.get(contract.ticket_path(ticket_id))
            if rule.expect_status(exchange, 200, f"GET {ticket_id}"):
                answer = exchange.response_json or {}
                rule.expect(
                    answer.get(contract.names.ticket_id) == ticket_id,
                    "the answer names another ticket",
                    exchange,
                    breaks="read.reflects-create",
                )
                compare(rule, contract.ticket_view, {}, exchange, f"GET {ticket_id}", role="read", status=200)
    _unknown_ticket(ctx, layer)


def _create_and_read(ctx: Context, layer: LayerRun, encoding: str) -> dict[str, Any] | None:
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    covers = [
        "read.reflects-create",
        "read.date-time-as-sent",
        response_rule("create", 201),
        "create.echoes-mirror-key",
        response_rule("create", 201, names.ticket_id),
        response_rule("read", 200),
        response_rule("read", 200, "required"),
        *_view_rules(contract.ticket_view, "read", 200),
    ]
    if encoding == "multipart":
        covers.append(multipart_rule("create"))
    with layer.rule(f"create.{encoding}", f"a ticket created as {encoding} reads back as sent", covers) as rule:
        created = contract.example_create(client.keys.fresh(), **{names.dialog: f"round trip as {encoding}"})
        exchange = client.create(
            contract.collection_path, created, encoding=encoding, data_part=contract.create.data_part
        )
        if not rule.expect_status(exchange, 201, f"create as {encoding}", breaks=response_rule("create", 201)):
            return None
        answer = exchange.response_json if isinstance(exchange.response_json, dict) else {}
        rule.expect(
            answer.get(names.mirror_key) == created[names.mirror_key],
            f"the 201 must echo the {names.mirror_key} sent",
            exchange,
            breaks="create.echoes-mirror-key",
        )
        ticket_id = answer.get(names.ticket_id)
        if not rule.expect(
            contract.ticket_ids.matches(ticket_id),
            f"the 201's {names.ticket_id} must be {contract.ticket_ids.prefix} and a number, at most "
            f"{contract.ticket_ids.max_length} characters; got {ticket_id!r}",
            exchange,
            breaks=response_rule("create", 201, names.ticket_id),
        ):
            return None
        read = client.get(contract.ticket_path(ticket_id))
        if rule.expect_status(read, 200, "read back", breaks=response_rule("read", 200)):
            shown = read.response_json if isinstance(read.response_json, dict) else {}
            absent = [name for name in (names.ticket_id, names.mirror_key, names.state) if name not in shown]
            rule.expect(
                not absent, f"GET lacks {', '.join(absent)}", read, breaks=response_rule("read", 200, "required")
            )
            sent = {**created, names.ticket_id: ticket_id, names.state: contract.lifecycle.initial}
            compare(rule, contract.ticket_view, sent, read, "GET after create", role="read", status=200)
        return {**created, names.ticket_id: ticket_id}


def _update_and_read(ctx: Context, layer: LayerRun, encoding: str, created: dict[str, Any]) -> None:
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    ticket_id = created[names.ticket_id]
    covers = [
        "read.reflects-update",
        response_rule("update", 200),
        "update.answer-echoes-dialog",
        "update.answer-stored-values",
        *_view_rules(contract.update_view, "update", 200),
    ]
    if encoding == "multipart":
        covers.append(multipart_rule("update"))
    with layer.rule(f"update.{encoding}", f"an update sent as {encoding} is echoed, then kept", covers) as rule:
        extra: dict[str, Any] = {names.dialog: f"update as {encoding}"}
        # An update's integers (the customer count) replace the stored values (CONTRACT.md).
        extra.update({f.name: 4242 for f in contract.update.fields if f.type == "integer"})
        update = contract.example_update(ticket_id, created[names.mirror_key], contract.lifecycle.initial, **extra)
        update.pop(names.attachments, None)
        exchange = client.update(
            contract.ticket_path(ticket_id), update, encoding=encoding, data_part=contract.update.data_part
        )
        if not rule.expect_status(exchange, 200, f"update as {encoding}", breaks=response_rule("update", 200)):
            return
        answer = exchange.response_json if isinstance(exchange.response_json, dict) else {}
        rule.expect(
            answer.get(names.dialog) == update[names.dialog],
            f"the PATCH answer's {names.dialog} must be the one just sent",
            exchange,
            breaks="update.answer-echoes-dialog",
        )
        stored = {**created, **update}
        stored.pop(names.dialog)
        compare(
            rule,
            contract.update_view,
            stored,
            exchange,
            "PATCH answer",
            role="update",
            status=200,
            breaks="update.answer-stored-values",
        )
        read = client.get(contract.ticket_path(ticket_id))
        if rule.expect_status(read, 200, "read back"):
            compare(
                rule, contract.ticket_view, {**created, **update}, read, "GET after update", role="read", status=200
            )


def _unknown_ticket(ctx: Context, layer: LayerRun) -> None:
    contract = ctx.contract
    unknown = ctx.unknown_ticket_id()
    covers = [response_rule("read", 404), response_rule("read", 404, "body")]
    with layer.rule(
        "read.unknown", f"GET of an unknown ticket ({unknown}) gets 404 {contract.errors.not_found}", covers
    ) as rule:
        exchange = ctx.client.get(contract.ticket_path(unknown))
        if rule.expect_status(exchange, 404, f"GET {unknown}"):
            answer = exchange.response_json
            rule.expect(
                isinstance(answer, dict) and contract.errors.not_found in answer,
                f"the 404 must carry {contract.errors.not_found}",
                exchange,
                breaks=response_rule("read", 404, "body"),
            )


def _examples_and_unknown_fields(ctx: Context, layer: LayerRun) -> None:
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    with layer.rule(
        "examples", "the page's own create and update examples are accepted", ["body.seed-examples"]
    ) as rule:
        body = contract.example_create(client.keys.fresh())
        created = client.create(contract.collection_path, body)
        if rule.expect_status(created, 201, "the page's create example"):
            ticket_id = (created.response_json or {}).get(names.ticket_id)
            update = contract.example_update(str(ticket_id), body[names.mirror_key], contract.lifecycle.initial)
            rule.expect_status(
                client.update(contract.ticket_path(str(ticket_id)), update), 200, "the page's update example"
            )
    with layer.rule("unknown-fields", "unknown fields are ignored", ["body.unknown-fields-ignored"]) as rule:
        body = contract.example_create(client.keys.fresh(), **{UNKNOWN_FIELD: "ignore me"})
        rule.expect_status(client.create(contract.collection_path, body), 201, f"a create with {UNKNOWN_FIELD!r}")


def _ids(ctx: Context, layer: LayerRun) -> None:
    """Path and body ids, the mirrorKey, and the order in which an update's checks apply."""
    contract, client, names, lifecycle = ctx.contract, ctx.client, ctx.contract.names, ctx.contract.lifecycle
    errors = contract.errors
    try:
        ticket_id, key = ctx.open_ticket()
        other_id, _ = ctx.open_ticket()
    except SkipRule as reason:
        every = ["ids.path-body-match", "ids.mirror-key-match", "order.ids-before-lifecycle"]
        every += ["order.existence-before-ids", "order.body-before-existence"]
        layer.skip("ids", "which ticket an update is about", every, str(reason), reason.remedy)
        return
    path = contract.ticket_path(ticket_id)

    def unchanged(rule: Rule, dialog: str, *exchanges: Exchange) -> None:
        state, read = ctx.state_of(ticket_id)
        shown = read.response_json if isinstance(read.response_json, dict) else {}
        rule.expect(
            state == lifecycle.initial and shown.get(names.dialog) != dialog,
            f"a refused update must change nothing; the ticket now shows {names.state}={state!r}, "
            f"{names.dialog}={shown.get(names.dialog)!r}",
            *exchanges,
            read,
        )

    cancel = lifecycle.cancel_request or lifecycle.initial
    with layer.rule(
        "ids.path-body", f"an update whose body {names.ticket_id} is not the path's is refused", "ids.path-body-match"
    ) as rule:
        dialog = "ids differ"
        body = contract.example_update(other_id, key, cancel, **{names.dialog: dialog})
        body.pop(names.attachments, None)
        exchange = client.update(path, body)
        if rule.expect_status(exchange, 400, f"body {names.ticket_id} {other_id} on path {ticket_id}"):
            rule.expect(errors.message(exchange.response_json) is not None, "the 400 must be an error body", exchange)
        unchanged(rule, dialog, exchange)
    with layer.rule(
        "ids.mirror-key", f"an update whose {names.mirror_key} is not the ticket's is refused", "ids.mirror-key-match"
    ) as rule:
        dialog = "foreign mirrorKey"
        foreign = client.keys.fresh()
        body = contract.example_update(ticket_id, foreign, cancel, **{names.dialog: dialog})
        body.pop(names.attachments, None)
        exchange = client.update(path, body)
        rule.expect_status(exchange, 400, f"{names.mirror_key} {foreign!r} for {ticket_id}")
        unchanged(rule, dialog, exchange)
    refused = next((s for s in lifecycle.states if not lifecycle.allows(lifecycle.initial, s, "TU")), None)
    if refused is not None:
        title = f"a foreign {names.mirror_key} is refused for the {names.mirror_key}, whatever state it asks for"
        with layer.rule(
            "order.ids-before-lifecycle", title, ["order.ids-before-lifecycle", "body.violation-names-field"]
        ) as rule:
            body = contract.example_update(ticket_id, client.keys.fresh(), refused)
            body.pop(names.attachments, None)
            exchange = client.update(path, body)
            if rule.expect_status(exchange, 400, f"a foreign {names.mirror_key} asking for {refused}"):
                message = errors.message(exchange.response_json) or ""
                rule.expect(names.mirror_key in message, f"the refusal must be about the {names.mirror_key}", exchange)
    unknown = ctx.unknown_ticket_id()
    with layer.rule(
        "order.existence-before-ids",
        "an update of an unknown ticket gets not-found, whatever its ids",
        ["order.existence-before-ids", "ids.unknown-ticket-update"],
    ) as rule:
        body = contract.example_update(unknown, key, lifecycle.initial)
        body.pop(names.attachments, None)
        for label, sent in (("matching ids", body), ("another ticket's ids", {**body, names.ticket_id: ticket_id})):
            exchange = client.update(contract.ticket_path(unknown), sent)
            if rule.expect_status(
                exchange, 400, f"an update of unknown {unknown} with {label}", breaks="ids.unknown-ticket-update"
            ):
                answer = exchange.response_json
                rule.expect(
                    isinstance(answer, dict) and errors.not_found in answer,
                    f"an update of unknown {unknown} with {label} must get {errors.not_found}",
                    exchange,
                )
    with layer.rule(
        "order.body-before-existence",
        "an invalid update of an unknown ticket gets illegalArgument",
        "order.body-before-existence",
    ) as rule:
        body = contract.example_update(unknown, key, lifecycle.initial)
        body.pop(names.dialog)
        exchange = client.update(contract.ticket_path(unknown), body)
        if rule.expect_status(exchange, 400, f"an update of unknown {unknown} without {names.dialog}"):
            answer = exchange.response_json
            rule.expect(
                isinstance(answer, dict) and errors.illegal_argument in answer,
                f"the body is judged before the ticket is looked up: expected {errors.illegal_argument}",
                exchange,
            )
