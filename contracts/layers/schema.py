"""Layer 1, schema conformance: Schemathesis over every operation, positive and negative data.

It runs Schemathesis' examples, coverage, fuzzing and stateful phases (the stateful phase
follows the spec's links from a created ticket to GET and PATCH) with the built-in checks that
apply to this API and the contract's own (`contracts.checks`). Each (operation, check) pair is
one suite rule. Every failure is judged by the contract rule it is about (`contracts.verdicts`):
a schema-valid request refused for leaning on a value only the mock takes (2.0 as an integer, a
lower-case date-time...) is a warning; an invalid request accepted fails only when the rule it
breaks binds the provider. Schemathesis' requests go through the run's guarded adapter: the same
rate limit, retries, deadlines and provider monitor as every other layer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core import failures as st_failures
from schemathesis.engine import context as engine_context
from schemathesis.engine import events, from_schema
from schemathesis.specs.openapi import checks as st_checks

import spec
from contracts import checks
from contracts.context import Context
from contracts.results import LayerResult, LayerRun, Rule
from contracts.transport import RETRY_STATUSES
from contracts.verdicts import Verdicts, unusual_values
from spec.catalogue import response_rule

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
# The contract rules each check is about before anything is observed.
BASE_COVERS = {
    "not_a_server_error": ["http.no-5xx"],
    "status_code_conformance": ["http.documented-statuses"],
    "content_type_conformance": ["http.json-parses"],
    "response_headers_conformance": ["auth.challenge"],
    "response_schema_conformance": ["http.json-parses"],
    "negative_data_rejection": ["body.other-invalid-data"],
    "positive_data_acceptance": ["body.unusual-valid-values"],
    "missing_required_header": ["auth.no-token"],
    "unsupported_method": ["http.method-not-allowed"],
    "allow_header_conformance": ["http.allow-header"],
    checks.ERROR_BODY_CHECK: ["errors.exactly-one-key"],
    checks.REQUIRED_FIELDS_CHECK: ["body.required-fields-message"],
}


class Observed:
    """What Schemathesis sent and got per operation, to say honestly which contract rules it checked."""

    def __init__(self) -> None:
        self.statuses: dict[str, set[int]] = {}
        self.negative_rules: dict[str, set[str]] = {}
        self.cases = 0


def run(ctx: Context) -> LayerResult:
    layer = ctx.layer(NAME, TITLE)
    verdicts = Verdicts(ctx.contract, ctx.catalogue)
    observed = Observed()
    schema = build_schema(ctx, verdicts, observed)
    rules: dict[tuple[str, str], Rule] = {}
    checks.use_contract(ctx.contract)
    try:
        with guarded_sessions(ctx):
            stream = from_schema(schema).execute()
            for event in stream:
                if ctx.adapter.halted is not None:
                    stream.stop()
                    continue
                if isinstance(event, events.ScenarioFinished):
                    collect(ctx, verdicts, layer, rules, event.recorder)
                    ctx.progress.update(layer.result, f" ({observed.cases} Schemathesis cases)")
                elif isinstance(event, events.NonFatalError):
                    network_error(ctx, layer, rules, event)
                elif isinstance(event, events.FatalError):
                    layer.result.notes.append(f"Schemathesis stopped: {event.exception}")
    finally:
        checks.use_contract(None)
        for (operation, check), rule in rules.items():
            finish_covers(ctx, rule, operation, check, observed)
            layer.add(rule)
    layer.result.notes.append(f"{observed.cases} Schemathesis test cases, seed {ctx.seed}")
    if ctx.adapter.halted is not None:
        raise ctx.adapter.halted
    return layer.finish()


@contextmanager
def guarded_sessions(ctx: Context) -> Iterator[None]:
    """Give every session Schemathesis makes the run's guarded adapter (limits, retries, monitor)."""
    make_session = engine_context.make_session

    def guarded(*args: Any, **kwargs: Any) -> Any:
        session = make_session(*args, **kwargs)
        session.mount("http://", ctx.adapter)
        session.mount("https://", ctx.adapter)
        return session

    with mock.patch.object(engine_context, "make_session", guarded):
        yield


def build_schema(ctx: Context, verdicts: Verdicts, observed: Observed) -> Any:
    """The spec as a Schemathesis schema, aimed at the endpoint and tamed for a real provider."""
    config = ctx.config
    # A config of its own: a schemathesis.toml found in the working directory (this project ships
    # one for plain Schemathesis runs) must not change what the suite checks.
    schema = schemathesis.openapi.from_dict(ctx.contract.document, config=SchemathesisConfig())
    schema.config.update(
        base_url=config.base_url,
        headers={"Authorization": f"Bearer {ctx.client.tokens['a']}"},
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
    install_hooks(ctx, schema, verdicts, observed)
    return schema


def role_of(ctx: Context, case: Any) -> str | None:
    operation_id = case.operation.definition.raw.get("operationId")
    return next((role for role, op in ctx.contract.operations.items() if op == operation_id), None)


def data_of(ctx: Context, case: Any, role: str) -> Any:
    """The JSON a case sent for an operation's body (a multipart case's data part)."""
    if _is_multipart(case) and isinstance(case.body, dict):
        return case.body.get(ctx.contract.body(role).data_part)
    return case.body


def install_hooks(ctx: Context, schema: Any, verdicts: Verdicts, observed: Observed) -> None:
    client, contract = ctx.client, ctx.contract
    names = contract.names

    @schema.hook
    def filter_case(context: Any, case: Any) -> bool:
        if ctx.config.read_only:
            return str(case.method).upper() == "GET"  # coverage also tries other methods on each path
        if role_of(ctx, case) != "create":
            return True
        if client.budget.left is not None and client.budget.left <= RESERVED_CREATES:
            return False  # the other layers need the rest of the budget
        # A multipart case with file parts cannot be given the suite's mirrorKey without
        # Schemathesis taking it for negative data: leave those to the boundaries layer.
        return not (_is_multipart(case) and isinstance(case.body, dict) and case.body.get(contract.create.file_part))

    def claim(case: Any) -> Any:
        """Give a create the suite's own mirrorKey; aim read-only GETs at the given tickets."""
        if role_of(ctx, case) == "create":
            data = data_of(ctx, case, "create")
            if isinstance(data, dict) and isinstance(data.get(names.mirror_key), str):
                data[names.mirror_key] = _own_key(client.keys, data[names.mirror_key], ctx)
        if ctx.config.read_only and ctx.config.ticket_ids and contract.path_parameter in (case.path_parameters or {}):
            index = zlib.crc32(case.id.encode()) % len(ctx.config.ticket_ids)
            case.path_parameters[contract.path_parameter] = ctx.config.ticket_ids[index]
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
        observed.cases += 1
        label = case.operation.label
        observed.statuses.setdefault(label, set()).add(response.status_code)
        role = role_of(ctx, case)
        mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
        if role in ("create", "update") and mode == GenerationMode.NEGATIVE:
            broken = verdicts.body_violations(contract.body(role), data_of(ctx, case, role))
            observed.negative_rules.setdefault(label, set()).update(broken)
        if role == "create" and response.status_code == 201:
            client.budget.spend()
            try:
                client.note_created(response.json(), data_of(ctx, case, role), "a")
            except ValueError:
                pass

    @schema.hook
    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        if response is not None and response.status_code in RETRY_STATUSES:
            return False  # still rate limited after the retries: not an answer to judge
        return not _expected_refusal(ctx, failure, case)


def _is_multipart(case: Any) -> bool:
    return bool(case.media_type and case.media_type.startswith("multipart/"))


def _own_key(keys: Any, generated: str, ctx: Context) -> str:
    """The suite's unique key in place of a generated one, kept over the limit when it was over."""
    limit = ctx.contract.create.max_length(ctx.contract.names.mirror_key)
    over = limit is not None and len(generated) > limit
    return keys.fresh(length=len(generated)) if over else keys.fresh()


def _expected_refusal(ctx: Context, failure: Any, case: Any) -> bool:
    """Failures that are the API keeping a rule the schema cannot state."""
    role = role_of(ctx, case)
    if isinstance(failure, st_checks.RejectedPositiveData) and role == "create":
        # Schemathesis may send one case twice; the second create meets the suite's own
        # mirrorKey, which opens one ticket only.
        data = data_of(ctx, case, role)
        key = data.get(ctx.contract.names.mirror_key) if isinstance(data, dict) else None
        return any(ticket.mirror_key == key for ticket in ctx.client.created.values())
    if isinstance(failure, st_checks.RejectedPositiveData) and role == "update":
        # A schema-valid update is still refused when its ids do not match the ticket or the
        # lifecycle forbids the move: the lifecycle and round-trip layers judge updates instead.
        return True
    if isinstance(failure, st_failures.AcceptedNegativeData) and _is_multipart(case):
        # Generated "wrong types" for a file part travel as bytes like any file: not a violation.
        parts = (ctx.contract.create.file_part, ctx.contract.update.file_part)
        return any(f"body - {part}" in failure.message or f"`{part}`" in failure.message for part in parts)
    return False


def judge(ctx: Context, verdicts: Verdicts, check: str, failure: Any, case: Any, response: Any) -> tuple[str, str]:
    """The contract rule a Schemathesis failure is about, and why."""
    role = role_of(ctx, case) or ""
    status = response.status_code if response is not None else 0
    breach = getattr(getattr(failure, "exception", None), "breaks", None)
    if breach is not None:  # one of the contract's own checks, which knows its rule
        return breach, ""
    if check == "not_a_server_error":
        return "http.no-5xx", ""
    if check == "status_code_conformance":
        if 200 <= status < 400:
            success = "201" if role == "create" else "200"
            return response_rule(role, success), "a valid request's answer"
        if role in ("create", "update") and status == 422:
            return response_rule(role, 400), "the page answers a bad request with 400"
        return "http.documented-statuses", f"{status} is not among the answers the spec documents for it"
    if check in ("response_schema_conformance", "content_type_conformance"):
        if isinstance(failure, st_failures.MalformedJson):
            return "http.json-parses", ""
        body_rule = response_rule(role, status, "body")
        if body_rule not in ctx.catalogue:
            return "http.documented-statuses", f"{status} is not documented, so neither is its body"
        if check == "content_type_conformance":
            return body_rule, ""
        try:
            answer = response.json()
        except ValueError:
            return "http.json-parses", ""
        broken = verdicts.answer_violations(role, status, answer)
        return (broken[0] if broken else body_rule), ""
    if check == "response_headers_conformance":
        return "auth.challenge", ""
    if check == "negative_data_rejection":
        if role not in ("create", "update"):
            return "body.other-invalid-data", ""
        broken = verdicts.body_violations(ctx.contract.body(role), data_of(ctx, case, role))
        binding = [rule for rule in broken if ctx.catalogue.source(rule).binds_provider]
        if binding:
            return binding[0], ""
        return "body.other-invalid-data", "the request breaks no rule that binds a provider"
    if check == "positive_data_acceptance":
        if role in ("create", "update"):
            leans_on = unusual_values(ctx.contract.body(role), data_of(ctx, case, role))
            if leans_on:
                return leans_on[0], "valid by the schema, but it leans on a value a provider may refuse"
        if role == "read":
            ticket_id = (case.path_parameters or {}).get(ctx.contract.path_parameter)
            if not ctx.contract.ticket_ids.matches(ticket_id):
                return (
                    "http.documented-statuses",
                    f"{ticket_id!r} cannot be a ticket id: a provider may call it a bad request",
                )
            return response_rule("read", 404), "a well-formed id of no ticket is not found, not a bad request"
        success = "201" if role == "create" else "200"
        return response_rule(role, success) if role else "http.documented-statuses", ""
    if check == "error_body_has_one_exception_key":
        body_rule = response_rule(role, status, "body")
        if body_rule in ctx.catalogue and ctx.catalogue.source(body_rule).binds_provider:
            return "errors.exactly-one-key", ""
        return "http.error-pages-json", f"a {status}'s body is the provider's own choice"
    return BASE_COVERS.get(check, ["http.documented-statuses"])[0], ""


def collect(
    ctx: Context, verdicts: Verdicts, layer: LayerRun, rules: dict[tuple[str, str], Rule], recorder: Any
) -> None:
    """Turn one Schemathesis scenario's checks into rules and violations."""
    for case_id, nodes in recorder.checks.items():
        case_node = recorder.cases.get(case_id)
        operation = case_node.value.operation.label if case_node else recorder.label
        for node in nodes:
            key = (operation, node.name)
            rule = rules.get(key)
            if rule is None:
                covers = BASE_COVERS.get(node.name, ["http.documented-statuses"])
                rule = rules[key] = layer.new_rule(f"{operation}.{node.name}", f"{operation}: {node.name}", covers)
            if node.failure_info is None or node.status.value != "failure" or case_node is None:
                continue
            failure = node.failure_info.failure
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            answer = None
            if response is not None:
                body = response.content or b""
                answer = f"{response.status_code} {body[:500].decode('utf-8', 'replace')}"
            breaks, why = judge(ctx, verdicts, node.name, failure, case_node.value, response)
            if len([v for v in rule.violations if v.breaks == breaks]) >= MAX_EXAMPLES_PER_RULE:
                continue
            rule.violate(
                f"{failure.title}: {failure.message}".strip() + (f" ({why})" if why else ""),
                breaks=breaks,
                curl=_redact(node.failure_info.code_sample, ctx),
                answer=answer,
                details=f"Schemathesis case {case_id}",
            )


def network_error(ctx: Context, layer: LayerRun, rules: dict[tuple[str, str], Rule], event: Any) -> None:
    """A request Schemathesis sent got no answer: a violation, unless the run halted for it."""
    no_answer = isinstance(event.value, requests.RequestException)
    if ctx.adapter.halted is not None or not event.related_to_operation or not no_answer:
        layer.result.notes.append(f"Schemathesis error in {event.label}: {event.info.title}")
        return
    key = (event.label, "answers")
    rule = rules.get(key)
    if rule is None:
        rule = rules[key] = layer.new_rule(
            f"{event.label}.answers", f"{event.label}: every request gets an answer", "http.answers-every-request"
        )
    rule.violate(
        f"no answer: {event.info.title}: {event.info.message}".strip(),
        curl=_redact(event.info.code_sample or "", ctx) or None,
    )


def finish_covers(ctx: Context, rule: Rule, operation: str, check: str, observed: Observed) -> None:
    """What a rule checked, from what was observed: the answers seen, the rules the invalid data broke."""
    role = next((r for r, op in ctx.contract.operations.items() if _label_of(ctx, op) == operation), None)
    if role is None:
        return
    extra: list[str] = []
    for status in sorted(observed.statuses.get(operation, ())):
        if check == "status_code_conformance":
            extra.append(response_rule(role, status))
        elif check in ("response_schema_conformance", "content_type_conformance"):
            extra.append(response_rule(role, status, "body"))
            if check == "response_schema_conformance" and 200 <= status < 300:
                extra += [response_rule(role, status, f.name) for f in _view(ctx, role, status)]
                extra.append(response_rule(role, status, "required"))
    if check == "negative_data_rejection":
        extra += sorted(observed.negative_rules.get(operation, ()))
    if check == "positive_data_acceptance":
        extra.append(response_rule(role, "201" if role == "create" else "200"))
    for contract_rule in extra:
        if contract_rule in ctx.catalogue and contract_rule not in rule.covers:
            rule.covers.append(contract_rule)


def _label_of(ctx: Context, operation_id: str) -> str:
    path, method, _ = spec.operation(ctx.contract.document, operation_id)
    return f"{method} {path}"


def _view(ctx: Context, role: str, status: int) -> list[Any]:
    return {"create": ctx.contract.created_view, "read": ctx.contract.ticket_view, "update": ctx.contract.update_view}[
        role
    ]


def _redact(text: str, ctx: Context) -> str:
    for label, token in ctx.tokens.labels().items():
        text = text.replace(f"'Authorization: Bearer {token}'", f'"Authorization: Bearer {label}"')
        text = text.replace(token, label)
    return text
