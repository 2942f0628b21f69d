"""Layer 5, auth and tenancy: bad tokens get 401; tenants never see each other's tickets.

Bad tokens are made from the run's own: none at all, one that is not a JWT, another scheme, one
whose payload was rewritten under its original signature, one re-headed `alg: none`, and (given
an expired token, or the secret to mint one) one past its `exp` and one before its `nbf`. With a
second tenant's token, B must get the not-found answer for A's tickets, exactly as for a ticket
that does not exist, must not change them, and may use A's mirrorKey for a ticket of its own. A
repeated mirrorKey must never open a second ticket.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from contracts.client import Exchange
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule
from contracts.tokens import Tokens, claims_of
from spec.catalogue import response_rule

NAME, TITLE = "auth", "Auth and tenancy"
NEEDS_SECRET = "give --jwt-secret (or --expired-token)"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def bad_credentials(tokens: Tokens) -> dict[str, tuple[str, tuple[str, str] | None]]:
    """label -> (the contract rule, the Authorization header and how a report shows it); each must get 401."""
    token = tokens.a
    payload = claims_of(token)
    tampered = {**payload, "sub": f"{payload.get('sub', 'someone')}-other", "contract-suite": "tampered"}
    header, _, signature = (token.split(".") + ["", ""])[:3]
    found: dict[str, tuple[str, tuple[str, str] | None]] = {
        "no token": ("auth.no-token", None),
        "not a JWT": ("auth.malformed-token", ("Bearer not-a-jwt", "Bearer not-a-jwt")),
        "not the Bearer scheme": ("auth.wrong-scheme", (f"Token {token}", "Token <$TT_TOKEN>")),
        "payload altered under the original signature": (
            "auth.bad-signature",
            (
                f"Bearer {header}.{_b64(tampered)}.{signature}",
                "Bearer <$TT_TOKEN with its payload's sub rewritten, signature kept>",
            ),
        ),
        "alg none": (
            "auth.alg-none",
            (
                f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}.",
                'Bearer <$TT_TOKEN\'s payload under the header {"alg": "none"}, no signature>',
            ),
        ),
    }
    now = int(time.time())
    expired = tokens.expired or tokens.mint(exp=now - 600, iat=now - 3600)
    if expired:
        shown = "$TT_EXPIRED_TOKEN" if tokens.expired else "<$TT_TOKEN re-signed with $TT_JWT_SECRET, exp 10 min ago>"
        found["expired"] = ("auth.expired", (f"Bearer {expired}", f"Bearer {shown}"))
    early = tokens.mint(nbf=now + 3600)
    if early:
        found["not yet valid"] = (
            "auth.not-yet-valid",
            (f"Bearer {early}", "Bearer <$TT_TOKEN re-signed with $TT_JWT_SECRET, nbf in an hour>"),
        )
    return found


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    contract, client = ctx.contract, ctx.client
    known = ctx.config.ticket_ids[0] if ctx.config.read_only and ctx.config.ticket_ids else None
    target = contract.ticket_path(known or ctx.unknown_ticket_id())
    credentials = bad_credentials(ctx.tokens)
    for label, (contract_rule, authorization) in credentials.items():
        covers = [contract_rule, response_rule("read", 401), "auth.challenge", "auth.json-body"]
        with layer.rule(f"401.{label.replace(' ', '-')}", f"{label}: GET gets 401", covers) as rule:
            expect_401(rule, client.send("GET", target, token=None, authorization=authorization), label)
        if not ctx.config.read_only:
            covers = [contract_rule, response_rule("create", 401)]
            with layer.rule(
                f"401.{label.replace(' ', '-')}.create", f"{label}: POST gets 401, creates nothing", covers
            ) as rule:
                body = contract.example_create(client.keys.fresh())
                exchange = client.send(
                    "POST", contract.collection_path, json_body=body, token=None, authorization=authorization
                )
                expect_401(rule, exchange, label)
                client.remember_created(exchange, body, "a")  # so that the clean-up finds it
    for missing, remedy in (("auth.expired", NEEDS_SECRET), ("auth.not-yet-valid", "give --jwt-secret")):
        if not any(contract_rule == missing for contract_rule, _ in credentials.values()):
            title = ctx.catalogue[missing].text
            layer.skip(missing, title, missing, "needs a token made for it, which the suite cannot forge", remedy)
    if not ctx.config.read_only:
        with layer.rule(
            "order.auth-first", "a request with no token gets 401 whatever else is wrong", "order.auth-first"
        ) as rule:
            exchange = client.send(
                "POST",
                contract.collection_path,
                raw_body=b"not json at all",
                headers={"Content-Type": "text/plain"},
                token=None,
            )
            rule.expect_status(exchange, 401, "no token, a text/plain body that is not JSON")
    tenancy(ctx, layer)
    repeated_mirror_key(ctx, layer)
    return layer.finish()


def expect_401(rule: Rule, exchange: Exchange, label: str) -> None:
    if rule.expect_status(exchange, 401, label):
        challenge = exchange.response_headers.get("WWW-Authenticate", "")
        rule.expect(
            challenge.lower().startswith("bearer"),
            "a 401 must carry a 'WWW-Authenticate: Bearer' challenge",
            exchange,
            breaks="auth.challenge",
        )
        rule.expect(
            isinstance(exchange.response_json, dict),
            "a 401 must carry a JSON body with a message",
            exchange,
            breaks="auth.json-body",
        )


def tenancy(ctx: Context, layer: LayerRun) -> None:
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    every = ["tenancy.read", "tenancy.update", "tenancy.mirror-key-per-tenant"]
    if not client.has_token("b"):
        layer.skip(
            "tenancy",
            "tenant B can neither read nor update A's tickets",
            every,
            "needs a second tenant's token",
            "set $TT_TOKEN_B (or give --jwt-secret)",
        )
        return
    with layer.rule(
        "tenancy.read", "tenant B reading A's ticket gets the same answer as for no ticket", "tenancy.read"
    ) as rule:
        if ctx.config.read_only:
            ticket_id = ctx.config.ticket_ids[0]
        else:
            ticket_id, _ = ctx.open_ticket()
        theirs = client.get(contract.ticket_path(ticket_id), token="b")
        nobodys = client.get(contract.ticket_path(ctx.unknown_ticket_id()), token="b")
        if rule.expect_status(theirs, 404, "B reads A's ticket"):
            rule.expect(
                _keys(theirs) == _keys(nobodys),
                "B must learn nothing: the answer differs from an unknown ticket's",
                theirs,
                nobodys,
            )
    if ctx.config.read_only:
        layer.skip("tenancy.writes", "tenant B cannot change A's tickets", every[1:], "read-only mode")
        return
    with layer.rule(
        "tenancy.update", "tenant B cannot update A's ticket, which stays as it was", "tenancy.update"
    ) as rule:
        ticket_id, key = ctx.open_ticket()
        before = client.get(contract.ticket_path(ticket_id))
        cancel = contract.lifecycle.cancel_request or contract.lifecycle.initial
        body = contract.example_update(ticket_id, key, cancel, **{names.dialog: "tenant B was here"})
        body.pop(names.attachments, None)
        theirs = client.update(contract.ticket_path(ticket_id), body, token="b")
        rule.expect_status(theirs, (400, 404), "B updates A's ticket")
        answer = theirs.response_json
        rule.expect(
            isinstance(answer, dict) and contract.errors.not_found in answer,
            f"B must get the not-found answer ({contract.errors.not_found})",
            theirs,
        )
        after = client.get(contract.ticket_path(ticket_id))
        shown = [(e.response_json or {}) if isinstance(e.response_json, dict) else {} for e in (before, after)]
        same = all(shown[0].get(name) == shown[1].get(name) for name in (names.state, names.dialog))
        rule.expect(same, "A's ticket changed after B's update", theirs, after)
    title = f"tenant B may use A's {names.mirror_key} and gets a ticket of its own"
    with layer.rule("tenancy.mirror-key", title, "tenancy.mirror-key-per-tenant") as rule:
        ticket_id, key = ctx.open_ticket()
        exchange = client.create(contract.collection_path, contract.example_create(key), token="b")
        if rule.expect_status(exchange, 201, f"B creates with A's {names.mirror_key}"):
            theirs = (
                (exchange.response_json or {}).get(names.ticket_id)
                if isinstance(exchange.response_json, dict)
                else None
            )
            rule.expect(theirs != ticket_id, f"B was given A's ticket {ticket_id}", exchange)
            mine = client.get(contract.ticket_path(ticket_id))
            rule.expect(mine.status == 200, f"A's ticket {ticket_id} is gone after B's create", exchange, mine)


def _keys(exchange: Exchange) -> tuple[int | None, tuple[str, ...]]:
    answer = exchange.response_json
    return exchange.status, tuple(sorted(answer)) if isinstance(answer, dict) else ()


def repeated_mirror_key(ctx: Context, layer: LayerRun) -> None:
    title = "a repeated mirrorKey never opens a second ticket"
    if ctx.config.read_only:
        layer.skip("mirror-key.repeated", title, "ids.repeated-mirror-key", "read-only mode")
        return
    contract, client, names = ctx.contract, ctx.client, ctx.contract.names
    with layer.rule("mirror-key.repeated", title, "ids.repeated-mirror-key") as rule:
        ticket_id, key = ctx.open_ticket()
        again = client.create(contract.collection_path, contract.example_create(key))
        answer = again.response_json if isinstance(again.response_json, dict) else {}
        if again.status == 201:
            rule.note(f"answers a repeated {names.mirror_key} with 201 and the same ticket (an idempotent create)")
            rule.expect(
                answer.get(names.ticket_id) == ticket_id,
                f"the same {names.mirror_key} opened a second ticket "
                f"({answer.get(names.ticket_id)} besides {ticket_id})",
                again,
            )
        elif rule.expect_status(again, 400, f"the second create with the same {names.mirror_key}"):
            rule.expect(ticket_id in again.response_text, f"the refusal must name the existing {ticket_id}", again)
