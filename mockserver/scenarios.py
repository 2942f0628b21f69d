"""Scenarios: what the mock's TO does on its own, and when, read from a data file (spec/scenarios.yaml).

A scenario waits for an event on a ticket (it enters a state, from some state, moved by some side,
its fields matching), then after a delay on the mock's clock takes one TO edge. The file's format
is described at the top of spec/scenarios.yaml. Everything is checked when the file is read,
against the lifecycle and the update schema the mock enforces: a scenario that would take an edge
the TO may not take, or a step the provider's own rules would refuse, stops the mock at start-up
with a message naming the scenario. mockserver.schedule runs them.
"""

from __future__ import annotations

import copy
import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.clock import describe_ms, parse_duration
from mockserver.datafiles import read_yaml
from mockserver.errors import ApiError
from mockserver.validation import OperationRules
from spec.contract import Contract
from spec.lifecycle import SIDES, Side

CREATED = "created"  # when.from for a ticket just opened
NOW = "now"  # in then.fields: the clock's time when the step fires
SCENARIO_KEYS = ("name", "meaning", "when", "after", "unless_updated_by", "then")
WHEN_KEYS = ("enters", "from", "by", "match")
THEN_KEYS = ("to", "dialog", "fields")
MATCH_OPERATORS = ("startsWith",)
TENANT = "tenant"  # matchable besides the ticket's fields
_SAMPLE_NOW = "2025-01-15T10:30:00Z"  # stands for `now` while a step is checked at load


@dataclass(frozen=True)
class Condition:
    """One field a ticket must match: a value, any of several, or a prefix."""

    name: str
    values: tuple[Any, ...] = ()
    prefix: str | None = None

    def holds(self, found: Any) -> bool:
        if self.prefix is not None:
            return isinstance(found, str) and found.startswith(self.prefix)
        return any(found == value and type(found) is type(value) for value in self.values)

    def describe(self) -> str:
        if self.prefix is not None:
            return f"{self.name} starts with {self.prefix!r}"
        shown = " or ".join(repr(v) for v in self.values)
        return f"{self.name} is {shown}"


@dataclass(frozen=True)
class Scenario:
    """One checked scenario."""

    index: int  # its place in the file: at the same due time, the first listed fires first
    name: str
    meaning: str
    enters: str
    sources: tuple[str | None, ...] | None  # None: from anywhere; None inside: a ticket just opened
    by: Side | None
    conditions: tuple[Condition, ...]
    after_ms: int
    unless_updated_by: Side | None
    to: str
    dialog: str
    fields: dict[str, Any]

    def triggered(self, *, from_state: str | None, to_state: str, side: str, values: Mapping[str, Any]) -> bool:
        """Whether an event (a move from `from_state` to `to_state` by `side`) on a ticket whose
        fields, mirrorKey and tenant are `values` starts this scenario."""
        if to_state != self.enters or (from_state == to_state and from_state is not None):
            return False
        if self.sources is not None and from_state not in self.sources:
            return False
        if self.by is not None and side != self.by:
            return False
        return all(condition.holds(values.get(condition.name)) for condition in self.conditions)

    def describe(self) -> dict[str, Any]:
        """The scenario as the control API shows it."""
        sources = None if self.sources is None else [CREATED if s is None else s for s in self.sources]
        return {
            "name": self.name,
            "meaning": self.meaning,
            "when": {
                "enters": self.enters,
                "from": sources,
                "by": self.by,
                "match": [condition.describe() for condition in self.conditions],
            },
            "after": describe_ms(self.after_ms),
            "afterSeconds": self.after_ms / 1000,
            "unlessUpdatedBy": self.unless_updated_by,
            "then": {"to": self.to, "dialog": self.dialog, "fields": self.fields},
        }


@dataclass
class ScenarioBook:
    """The scenarios of one file, in its order."""

    scenarios: list[Scenario] = field(default_factory=list)
    path: Path | None = None

    def __iter__(self):  # noqa: ANN204 - an iterator of Scenario
        return iter(self.scenarios)

    def __len__(self) -> int:
        return len(self.scenarios)

    def by_name(self, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.name == name), None)


def load(path: str | Path, contract: Contract, transition_rules: OperationRules) -> ScenarioBook:
    """Read and check a scenario file; ValueError names the file, the scenario and the problem."""
    try:
        data = copy.deepcopy(_read(str(Path(path).resolve()), Path(path).stat().st_mtime_ns))
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror})") from None
    if isinstance(data, dict) and set(data) <= {"scenarios"}:
        data = data.get("scenarios") or []
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a scenario file holds `scenarios:`, a list of scenarios")
    return parse(data, contract, transition_rules, origin=str(path), path=Path(path))


@functools.lru_cache(maxsize=8)
def _read(path: str, _mtime_ns: int) -> Any:
    """The file's YAML, read once per version of it (tests build many apps on the shipped one)."""
    return read_yaml(path)


def parse(
    data: list[Any], contract: Contract, transition_rules: OperationRules, *, origin: str, path: Path | None = None
) -> ScenarioBook:
    book = ScenarioBook(path=path)
    seen: set[str] = set()
    for index, item in enumerate(data):
        label = f"scenarios[{index}]"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            label += f" ({item['name']})"
        try:
            scenario = _scenario(index, item, contract, transition_rules)
        except ValueError as problem:
            raise ValueError(f"{origin}: {label}: {problem}") from None
        if scenario.name in seen:
            raise ValueError(f"{origin}: {label}: another scenario is named {scenario.name!r}")
        seen.add(scenario.name)
        book.scenarios.append(scenario)
    return book


def _scenario(index: int, item: Any, contract: Contract, rules: OperationRules) -> Scenario:
    lifecycle = contract.lifecycle
    if not isinstance(item, dict):
        raise ValueError("a scenario is a mapping with when, after and then")
    _known(item, SCENARIO_KEYS, "")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: every scenario has a name, which the journal and the console show")
    when, then = item.get("when"), item.get("then")
    if not isinstance(when, dict):
        raise ValueError("when: a mapping such as {enters: CLEARED}")
    if not isinstance(then, dict):
        raise ValueError("then: a mapping such as {to: CLOSED, dialog: ...}")
    _known(when, WHEN_KEYS, "when.")
    _known(then, THEN_KEYS, "then.")

    enters = _state(when.get("enters"), "when.enters", lifecycle.states)
    sources = None
    if when.get("from") is not None:
        given = when["from"] if isinstance(when["from"], list) else [when["from"]]
        sources = tuple(None if s == CREATED else _state(s, "when.from", (*lifecycle.states, CREATED)) for s in given)
        for source in sources:
            _reachable(lifecycle, source, enters)
    by = _side(when.get("by"), "when.by")
    conditions = _conditions(when.get("match") or {}, contract)
    try:
        after_ms = parse_duration(item.get("after"), "after")
    except ValueError as problem:
        raise ValueError(str(problem)) from None
    unless = _side(item.get("unless_updated_by"), "unless_updated_by")

    to = _state(then.get("to"), "then.to", lifecycle.states)
    refusal = lifecycle.refusal(enters, to, "TO")
    if refusal:
        raise ValueError(f"then.to: it would take an edge the lifecycle forbids the TO: {refusal}")
    dialog = then.get("dialog")
    if not isinstance(dialog, str):
        raise ValueError(f"then.dialog: the text the TO sends with its move to {to}")
    fields = then.get("fields") or {}
    if not isinstance(fields, dict):
        raise ValueError("then.fields: a mapping of the move's other fields")
    names = contract.names
    for reserved in (names.state, names.dialog):
        if reserved in fields:
            raise ValueError(f"then.fields: {reserved} is given by then.to and then.dialog, not here")
    missing = [name for name in lifecycle.entry_requirements(enters, to) if fields.get(name) is None]
    if missing:
        raise ValueError(
            f"then.fields: a move from {enters} into {to} needs {', '.join(missing)} (the lifecycle's "
            f"requires_on_entry); give them ({NOW!r} for the clock's time)"
        )
    _check_body(fields, to, dialog, contract, rules)
    return Scenario(
        index=index,
        name=name.strip(),
        meaning=str(item.get("meaning") or ""),
        enters=enters,
        sources=sources,
        by=by,
        conditions=conditions,
        after_ms=after_ms,
        unless_updated_by=unless,
        to=to,
        dialog=dialog,
        fields=dict(fields),
    )


def _check_body(fields: dict[str, Any], to: str, dialog: str, contract: Contract, rules: OperationRules) -> None:
    """The step's move passes the rules the provider applies to a TO move (the transition hook's)."""
    properties = rules.body.properties
    for name, value in fields.items():
        if name not in properties:
            raise ValueError(f"then.fields: {name} is not a field of an update{_suggest(name, properties)}")
        if value == NOW and properties[name].get("format") != "date-time":
            raise ValueError(f"then.fields.{name}: {NOW!r} stands for a time, and {name} is not a date-time")
    sample = {name: _SAMPLE_NOW if value == NOW else value for name, value in fields.items()}
    body = {**sample, contract.names.state: to, contract.names.dialog: dialog}
    try:
        rules.body.check(body)
    except ApiError as refused:
        raise ValueError(f"then: the provider would refuse this move: {refused.render(contract)}") from None


def _conditions(match: Any, contract: Contract) -> tuple[Condition, ...]:
    if not isinstance(match, dict):
        raise ValueError("when.match: a mapping of field names to values")
    names = (TENANT, contract.names.mirror_key, *contract.create.properties)
    found = []
    for name, wanted in match.items():
        if name not in names:
            raise ValueError(f"when.match: {name} is not a field of a ticket{_suggest(name, names)}")
        if isinstance(wanted, dict):
            _known(wanted, MATCH_OPERATORS, f"when.match.{name}.")
            prefix = wanted.get("startsWith")
            if not isinstance(prefix, str) or not prefix:
                raise ValueError(f"when.match.{name}: {{startsWith: text}} with some text")
            found.append(Condition(name, prefix=prefix))
        elif isinstance(wanted, list):
            if not wanted:
                raise ValueError(f"when.match.{name}: a list of the values to match, not an empty one")
            found.append(Condition(name, values=tuple(wanted)))
        else:
            found.append(Condition(name, values=(wanted,)))
    return tuple(found)


def _reachable(lifecycle: Any, source: str | None, enters: str) -> None:
    """A trigger that no event can fire is a mistake: say so at load."""
    if source is None:
        if enters != lifecycle.initial:
            raise ValueError(f"when: a ticket is created in {lifecycle.initial}, never in {enters}")
        return
    if source == enters:
        raise ValueError(f"when: from {source} into {enters} is no move (a dialog keeps the state)")
    if not any(t.source == source and t.target == enters for t in lifecycle.transitions):
        raise ValueError(f"when: the lifecycle has no edge from {source} to {enters}, so this would never start")


def _state(value: Any, what: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{what}: one of {', '.join(allowed)}; got {value!r}{_suggest(str(value), allowed)}")
    return value


def _side(value: Any, what: str) -> Side | None:
    if value is None:
        return None
    if value not in SIDES:
        raise ValueError(f"{what}: {' or '.join(SIDES)}; got {value!r}")
    return value


def _known(data: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
    unknown = [key for key in data if key not in known]
    if unknown:
        key = unknown[0]
        raise ValueError(f"{prefix}{key} is not a key here (one of {', '.join(known)}){_suggest(str(key), known)}")


def _suggest(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, [str(o) for o in options], n=1)
    return f" (did you mean {close[0]}?)" if close else ""
