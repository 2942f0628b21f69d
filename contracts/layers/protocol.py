"""Layer 6, protocol: other methods get 405 with Allow, other media types 415, other paths 404,
malformed JSON 400, HEAD answers as GET, and no input, however odd, gets a 5xx."""

from __future__ import annotations

import json

from contracts.client import Exchange, SkipRule
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule
from contracts.transport import bytes_after_head
from spec.catalogue import response_rule
from spec.contract import FieldNames

NAME, TITLE = "protocol", "Protocol: methods, media types, paths, and never a 5xx"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OTHER_MEDIA_TYPES = ("text/plain", "application/xml", "application/x-www-form-urlencoded")
ERROR_PAGES_JSON = "http.error-pages-json"

ODD_IDS = ("R" * 5000, "RED-é", "RED-%00", "..%2F..%2Fetc", "RED-1%2F2", "RED 1", "%F0%9F%92%A5", "-1", "0x10")


def odd_bodies(names: FieldNames) -> dict[str, bytes]:
    """JSON bodies no client should send, each aimed at the contract's own fields."""
    dialog, key, ticket = (json.dumps(n).encode() for n in (names.dialog, names.mirror_key, names.ticket_id))
    return {
        "an empty body": b"",
        "JSON null": b"null",
        "a JSON array": b"[]",
        "an empty object": b"{}",
        "deeply nested arrays": b"[" * 50_000 + b"]" * 50_000,
        "numbers too large for any machine type": b'{"a": 1e400, "b": 1234567890123456789012345}',
        "bytes that are not UTF-8": b"{" + dialog + b': "\xff\xfe\xfa"}',
        "an unpaired surrogate escape": b"{" + dialog + b': "\\ud800", ' + key + b': "\\udfff"}',
        "raw surrogate bytes in a string": b"{" + dialog + b': "\xed\xa0\x80"}',
        "NaN and Infinity": b'{"a": NaN, "b": Infinity}',
        "objects where strings belong": b"{"
        + key
        + b': {"a": 1}, '
        + dialog
        + b": [1, 2], "
        + ticket
        + b': {"x": null}}',
        "a megabyte of dialog": b"{" + dialog + b': "' + b"x" * (1024 * 1024) + b'"}',
        "control characters": b"{" + dialog + b': "\\u0000\\u0001\\u001f", ' + key + b': "\\u0000"}',
    }


MALFORMED_JSON = {
    "a cut-off object": b'{"dialog": "cut',
    "a trailing comma": b'{"dialog": "x",}',
    "single quotes": b"{'a': 1}",
}


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    if ctx.config.read_only:
        layer.skip(
            "405",
            "other methods get 405 with Allow",
            ["http.method-not-allowed", "http.allow-header"],
            "read-only mode",
        )
    else:
        method_rules(ctx, layer)
        media_type_rules(ctx, layer)
    path_rules(ctx, layer)
    head_rule(ctx, layer)
    odd_input_rules(ctx, layer)
    return layer.finish()


def _is_json_error(ctx: Context, exchange: Exchange) -> bool:
    return ctx.contract.errors.message(exchange.response_json) is not None


def _answers_and_parses(rule: Rule, exchange: Exchange, what: str) -> None:
    """No 5xx, an answer at all, and JSON that parses when the Content-Type says JSON."""
    if exchange.error:
        rule.violate(f"{what}: {exchange.error}", exchange, breaks="http.answers-every-request")
        return
    rule.expect(
        exchange.status is not None and exchange.status < 500,
        f"{what}: got {exchange.status}",
        exchange,
        breaks="http.no-5xx",
    )
    says_json = "json" in exchange.response_headers.get("Content-Type", "").lower()
    if says_json and exchange.response_text.strip():
        try:
            json.loads(exchange.response_text)
        except ValueError:
            rule.violate(f"{what}: the answer says JSON but is not JSON", exchange, breaks="http.json-parses")


def method_rules(ctx: Context, layer: LayerRun) -> None:
    contract = ctx.contract
    for template, declared in contract.methods.items():
        path = contract.ticket_path(ctx.unknown_ticket_id()) if "{" in template else template
        for method in METHODS:
            if method in declared:
                continue
            covers = ["http.method-not-allowed", "http.allow-header", ERROR_PAGES_JSON]
            with layer.rule(f"405.{method}.{template}", f"{method} {template} gets 405 with Allow", covers) as rule:
                exchange = ctx.client.send(method, path, json_body={} if method != "GET" else None)
                if rule.expect_status(exchange, 405, f"{method} {template}"):
                    allow = {
                        m.strip().upper() for m in exchange.response_headers.get("Allow", "").split(",") if m.strip()
                    }
                    rule.expect(
                        set(declared) <= allow,
                        f"Allow must list {', '.join(declared)}; it says {sorted(allow) or 'nothing'}",
                        exchange,
                        breaks="http.allow-header",
                    )
                    rule.expect(
                        _is_json_error(ctx, exchange),
                        "the 405 is not the contract's JSON error body",
                        exchange,
                        breaks=ERROR_PAGES_JSON,
                    )


def media_type_rules(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    try:
        ticket_id, key = ctx.open_ticket()
    except SkipRule as reason:
        layer.skip(
            "415", "bodies of other media types get 415", ["create.415", "update.415"], str(reason), reason.remedy
        )
        return
    bodies = {
        "create": ("POST", contract.collection_path, contract.example_create(client.keys.fresh())),
        "update": (
            "PATCH",
            contract.ticket_path(ticket_id),
            contract.example_update(ticket_id, key, contract.lifecycle.initial),
        ),
    }
    for role, (method, path, body) in bodies.items():
        covers = [response_rule(role, 415), response_rule(role, 415, "body")]
        for media_type in OTHER_MEDIA_TYPES:
            with layer.rule(
                f"415.{method}.{media_type}", f"{method} with Content-Type {media_type} gets 415", covers
            ) as rule:
                exchange = client.send(
                    method, path, raw_body=json.dumps(body).encode(), headers={"Content-Type": media_type}
                )
                client.remember_created(exchange, body, "a")
                if rule.expect_status(exchange, 415, f"{method} as {media_type}"):
                    rule.expect(
                        _is_json_error(ctx, exchange),
                        "the 415 is not the contract's JSON error body",
                        exchange,
                        breaks=response_rule(role, 415, "body"),
                    )
        title = f"{method} of another media type with a broken body gets 415, not 400"
        with layer.rule(f"415.{method}.before-body", title, "order.media-type-before-body") as rule:
            exchange = client.send(method, path, raw_body=b"{not json", headers={"Content-Type": "text/plain"})
            rule.expect_status(exchange, 415, f"{method} text/plain '{{not json'")
        with layer.rule(
            f"400.{method}.malformed-json", f"{method} with malformed JSON gets 400", "http.malformed-json"
        ) as rule:
            for label, raw in MALFORMED_JSON.items():
                exchange = client.send(method, path, raw_body=raw, headers={"Content-Type": "application/json"})
                if rule.expect_status(exchange, 400, f"{method} with {label}"):
                    answer = exchange.response_json
                    rule.expect(
                        isinstance(answer, dict) and contract.errors.illegal_argument in answer,
                        f"{method} with {label}: the 400 must carry {contract.errors.illegal_argument}",
                        exchange,
                    )


def path_rules(ctx: Context, layer: LayerRun) -> None:
    known = ctx.contract.collection_path
    # Paths beside the API's own: a provider may well serve something at "/".
    for path in (known + "s", ctx.contract.ticket_path(ctx.unknown_ticket_id()) + "/extra", known.upper()):
        with layer.rule(
            f"404.{path}", f"GET {path} (no such path) gets 404", ["http.unknown-path", ERROR_PAGES_JSON]
        ) as rule:
            exchange = ctx.client.send("GET", path)
            if rule.expect_status(exchange, 404, f"GET {path}"):
                rule.expect(
                    _is_json_error(ctx, exchange),
                    "the 404 is not the contract's JSON error body",
                    exchange,
                    breaks=ERROR_PAGES_JSON,
                )


def head_rule(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    with layer.rule("head", "HEAD answers as GET does, without a body", "http.head") as rule:
        if ctx.config.read_only:
            ticket_id = ctx.config.ticket_ids[0]
        else:
            ticket_id, _ = ctx.open_ticket()
        path = contract.ticket_path(ticket_id)
        get, head = client.get(path), client.send("HEAD", path)
        if rule.expect_status(head, get.status or 200, f"HEAD {path} (GET answered {get.status})"):
            # requests reads no body after HEAD: a connection of its own shows what the provider sent.
            authorization = {"Authorization": f"Bearer {client.tokens['a']}"}
            try:
                after = bytes_after_head(client.base_url + path, "HEAD", authorization, ctx.config.timeout)
            except OSError as error:
                rule.note(f"the HEAD answer's bytes could not be read on a connection of their own: {error}")
                return
            sent = f"this one sent {len(after)} bytes after its headers"
            rule.expect(not after, f"a HEAD answer carries no body ({sent})", head)


def odd_input_rules(ctx: Context, layer: LayerRun) -> None:
    contract, client = ctx.contract, ctx.client
    with layer.rule(
        "no-5xx.odd-ids", "GET with odd ticket ids never gets a 5xx", ["http.no-5xx", "http.json-parses"]
    ) as rule:
        for odd in ODD_IDS:
            _answers_and_parses(rule, client.send("GET", contract.ticket_path(odd)), f"GET id {odd[:20]!r}")
    if ctx.config.read_only:
        return
    try:
        ticket_id, _ = ctx.open_ticket()
    except SkipRule as reason:
        layer.skip("no-5xx.bodies", "odd bodies never get a 5xx", "http.no-5xx", str(reason), reason.remedy)
        return
    targets = {"POST": contract.collection_path, "PATCH": contract.ticket_path(ticket_id)}
    for method, path in targets.items():
        covers = ["http.no-5xx", "http.json-parses"]
        with layer.rule(f"no-5xx.{method}.odd-json", f"{method} with odd JSON bodies never gets a 5xx", covers) as rule:
            for label, raw in odd_bodies(contract.names).items():
                exchange = client.send(method, path, raw_body=raw, headers={"Content-Type": "application/json"})
                _answers_and_parses(rule, exchange, f"{method} with {label}")
        with layer.rule(
            f"no-5xx.{method}.odd-multipart", f"{method} with broken multipart never gets a 5xx", covers
        ) as rule:
            for label, raw, content_type in _odd_multipart():
                exchange = client.send(method, path, raw_body=raw, headers={"Content-Type": content_type})
                _answers_and_parses(rule, exchange, f"{method} with {label}")


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
        (
            "a thousand and one parts",
            b"".join(b'--b\r\nContent-Disposition: form-data; name="p"\r\n\r\nx\r\n' for _ in range(1001))
            + b"--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
    ]
