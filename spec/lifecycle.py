"""The trouble ticket lifecycle, read from `lifecycle.yaml`: the one owner of its rules.

The mock asks it whether an update may move a ticket; the contract suite builds its model
of a provider from it. It knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from spec import LIFECYCLE_PATH

Side = Literal["TU", "TO"]
SIDES: tuple[Side, ...] = ("TU", "TO")


@dataclass(frozen=True)
class Transition:
    """One edge of the lifecycle, taken by one side."""

    source: str
    target: str
    side: Side
    meaning: str = ""


@dataclass(frozen=True)
class Lifecycle:
    """States, edges and the side that may take each edge."""

    initial: str
    states: tuple[str, ...]
    terminal: frozenset[str]
    requires_on_entry: Mapping[str, tuple[str, ...]]
    transitions: tuple[Transition, ...]
    cancel_request: str | None = None
    source: str = "contract"  # where the table comes from (see x-sources in openapi.yaml)

    def is_terminal(self, state: str) -> bool:
        """True when a ticket in `state` accepts no update."""
        return state in self.terminal

    def allows(self, source: str, target: str, side: Side) -> bool:
        """True when `side` may move a ticket from `source` to `target`."""
        if source in self.terminal:
            return False
        if source == target:
            return True
        return any(t.source == source and t.target == target and t.side == side for t in self.transitions)

    def targets(self, source: str, side: Side) -> list[str]:
        """Every state `side` may move a ticket in `source` to, itself included when allowed."""
        return [target for target in self.states if self.allows(source, target, side)]

    def entry_requirements(self, source: str, target: str) -> tuple[str, ...]:
        """Fields a request must carry to move a ticket from `source` into `target`."""
        if source == target:
            return ()
        return self.requires_on_entry.get(target, ())

    def route(self, target: str, source: str | None = None, sides: tuple[Side, ...] = SIDES) -> list[Transition]:
        """The shortest chain of edges taken by `sides` from `source` (default: initial) to `target`."""
        start = source or self.initial
        paths: dict[str, list[Transition]] = {start: []}
        frontier = [start]
        while frontier:
            state = frontier.pop(0)
            for edge in self.transitions:
                if edge.source == state and edge.side in sides and edge.target not in paths:
                    paths[edge.target] = [*paths[state], edge]
                    frontier.append(edge.target)
        if target not in paths:
            raise ValueError(f"no chain of transitions leads from {start} to {target}")
        return paths[target]

    def refusal(self, source: str, target: str, side: Side) -> str | None:
        """Why `side` may not move a ticket from `source` to `target`, or None when it may."""
        if self.allows(source, target, side):
            return None
        if source in self.terminal:
            return f"the ticket is {source}, a terminal state: it accepts no update (requested {target})"
        if target not in self.states:
            return f"{target!r} is not a state of the lifecycle (the ticket is {source})"
        other: Side = "TO" if side == "TU" else "TU"
        if self.allows(source, target, other):
            return f"only the {other} moves a ticket from {source} to {target}; the {side} may not"
        options = ", ".join(self.targets(source, side))
        return f"a ticket in {source} cannot move to {target} (the {side} may move it to: {options})"


def load(path: str | Path = LIFECYCLE_PATH) -> Lifecycle:
    """Read and check a lifecycle file; raise ValueError naming the first problem."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    try:
        return _parse(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed lifecycle file ({exc!r})") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _parse(data: dict) -> Lifecycle:
    states_data: dict = data["states"]
    states = tuple(states_data)
    terminal = frozenset(name for name, info in states_data.items() if (info or {}).get("terminal"))
    requires = {
        name: tuple((info or {}).get("requires_on_entry", ()))
        for name, info in states_data.items()
        if (info or {}).get("requires_on_entry")
    }
    transitions = tuple(
        Transition(source=t["from"], target=t["to"], side=t["side"], meaning=t.get("meaning", ""))
        for t in data["transitions"]
    )
    initial = data["initial"]
    if initial not in states:
        raise ValueError(f"initial state {initial!r} is not among the states")
    cancel_request = data.get("cancel_request")
    if cancel_request is not None and cancel_request not in states:
        raise ValueError(f"cancel_request {cancel_request!r} is not among the states")
    seen = set()
    for t in transitions:
        for state in (t.source, t.target):
            if state not in states:
                raise ValueError(f"transition {t.source} -> {t.target} names unknown state {state!r}")
        if t.side not in SIDES:
            raise ValueError(f"transition {t.source} -> {t.target}: side must be TU or TO, not {t.side!r}")
        if t.source in terminal:
            raise ValueError(f"transition {t.source} -> {t.target} leaves a terminal state")
        if (t.source, t.target, t.side) in seen:
            raise ValueError(f"transition {t.source} -> {t.target} ({t.side}) is listed twice")
        seen.add((t.source, t.target, t.side))
    return Lifecycle(
        initial=initial,
        states=states,
        terminal=terminal,
        requires_on_entry=requires,
        transitions=transitions,
        cancel_request=cancel_request,
        source=data.get("source", "contract"),
    )
