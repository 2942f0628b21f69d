"""What a run found: rules checked, each passed, failed, warned, skipped or not checked.

A suite rule checks one or more rules of the contract (`covers`, ids of `spec.catalogue`). A
violation names the contract rule it breaks, and so its source: breaking a rule of the page, a
standard or the written contract fails the run; breaking a choice only the mock makes is a
warning, unless the run is strict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.client import CreatedTicket, SkipRule
from contracts.transport import Exchange, Finding, RunHalted, Traffic
from spec.catalogue import Catalogue, Source


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a binding rule was broken
    WARNED = "warned"  # only rules the mock alone chose were broken
    SKIPPED = "skipped"  # could not run here (needs an option, read-only, budget...)
    NOT_CHECKED = "not checked"  # the run halted before or while it ran


@dataclass
class Violation:
    """One way the endpoint broke a contract rule, with what it takes to see it again."""

    message: str
    breaks: str  # the contract rule's id
    source: Source
    binding: bool  # fails the run (its source binds a provider, or the run is strict)
    exchanges: list[Exchange] = field(default_factory=list)
    curl: str | None = None  # when no Exchange exists (Schemathesis gives its own reproduction)
    answer: str | None = None
    details: str | None = None


@dataclass
class Rule:
    """One rule of the suite as checked against the endpoint."""

    layer: str
    rule_id: str
    title: str
    covers: list[str]  # contract rule ids; the first is the one a violation breaks unless it says
    catalogue: Catalogue = field(repr=False)
    strict: bool = False
    violations: list[Violation] = field(default_factory=list)
    skip_reason: str | None = None
    skip_remedy: str | None = None
    halted: bool = False
    notes: list[str] = field(default_factory=list)  # what the provider chose where the page allows two readings
    seconds: float = 0.0

    @property
    def source(self) -> Source:
        """The source of the contract rule this suite rule is first about."""
        return self.catalogue.source(self.covers[0])

    @property
    def status(self) -> Status:
        if self.halted and not self.violations:
            return Status.NOT_CHECKED
        if self.skip_reason is not None and not self.violations:
            return Status.SKIPPED
        if any(v.binding for v in self.violations):
            return Status.FAILED
        return Status.WARNED if self.violations else Status.PASSED

    def violate(
        self, message: str, *exchanges: Exchange | None, breaks: str | None = None, **extra: str | None
    ) -> None:
        """Record that the endpoint broke `breaks` (default: the first contract rule covered)."""
        rule_id = breaks or self.covers[0]
        if rule_id not in self.covers:
            self.covers.append(rule_id)
        source = self.catalogue.source(rule_id)
        self.violations.append(
            Violation(
                message,
                rule_id,
                source,
                source.binds_provider or self.strict,
                [e for e in exchanges if e is not None],
                **extra,
            )
        )

    def expect(self, condition: bool, message: str, *exchanges: Exchange | None, breaks: str | None = None) -> bool:
        """Record a violation unless `condition` holds; return the condition."""
        if not condition:
            self.violate(message, *exchanges, breaks=breaks)
        return condition

    def expect_status(
        self, exchange: Exchange, expected: int | tuple[int, ...], why: str, *, breaks: str | None = None
    ) -> bool:
        """The answer's status is one of `expected`. No answer at all breaks `http.answers-every-request`."""
        allowed = (expected,) if isinstance(expected, int) else expected
        if exchange.error:
            self.violate(f"{why}: {exchange.error}", exchange, breaks="http.answers-every-request")
            return False
        if exchange.status is not None and exchange.status >= 500:
            self.violate(f"{why}: expected {_either(allowed)}, got {exchange.status}", exchange, breaks="http.no-5xx")
            return False
        return self.expect(
            exchange.status in allowed,
            f"{why}: expected {_either(allowed)}, got {exchange.status}",
            exchange,
            breaks=breaks,
        )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def skip(self, reason: str, remedy: str | None = None) -> None:
        self.skip_reason, self.skip_remedy = reason, remedy


def _either(statuses: tuple[int, ...]) -> str:
    return " or ".join(map(str, statuses))


@dataclass
class LayerResult:
    name: str
    title: str
    rules: list[Rule] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(rule.status == status for rule in self.rules)

    @property
    def failures(self) -> int:
        """Binding violations."""
        return sum(v.binding for rule in self.rules for v in rule.violations)

    @property
    def warnings(self) -> int:
        return sum(not v.binding for rule in self.rules for v in rule.violations)


class LayerRun:
    """Collects the rules one layer checks, and tells the progress display about each."""

    def __init__(
        self,
        name: str,
        title: str,
        catalogue: Catalogue,
        *,
        strict: bool = False,
        on_rule: Callable[[LayerResult], None] | None = None,
    ) -> None:
        self.result = LayerResult(name, title)
        self.catalogue, self.strict = catalogue, strict
        self._on_rule = on_rule
        self._started = time.monotonic()

    def new_rule(self, rule_id: str, title: str, covers: str | tuple[str, ...] | list[str]) -> Rule:
        covered = [covers] if isinstance(covers, str) else list(covers)
        if not covered:
            raise ValueError(f"suite rule {rule_id!r} covers no contract rule")
        for contract_rule in covered:
            self.catalogue[contract_rule]  # noqa: B018 - fails loudly on an id the catalogue lacks
        return Rule(self.result.name, rule_id, title, covered, self.catalogue, self.strict)

    @contextmanager
    def rule(self, rule_id: str, title: str, covers: str | tuple[str, ...] | list[str]) -> Iterator[Rule]:
        """Check one rule: the body records violations; SkipRule marks it skipped; a halted run marks
        it not checked and goes on halting."""
        rule = self.new_rule(rule_id, title, covers)
        started = time.monotonic()
        try:
            yield rule
        except RunHalted as halted:
            rule.halted = True
            rule.skip(f"not checked: {halted.reason}")
            raise
        except SkipRule as reason:
            rule.skip(str(reason), reason.remedy)
        finally:
            rule.seconds = time.monotonic() - started
            self.add(rule)

    def add(self, rule: Rule) -> None:
        self.result.rules.append(rule)
        if self._on_rule:
            self._on_rule(self.result)

    def skip(
        self,
        rule_id: str,
        title: str,
        covers: str | tuple[str, ...] | list[str],
        reason: str,
        remedy: str | None = None,
    ) -> None:
        rule = self.new_rule(rule_id, title, covers)
        rule.skip(reason, remedy)
        self.add(rule)

    def finish(self) -> LayerResult:
        self.result.seconds = time.monotonic() - self._started
        return self.result


@dataclass
class RunResult:
    """Everything a run found, for the reports."""

    base_url: str
    seed: int
    layers: list[LayerResult]
    catalogue: Catalogue
    options: dict[str, object]  # what the run was asked, for the reports
    replay: dict[str, str]  # layer -> the command that replays it
    strict: bool = False
    created: list[CreatedTicket] = field(default_factory=list)
    traffic: Traffic = field(default_factory=Traffic)
    seconds: float = 0.0
    finding: Finding | None = None  # the provider died or broke
    halted: RunHalted | None = None
    not_reached: list[str] = field(default_factory=list)  # layers the run never started

    @property
    def rules(self) -> list[Rule]:
        return [rule for layer in self.layers for rule in layer.rules]

    @property
    def failures(self) -> int:
        return sum(layer.failures for layer in self.layers)

    @property
    def warnings(self) -> int:
        return sum(layer.warnings for layer in self.layers)

    @property
    def conforms(self) -> bool:
        return self.failures == 0 and self.halted is None

    @property
    def exit_code(self) -> int:
        """0 conforms; 1 a binding rule broken (or the provider died); 2 the run could not finish."""
        if self.finding is not None:
            return 1
        if self.halted is not None:
            return self.halted.exit_code
        return 1 if self.failures else 0

    def layer(self, name: str) -> LayerResult:
        return next(layer for layer in self.layers if layer.name == name)
