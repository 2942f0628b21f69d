"""Request body rules, built from the spec at start-up: nothing here lists a field or a limit.

A body is checked in the contract's order: it must be a JSON object, then every required
field must be present and not null (one `required fields:` message, in the schema's order),
then every other rule of the schema (each violation named with its field and rule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from mockserver.errors import IllegalArgument, RequiredFieldsMissing
from spec.bodies import BodyShape, field_path, is_base64
from spec.contract import Body


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_violation(keyword: str, rule: Any, value: Any) -> str:
    """Explain, for a person, how `value` breaks the schema keyword `keyword` (whose value is `rule`)."""
    if keyword == "maxLength":
        return f"at most {rule} characters allowed, got {len(value)}"
    if keyword == "minLength":
        return f"at least {rule} characters required, got {len(value)}"
    if keyword in ("enum", "const"):
        allowed = rule if keyword == "enum" else [rule]
        return f"must be one of {', '.join(map(str, allowed))}; got {_short(value)}"
    if keyword == "type":
        return f"must be of type {rule if isinstance(rule, str) else ' or '.join(rule)}, got {_json_type(value)}"
    if keyword == "minimum":
        return f"must be at least {rule}, got {value}"
    if keyword == "maximum":
        return f"must be at most {rule}, got {value}"
    if keyword == "format" and rule == "date-time":
        return f"must be an RFC 3339 date-time such as 2025-01-15T10:30:00Z; got {_short(value)}"
    if keyword == "format" and rule == "byte":
        return "must be standard base64 (A-Z a-z 0-9 + /, optional = padding)"
    if keyword == "pattern":
        return f"must match {rule}; got {_short(value)}"
    return f"breaks the rule {keyword}: {rule}"


@dataclass(frozen=True)
class BodyRules:
    """The rules of one JSON body schema (a create or an update ticket)."""

    schema: dict[str, Any]

    def __post_init__(self) -> None:
        validator = jsonschema_rs.validator_for(self.schema, validate_formats=True, formats={"byte": is_base64})
        object.__setattr__(self, "_validator", validator)
        object.__setattr__(self, "_shape", BodyShape.of(self.schema))
        integers = [name for name, prop in self.properties.items() if prop.get("type") == "integer"]
        object.__setattr__(self, "_integers", integers)
        order = {name: index for index, name in enumerate(self.schema.get("properties", {}))}
        object.__setattr__(self, "_order", order)

    @property
    def properties(self) -> dict[str, Any]:
        return self.schema.get("properties", {})

    def check(self, body: Any) -> dict[str, Any]:
        """Return `body` when it obeys the schema; raise IllegalArgument naming what it breaks."""
        if not isinstance(body, dict):
            raise IllegalArgument(f"the body must be a JSON object, got {_json_type(body)}")
        missing = self._shape.missing(body, [])  # type: ignore[attr-defined]
        if missing:
            raise RequiredFieldsMissing(missing)
        if self._validator.is_valid(body):  # type: ignore[attr-defined]
            for name in self._integers:  # type: ignore[attr-defined]
                if isinstance(body.get(name), float):  # JSON Schema counts 3.0 as the integer 3
                    body[name] = int(body[name])
            return body
        problems = []
        for error in self._validator.iter_errors(body):  # type: ignore[attr-defined]
            keyword = error.schema_path[-1]
            rule = _schema_at(self.schema, error.schema_path)
            path = list(error.instance_path)
            problems.append((self._rank(path), field_path(path), describe_violation(keyword, rule, error.instance)))
        problems.sort(key=lambda problem: problem[:2])
        raise IllegalArgument("; ".join(f"{name}: {text}" if name else text for _, name, text in problems))

    def unknown_fields(self, body: dict[str, Any]) -> list[str]:
        """Fields of `body` the schema does not declare (the API ignores them)."""
        return self._shape.unknown(body, [])  # type: ignore[attr-defined]

    def _rank(self, path: list[str | int]) -> int:
        return self._order.get(path[0], len(self._order)) if path else -1  # type: ignore[attr-defined]


def _schema_at(schema: dict[str, Any], schema_path: list[str | int]) -> Any:
    node: Any = schema
    for part in schema_path:
        node = node[part]
    return node


@dataclass(frozen=True)
class OperationRules:
    """What one operation accepts: its JSON body rules and its multipart shape."""

    body: BodyRules
    multipart_data_part: str
    multipart_file_part: str

    @classmethod
    def of(cls, body: Body) -> OperationRules:
        """The rules of a request body as the contract reads it from the spec."""
        return cls(body=BodyRules(body.schema), multipart_data_part=body.data_part, multipart_file_part=body.file_part)
