"""Schemathesis checks for what the contract says beyond the schema's types.

They are registered with Schemathesis on import and only run inside the schema layer, which
names them in its list of checks and sets the contract they read (`use_contract`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.verdicts import unusual_values
from spec.contract import Contract

_active: dict[str, Contract] = {}


class Breach(AssertionError):
    """A check's failure that says which contract rule it is about."""

    def __init__(self, message: str, breaks: str) -> None:
        super().__init__(message)
        self.breaks = breaks


def _leaves(names: list[str]) -> list[str]:
    return [re.split(r"[.\]]", name)[-1] for name in names]


ERROR_BODY_CHECK = "error_body_has_one_exception_key"
REQUIRED_FIELDS_CHECK = "required_fields_message_names_the_missing"


def use_contract(contract: Contract | None) -> None:
    """Set (or with None, clear) the contract the checks compare answers with."""
    _active.clear()
    if contract is not None:
        _active["contract"] = contract


def _json(response: Response) -> Any:
    try:
        return json.loads(response.content or b"")
    except ValueError:
        return None


@schemathesis.check
def error_body_has_one_exception_key(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 4xx body is a JSON object with exactly one of the three exception keys, whose value is text."""
    contract = _active.get("contract")
    if contract is None or not 400 <= response.status_code < 500:
        return None
    if contract.errors.message(_json(response)) is None:
        shown = response.content[:200].decode("utf-8", "replace") if response.content else "(empty)"
        raise AssertionError(
            f"A {response.status_code} body must be a JSON object with exactly one of "
            f"{', '.join(contract.errors.all)}, whose value is a message; got: {shown}"
        )
    return None


def _expected_missing(contract: Contract, case: Case) -> tuple[list[str], dict[str, Any]] | None:
    """What a `required fields:` message for this case must name, and the JSON object it sent;
    None when the case sent no JSON object to judge."""
    operation_id = case.operation.definition.raw.get("operationId")
    rules = next((b for b in (contract.create, contract.update) if b.operation_id == operation_id), None)
    if rules is None or not isinstance(case.body, dict):
        return None
    if case.media_type and case.media_type.startswith("multipart/"):
        data = case.body.get(rules.data_part)
        if data is None:  # an absent or null data part counts as missing
            return [rules.data_part], {}
        return (rules.missing(data), data) if isinstance(data, dict) else None
    return rules.missing(case.body), case.body


@schemathesis.check
def required_fields_message_names_the_missing(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 400 for missing fields names exactly the missing ones; other 400s name none as missing."""
    contract = _active.get("contract")
    if contract is None or response.status_code != 400:
        return None
    sent_type = (response.request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if sent_type != (case.media_type or "").lower():
        return None  # the body went out under another media type than it was made for
    found = _expected_missing(contract, case)
    answer = _json(response)
    message = answer.get(contract.errors.illegal_argument) if isinstance(answer, dict) else None
    if found is None or not isinstance(message, str):
        return None
    expected, body = found
    wanted = contract.required_message.format(expected)
    named = contract.required_message.parse(message)
    if expected and message != wanted:
        if named is None and (_leans_on_unusual_values(contract, case, body) or _sends_files(contract, case)):
            # It reported another problem of the request first (a value it does not take, a file part
            # it reads otherwise): within one body, which problem is named first is its choice.
            return None
        breaks = "body.required-fields-message"
        if named is not None and _leaves(named) == _leaves(expected):
            breaks = "body.nested-field-paths"  # the right fields, named another way inside lists
        raise Breach(
            f"The request lacks {', '.join(expected)}: the message must be {wanted!r}, got {message!r}", breaks
        )
    if not expected and contract.required_message.parse(message) is not None:
        # Entering some states needs fields of their own (the lifecycle's `requires_on_entry`).
        requested = body.get(contract.names.state)
        entry = contract.lifecycle.requires_on_entry.get(requested, ()) if isinstance(requested, str) else ()
        absent = [name for name in entry if body.get(name) is None]
        if message != contract.required_message.format(absent):
            raise Breach(
                f"The message names fields as missing that the request sent: {message!r}",
                "body.required-fields-message",
            )
    return None


def _sends_files(contract: Contract, case: Case) -> bool:
    parts = (contract.create.file_part, contract.update.file_part)
    return isinstance(case.body, dict) and any(case.body.get(part) for part in parts)


def _leans_on_unusual_values(contract: Contract, case: Case, body: dict[str, Any]) -> bool:
    operation_id = case.operation.definition.raw.get("operationId")
    rules = next((b for b in (contract.create, contract.update) if b.operation_id == operation_id), None)
    return rules is not None and bool(unusual_values(rules, body))


CUSTOM_CHECKS = (ERROR_BODY_CHECK, REQUIRED_FIELDS_CHECK)
