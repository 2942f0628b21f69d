"""What a run found: rules checked, each passed, failed (with violations) or skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from contracts.client import Exchange, SkipRule


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Violation:
    """One way the endpoint broke a rule, with what it takes to see it again."""

    message: str
    exchanges: list[Exchange] = field(default_factory=list)
    curl: str | None = None  # when no Exchange exists (Schemathesis gives its own reproduction)
    answer: str | None = None
    details: str | None = None


@dataclass
class Rule:
    """One rule of the contract as checked against the endpoint."""

    layer: str
    rule_id: str
    title: str
    status: Status = Status.PASSED
    violations: list[Violation] = field(default_factory=list)
    skip_reason: str | None = None
    seconds: float = 0.0

    def violate(self, message: str, *exchanges: Exchange, **extra: str | None) -> None:
        self.status = Status.FAILED
        self.violations.append(Violation(message, [e for e in exchanges if e is not None], **extra))

    def expect(self, condition: bool, message: str, *exchanges: Exchange) -> bool:
        """Record a violation unless `condition` holds; return the condition."""
        if not condition:
            self.violate(message, *exchanges)
        return condition

    def expect_status(self, exchange: Exchange, expected: int | tuple[int, ...], why: str) -> bool:
        allowed = (expected,) if isinstance(expected, int) else expected
        if exchange.error:
            self.violate(f"{why}: the request failed ({exchange.error})", exchange)
            return False
        return self.expect(
            exchange.status in allowed,
            f"{why}: expected {' or '.join(map(str, allowed))}, got {exchange.status}",
            exchange,
        )

    def skip(self, reason: str) -> None:
        self.status = Status.SKIPPED
        self.skip_reason = reason


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
    def violations(self) -> int:
        return sum(len(rule.violations) for rule in self.rules)


class LayerRun:
    """Collects the rules one layer checks, and tells the progress display about each."""

    def __init__(self, name: str, title: str, on_rule: Callable[[LayerResult], None] | None = None) -> None:
        self.result = LayerResult(name, title)
        self._on_rule = on_rule
        self._started = time.monotonic()

    @contextmanager
    def rule(self, rule_id: str, title: str) -> Iterator[Rule]:
        """Check one rule: the body records violations; SkipRule marks it skipped."""
        rule = Rule(self.result.name, rule_id, title)
        started = time.monotonic()
        try:
            yield rule
        except SkipRule as reason:
            if rule.status is not Status.FAILED:
                rule.skip(str(reason))
        finally:
            rule.seconds = time.monotonic() - started
            self.add(rule)

    def add(self, rule: Rule) -> None:
        self.result.rules.append(rule)
        if self._on_rule:
            self._on_rule(self.result)

    def skip(self, rule_id: str, title: str, reason: str) -> None:
        rule = Rule(self.result.name, rule_id, title)
        rule.skip(reason)
        self.add(rule)

    def finish(self) -> LayerResult:
        self.result.seconds = time.monotonic() - self._started
        return self.result
