"""Layer 1, schema conformance: Schemathesis over every operation, positive and negative data.

It runs Schemathesis' examples, coverage, fuzzing and stateful phases (the stateful phase
follows the spec's links from a created ticket to GET and PATCH) with the built-in checks that
apply to this API and the contract's own (`contracts.checks`). Each (operation, check) pair is
one rule. Known false alarms, where a schema-valid request is rightly refused for reasons the
schema cannot express, are dropped (see `_expected_refusal`).
"""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.engine import events, from_schema

from contracts import checks
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule

NAME, TITLE = "schema", "Schema conformance (Schemathesis)"
BUILT_IN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)
# Failing cases reported per rule: enough to act on, few enough to read.
MAX_EXAMPLES_PER_RULE = 5
# Creations the schema layer leaves to the others (boundaries, lifecycle, round trip, auth).
RESERVED_CREATES = 200
# Checks that send requests of their own with other methods: not in read-only mode.
SENDS_OTHER_METHODS = ("unsupported_method", "allow_header_conformance")


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    schema = build_schema(ctx)
    rules: dict[tuple[str, str], Rule] = {}
    cases = 0
    checks.use_contract(ctx.contract)
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                cases += len(event.recorder.cases)
                collect(ctx, layer, rules, event.recorder)
                ctx.progress.update(layer.result, f" ({cases} Schemathesis cases)")
            elif isinstance(event, events.FatalError):
                layer.result.notes.append(f"Schemathesis stopped: {event.exception}")
            elif isinstance(event, events.NonFatalError):
                layer.result.notes.append(f"Schemathesis error in {event.label}: {event.info.title}")
    finally:
        checks.use_contract(None)
    for rule in rules.values():
        layer.add(rule)
    layer.result.notes.append(f"{cases} Schemathesis test cases, seed {ctx.seed}")
    return layer.finish()


def build_schema(ctx: Context) -> Any:
    """The spec as a Schemathesis schema, aimed at the endpoint and tamed for a real provider."""
    config = ctx.config
    schema = schemathesis.openapi.from_dict(ctx.contract.document)
    schema.config.update(
        base_url=config.base_url,
        headers={"Authorization": f"Bearer {ctx.client.tokens['a']}"},
        rate_limit=config.rate_limit,
        request_timeout=config.timeout,
    )
    schema.config.seed = ctx.seed
    schema.config.output.sanitization.update(enabled=False)  # the report redacts the token itself
    schema.config.generation.update(
        modes=list(GenerationMode), max_examples=config.max_examples, database="none", no_shrink=False
    )
    names = [*BUILT_IN_CHECKS, *checks.CUSTOM_CHECKS]
    phases = ["examples", "coverage", "fuzzing", "stateful"]
    if config.read_only:
        names = [name for name in names if name not in SENDS_OTHER_METHODS]
        phases.remove("stateful")
        schema = schema.include(method="GET")
    schema.config.checks.update(included_check_names=names)
    schema.config.phases.update(phases=phases)
    install_hooks(ctx, schema)
    return schema


def install_hooks(ctx: Context, schema: Any) -> None:
    client, contract = ctx.client, ctx.contract

    @schema.hook
    def filter_case(context: Any, case: Any) -> bool:
        if ctx.config.read_only:
            return str(case.method).upper() == "GET"  # coverage also tries other methods on each path
        if case.operation.method.upper() != "POST":
            return True
        if client.budget.left is not None and client.budget.left <= RESERVED_CREATES:
            return False  # the other layers need the rest of the budget
        # A multipart case with file parts cannot be given the suite's mirrorKey without
        # Schemathesis taking it for negative data: leave those to the boundaries layer.
        return not (_is_multipart(case) and isinstance(case.body, dict) and case.body.get(contract.create.file_part))

    def claim(case: Any) -> Any:
        """Give a create the suite's own mirrorKey; aim read-only GETs at the given tickets."""
        if case.operation.method.upper() == "POST":
            data = (
                case.body.get(contract.create.data_part)
                if _is_multipart(case) and isinstance(case.body, dict)
                else case.body
            )
            if isinstance(data, dict) and isinstance(data.get("mirrorKey"), str):
                data["mirrorKey"] = _own_key(client.keys, data["mirrorKey"], contract)
        if ctx.config.read_only and ctx.config.ticket_ids and "ticketId" in (case.path_parameters or {}):
            index = zlib.crc32(case.id.encode()) % len(ctx.config.ticket_ids)
            case.path_parameters["ticketId"] = ctx.config.ticket_ids[index]
        return case

    @schema.hook
    def map_case(context: Any, case: Any) -> Any:
        return claim(case)

    @schema.hook
    def before_add_examples(context: Any, examples: list[Any]) -> None:
        # The spec's own examples skip filter_case and map_case: claim them here.
        examples[:] = [claim(case) for case in examples if filter_case(context, case)]

    @schema.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        client.count_request()
        if case.operation.method.upper() == "POST" and response.status_code == 201:
            client.budget.spend()
            body = case.body.get(contract.create.data_part) if _is_multipart(case) else case.body
            try:
                client.note_created(response.json(), body, "a")
            except ValueError:
                pass

    @schema.hook
    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        return not _expected_refusal(ctx, failure, case)


def _is_multipart(case: Any) -> bool:
    return bool(case.media_type and case.media_type.startswith("multipart/"))


def _own_key(keys: Any, generated: str, contract: Any) -> str:
    """The suite's unique key in place of a generated one, kept over the limit when it was over."""
    limit = contract.create.max_length("mirrorKey")
    over = limit is not None and len(generated) > limit
    return keys.fresh(length=len(generated)) if over else keys.fresh()


def _expected_refusal(ctx: Context, failure: Any, case: Any) -> bool:
    """Failures that are the API keeping a rule the schema cannot state."""
    check = getattr(failure, "title", "")
    method = case.operation.method.upper()
    if "Schema-valid request rejected" in check and method == "POST":
        # Schemathesis may send one case twice; the second create meets the suite's own
        # mirrorKey, which opens one ticket only.
        data = case.body.get(ctx.contract.create.data_part) if _is_multipart(case) else case.body
        key = data.get("mirrorKey") if isinstance(data, dict) else None
        return any(ticket.mirror_key == key for ticket in ctx.client.created.values())
    if "Schema-valid request rejected" in check and method == "PATCH":
        # A schema-valid update is still refused when its ids do not match the ticket or the
        # lifecycle forbids the move: the lifecycle and round-trip layers check updates instead.
        return True
    if "Schema-violating request accepted" in check and _is_multipart(case):
        # Generated "wrong types" for a file part travel as bytes like any file: not a violation.
        parts = (ctx.contract.create.file_part, ctx.contract.update.file_part)
        return any(f"body - {part}" in failure.message or f"`{part}`" in failure.message for part in parts)
    return False


def collect(ctx: Context, layer: LayerRun, rules: dict[tuple[str, str], Rule], recorder: Any) -> None:
    """Turn one Schemathesis scenario's checks into rules and violations."""
    for case_id, nodes in recorder.checks.items():
        case_node = recorder.cases.get(case_id)
        operation = case_node.value.operation.label if case_node else recorder.label
        for node in nodes:
            key = (operation, node.name)
            rule = rules.get(key)
            if rule is None:
                rule = rules[key] = Rule(NAME, f"{operation}.{node.name}", f"{operation}: {node.name}")
            if node.failure_info is None or node.status.value != "failure":
                continue
            failure = node.failure_info.failure
            interaction = recorder.interactions.get(case_id)
            answer = None
            if interaction is not None and interaction.response is not None:
                body = interaction.response.content or b""
                answer = f"{interaction.response.status_code} {body[:500].decode('utf-8', 'replace')}"
            if len(rule.violations) < MAX_EXAMPLES_PER_RULE:
                rule.violate(
                    f"{failure.title}: {failure.message}".strip(),
                    curl=_redact(node.failure_info.code_sample, ctx.client.tokens),
                    answer=answer,
                    details=f"Schemathesis case {case_id}",
                )


def _redact(text: str, tokens: dict[str, str]) -> str:
    for role, token in tokens.items():
        text = text.replace(token, "$TT_TOKEN" if role == "a" else "$TT_TOKEN_B")
    return text.replace("'Authorization: Bearer $TT_TOKEN'", '"Authorization: Bearer $TT_TOKEN"')
