"""Layer 6, protocol: other methods get 405 with Allow, other media types 415, other paths 404,
and no input, however odd, gets a 5xx."""

from __future__ import annotations

import json

from contracts.client import Exchange, SkipRule
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule

NAME, TITLE = "protocol", "Protocol: methods, media types, paths, and never a 5xx"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OTHER_MEDIA_TYPES = ("text/plain", "application/xml", "application/x-www-form-urlencoded")

ODD_IDS = ("R" * 5000, "RED-é", "RED-%00", "..%2F..%2Fetc", "RED-1%2F2", "RED 1", "%F0%9F%92%A5", "-1", "0x10")
ODD_BODIES: dict[str, bytes] = {
    "an empty body": b"",
    "JSON null": b"null",
    "a JSON array": b"[]",
    "an empty object": b"{}",
    "deeply nested arrays": b"[" * 50_000 + b"]" * 50_000,
    "numbers too large for any machine type": b'{"preferredPriority": 1e400, "customer": 1234567890123456789012345}',
    "bytes that are not UTF-8": b'{"dialog": "\xff\xfe\xfa"}',
    "an unpaired surrogate escape": b'{"dialog": "\\ud800", "mirrorKey": "\\udfff"}',
    "NaN and Infinity": b'{"preferredPriority": NaN, "customer": Infinity}',
    "objects where strings belong": b'{"mirrorKey": {"a": 1}, "dialog": [1, 2], "ticketId": {"x": null}}',
    "a megabyte of dialog": b'{"dialog": "' + b"x" * (1024 * 1024) + b'"}',
    "control characters": b'{"dialog": "\\u0000\\u0001\\u001f", "mirrorKey": "\\u0000"}',
}


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    method_rules(ctx, layer)
    if not ctx.config.read_only:
        media_type_rules(ctx, layer)
    path_rules(ctx, layer)
    odd_input_rules(ctx, layer)
    return layer.finish()


def _no_5xx(rule: Rule, exchange: Exchange, what: str) -> None:
    if exchange.error:
        rule.violate(f"{what}: no answer ({exchange.error})", exchange)
    else:
        rule.expect(exchange.status is not None and exchange.status < 500, f"{what}: got {exchange.status}", exchange)


def method_rules(ctx: Context, layer: LayerRun) -> None:
    contract = ctx.contract
    for template, declared in contract.methods.items():
        path = template.replace("{ticketId}", "RED-1")
        for method in METHODS:
            if method in declared or (ctx.config.read_only and method != "GET"):
                continue
            with layer.rule(f"405.{method}.{template}", f"{method} {template} gets 405 with Allow") as rule:
                exchange = ctx.client.send(method, path, json_body={} if method != "GET" else None)
                if rule.expect_status(exchange, 405, f"{method} {template}"):
                    allow = {
                        m.strip().upper() for m in exchange.response_headers.get("Allow", "").split(",") if m.strip()
                    }
                    rule.expect(
                        set(declared) <= allow,
                        f"Allow must list {', '.join(declared)}; it says {sorted(allow) or 'nothing'}",
                        exchange,
                    )


def media_type_rules(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    try:
        ticket_id, key = ctx.open_ticket()
    except SkipRule as reason:
        layer.skip("415", "bodies of other media types get 415", str(reason))
        return
    bodies = {
        "POST": (contract.collection_path, contract.create_body(client.keys.fresh())),
        "PATCH": (contract.ticket_path(ticket_id), contract.update_body(ticket_id, key, contract.lifecycle.initial)),
    }
    for method, (path, body) in bodies.items():
        for media_type in OTHER_MEDIA_TYPES:
            with layer.rule(f"415.{method}.{media_type}", f"{method} with Content-Type {media_type} gets 415") as rule:
                exchange = client.send(
                    method, path, raw_body=json.dumps(body).encode(), headers={"Content-Type": media_type}
                )
                client.remember_created(exchange, body, "a")
                rule.expect_status(exchange, 415, f"{method} as {media_type}")


def path_rules(ctx: Context, layer: LayerRun) -> None:
    known = ctx.contract.collection_path
    # Paths beside the API's own: a provider may well serve something at "/".
    for path in (known + "s", known + "/RED-1/extra", known.upper()):
        with layer.rule(f"404.{path}", f"GET {path} (no such path) gets 404") as rule:
            rule.expect_status(ctx.client.send("GET", path), 404, f"GET {path}")


def odd_input_rules(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    with layer.rule("no-5xx.odd-ids", "GET with odd ticket ids never gets a 5xx") as rule:
        for odd in ODD_IDS:
            _no_5xx(rule, client.send("GET", contract.ticket_path(odd)), f"GET id {odd[:20]!r}")
    if ctx.config.read_only:
        return
    try:
        ticket_id, _ = ctx.open_ticket()
    except SkipRule as reason:
        layer.skip("no-5xx.bodies", "odd bodies never get a 5xx", str(reason))
        return
    targets = {"POST": contract.collection_path, "PATCH": contract.ticket_path(ticket_id)}
    for method, path in targets.items():
        with layer.rule(f"no-5xx.{method}.odd-json", f"{method} with odd JSON bodies never gets a 5xx") as rule:
            for label, raw in ODD_BODIES.items():
                exchange = client.send(method, path, raw_body=raw, headers={"Content-Type": "application/json"})
                _no_5xx(rule, exchange, f"{method} with {label}")
        with layer.rule(f"no-5xx.{method}.odd-multipart", f"{method} with broken multipart never gets a 5xx") as rule:
            for label, raw, content_type in _odd_multipart():
                exchange = client.send(method, path, raw_body=raw, headers={"Content-Type": content_type})
                _no_5xx(rule, exchange, f"{method} with {label}")


def _odd_multipart() -> list[tuple[str, bytes, str]]:
    part = b'--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n'
    return [
        ("no boundary parameter", b"--b\r\n\r\n--b--", "multipart/form-data"),
        ("no closing boundary", part + b'{"a": 1}', "multipart/form-data; boundary=b"),
        ("a data part that is not JSON", part + b"not json\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        (
            "a data part of binary garbage",
            part + bytes(range(256)) + b"\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        ("no parts at all", b"--b--\r\n", "multipart/form-data; boundary=b"),
    ]
