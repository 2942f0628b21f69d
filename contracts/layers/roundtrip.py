"""Layer 3, round trip: what was created is what GET returns; an update is echoed and kept.

Fields are compared under the response's own names (`troubleDectectionTime` reports the
request's `troubleDetectionTime`, as the spec's `x-request-field` says), and in the type the
response schema declares (the PATCH answer's `preferredPriority` is a string).
"""

from __future__ import annotations

from typing import Any

from contracts.client import Exchange
from contracts.context import Context
from contracts.contract import STATE, ResponseField
from contracts.results import LayerResult, Rule

NAME, TITLE = "roundtrip", "Round trip: created, read back, updated, read back"


def as_declared(value: Any, declared: Any) -> Any:
    """A stored value as a response declaring `declared` must show it (integers as text in a string field)."""
    if declared == "string" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def compare(rule: Rule, view: list[ResponseField], sent: dict[str, Any], exchange: Exchange, what: str) -> None:
    """Each response field that reports a sent field must equal it."""
    answer = exchange.response_json
    if not rule.expect(isinstance(answer, dict), f"{what}: the answer is not a JSON object", exchange):
        return
    for field in view:
        if field.source not in sent:
            continue
        expected = as_declared(sent[field.source], field.type)
        if field.name not in answer:
            rule.violate(f"{what}: {field.name} is missing (sent {field.source}={expected!r})", exchange)
        elif answer[field.name] != expected:
            rule.violate(f"{what}: {field.name} is {answer[field.name]!r}, sent {expected!r}", exchange)


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    contract, client = ctx.contract, ctx.client
    if ctx.config.read_only:
        for ticket_id in ctx.config.ticket_ids:
            with layer.rule(f"read.{ticket_id}", f"GET {ticket_id} answers 200 with its id") as rule:
                exchange = client.get(contract.ticket_path(ticket_id))
                if rule.expect_status(exchange, 200, f"GET {ticket_id}"):
                    answer = exchange.response_json or {}
                    rule.expect(answer.get("ticketId") == ticket_id, "the answer names another ticket", exchange)
        return layer.finish()

    for encoding in ("json", "multipart"):
        created: dict[str, Any] = {}
        with layer.rule(f"create.{encoding}", f"a ticket created as {encoding} reads back as sent") as rule:
            created = contract.create_body(client.keys.fresh(), dialog=f"round trip as {encoding}")
            exchange = client.create(
                contract.collection_path, created, encoding=encoding, data_part=contract.create.data_part
            )
            if rule.expect_status(exchange, 201, f"create as {encoding}"):
                answer = exchange.response_json or {}
                rule.expect(
                    answer.get("mirrorKey") == created["mirrorKey"], "the 201 must echo the mirrorKey", exchange
                )
                created["ticketId"] = answer.get("ticketId")
                read = client.get(contract.ticket_path(str(created["ticketId"])))
                if rule.expect_status(read, 200, "read back"):
                    compare(
                        rule,
                        contract.ticket_view,
                        {**created, STATE: contract.lifecycle.initial},
                        read,
                        "GET after create",
                    )
        if "ticketId" not in created or not isinstance(created["ticketId"], str):
            continue
        ticket_id = created["ticketId"]
        with layer.rule(f"update.{encoding}", f"an update sent as {encoding} is echoed, then kept") as rule:
            update = contract.update_body(
                ticket_id,
                created["mirrorKey"],
                contract.lifecycle.initial,
                dialog=f"update as {encoding}",
                customer=4242,
            )
            update.pop("attachments", None)
            exchange = client.update(
                contract.ticket_path(ticket_id), update, encoding=encoding, data_part=contract.update.data_part
            )
            if rule.expect_status(exchange, 200, f"update as {encoding}"):
                # The PATCH answer shows the dialog just sent and the stored values of the rest.
                compare(rule, contract.update_view, {**created, **update}, exchange, "PATCH answer")
                read = client.get(contract.ticket_path(ticket_id))
                if rule.expect_status(read, 200, "read back"):
                    compare(rule, contract.ticket_view, {**created, **update}, read, "GET after update")
    return layer.finish()
