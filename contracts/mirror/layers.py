"""The mirror's five layers, the TO's calls to a TU's mirror endpoint judged by spec/mirror.yaml.

    boundaries  every limit, required field, enum, type and format of the update body, as JSON and
                as multipart: the provider's boundary checks, run on mirror tickets
    roundtrip   an update is echoed and kept, GET shows it; unknown mirrorKeys; the ids a body must
                carry (the path's mirrorKey, the TO's ticketId) and the order of an update's checks
    lifecycle   every move the TO may or may not make through PATCH, from every state (the TU's own
                moves that reach a state go through the TU hook), then random walks over a model
    auth        bad tokens get 401 with a challenge and a JSON body, before anything else is judged
    protocol    405 with Allow, 415, 404 for other paths, malformed JSON, HEAD, no 5xx for odd
                input, and every refusal a documented status with one of the contract's error bodies

Most need mirror tickets, which the suite opens through the mirror's TU hook (`--tu-hook`);
without it those rules are skipped, saying so. Auth and protocol need none.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

import spec
from contracts.client import Exchange, SkipRule
from contracts.layers import boundaries, lifecycle, protocol
from contracts.layers.auth import NEEDS_SECRET, bad_credentials, expect_401
from contracts.layers.roundtrip import UNKNOWN_FIELD, compare, same_meaning
from contracts.mirror.context import MirrorContext
from contracts.results import LayerResult, LayerRun, Rule
from spec.catalogue import entry_rule, multipart_rule, response_rule
from spec.contract import Body, ResponseField

DOCUMENTED = "http.documented-statuses"
ONE_KEY = "errors.exactly-one-key"


def _views(view: list[ResponseField], role: str, status: int) -> list[str]:
    return [response_rule(role, status, field.name) for field in view]


def _matches_schema(ctx: MirrorContext, rule: Rule, exchange: Exchange, role: str, status: int) -> None:
    """The answer's body matches the schema the spec gives it."""
    schema = spec.response_schema(ctx.contract.document, ctx.contract.operations[role], str(status))
    try:
        jsonschema.validate(exchange.response_json, schema)
    except jsonschema.ValidationError as error:
        rule.violate(
            f"the {status} body does not match the spec's schema: {error.message}",
            exchange,
            breaks=response_rule(role, status, "body"),
        )


# -- boundaries --------------------------------------------------------------------------------


class MirrorProbe(boundaries.Probe):
    """The provider's update probe, aimed at a mirror ticket: its path names the mirrorKey."""

    def __init__(self, ctx: MirrorContext, body: Body, encoding: str) -> None:
        self.ctx, self.body, self.encoding = ctx, body, encoding
        self.role, self.is_create, self.accepted_status = body.role, False, 200
        self._ticket: tuple[str, str] | None = None

    def send(self, body: dict[str, Any], *, ticket_id: str | None = None, files: list | None = None) -> Exchange:
        ctx = self.ctx
        assert isinstance(ctx, MirrorContext)
        key = ctx.key_of(ticket_id) if ticket_id else self.ticket()[1]
        options = {"encoding": self.encoding, "data_part": self.body.data_part, "files": files or []}
        return ctx.client.update(ctx.contract.ticket_path(key), body, **options)

    def ticket_id_at_limit(self, rule: Rule, value: str, why: str) -> None:
        """A mirror ticket that holds a TO id of exactly the limit's length takes an update naming it."""
        ctx = self.ctx
        assert isinstance(ctx, MirrorContext)
        ids, names = ctx.contract.ticket_ids, self.names
        long_id = ids.of(int("9" * max(len(value) - len(ids.prefix), 1)))
        ticket_id, key = ctx.open_ticket(ticket_id=long_id)
        body = self.valid(**{names.ticket_id: ticket_id, names.mirror_key: key})
        self.expect_accepted(rule, body, why, ticket_id=ticket_id)


# A value of another JSON type than each declared one (integers have checks of their own).
WRONG_TYPE: dict[str, Any] = {"string": 12345, "array": "not a list", "object": "not an object", "boolean": "yes"}


def _types(layer: LayerRun, probe: MirrorProbe) -> None:
    """Each field sent as another JSON type is refused, naming it: top-level and inside attachments."""
    if probe.encoding != "json":
        return
    ctx, names = probe.ctx, probe.names
    assert isinstance(ctx, MirrorContext)
    item_names = ctx.contract.attachment_names
    attachment = {
        item_names.content: "ZmlsZSBudW1iZXIgMQ==",
        item_names.name: "trace.txt",
        item_names.media_type: "text/plain",
    }
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for field in probe.body.fields:
        kind = field.type if isinstance(field.type, str) else None
        if kind in WRONG_TYPE:
            cases.append((field.name, field.name, {field.name: WRONG_TYPE[kind]}))
        items = field.schema.get("items", {})
        for name, prop in (items.get("properties") or {}).items():
            if prop.get("type") in WRONG_TYPE:
                path = f"{field.name}[].{name}"
                sent = [{**attachment, name: WRONG_TYPE[prop["type"]]}] if field.name == names.attachments else None
                if sent is not None:
                    cases.append((path, f"{field.name}[0].{name}", {field.name: sent}))
    for path, shown, overrides in cases:
        covers = [
            boundaries.field_rule(probe.role, path, "type"),
            boundaries.NAMES_FIELD,
            response_rule(probe.role, 400),
            response_rule(probe.role, 400, "body"),
        ]
        with probe.rule(layer, f"{path}.wrong-type", f"{path} of another JSON type is refused", covers) as rule:
            exchange = probe.expect_rejected(rule, probe.valid(**overrides), shown, f"{shown} as {overrides!r}"[:120])
            if exchange.status == 400:
                _matches_schema(ctx, rule, exchange, probe.role, 400)


def run_boundaries(ctx: MirrorContext) -> LayerResult:
    layer = ctx.layer("boundaries", "Boundaries: limits, required fields, enums, ranges and formats of an update")
    checks = (
        boundaries._lengths,
        boundaries._required,
        boundaries._enums,
        boundaries._integers,
        boundaries._date_times,
        boundaries._attachments,
        _types,
    )
    for encoding in boundaries.ENCODINGS:
        probe = MirrorProbe(ctx, ctx.contract.update, encoding)
        for check in checks:
            check(layer, probe)  # type: ignore[arg-type]
    return layer.finish()


# -- round trip --------------------------------------------------------------------------------


def run_roundtrip(ctx: MirrorContext) -> LayerResult:
    layer = ctx.layer("roundtrip", "Round trip: an update echoed and kept, and which ticket it is about")
    for encoding in ("json", "multipart"):
        _update_and_read(ctx, layer, encoding)
    _unknown(ctx, layer)
    _examples_and_unknown_fields(ctx, layer)
    _ids(ctx, layer)
    return layer.finish()


def _opening_fields(ctx: MirrorContext) -> dict[str, Any]:
    """Fields a TU's ticket has besides its ids (what the TO's create carried), for the hook to keep."""
    names = ctx.contract.names
    skip = {names.ticket_id, names.mirror_key, names.state, names.dialog}
    found: dict[str, Any] = {}
    for field in ctx.contract.ticket_view:
        if field.source in skip or field.source in ctx.contract.update.properties:
            continue
        kinds = [field.type] if isinstance(field.type, str) else list(field.type or ["string"])
        found[field.source] = 2 if kinds == ["integer"] else f"mirror {field.source}"
    return found


def _update_and_read(ctx: MirrorContext, layer: LayerRun, encoding: str) -> None:
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    covers = [
        "read.reflects-update",
        response_rule("update", 200),
        response_rule("update", 200, "body"),
        response_rule("update", 200, "required"),
        "update.answer-echoes-dialog",
        "update.answer-stored-values",
        *_views(contract.update_view, "update", 200),
        response_rule("read", 200),
        response_rule("read", 200, "body"),
        response_rule("read", 200, "required"),
        *_views(contract.ticket_view, "read", 200),
        "read.date-time-as-sent",
    ]
    if encoding == "multipart":
        covers.append(multipart_rule("update"))
    title = f"a TO update sent as {encoding} is echoed, then shown by GET"
    with layer.rule(f"update.{encoding}", title, covers) as rule:
        ticket_id, key = ctx.open_ticket(**_opening_fields(ctx))
        path = contract.ticket_path(key)
        before = client.get(path)
        if not rule.expect_status(before, 200, "GET a mirror ticket just opened", breaks=response_rule("read", 200)):
            return
        _matches_schema(ctx, rule, before, "read", 200)
        stored = before.response_json if isinstance(before.response_json, dict) else {}
        absent = [name for name in (names.ticket_id, names.mirror_key, names.state) if name not in stored]
        rule.expect(not absent, f"GET lacks {', '.join(absent)}", before, breaks=response_rule("read", 200, "required"))
        extra: dict[str, Any] = {names.dialog: f"the TO's update as {encoding}"}
        extra.update({f.name: 4242 for f in contract.update.fields if f.type == "integer"})
        extra.update({f.name: "2025-01-15T10:30:00Z" for f in contract.update.fields if f.is_date_time})
        update = contract.example_update(ticket_id, key, contract.lifecycle.initial, **extra)
        update.pop(names.attachments, None)
        exchange = client.update(path, update, encoding=encoding, data_part=contract.update.data_part)
        if not rule.expect_status(exchange, 200, f"a TO update as {encoding}", breaks=response_rule("update", 200)):
            return
        _matches_schema(ctx, rule, exchange, "update", 200)
        answer = exchange.response_json if isinstance(exchange.response_json, dict) else {}
        rule.expect(
            answer.get(names.dialog) == update[names.dialog],
            f"the PATCH answer's {names.dialog} must be the one just sent",
            exchange,
            breaks="update.answer-echoes-dialog",
        )
        required = spec.response_schema(contract.document, contract.operations["update"], "200").get("required", [])
        missing = [name for name in required if name not in answer]
        rule.expect(
            not missing,
            f"the PATCH answer lacks {', '.join(missing)}",
            exchange,
            breaks=response_rule("update", 200, "required"),
        )
        # The answer's other values are the ticket's: what GET showed, and what the update replaced.
        shown_before = {f.source: stored[f.name] for f in contract.ticket_view if f.name in stored}
        kept = {**shown_before, **{k: v for k, v in update.items() if k != names.dialog}}
        for field in contract.update_view:
            if field.source == names.dialog or field.name not in answer or field.source not in kept:
                continue
            rule.expect(
                same_meaning(answer[field.name], kept[field.source], field.type),
                f"the PATCH answer shows {field.name}={answer[field.name]!r}; the ticket has {kept[field.source]!r}",
                exchange,
                breaks="update.answer-stored-values",
            )
        compare(rule, contract.update_view, {}, exchange, "PATCH answer", role="update", status=200)
        after = client.get(path)
        if rule.expect_status(after, 200, "read back", breaks="read.reflects-update"):
            compare(
                rule, contract.ticket_view, update, after, "GET after the update", role="read", status=200,
                breaks="read.reflects-update",
            )  # fmt: skip


def _unknown(ctx: MirrorContext, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    unknown = ctx.unknown_ticket_id()
    covers = [response_rule("read", 404), response_rule("read", 404, "body")]
    title = f"GET of an unknown mirrorKey ({unknown}) gets 404 {contract.errors.not_found}"
    with layer.rule("read.unknown", title, covers) as rule:
        exchange = client.get(contract.ticket_path(unknown))
        if rule.expect_status(exchange, 404, f"GET {unknown}"):
            answer = exchange.response_json
            rule.expect(
                isinstance(answer, dict) and contract.errors.not_found in answer,
                f"the 404 must carry {contract.errors.not_found}",
                exchange,
                breaks=response_rule("read", 404, "body"),
            )
            _matches_schema(ctx, rule, exchange, "read", 404)


def _examples_and_unknown_fields(ctx: MirrorContext, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    with layer.rule("examples", "the page's own update example is accepted", ["body.seed-examples"]) as rule:
        ticket_id, key = ctx.open_ticket()
        body = contract.example_update(ticket_id, key, contract.lifecycle.initial)
        rule.expect_status(client.update(contract.ticket_path(key), body), 200, "the page's update example")
    with layer.rule("unknown-fields", "unknown fields are ignored", ["body.unknown-fields-ignored"]) as rule:
        ticket_id, key = ctx.open_ticket()
        body = contract.example_update(ticket_id, key, contract.lifecycle.initial, **{UNKNOWN_FIELD: "ignore me"})
        body.pop(contract.names.attachments, None)
        rule.expect_status(client.update(contract.ticket_path(key), body), 200, f"an update with {UNKNOWN_FIELD!r}")


def _ids(ctx: MirrorContext, layer: LayerRun) -> None:
    """The body's mirrorKey and ticketId, and the order in which an update's checks apply."""
    contract, client, names, lifecycle = ctx.contract, ctx.client, ctx.contract.names, ctx.contract.lifecycle
    errors = contract.errors
    try:
        ticket_id, key = ctx.open_ticket()
        other_id, other_key = ctx.open_ticket()
    except SkipRule as reason:
        every = ["ids.path-body-match", "ids.ticket-id-match", "order.ids-before-lifecycle", "update.400"]
        every += ["order.existence-before-ids", "order.body-before-existence", "ids.unknown-ticket-update"]
        layer.skip("ids", "which ticket an update is about", every, str(reason), reason.remedy)
        return
    path = contract.ticket_path(key)

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

    # A state the TO may take from the initial one: a refusal then is about the ids alone.
    allowed = next(
        (s for s in lifecycle.states if s != lifecycle.initial and lifecycle.allows(lifecycle.initial, s, "TO")),
        lifecycle.initial,
    )
    fields = contract.entry_fields(allowed)
    cases = (
        ("ids.path-body", "ids.path-body-match", f"an update whose body {names.mirror_key} is not the path's",
         {names.mirror_key: other_key}),
        ("ids.ticket-id", "ids.ticket-id-match", f"an update whose {names.ticket_id} is not the ticket's TO id",
         {names.ticket_id: other_id}),
    )  # fmt: skip
    for rule_id, covers, title, wrong in cases:
        with layer.rule(rule_id, f"{title} is refused", [covers, response_rule("update", 400)]) as rule:
            dialog = f"{rule_id} differ"
            body = contract.example_update(ticket_id, key, allowed, **{names.dialog: dialog, **fields, **wrong})
            body.pop(names.attachments, None)
            exchange = client.update(path, body)
            if rule.expect_status(exchange, 400, f"{title} on {path}"):
                rule.expect(
                    errors.message(exchange.response_json) is not None, "the 400 must be an error body", exchange
                )
            unchanged(rule, dialog, exchange)
    refused = next((s for s in lifecycle.states if not lifecycle.allows(lifecycle.initial, s, "TO")), None)
    if refused is not None:
        title = f"a foreign {names.mirror_key} is refused for the {names.mirror_key}, whatever state it asks for"
        with layer.rule(
            "order.ids-before-lifecycle", title, ["order.ids-before-lifecycle", "body.violation-names-field"]
        ) as rule:
            body = contract.example_update(ticket_id, other_key, refused, **contract.entry_fields(refused))
            body.pop(names.attachments, None)
            exchange = client.update(path, body)
            if rule.expect_status(exchange, 400, f"a foreign {names.mirror_key} asking for {refused}"):
                message = errors.message(exchange.response_json) or ""
                rule.expect(names.mirror_key in message, f"the refusal must be about the {names.mirror_key}", exchange)
    unknown = ctx.unknown_ticket_id()
    with layer.rule(
        "order.existence-before-ids",
        "an update of an unknown mirrorKey gets not-found, whatever its ids",
        ["order.existence-before-ids", "ids.unknown-ticket-update"],
    ) as rule:
        body = contract.example_update(ticket_id, unknown, lifecycle.initial)
        body.pop(names.attachments, None)
        for label, sent in (("its own mirrorKey", body), ("another ticket's ids", {**body, names.mirror_key: key})):
            exchange = client.update(contract.ticket_path(unknown), sent)
            if rule.expect_status(
                exchange, 400, f"an update of unknown {unknown} with {label}", breaks="ids.unknown-ticket-update"
            ):
                answer = exchange.response_json
                rule.expect(
                    isinstance(answer, dict) and errors.not_found in answer,
                    f"an update of unknown {unknown} with {label} must get {errors.not_found}",
                    exchange,
                    breaks="ids.unknown-ticket-update",
                )
    with layer.rule(
        "order.body-before-existence",
        "an invalid update of an unknown mirrorKey gets illegalArgument",
        "order.body-before-existence",
    ) as rule:
        body = contract.example_update(ticket_id, unknown, lifecycle.initial)
        body.pop(names.dialog)
        exchange = client.update(contract.ticket_path(unknown), body)
        if rule.expect_status(exchange, 400, f"an update of unknown {unknown} without {names.dialog}"):
            answer = exchange.response_json
            rule.expect(
                isinstance(answer, dict) and errors.illegal_argument in answer,
                f"the body is judged before the ticket is looked up: expected {errors.illegal_argument}",
                exchange,
            )


# -- lifecycle ---------------------------------------------------------------------------------


def run_lifecycle(ctx: MirrorContext) -> LayerResult:
    """Every move the TO may and may not make, from every state; then the random walks."""
    layer = ctx.layer("lifecycle", "Lifecycle: the TO's moves, allowed and refused, from every state")
    states = ctx.contract.lifecycle
    spare: dict[str, tuple[str, str]] = {}
    for source in states.states:
        for side in ctx.checked_sides():
            for target in states.states:
                allowed = states.allows(source, target, side)  # type: ignore[arg-type]
                title = f"{side}: {source} -> {target} is {'allowed' if allowed else 'refused'}"
                rule_id = f"{side}.{source}->{target}"
                with layer.rule(rule_id, title, lifecycle.edge_covers(states, source, target, side)) as rule:
                    ticket = spare.pop(source, None) or ctx.ticket_in(source)
                    if lifecycle.check_edge(ctx, rule, ticket, source, target, side, allowed):
                        spare[source] = ticket
                needs = states.entry_requirements(source, target)
                if allowed and needs:
                    title = f"{side}: {source} -> {target} without {','.join(needs)} is refused"
                    covers = [entry_rule(target), "body.required-fields-message"]
                    with layer.rule(f"{rule_id}.without-entry-fields", title, covers) as rule:
                        ticket = spare.pop(source, None) or ctx.ticket_in(source)
                        if lifecycle.check_entry_requirements(ctx, rule, ticket, source, target, side):
                            spare[source] = ticket
    lifecycle.random_walks(ctx, layer)
    return layer.finish()


# -- auth --------------------------------------------------------------------------------------


def run_auth(ctx: MirrorContext) -> LayerResult:
    layer = ctx.layer("auth", "Auth: bad tokens get 401, before anything else is judged")
    contract, client = ctx.contract, ctx.client
    unknown = ctx.unknown_ticket_id()
    path = contract.ticket_path(unknown)
    credentials = bad_credentials(ctx.tokens)
    body = contract.example_update(ctx.fresh_ticket_id(), unknown, contract.lifecycle.initial)
    body.pop(contract.names.attachments, None)
    for label, (contract_rule, authorization) in credentials.items():
        slug = label.replace(" ", "-")
        for method, role in (("GET", "read"), ("PATCH", "update")):
            covers = [contract_rule, response_rule(role, 401), response_rule(role, 401, "body"), "auth.challenge"]
            covers.append("auth.json-body")
            with layer.rule(f"401.{slug}.{method}", f"{label}: {method} gets 401", covers) as rule:
                sent = body if method == "PATCH" else None
                exchange = client.send(method, path, json_body=sent, token=None, authorization=authorization)
                expect_401(rule, exchange, label)
                if exchange.status == 401 and isinstance(exchange.response_json, dict):
                    _matches_schema(ctx, rule, exchange, role, 401)
    for missing, remedy in (("auth.expired", NEEDS_SECRET), ("auth.not-yet-valid", "give --jwt-secret")):
        if not any(contract_rule == missing for contract_rule, _ in credentials.values()):
            layer.skip(
                missing,
                ctx.catalogue[missing].text,
                missing,
                "needs a token made for it, which the suite cannot forge",
                remedy,
            )
    with layer.rule(
        "order.auth-first", "a request with no token gets 401 whatever else is wrong", "order.auth-first"
    ) as rule:
        exchange = client.send(
            "PATCH", path, raw_body=b"not json at all", headers={"Content-Type": "text/plain"}, token=None
        )
        rule.expect_status(exchange, 401, "no token, a text/plain body that is not JSON")
    return layer.finish()


# -- protocol ----------------------------------------------------------------------------------


def run_protocol(ctx: MirrorContext) -> LayerResult:
    layer = ctx.layer("protocol", "Protocol: methods, media types, paths, and never a 5xx")
    contract, client = ctx.contract, ctx.client
    protocol.method_rules(ctx, layer)  # type: ignore[arg-type]
    unknown = ctx.unknown_ticket_id()
    path = contract.ticket_path(unknown)
    body = contract.example_update(ctx.fresh_ticket_id(), unknown, contract.lifecycle.initial)
    body.pop(contract.names.attachments, None)
    covers = [response_rule("update", 415), response_rule("update", 415, "body")]
    for media_type in protocol.OTHER_MEDIA_TYPES:
        with layer.rule(f"415.{media_type}", f"PATCH with Content-Type {media_type} gets 415", covers) as rule:
            exchange = client.send(
                "PATCH", path, raw_body=json.dumps(body).encode(), headers={"Content-Type": media_type}
            )
            if rule.expect_status(exchange, 415, f"PATCH as {media_type}"):
                rule.expect(
                    protocol._is_json_error(ctx, exchange),  # type: ignore[arg-type]
                    "the 415 is not the contract's JSON error body",
                    exchange,
                    breaks=response_rule("update", 415, "body"),
                )
    with layer.rule(
        "415.before-body", "another media type with a broken body gets 415, not 400", "order.media-type-before-body"
    ) as rule:
        exchange = client.send("PATCH", path, raw_body=b"{not json", headers={"Content-Type": "text/plain"})
        rule.expect_status(exchange, 415, "PATCH text/plain '{not json'")
    with layer.rule("400.malformed-json", "PATCH with malformed JSON gets 400", "http.malformed-json") as rule:
        for label, raw in protocol.MALFORMED_JSON.items():
            exchange = client.send("PATCH", path, raw_body=raw, headers={"Content-Type": "application/json"})
            if rule.expect_status(exchange, 400, f"PATCH with {label}"):
                answer = exchange.response_json
                rule.expect(
                    isinstance(answer, dict) and contract.errors.illegal_argument in answer,
                    f"PATCH with {label}: the 400 must carry {contract.errors.illegal_argument}",
                    exchange,
                )
    collection = ctx.collection_path
    for other in (collection, collection + "s", path + "/extra"):
        with layer.rule(
            f"404.{other}", f"GET {other} (no such path) gets 404", ["http.unknown-path", protocol.ERROR_PAGES_JSON]
        ) as rule:
            exchange = client.send("GET", other)
            if rule.expect_status(exchange, 404, f"GET {other}"):
                rule.expect(
                    protocol._is_json_error(ctx, exchange),  # type: ignore[arg-type]
                    "the 404 is not the contract's JSON error body",
                    exchange,
                    breaks=protocol.ERROR_PAGES_JSON,
                )
    with layer.rule("head", "HEAD answers as GET does, without a body", "http.head") as rule:
        try:
            _, key = ctx.open_ticket()
        except SkipRule:
            key = unknown
        target = contract.ticket_path(key)
        get, head = client.get(target), client.send("HEAD", target)
        if rule.expect_status(head, get.status or 200, f"HEAD {target} (GET answered {get.status})"):
            rule.expect(not head.response_text, "a HEAD answer carries no body", head)
    with layer.rule(
        "no-5xx.odd-ids", "GET with odd mirrorKeys never gets a 5xx", ["http.no-5xx", "http.json-parses"]
    ) as rule:
        for odd in protocol.ODD_IDS:
            protocol._answers_and_parses(rule, client.send("GET", contract.ticket_path(odd)), f"GET key {odd[:20]!r}")
    covers = ["http.no-5xx", "http.json-parses"]
    with layer.rule("no-5xx.odd-json", "PATCH with odd JSON bodies never gets a 5xx", covers) as rule:
        for label, raw in protocol.odd_bodies(contract.names).items():
            exchange = client.send("PATCH", path, raw_body=raw, headers={"Content-Type": "application/json"})
            protocol._answers_and_parses(rule, exchange, f"PATCH with {label}")
    with layer.rule("no-5xx.odd-multipart", "PATCH with broken multipart never gets a 5xx", covers) as rule:
        for label, raw, content_type in protocol._odd_multipart():
            exchange = client.send("PATCH", path, raw_body=raw, headers={"Content-Type": content_type})
            protocol._answers_and_parses(rule, exchange, f"PATCH with {label}")
    _refusals(ctx, layer, path, body)
    return layer.finish()


def _refusals(ctx: MirrorContext, layer: LayerRun, path: str, body: dict[str, Any]) -> None:
    """Every refusal of an operation has a status the spec documents for it, and one error key."""
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    documented = {
        role: {int(status) for status in spec.operation(contract.document, op)[2]["responses"]}
        for role, op in contract.operations.items()
    }
    without_dialog = {k: v for k, v in body.items() if k != names.dialog}
    asks = (
        ("read", "GET an unknown mirrorKey", lambda: client.get(path)),
        ("update", "PATCH an unknown mirrorKey", lambda: client.update(path, body)),
        ("update", f"PATCH without {names.dialog}", lambda: client.update(path, without_dialog)),
        ("update", "PATCH with a body that is no object", lambda: client.update(path, [body])),
    )
    with layer.rule(
        "refusals", "each refusal has a documented status and one of the contract's error keys", [DOCUMENTED, ONE_KEY]
    ) as rule:
        for role, what, ask in asks:
            exchange = ask()
            if not rule.expect_status(exchange, (400, 404), what):
                continue
            rule.expect(
                exchange.status in documented[role],
                f"{what}: {exchange.status} is not among the answers the spec documents ({sorted(documented[role])})",
                exchange,
                breaks=DOCUMENTED,
            )
            rule.expect(
                contract.errors.message(exchange.response_json) is not None,
                f"{what}: the body must be a JSON object with exactly one of {', '.join(contract.errors.all)}",
                exchange,
                breaks=ONE_KEY,
            )


LAYERS = {
    "boundaries": run_boundaries,
    "roundtrip": run_roundtrip,
    "lifecycle": run_lifecycle,
    "auth": run_auth,
    "protocol": run_protocol,
}
