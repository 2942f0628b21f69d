"""Layer 2, boundaries: every limit, required field, enum, range and format, at and past its edge.

All cases come from the request schemas: each string at its maxLength (accepted) and one over
(400, naming the field); each required field missing or null (400, `required fields: <name>`);
each enum member accepted and its near misses refused; integer range ends; strict JSON types;
date-times and base64 attachments valid and invalid. As JSON and as multipart.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from contracts.client import Exchange
from contracts.context import Context
from contracts.contract import (
    ERROR_KEYS,
    INVALID_BASE64,
    INVALID_DATE_TIMES,
    VALID_DATE_TIMES,
    Body,
    Field,
    near_misses,
    text_of_length,
)
from contracts.results import LayerResult, LayerRun, Rule

ENCODINGS = ("json", "multipart")
NAME, TITLE = "boundaries", "Boundaries: limits, required fields, enums, ranges and formats"


class Probe:
    """Sends one operation's bodies in one encoding, to a ticket of its own for updates."""

    def __init__(self, ctx: Context, body: Body, encoding: str) -> None:
        self.ctx, self.body, self.encoding = ctx, body, encoding
        self.is_create = body is ctx.contract.create
        self.accepted_status = 201 if self.is_create else 200
        self._ticket: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{'create' if self.is_create else 'update'} ({self.encoding})"

    def ticket(self) -> tuple[str, str]:
        if self._ticket is None:
            self._ticket = self.ctx.open_ticket()
        return self._ticket

    def valid(self, **overrides: Any) -> dict[str, Any]:
        """A body that breaks no rule (attachments left out: they have rules of their own)."""
        contract = self.ctx.contract
        if self.is_create:
            body = contract.create_body(self.ctx.client.keys.fresh())
        else:
            ticket_id, key = self.ticket()
            body = contract.update_body(ticket_id, key, contract.lifecycle.initial)
        body.pop("attachments", None)
        body.update(overrides)
        return body

    def rule(self, layer: LayerRun, key: str, title: str) -> AbstractContextManager[Rule]:
        operation = "create" if self.is_create else "update"
        return layer.rule(f"{operation}.{self.encoding}.{key}", f"{self.label}: {title}")

    def send(self, body: dict[str, Any], *, ticket_id: str | None = None, files: list | None = None) -> Exchange:
        client, contract = self.ctx.client, self.ctx.contract
        options = {"encoding": self.encoding, "data_part": self.body.data_part, "files": files or []}
        if self.is_create:
            return client.create(contract.collection_path, body, **options)
        target = ticket_id or body.get("ticketId")
        path = contract.ticket_path(target if isinstance(target, str) else self.ticket()[0])
        return client.update(path, body, **options)

    def expect_accepted(self, rule: Rule, body: dict[str, Any], why: str, **send: Any) -> None:
        rule.expect_status(self.send(body, **send), self.accepted_status, why)

    def expect_rejected(self, rule: Rule, body: dict[str, Any], field: str, why: str) -> None:
        exchange = self.send(body)
        if rule.expect_status(exchange, 400, why):
            message = error_message(exchange)
            rule.expect(message is not None, f"{why}: the 400 must carry one of {', '.join(ERROR_KEYS)}", exchange)
            if message is not None:
                rule.expect(field in message, f"{why}: the error message must name {field!r}", exchange)


def error_message(exchange: Exchange) -> str | None:
    """The message of a contract error body, or None when the body is not one."""
    answer = exchange.response_json
    if isinstance(answer, dict) and len(answer) == 1:
        ((key, value),) = answer.items()
        if key in ERROR_KEYS and isinstance(value, str):
            return value
    return None


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    if ctx.config.read_only:
        layer.skip("boundaries", "every boundary rule", "read-only mode sends no bodies")
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
        limit = field.max_length
        if field.enum is None:  # an enum member's length is the enum's business
            with probe.rule(
                layer, f"{field.name}.at-max-length", f"{field.name} at maxLength {limit} is accepted"
            ) as rule:
                _at_limit(rule, probe, field)
        over = text_of_length(field.schema, limit + 1)
        with probe.rule(
            layer, f"{field.name}.over-max-length", f"{field.name} over maxLength {limit} is refused"
        ) as rule:
            probe.expect_rejected(
                rule, probe.valid(**{field.name: over}), field.name, f"{field.name} of {len(over)} characters"
            )


def _at_limit(rule: Rule, probe: Probe, field: Field) -> None:
    value = text_of_length(field.schema, field.max_length or 0)
    why = f"{field.name} of {len(value)} characters"
    if field.name == "mirrorKey":
        # Keys stay the suite's own (prefixed and unique), at exactly the length under test.
        key = probe.ctx.client.keys.fresh(length=field.max_length)
        if probe.is_create:
            probe.expect_accepted(rule, probe.valid(mirrorKey=key), why)
        else:
            ticket_id, key = probe.ctx.open_ticket(mirror_key=key)
            probe.expect_accepted(rule, probe.valid(ticketId=ticket_id, mirrorKey=key), why)
    elif not probe.is_create and field.name == "ticketId":
        # No ticket has an id this long: the body passes validation and meets the not-found answer.
        exchange = probe.send(probe.valid(ticketId=value), ticket_id=value)
        if rule.expect_status(exchange, 400, why):
            answer = exchange.response_json
            found = isinstance(answer, dict) and "objectNotFoundException" in answer
            rule.expect(found, f"{why}: a valid body for an unknown ticket gets objectNotFoundException", exchange)
    else:
        probe.expect_accepted(rule, probe.valid(**{field.name: value}), why)


def _required(layer: LayerRun, probe: Probe) -> None:
    for name in probe.body.required:
        for absence in ("missing", "null"):
            with probe.rule(
                layer, f"{name}.required-{absence}", f"{name} {absence} gets 'required fields: {name}'"
            ) as rule:
                _missing(rule, probe, [name], absence)
    title = "a body missing every required field names them all, in order"
    with probe.rule(layer, "all-required-missing", title) as rule:
        _missing(rule, probe, probe.body.required, "missing")


def _missing(rule: Rule, probe: Probe, names: list[str], absence: str) -> None:
    body = probe.valid()
    for name in names:
        if absence == "missing":
            body.pop(name, None)
        else:
            body[name] = None
    exchange = probe.send(body, ticket_id=None if probe.is_create else probe.ticket()[0])
    why = f"{', '.join(names)} {absence}"
    if rule.expect_status(exchange, 400, why):
        expected = "required fields: " + ",".join(names)
        rule.expect(error_message(exchange) == expected, f"{why}: the message must be {expected!r}", exchange)


def _enums(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if not field.enum:
            continue
        if probe.is_create:  # which states an update may ask for is the lifecycle layer's business
            for member in field.enum:
                with probe.rule(layer, f"{field.name}.enum.{member}", f"{field.name} {member!r} is accepted") as rule:
                    probe.expect_accepted(rule, probe.valid(**{field.name: member}), f"{field.name} {member!r}")
        misses = [miss for member in field.enum for miss in near_misses(member) if miss not in field.enum]
        title = f"{field.name} near misses such as {misses[0]!r} are refused"
        with probe.rule(layer, f"{field.name}.enum-near-misses", title) as rule:
            for miss in misses:
                probe.expect_rejected(rule, probe.valid(**{field.name: miss}), field.name, f"{field.name} {miss!r}")


STRICTLY_NOT_INTEGERS = {"string-1": "1", "true": True, "fraction": 1.5}


def _integers(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if field.type != "integer":
            continue
        low, high = field.schema.get("minimum"), field.schema.get("maximum")
        if low is not None and high is not None:
            for value in (low, high):
                with probe.rule(layer, f"{field.name}.range-end-{value}", f"{field.name} {value} is accepted") as rule:
                    probe.expect_accepted(rule, probe.valid(**{field.name: value}), f"{field.name} {value}")
            for value in (low - 1, high + 1):
                with probe.rule(
                    layer, f"{field.name}.out-of-range-{value}", f"{field.name} {value} is refused"
                ) as rule:
                    probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value}")
        for label, value in STRICTLY_NOT_INTEGERS.items():
            title = f"{field.name} {value!r} is not an integer"
            with probe.rule(layer, f"{field.name}.strict-type-{label}", title) as rule:
                probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value!r}")


def _date_times(layer: LayerRun, probe: Probe) -> None:
    for field in probe.body.fields:
        if not field.is_date_time:
            continue
        limit = field.max_length or 64
        with probe.rule(
            layer, f"{field.name}.date-time-valid", f"{field.name}: RFC 3339 date-times are accepted"
        ) as rule:
            for value in VALID_DATE_TIMES:
                if len(value) <= limit:
                    probe.expect_accepted(rule, probe.valid(**{field.name: value}), f"{field.name} {value!r}")
        with probe.rule(layer, f"{field.name}.date-time-invalid", f"{field.name}: other text is refused") as rule:
            for value in INVALID_DATE_TIMES:
                probe.expect_rejected(rule, probe.valid(**{field.name: value}), field.name, f"{field.name} {value!r}")


def _attachments(layer: LayerRun, probe: Probe) -> None:
    if "attachments" not in probe.body.schema["properties"]:
        return
    if probe.encoding == "json":
        with probe.rule(layer, "attachments.base64-valid", "base64 attachment content is accepted") as rule:
            for content in ("ZmlsZSBudW1iZXIgMQ==", "ZmlsZSBudW1iZXIgMQ", "string"):
                probe.expect_accepted(rule, probe.valid(attachments=[_attachment(content)]), f"content {content!r}")
        with probe.rule(
            layer, "attachments.base64-invalid", "attachment content that is not base64 is refused"
        ) as rule:
            for content in INVALID_BASE64:
                body = probe.valid(attachments=[_attachment(content)])
                probe.expect_rejected(rule, body, "content", f"content {content!r}")
        return
    part = probe.body.file_part
    with probe.rule(layer, f"{part}.parts", f"raw files in '{part}' parts are accepted") as rule:
        files = [
            (part, "trace.pcap", "application/octet-stream", b"\x00\x01\xfe\xff"),
            (part, "note.txt", "text/plain", b"ONT reboots at 03:00"),
        ]
        probe.expect_accepted(rule, probe.valid(), f"two files in '{part}' parts", files=files)


def _attachment(content: str) -> dict[str, str]:
    return {"content": content, "name": "trace.txt", "mimeType": "text/plain"}
