"""The lifecycle table's reader and rules, apart from HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spec import LIFECYCLE_PATH
from spec import lifecycle as lifecycle_module
from spec.lifecycle import Lifecycle

LIFECYCLE = lifecycle_module.load()


def _edges(side: str) -> set[tuple[str, str]]:
    return {(t.source, t.target) for t in LIFECYCLE.transitions if t.side == side}


def test_the_table_reads_as_the_contract_describes() -> None:
    assert LIFECYCLE.initial == "OPENACTIVE"
    assert LIFECYCLE.terminal == {"CLOSED", "CLOSED.CANCELED"}
    assert LIFECYCLE.requires_on_entry == {"CLEARED": ("closeOutType", "closeOutNarr", "serviceRestoredTime")}
    assert _edges("TU") == {
        ("OPENACTIVE", "DEFERRED.AWAITING-CANCELATION"),
        ("DEFERRED.AWAITING-INFORMATION", "OPENACTIVE"),
        ("CLEARED", "CLOSED"),
        ("CLEARED", "OPENACTIVE"),
    }
    assert len(_edges("TO")) == 5


@pytest.mark.parametrize("source", LIFECYCLE.states)
@pytest.mark.parametrize("target", LIFECYCLE.states)
@pytest.mark.parametrize("side", ["TU", "TO"])
def test_allows_and_refusal_agree(source: str, target: str, side: str) -> None:
    allowed = LIFECYCLE.allows(source, target, side)  # type: ignore[arg-type]
    refusal = LIFECYCLE.refusal(source, target, side)  # type: ignore[arg-type]
    assert (refusal is None) == allowed
    if refusal:
        assert source in refusal and target in refusal
    expected = source not in LIFECYCLE.terminal and (source == target or (source, target) in _edges(side))
    assert allowed == expected


def test_entry_requirements_apply_only_when_entering() -> None:
    assert LIFECYCLE.entry_requirements("OPENACTIVE", "CLEARED") == LIFECYCLE.requires_on_entry["CLEARED"]
    assert LIFECYCLE.entry_requirements("CLEARED", "CLEARED") == ()


@pytest.mark.parametrize("state", LIFECYCLE.states)
def test_every_state_is_reachable_from_the_initial_one(state: str) -> None:
    route = LIFECYCLE.route(state)
    position = LIFECYCLE.initial
    for edge in route:
        assert LIFECYCLE.allows(position, edge.target, edge.side)
        position = edge.target
    assert position == state


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(LIFECYCLE_PATH.read_text())
    mutate(data)
    path = tmp_path / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(initial="NEW"), "initial state 'NEW'"),
        (lambda d: d["transitions"].append({"from": "OPENACTIVE", "to": "GONE", "side": "TU"}), "unknown state"),
        (lambda d: d["transitions"].append({"from": "OPENACTIVE", "to": "CLOSED", "side": "ME"}), "side must be"),
        (lambda d: d["transitions"].append({"from": "CLOSED", "to": "OPENACTIVE", "side": "TU"}), "terminal"),
        (lambda d: d["transitions"].append(dict(d["transitions"][0])), "listed twice"),
        (lambda d: d.pop("states"), "malformed"),
    ],
)
def test_a_broken_table_is_refused_with_its_problem_named(tmp_path: Path, mutate, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lifecycle_module.load(_write(tmp_path, mutate))


def test_an_adapted_table_changes_the_rules(tmp_path: Path) -> None:
    """A user may let the TU close a ticket directly, as their provider does."""
    path = _write(tmp_path, lambda d: d["transitions"].append({"from": "OPENACTIVE", "to": "CLOSED", "side": "TU"}))
    adapted: Lifecycle = lifecycle_module.load(path)
    assert adapted.allows("OPENACTIVE", "CLOSED", "TU")
    assert not LIFECYCLE.allows("OPENACTIVE", "CLOSED", "TU")
