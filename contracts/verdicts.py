"""Which contract rules a request body or an answer breaks, to judge requests the suite did not write.

Schemathesis generates requests and judges answers by the schema alone; its failures say
"schema-violating request accepted" or "response violates schema" but not which rule of the
contract was at stake. These functions re-read the request or the answer against the spec and
name the rules, so that each failure is judged by the source of the rule it is about.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import jsonschema_rs

import spec
from spec.bodies import is_base64
from spec.catalogue import Catalogue, field_rule, response_rule
from spec.contract import Body, Contract


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for(schema, validate_formats=True, formats={"byte": is_base64})


def field_of(instance_path: list[str | int]) -> str:
    """`attachments[].content` from ['attachments', 0, 'content']."""
    text = ""
    for part in instance_path:
        text += "[]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class Verdicts:
    """Names the contract rules that requests and answers break, for one contract."""

    def __init__(self, contract: Contract, catalogue: Catalogue) -> None:
        self.contract, self.catalogue = contract, catalogue
        self._requests = {body.role: _validator(body.schema) for body in (contract.create, contract.update)}
        self._answers: dict[tuple[str, int], Any] = {}

    def body_violations(self, body: Body, value: Any) -> list[str]:
        """The catalogue rules a request body breaks (a required field null counts as missing)."""
        if not isinstance(value, dict):
            return ["body.other-invalid-data"]
        found = [field_rule(body.role, re.sub(r"\[\d+\]", "[]", name), "required") for name in body.missing(value)]
        for error in self._requests[body.role].iter_errors(value):
            keyword = str(error.schema_path[-1]) if error.schema_path else ""
            if keyword == "required" or (keyword == "type" and error.instance is None):
                continue  # named above, as missing
            found.append(field_rule(body.role, field_of(list(error.instance_path)), keyword))
        return [rule if rule in self.catalogue else "body.other-invalid-data" for rule in dict.fromkeys(found)]

    def answer_violations(self, role: str, status: int, answer: Any) -> list[str]:
        """The catalogue rules an answer's JSON body breaks, for a documented status."""
        validator = self._answer_validator(role, status)
        if validator is None:
            return []
        errors = list(validator.iter_errors(answer))
        if not errors:
            return []
        body_rule = response_rule(role, status, "body")
        if body_rule in self.catalogue and not self.catalogue.source(body_rule).binds_provider:
            return [body_rule]  # the whole shape of this answer is the mock's choice
        found = []
        for error in errors:
            keyword = str(error.schema_path[-1]) if error.schema_path else ""
            path = list(error.instance_path)
            if keyword == "required":
                candidate = response_rule(role, status, "required")
            elif path:
                candidate = response_rule(role, status, str(path[0]))
            elif keyword in ("additionalProperties", "oneOf") and _one_known_key_and_more(self.contract, answer):
                candidate = "errors.exactly-one-key"
            else:
                candidate = body_rule
            found.append(candidate if candidate in self.catalogue else body_rule)
        return list(dict.fromkeys(found))

    def _answer_validator(self, role: str, status: int) -> Any:
        key = (role, status)
        if key not in self._answers:
            try:
                schema = spec.response_schema(self.contract.document, self.contract.operations[role], str(status))
            except KeyError:
                schema = None
            self._answers[key] = _validator(schema) if schema is not None else None
        return self._answers[key]


def _one_known_key_and_more(contract: Contract, answer: Any) -> bool:
    return isinstance(answer, dict) and len(answer) > 1 and len(set(answer) & set(contract.errors.all)) == 1


# -- schema-valid values that many a correct provider refuses ----------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_DATE_TIME = re.compile(r"(\d{4})-\d\d-\d\d[Tt]\d\d:\d\d:(\d\d)(\.\d+)?([Zz]|[+-](\d\d):\d\d)", re.ASCII)


def unusual_values(body: Body, value: Any) -> list[str]:
    """Why a correct provider might refuse this schema-valid body: the mock-only rules it leans on."""
    found: list[str] = []
    for name, prop in body.properties.items():
        if isinstance(value, dict) and name in value:
            found += _unusual(prop, value[name])
    return list(dict.fromkeys(found))


def _unusual(schema: dict[str, Any], value: Any) -> list[str]:
    if schema.get("type") == "integer" and isinstance(value, float):
        return ["body.integer-as-float"]
    if isinstance(value, list):
        items = schema.get("items", {})
        return [rule for item in value for rule in _unusual(items, item)]
    if isinstance(value, dict):
        return [
            rule
            for key, prop in schema.get("properties", {}).items()
            if key in value
            for rule in _unusual(prop, value[key])
        ]
    if not isinstance(value, str):
        return []
    if schema.get("format") == "date-time":
        return _unusual_date_time(value)
    limit = schema.get("maxLength")
    astral = limit is not None and len(value.encode("utf-16-le")) // 2 > limit
    if _CONTROL.search(value) or not value.strip() or astral:
        return ["body.unusual-valid-values"]
    return []


def _unusual_date_time(value: str) -> list[str]:
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return ["body.unusual-valid-values"]
    if "t" in value or "z" in value:
        return ["body.date-time-lower-case"]
    year, second, fraction, _, offset_hours = match.groups()
    if int(year) < 1 or int(second) > 59 or (fraction and len(fraction) > 10) or int(offset_hours or 0) > 18:
        return ["body.unusual-valid-values"]
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ["body.unusual-valid-values"]
    return []
