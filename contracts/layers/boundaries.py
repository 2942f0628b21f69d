"""Layer 2, boundaries: every limit, required field, enum, range and format, at and past its edge.

All cases come from the request schemas: each string at its maxLength (accepted), one over and
far over (400, naming the field); each required field missing or null (400, `required fields:
<name>`), and empty (a value, never "missing"); each enum member accepted and its near misses
(and, for the state, every other state) refused; integer range ends; strict JSON types;
date-times and base64 attachments valid and invalid. As JSON and as multipart.
"""

from __future__ import annotations

import base64
from contextlib import AbstractContextManager
from typing import Any

from contracts.client import Exchange
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule
from contracts.samples import (
    FAR_OVER_LENGTH,
    INVALID_BASE64,
    INVALID_DATE_TIMES,
    LOWER_CASE_DATE_TIMES,
    NOT_INTEGERS,
    VALID_BASE64,
    VALID_DATE_TIMES,
    near_misses,
)
from spec.catalogue import field_rule, multipart_rule, response_rule
from spec.contract import Body, Contract, Field, FieldNames, text_of_length

ENCODINGS = ("json", "multipart")
NAME, TITLE = "boundaries", "Boundaries: limits, required fields, enums, ranges and formats"
NAMES_FIELD = "body.violation-names-field"
REQUIRED_MESSAGE = "body.required-fields-message"


class Probe:
    """Sends one operation's bodies in one encoding, to a ticket of its own for updates."""

    def __init__(self, ctx: Context, body: Body, encoding: str) -> None:
        self.ctx, self.body, self.encoding = ctx, body, encoding
        self.role = body.role
        self.is_create = body is ctx.contract.create
        self.accepted_status = 201 if self.is_create else 200
        self._ticket: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.role} ({self.encoding})"

    @property
    def names(self) -> FieldNames:
        return self.ctx.contract.names

    def ticket(self) -> tuple[str, str]:
        if self._ticket is None:
            self._ticket = self.ctx.open_ticket()
        return self._ticket

    def valid(self, **overrides: Any) -> dict[str, Any]:
        """A body that breaks no rule (attachments left out: they have rules of their own)."""
        contract = self.ctx.contract
        if self.is_create:
            body = contract.example_create(self.ctx.client.keys.fresh())
        else:
            ticket_id, key = self.ticket()
            body = contract.example_update(ticket_id, key, contract.lifecycle.initial)
        body.pop(self.names.attachments, None)
        body.update(overrides)
        return body

    def rule(self, layer: LayerRun, key: str, title: str, covers: list[str]) -> AbstractContextManager[Rule]:
        covers = [*covers, multipart_rule(self.role)] if self.encoding == "multipart" else covers
        return layer.rule(f"{self.role}.{self.encoding}.{key}", f"{self.label}: {title}", covers)

    def send(self, body: dict[str, Any], *, ticket_id: str | None = None, files: list | None = None) -> Exchange:
        client, contract = self.ctx.client, self.ctx.contract
        options = {"encoding": self.encoding, "data_part": self.body.data_part, "files": files or []}
        if self.is_create:
            return client.create(contract.collection_path, body, **options)
        # The probe's own ticket unless told otherwise: the body's ticketId may be the value under test.
        return client.update(contract.ticket_path(ticket_id or self.ticket()[0]), body, **options)

    def ticket_id_at_limit(self, rule: Rule, value: str, why: str) -> None:
        """An update's ticketId at its maxLength: no ticket has an id this long, so the body passes
        validation and meets the not-found answer."""
        rule.covers.append("ids.unknown-ticket-update")
        not_found = self.ctx.contract.errors.not_found
        exchange = self.send(self.valid(**{self.names.ticket_id: value}), ticket_id=value)
        if rule.expect_status(exchange, 400, why):
            found = isinstance(exchange.response_json, dict) and not_found in exchange.response_json
            rule.expect(
                found,
                f"{why}: a valid body for an unknown ticket gets {not_found}",
                exchange,
                breaks="ids.unknown-ticket-update",
            )

    def expect_accepted(self, rule: Rule, body: dict[str, Any], why: str, **send: Any) -> bool:
        return rule.expect_status(self.send(body, **send), self.accepted_status, why)

    def expect_rejected(
        self, rule: Rule, body: dict[str, Any], field: str, why: str, *, also: tuple[int, ...] = ()
    ) -> Exchange:
        """400 (or one of `also`) with an error body whose message names `field`."""
        exchange = self.send(body)
        if rule.expect_status(exchange, (400, *also), why) and exchange.status == 400:
            message = self.error_message(rule, exchange, why)
            if message is not None:
                rule.expect(
                    field in message, f"{why}: the error message must name {field!r}", exchange, breaks=NAMES_FIELD
                )
        return exchange

    def error_message(self, rule: Rule, exchange: Exchange, why: str) -> str | None:
        """The 400's message; a 400 that is not one of the contract's error bodies is a violation."""
        message = self.ctx.contract.errors.message(exchange.response_json)
        keys = ", ".join(self.ctx.contract.errors.all)
        rule.expect(
            message is not None,
            f"{why}: the 400 must be a JSON object with one of {keys}",
            exchange,
            breaks=response_rule(self.role, 400, "body"),
        )
        return message


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    if ctx.config.read_only:
        layer.skip("boundaries", "every boundary rule", REQUIRED_MESSAGE, "read-only mode sends no bodies")
        return layer.finish()
    for body in (ctx.contract.create, ctx.contract.update):
        for encoding in ENCODINGS:
            probe = Probe(ctx, body, encoding)
            for check in (_lengths, _required, _enums, _integers, _date_times, _attachments):
                check(layer, probe)
    return layer.finish()


def _lengths(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if field.max_length is None:
            continue
        limit, covers = field.max_length, [field_rule(probe.role, field.name, "maxLength")]
        if field.enum is None:  # an enum member's length is the enum's business
            with probe.rule(
                layer, f"{field.name}.at-max-length", f"{field.name} at maxLength {limit} is accepted", covers
            ) as rule:
                _at_limit(rule, probe, field)
        over = text_of_length(field.schema, limit + 1)
        title = f"{field.name} over maxLength {limit} is refused"
        with probe.rule(layer, f"{field.name}.over-max-length", title, [*covers, NAMES_FIELD]) as rule:
            probe.expect_rejected(
                rule, probe.valid(**{field.name: over}), field.name, f"{field.name} of {len(over)} characters"
            )
        if probe.encoding == "json" and field.enum is None:
            far = text_of_length(field.schema, FAR_OVER_LENGTH)
            title = f"{field.name} of {len(far) // 1024} KiB is refused, not a 5xx"
            with probe.rule(
                layer, f"{field.name}.far-over-max-length", title, [*covers, NAMES_FIELD, "http.no-5xx"]
            ) as rule:
                refused = probe.expect_rejected(
                    rule,
                    probe.valid(**{field.name: far}),
                    field.name,
                    f"{field.name} of {len(far)} characters",
                    also=(413,),
                )
                if refused.status == 413:
                    rule.note(f"answers 413 to a body with a {len(far) // 1024} KiB field (a body size limit)")


def _at_limit(rule: Rule, probe: Probe, field: Field) -> None:
    value = text_of_length(field.schema, field.max_length or 0)
    why = f"{field.name} of {len(value)} characters"
    names = probe.names
    if field.name == names.mirror_key:
        # Keys stay the suite's own (prefixed and unique), at exactly the length under test.
        key = probe.ctx.client.keys.fresh(length=field.max_length)
        if probe.is_create:
            probe.expect_accepted(rule, probe.valid(**{names.mirror_key: key}), why)
        else:
            ticket_id, key = probe.ctx.open_ticket(mirror_key=key)
            body = probe.valid(**{names.ticket_id: ticket_id, names.mirror_key: key})
            probe.expect_accepted(rule, body, why, ticket_id=ticket_id)
    elif not probe.is_create and field.name == names.ticket_id:
        probe.ticket_id_at_limit(rule, value, why)
    else:
        probe.expect_accepted(rule, probe.valid(**{field.name: value}), why)


def _required(layer: LayerRun, probe: Probe) -> None:
    for name in probe.body.required:
        required = field_rule(probe.role, name, "required")
        for absence in ("missing", "null"):
            covers = [required, REQUIRED_MESSAGE] + (["body.null-is-missing"] if absence == "null" else [])
            title = f"{name} {absence} gets '{probe.ctx.contract.required_message.format([name])}'"
            with probe.rule(layer, f"{name}.required-{absence}", title, covers) as rule:
                _missing(rule, probe, [name], absence)
    title = "a body missing every required field names them all, in order"
    with probe.rule(layer, "all-required-missing", title, [REQUIRED_MESSAGE]) as rule:
        _missing(rule, probe, probe.body.required, "missing")
    own = {probe.names.mirror_key, probe.names.ticket_id}  # the suite's keys stay its own, prefixed
    empty = [
        f.name
        for f in probe.body.fields
        if f.required and f.type == "string" and not f.enum and not f.is_date_time and f.name not in own
    ]
    with probe.rule(
        layer, "empty-is-a-value", "an empty string is never reported missing", ["body.empty-string-is-a-value"]
    ) as rule:
        for name in empty:
            exchange = probe.send(probe.valid(**{name: ""}))
            rule.expect_status(exchange, (probe.accepted_status, 400), f"{name} sent empty")
            named = probe.ctx.contract.required_message.parse(
                probe.ctx.contract.errors.message(exchange.response_json) or ""
            )
            rule.expect(not named or name not in named, f'{name} sent as "" was reported missing', exchange)
    _nested_required(layer, probe)


def _missing(rule: Rule, probe: Probe, names: list[str], absence: str) -> None:
    body = probe.valid()
    for name in names:
        if absence == "missing":
            body.pop(name, None)
        else:
            body[name] = None
    exchange = probe.send(body, ticket_id=None if probe.is_create else probe.ticket()[0])
    why = f"{', '.join(names)} {absence}"
    if rule.expect_status(exchange, 400, why, breaks="body.null-is-missing" if absence == "null" else None):
        expected = probe.ctx.contract.required_message.format(names)
        message = probe.error_message(rule, exchange, why)
        if message is not None:
            rule.expect(
                message == expected, f"{why}: the message must be {expected!r}", exchange, breaks=REQUIRED_MESSAGE
            )


def _nested_required(layer: LayerRun, probe: Probe) -> None:
    """A JSON attachment without each of its required fields."""
    contract, list_name = probe.ctx.contract, probe.names.attachments
    items = probe.body.properties.get(list_name, {}).get("items", {})
    if probe.encoding != "json" or not items.get("required"):
        return
    complete = _attachment(VALID_BASE64[0], contract)
    for name in items["required"]:
        covers = [field_rule(probe.role, f"{list_name}[].{name}", "required"), REQUIRED_MESSAGE]
        covers.append("body.nested-field-paths")
        title = f"an attachment without {name} is refused"
        with probe.rule(layer, f"{list_name}.{name}.required", title, covers) as rule:
            item = {k: v for k, v in complete.items() if k != name}
            exchange = probe.send(probe.valid(**{list_name: [item]}))
            if rule.expect_status(exchange, 400, f"an attachment without {name}"):
                message = probe.error_message(rule, exchange, f"an attachment without {name}") or ""
                named = contract.required_message.parse(message) or []
                if rule.expect(
                    any(entry.endswith(name) for entry in named),
                    f"an attachment without {name}: the message must be a required-fields message naming it",
                    exchange,
                    breaks=REQUIRED_MESSAGE,
                ):
                    path = f"{list_name}[0].{name}"
                    rule.expect(
                        path in named,
                        f"the missing field is named {named}, not {path!r}",
                        exchange,
                        breaks="body.nested-field-paths",
                    )


def _enums(layer: LayerRun, probe: Probe) -> None:
    contract = probe.ctx.contract
    for field in probe.body.fields:
        if not field.enum:
            continue
        covers = [field_rule(probe.role, field.name, "enum")]
        if probe.is_create:  # which states an update may ask for is the lifecycle layer's business
            for member in field.enum:
                with probe.rule(
                    layer, f"{field.name}.enum.{member}", f"{field.name} {member!r} is accepted", covers
                ) as rule:
                    probe.expect_accepted(rule, probe.valid(**{field.name: member}), f"{field.name} {member!r}")
        misses = [miss for member in field.enum for miss in near_misses(member) if miss not in field.enum]
        title = f"{field.name} near misses such as {misses[0]!r} are refused"
        with probe.rule(layer, f"{field.name}.enum-near-misses", title, [*covers, NAMES_FIELD]) as rule:
            for miss in misses:
                probe.expect_rejected(rule, probe.valid(**{field.name: miss}), field.name, f"{field.name} {miss!r}")
        others = [state for state in contract.lifecycle.states if state not in field.enum]
        if field.name == probe.names.state and others:
            title = f"{field.name}: the lifecycle's other states, such as {others[-1]}, are refused"
            with probe.rule(layer, f"{field.name}.other-states", title, [*covers, NAMES_FIELD]) as rule:
                for state in others:
                    probe.expect_rejected(
                        rule, probe.valid(**{field.name: state}), field.name, f"{field.name} {state!r}"
                    )


def _integers(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if field.type != "integer":
            continue
        low, high = field.schema.get("minimum"), field.schema.get("maximum")
        for keyword, end, outside in (("minimum", low, -1), ("maximum", high, 1)):
            if end is None:
                continue
            covers = [field_rule(probe.role, field.name, keyword)]
            with probe.rule(layer, f"{field.name}.range-end-{end}", f"{field.name} {end} is accepted", covers) as rule:
                probe.expect_accepted(rule, probe.valid(**{field.name: end}), f"{field.name} {end}")
            value = end + outside
            with probe.rule(
                layer, f"{field.name}.out-of-range-{value}", f"{field.name} {value} is refused", [*covers, NAMES_FIELD]
            ) as rule:
                probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value}")
        covers = [field_rule(probe.role, field.name, "type"), NAMES_FIELD]
        for label, value in NOT_INTEGERS.items():
            title = f"{field.name} {value!r} is not an integer"
            with probe.rule(layer, f"{field.name}.strict-type-{label}", title, covers) as rule:
                probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value!r}")
        whole = float(low if low is not None else 1)
        title = f"{field.name} {whole!r} counts as the integer {int(whole)}"
        with probe.rule(layer, f"{field.name}.integral-float", title, ["body.integer-as-float"]) as rule:
            exchange = probe.send(probe.valid(**{field.name: whole}))
            if exchange.status == 400:
                rule.note(f"refuses {whole!r} where an integer is asked (it takes integers written as integers only)")
            rule.expect_status(exchange, probe.accepted_status, f"{field.name} {whole!r}")


def _date_times(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if not field.is_date_time:
            continue
        limit = field.max_length or 64
        covers = [field_rule(probe.role, field.name, "format")]
        with probe.rule(
            layer, f"{field.name}.date-time-valid", f"{field.name}: RFC 3339 date-times are accepted", covers
        ) as rule:
            for value in VALID_DATE_TIMES:
                if len(value) <= limit:
                    probe.expect_accepted(rule, probe.valid(**{field.name: value}), f"{field.name} {value!r}")
        title = f"{field.name}: lower-case t and z are accepted"
        with probe.rule(layer, f"{field.name}.date-time-lower-case", title, ["body.date-time-lower-case"]) as rule:
            for value in LOWER_CASE_DATE_TIMES:
                exchange = probe.send(probe.valid(**{field.name: value}))
                if exchange.status == 400:
                    rule.note(
                        "refuses lower-case t and z in date-times (RFC 3339 lets a specification require upper case)"
                    )
                rule.expect_status(exchange, probe.accepted_status, f"{field.name} {value!r}")
        with probe.rule(
            layer, f"{field.name}.date-time-invalid", f"{field.name}: other text is refused", [*covers, NAMES_FIELD]
        ) as rule:
            for value in INVALID_DATE_TIMES:
                probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value!r}")


def _attachments(layer: LayerRun, probe: Probe) -> None:
    contract, list_name = probe.ctx.contract, probe.names.attachments
    if list_name not in probe.body.properties:
        return
    if probe.encoding == "json":
        content = contract.attachment_names.content
        covers = [field_rule(probe.role, f"{list_name}[].{content}", "format")]
        with probe.rule(layer, f"{list_name}.base64-valid", "base64 attachment content is accepted", covers) as rule:
            for text in VALID_BASE64:
                probe.expect_accepted(
                    rule, probe.valid(**{list_name: [_attachment(text, contract)]}), f"content {text!r}"
                )
        with probe.rule(
            layer,
            f"{list_name}.base64-invalid",
            "attachment content that is not base64 is refused",
            [*covers, NAMES_FIELD],
        ) as rule:
            for text in INVALID_BASE64:
                body = probe.valid(**{list_name: [_attachment(text, contract)]})
                probe.expect_rejected(rule, body, content, f"content {text!r}")
        return
    part = probe.body.file_part
    covers = [multipart_rule(probe.role), "body.multipart-attachment-bytes"]
    with probe.rule(layer, f"{part}.parts", f"files in '{part}' parts are accepted", covers) as rule:
        raw = [
            (part, "trace.pcap", "application/octet-stream", b"\x00\x01\xfe\xff"),
            (part, "note.txt", "text/plain", b"ONT reboots at 03:00"),
        ]
        exchange = probe.send(probe.valid(), files=raw)
        if exchange.status == 400:
            # The page says the parts hold base64: a provider may read them so. Tell it apart.
            encoded = [(p, name, mime, base64.b64encode(data)) for p, name, mime, data in raw]
            again = probe.send(probe.valid(), files=encoded)
            if again.status == probe.accepted_status:
                rule.note(f"reads '{part}' parts as base64 text (the page's reading), not as raw bytes")
                return
        rule.expect_status(exchange, probe.accepted_status, f"two files in '{part}' parts")


def _attachment(content: str, contract: Contract) -> dict[str, str]:
    names = contract.attachment_names
    return {names.content: content, names.name: "trace.txt", names.media_type: "text/plain"}
