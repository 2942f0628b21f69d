"""Layer 5, auth and tenancy: bad tokens get 401; tenants never see each other's tickets.

Bad tokens are made from the run's own: none at all, one that is not a JWT, one whose payload
was rewritten under its original signature, and one re-headed `alg: none`. With a second
tenant's token, B must get the not-found answer for A's tickets, exactly as for a ticket that
does not exist, and must not change them. A repeated mirrorKey must never open a second ticket.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from contracts.client import Exchange
from contracts.context import Context
from contracts.contract import STATE
from contracts.results import LayerResult, LayerRun, Rule

NAME, TITLE = "auth", "Auth and tenancy"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _payload(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded if isinstance(decoded, dict) else {}
    except (IndexError, ValueError):
        return {}


def bad_credentials(token: str) -> dict[str, tuple[str, str] | None]:
    """Authorization headers that must all get 401, each with how a report shows it (never the token)."""
    payload = _payload(token)
    tampered = {**payload, "sub": f"{payload.get('sub', 'someone')}-other", "contract-suite": "tampered"}
    header, _, signature = (token.split(".") + ["", ""])[:3]
    return {
        "no token": None,
        "not a JWT": ("Bearer not-a-jwt", "Bearer not-a-jwt"),
        "not a bearer scheme": ("Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"),
        "payload altered under the original signature": (
            f"Bearer {header}.{_b64(tampered)}.{signature}",
            "Bearer <$TT_TOKEN with its payload's sub rewritten, signature kept>",
        ),
        "alg none": (
            f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}.",
            'Bearer <$TT_TOKEN\'s payload under the header {"alg": "none"}, no signature>',
        ),
    }


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    contract, client = ctx.contract, ctx.client
    known = ctx.config.ticket_ids[0] if ctx.config.read_only and ctx.config.ticket_ids else None
    target = ctx.contract.ticket_path(known or "RED-1")
    for label, authorization in bad_credentials(client.tokens["a"]).items():
        with layer.rule(f"401.{label.replace(' ', '-')}", f"{label}: GET gets 401") as rule:
            exchange = client.send("GET", target, token=None, authorization=authorization)
            expect_401(rule, exchange, label)
        if not ctx.config.read_only:
            with layer.rule(
                f"401.{label.replace(' ', '-')}.create", f"{label}: POST gets 401, creates nothing"
            ) as rule:
                body = contract.create_body(client.keys.fresh())
                exchange = client.send(
                    "POST", contract.collection_path, json_body=body, token=None, authorization=authorization
                )
                expect_401(rule, exchange, label)
                client.remember_created(exchange, body, "a")  # so that the clean-up finds it
    tenancy(ctx, layer)
    repeated_mirror_key(ctx, layer)
    return layer.finish()


def expect_401(rule: Rule, exchange: Exchange, label: str) -> None:
    if rule.expect_status(exchange, 401, label):
        challenge = exchange.response_headers.get("WWW-Authenticate", "")
        rule.expect(challenge.lower().startswith("bearer"), "a 401 must carry 'WWW-Authenticate: Bearer'", exchange)


def tenancy(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    if not client.has_token("b"):
        layer.skip("tenancy", "tenant B can neither read nor update A's tickets", "needs --token-b (or $TT_TOKEN_B)")
        return
    with layer.rule("tenancy.read", "tenant B reading A's ticket gets the same answer as for no ticket") as rule:
        if ctx.config.read_only:
            if not ctx.config.ticket_ids:
                rule.skip("read-only mode needs --ticket-id to have a ticket of A's")
                return
            ticket_id = ctx.config.ticket_ids[0]
        else:
            ticket_id, _ = ctx.open_ticket()
        theirs = client.get(contract.ticket_path(ticket_id), token="b")
        nobodys = client.get(contract.ticket_path(_unknown_like(ticket_id)), token="b")
        if rule.expect_status(theirs, 404, "B reads A's ticket"):
            rule.expect(
                _keys(theirs) == _keys(nobodys),
                "B must learn nothing: the answer differs from an unknown ticket's",
                theirs,
                nobodys,
            )
    if ctx.config.read_only:
        return
    with layer.rule("tenancy.update", "tenant B cannot update A's ticket, which stays as it was") as rule:
        ticket_id, key = ctx.open_ticket()
        before = client.get(contract.ticket_path(ticket_id))
        cancel = contract.lifecycle.cancel_request or contract.lifecycle.initial
        body = contract.update_body(ticket_id, key, cancel, dialog="tenant B was here")
        body.pop("attachments", None)
        theirs = client.update(contract.ticket_path(ticket_id), body, token="b")
        rule.expect_status(theirs, (400, 404), "B updates A's ticket")
        answer = theirs.response_json
        rule.expect(
            isinstance(answer, dict) and "objectNotFoundException" in answer,
            "B must get the not-found answer (objectNotFoundException)",
            theirs,
        )
        after = client.get(contract.ticket_path(ticket_id))
        same = (before.response_json or {}).get(STATE) == (after.response_json or {}).get(STATE) and (
            (before.response_json or {}).get("dialog") == (after.response_json or {}).get("dialog")
        )
        rule.expect(same, "A's ticket changed after B's update", theirs, after)


def _unknown_like(ticket_id: str) -> str:
    """An id shaped like `ticket_id` that no ticket is likely to have."""
    prefix = ticket_id.rstrip("0123456789")
    return f"{prefix}{'9' * max(1, min(11, 15 - len(prefix)))}"


def _keys(exchange: Exchange) -> tuple[int | None, tuple[str, ...]]:
    answer = exchange.response_json
    return exchange.status, tuple(sorted(answer)) if isinstance(answer, dict) else ()


def repeated_mirror_key(ctx: Context, layer: LayerRun) -> None:
    if ctx.config.read_only:
        layer.skip("mirror-key.repeated", "a repeated mirrorKey never opens a second ticket", "read-only mode")
        return
    contract, client = ctx.contract, ctx.client
    with layer.rule("mirror-key.repeated", "a repeated mirrorKey never opens a second ticket") as rule:
        ticket_id, key = ctx.open_ticket()
        again = client.create(contract.collection_path, contract.create_body(key))
        answer = again.response_json if isinstance(again.response_json, dict) else {}
        if again.status == 201:
            rule.expect(
                answer.get("ticketId") == ticket_id,
                f"the same mirrorKey opened a second ticket ({answer.get('ticketId')} besides {ticket_id})",
                again,
            )
        elif rule.expect_status(again, 400, "the second create with the same mirrorKey"):
            rule.expect(ticket_id in again.response_text, f"the refusal should name the existing {ticket_id}", again)
