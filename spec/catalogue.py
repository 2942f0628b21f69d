"""Every rule of the contract, each with an id and the source it comes from.

Most rules are derived: each request field's limits, required flag, enum, type and format from
`openapi.yaml`, each documented answer and its body, each lifecycle edge for each side from
`lifecycle.yaml`. The rest, which no schema keyword can state (auth, tenancy, the order of
checks...), are listed in `rules.yaml`. A new limit in the spec is a new rule here, and the
contract suite's coverage test fails until some check covers it.

Where a rule comes from decides what breaking it means (`Source`): the page, a standard or the
written contract bind a provider; what only the mock chose is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

import spec
from spec.contract import Contract
from spec.mirror import MirrorContract


class Source(StrEnum):
    PAGE = "page"  # the provider's page states it
    STANDARD = "standard"  # an RFC or the JSON/JWT specifications require it
    CONTRACT = "contract"  # CONTRACT.md decided it where the page is silent
    MOCK = "mock"  # only this project's mock chooses so

    @property
    def binds_provider(self) -> bool:
        """True when breaking a rule of this source fails a provider (without --strict)."""
        return self is not Source.MOCK


SOURCES = tuple(Source)
# The request-schema keywords that make rules of their own.
RULE_KEYWORDS = ("maxLength", "minLength", "enum", "type", "format", "minimum", "maximum", "pattern")


@dataclass(frozen=True)
class ContractRule:
    id: str
    source: Source
    text: str
    origin: str  # the file it is read or derived from
    checkable: bool = True
    why_not: str | None = None  # for a rule no client can check from outside


# -- rule ids: built here only, so that the suite names rules exactly as the catalogue does -----


def field_rule(role: str, path: str, keyword: str) -> str:
    """`create.dialog.maxLength`, `create.attachments[].content.format`, `update.dialog.required`."""
    return f"{role}.{path}.{keyword}"


def response_rule(role: str, status: int | str, part: str | None = None) -> str:
    """`read.404` (the status is answered), `read.404.body`, `read.200.preferredPriority`."""
    return f"{role}.{status}" + (f".{part}" if part else "")


def multipart_rule(role: str) -> str:
    return f"{role}.multipart"


def edge_rule(side: str, source: str, target: str) -> str:
    return f"lifecycle.{side}.{source}->{target}"


def terminal_rule(state: str) -> str:
    return f"lifecycle.terminal.{state}"


def entry_rule(state: str) -> str:
    return f"lifecycle.entry.{state}"


class Catalogue:
    """The rules of one contract, by id, in a stable order."""

    def __init__(self, rules: list[ContractRule]) -> None:
        self._rules: dict[str, ContractRule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise ValueError(f"contract rule {rule.id!r} is defined twice")
            self._rules[rule.id] = rule

    @classmethod
    def build(cls, contract: Contract | MirrorContract) -> Catalogue:
        """All rules of a contract: derived from its spec and lifecycle, and listed in its rules file.
        A mirror's contract (spec/mirror.yaml) makes the mirror's catalogue: its one body, the
        lifecycle's edges for the side that calls it, its own rules file."""
        document = contract.document
        defaults = document.get("x-sources", {})
        rules = [*_body_rules(contract, defaults), *_response_rules(contract, defaults), *_lifecycle_rules(contract)]
        rules_path = spec.rules_path_of(document, contract.spec_path)
        if rules_path is not None:
            rules += _listed_rules(rules_path)
        return cls(rules)

    def __getitem__(self, rule_id: str) -> ContractRule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise KeyError(f"no contract rule {rule_id!r}: the suite names a rule the catalogue lacks") from None

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[ContractRule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def source(self, rule_id: str) -> Source:
        return self[rule_id].source


# -- derivations -------------------------------------------------------------------------------


def _source(value: Any, key: str) -> Source | None:
    """The source an `x-source` annotation gives for `key` (a keyword, or status/body)."""
    if isinstance(value, str):
        return Source(value)
    if isinstance(value, dict) and key in value:
        return Source(value[key])
    return None


def _keyword_source(node: dict[str, Any], keyword: str, defaults: dict[str, Any]) -> Source:
    found = _source(node.get("x-source"), keyword)
    if found:
        return found
    return Source(defaults.get("request-keywords", {}).get(keyword, Source.PAGE))


def _describe(keyword: str, value: Any) -> str:
    if keyword == "maxLength":
        return f"has at most {value} characters"
    if keyword == "minLength":
        return f"has at least {value} characters"
    if keyword == "enum":
        return "is one of " + ", ".join(map(str, value))
    if keyword == "type":
        return f"is of JSON type {_type_text(value)}"
    if keyword == "format":
        return {"date-time": "is an RFC 3339 date-time", "byte": "is standard base64"}.get(value, f"is a {value}")
    if keyword == "minimum":
        return f"is at least {value}"
    if keyword == "maximum":
        return f"is at most {value}"
    return f"matches {value}"


def _type_text(value: Any) -> str:
    return value if isinstance(value, str) else " or ".join(value)


def _walk(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(field path, property schema, parent object schema) for every property, depth first."""
    for name, prop in schema.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        yield here, prop, schema
        if prop.get("type") == "object":
            yield from _walk(prop, here)
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
            yield from _walk(items, f"{here}[]")


def _body_rules(contract: Contract | MirrorContract, defaults: dict[str, Any]) -> Iterator[ContractRule]:
    origin = contract.spec_path.name
    for body in contract.bodies:
        role = body.role
        for path, prop, parent in _walk(body.schema, ""):
            name = path.rsplit(".", 1)[-1]
            if name in parent.get("required", ()):
                source = _source(prop.get("x-source"), "required") or _keyword_source(parent, "required", defaults)
                yield ContractRule(field_rule(role, path, "required"), source, f"{role}: {path} is required", origin)
            for keyword in RULE_KEYWORDS:
                if keyword in prop:
                    text = f"{role}: {path} {_describe(keyword, prop[keyword])}"
                    source = _keyword_source(prop, keyword, defaults)
                    yield ContractRule(field_rule(role, path, keyword), source, text, origin)
        yield ContractRule(
            multipart_rule(role),
            Source.PAGE,
            f"{role}: the body may come as multipart/form-data, the JSON in a '{body.data_part}' part "
            f"and files in '{body.file_part}' parts",
            origin,
        )


def _response_rules(contract: Contract | MirrorContract, defaults: dict[str, Any]) -> Iterator[ContractRule]:
    origin = contract.spec_path.name
    default = Source(defaults.get("responses", Source.PAGE))
    for role, operation_id in contract.operations.items():
        _, _, operation = spec.operation(contract.document, operation_id)
        for status, response in operation.get("responses", {}).items():
            response = spec.resolve(response, contract.document)
            annotation = response.get("x-source")
            status_source = _source(annotation, "status") or default
            body_source = _source(annotation, "body") or default
            summary = " ".join(response.get("description", "").split())[:120]
            checkable = {"checkable": bool(response.get("x-checkable", True)), "why_not": response.get("x-why")}
            text = f"{role} answers {status}: {summary}"
            yield ContractRule(response_rule(role, status), status_source, text, origin, **checkable)
            schema = response.get("content", {}).get(spec.JSON, {}).get("schema")
            if schema is None:
                continue
            text = f"{role}: the {status} body matches the spec's schema"
            yield ContractRule(response_rule(role, status, "body"), body_source, text, origin, **checkable)
            if not str(status).startswith("2"):
                continue
            for name, prop in schema.get("properties", {}).items():
                source = body_source if body_source is Source.MOCK else _source(prop.get("x-source"), "type")
                yield ContractRule(
                    response_rule(role, status, name),
                    source or body_source,
                    f"{role}: the {status} answer shows {name} as {_type_text(prop.get('type', 'any JSON value'))}",
                    origin,
                )
            if schema.get("required"):
                source = _source(schema.get("x-source"), "required") or body_source
                yield ContractRule(
                    response_rule(role, status, "required"),
                    source,
                    f"{role}: the {status} answer always has {', '.join(schema['required'])}",
                    origin,
                )


def _lifecycle_rules(contract: Contract | MirrorContract) -> Iterator[ContractRule]:
    lifecycle = contract.lifecycle
    origin = contract.lifecycle_path.name
    source = Source(lifecycle.source)
    for side in contract.sides:
        for state in lifecycle.states:
            if lifecycle.is_terminal(state):
                continue
            for target in lifecycle.states:
                allowed = lifecycle.allows(state, target, side)
                meaning = next(
                    (t.meaning for t in lifecycle.transitions if (t.source, t.target, t.side) == (state, target, side)),
                    "the ticket stays where it is" if state == target else "",
                )
                text = f"the {side} {'may' if allowed else 'may not'} move a ticket from {state} to {target}"
                yield ContractRule(
                    edge_rule(side, state, target), source, text + (f" ({meaning})" if meaning else ""), origin
                )
    for state in sorted(lifecycle.terminal):
        yield ContractRule(terminal_rule(state), source, f"a {state} ticket accepts no update at all", origin)
    for state, fields in lifecycle.requires_on_entry.items():
        text = f"a move into {state} from another state needs {', '.join(fields)}"
        yield ContractRule(entry_rule(state), source, text, origin)


def _listed_rules(path: Path) -> Iterator[ContractRule]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    inherit = data.get("inherit")
    if inherit:  # another rules file's rules, as they are (the mirror takes the provider's)
        try:
            source, wanted = path.parent / inherit["from"], list(inherit["ids"])
        except (KeyError, TypeError):
            raise ValueError(f"{path}: inherit names a rules file (from) and the ids to take (ids)") from None
        found = {rule.id: rule for rule in _listed_rules(source)}
        missing = [rule_id for rule_id in wanted if rule_id not in found]
        if missing:
            raise ValueError(f"{path}: inherits rules {source.name} does not list: {', '.join(missing)}")
        yield from (found[rule_id] for rule_id in wanted)
    for item in data.get("rules", ()):
        try:
            checkable = bool(item.get("checkable", True))
            if not checkable and not item.get("why"):
                raise ValueError(f"{path}: rule {item['id']!r} is not checkable but says not why")
            yield ContractRule(item["id"], Source(item["source"]), item["rule"], path.name, checkable, item.get("why"))
        except (KeyError, TypeError) as missing:
            raise ValueError(f"{path}: a rule lacks {missing}: {item!r}") from None
