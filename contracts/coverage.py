"""Coverage of the contract: for each rule of the catalogue, what the run made of it.

A contract rule is checked when a suite rule covering it ran (and passed, failed or warned),
skipped when every suite rule covering it was skipped (with their reasons), not reached when
the run did not get to it, and not checkable when the catalogue says no client can check it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.results import RunResult, Status
from spec.catalogue import ContractRule


class Coverage(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNED = "warned"
    SKIPPED = "skipped"
    NOT_REACHED = "not reached"  # no suite rule of this run covered it, or the run halted first
    NOT_CHECKABLE = "not checkable"

    @property
    def checked(self) -> bool:
        return self in (Coverage.PASSED, Coverage.FAILED, Coverage.WARNED)


@dataclass
class RuleCoverage:
    rule: ContractRule
    status: Coverage
    layers: list[str] = field(default_factory=list)  # the layers whose rules cover it
    reasons: list[str] = field(default_factory=list)  # why it was skipped or not checkable


@dataclass
class Summary:
    rules: list[RuleCoverage]

    @property
    def checkable(self) -> list[RuleCoverage]:
        return [r for r in self.rules if r.status is not Coverage.NOT_CHECKABLE]

    @property
    def checked(self) -> int:
        return sum(r.status.checked for r in self.rules)

    @property
    def percent(self) -> float:
        return 100.0 * self.checked / len(self.checkable) if self.checkable else 100.0

    def layer_percent(self, layer: str) -> tuple[int, int, float]:
        """(checked, covered, percent) of the contract rules a layer's rules cover."""
        mine = [r for r in self.rules if layer in r.layers]
        done = sum(r.status.checked for r in mine)
        return done, len(mine), (100.0 * done / len(mine) if mine else 100.0)

    def by_source(self) -> dict[str, Counter[Coverage]]:
        counts: dict[str, Counter[Coverage]] = {}
        for entry in self.rules:
            counts.setdefault(entry.rule.source.value, Counter())[entry.status] += 1
        return counts


def summarize(result: RunResult) -> Summary:
    """The coverage of every contract rule in one run."""
    covering: dict[str, list] = {}
    for rule in result.rules:
        for contract_rule in rule.covers:
            covering.setdefault(contract_rule, []).append(rule)
    entries = []
    for contract_rule in result.catalogue:
        if not contract_rule.checkable:
            entries.append(RuleCoverage(contract_rule, Coverage.NOT_CHECKABLE, reasons=[contract_rule.why_not or ""]))
            continue
        rules = covering.get(contract_rule.id, [])
        layers = list(dict.fromkeys(rule.layer for rule in rules))
        broken = [v for rule in rules for v in rule.violations if v.breaks == contract_rule.id]
        ran = [rule for rule in rules if rule.status in (Status.PASSED, Status.FAILED, Status.WARNED)]
        if broken:
            status = Coverage.FAILED if any(v.binding for v in broken) else Coverage.WARNED
            entries.append(RuleCoverage(contract_rule, status, layers))
        elif ran:
            entries.append(RuleCoverage(contract_rule, Coverage.PASSED, layers))
        elif any(rule.status is Status.SKIPPED for rule in rules):
            reasons = list(dict.fromkeys(_reason(rule) for rule in rules if rule.status is Status.SKIPPED))
            entries.append(RuleCoverage(contract_rule, Coverage.SKIPPED, layers, reasons))
        else:
            if result.halted is not None:
                reason = f"not checked: the run halted before it ({result.halted.reason})"
            else:
                reason = "no rule of this run checks it"
            entries.append(RuleCoverage(contract_rule, Coverage.NOT_REACHED, layers, [reason]))
    return Summary(entries)


def _reason(rule) -> str:  # noqa: ANN001 - a results.Rule
    return rule.skip_remedy or rule.skip_reason or "skipped"
