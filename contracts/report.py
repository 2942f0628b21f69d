"""Reports of a run: a summary for the terminal, JUnit XML for CI pages, Markdown for people."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from contracts.results import Rule, Status, Violation

if TYPE_CHECKING:
    from contracts.runner import RunResult


def summary_lines(result: RunResult) -> list[str]:
    """The verdict and one line per layer."""
    lines = [f"{'layer':<11} {'rules':>5} {'passed':>6} {'failed':>6} {'skipped':>7} {'violations':>10} {'time':>7}"]
    for layer in result.layers:
        lines.append(
            f"{layer.name:<11} {len(layer.rules):>5} {layer.count(Status.PASSED):>6} {layer.count(Status.FAILED):>6} "
            f"{layer.count(Status.SKIPPED):>7} {layer.violations:>10} {layer.seconds:>6.1f}s"
        )
    verdict = "CONFORMS" if result.conforms else f"DOES NOT CONFORM: {result.violations} violations"
    lines.append(
        f"{verdict} ({result.requests_sent} requests, {len(result.created)} tickets created, "
        f"{result.seconds:.1f} s, seed {result.seed})"
    )
    return lines


def print_summary(result: RunResult, stream: TextIO) -> None:
    for line in summary_lines(result):
        stream.write(line + "\n")
    for layer in result.layers:
        for rule in layer.rules:
            if rule.status == Status.FAILED:
                first = rule.violations[0].message.splitlines()[0] if rule.violations else ""
                stream.write(f"  FAILED [{layer.name}] {rule.title}: {first}\n")


def write_junit(result: RunResult, path: Path) -> None:
    """One <testsuite> per layer, one <testcase> per rule checked."""
    root = ET.Element(
        "testsuites",
        name="trouble-ticket contract",
        tests=str(sum(len(layer.rules) for layer in result.layers)),
        failures=str(sum(layer.count(Status.FAILED) for layer in result.layers)),
    )
    for layer in result.layers:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=layer.name,
            tests=str(len(layer.rules)),
            failures=str(layer.count(Status.FAILED)),
            skipped=str(layer.count(Status.SKIPPED)),
            time=f"{layer.seconds:.3f}",
        )
        for rule in layer.rules:
            case = ET.SubElement(
                suite, "testcase", classname=f"contracts.{layer.name}", name=rule.title, time=f"{rule.seconds:.3f}"
            )
            if rule.status == Status.FAILED:
                first = rule.violations[0].message.splitlines()[0] if rule.violations else "failed"
                failure = ET.SubElement(case, "failure", message=first[:500], type=rule.rule_id)
                failure.text = "\n\n".join(_violation_text(v) for v in rule.violations)
            elif rule.status == Status.SKIPPED:
                ET.SubElement(case, "skipped", message=rule.skip_reason or "skipped")
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _violation_text(violation: Violation) -> str:
    parts = [violation.message]
    for exchange in violation.exchanges:
        parts += [
            f"request: {exchange.curl()}",
            f"answer: {exchange.error or exchange.status} {exchange.response_text[:500]}",
        ]
    if violation.curl:
        parts.append(f"request: {violation.curl}")
    if violation.answer:
        parts.append(f"answer: {violation.answer}")
    if violation.details:
        parts.append(violation.details)
    return "\n".join(parts)


def write_markdown(result: RunResult, path: Path, *, replay: Callable[[str], str]) -> None:
    """A report a person can act on: the verdict, a table per layer, then each violation."""
    config = result.config
    verdict = "conforms" if result.conforms else f"does not conform: {result.violations} violations"
    lines = [
        "# Trouble Ticket contract report",
        "",
        f"- Endpoint: `{config.base_url}`",
        f"- Run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}, seed `{result.seed}`, "
        f"{result.requests_sent} requests, {result.seconds:.1f} s",
        f"- Options: max examples {config.max_examples}"
        + (", TO hook" if config.to_hook else "")
        + (", read-only" if config.read_only else "")
        + (f", rate limit {config.rate_limit}" if config.rate_limit else "")
        + (", second tenant" if config.token_b else ", no second tenant"),
        f"- **Verdict: the endpoint {verdict}.**",
        "",
        "## Summary",
        "",
        "| layer | rules | passed | failed | skipped | violations | time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for layer in result.layers:
        lines.append(
            f"| {layer.title} | {len(layer.rules)} | {layer.count(Status.PASSED)} | {layer.count(Status.FAILED)} | "
            f"{layer.count(Status.SKIPPED)} | {layer.violations} | {layer.seconds:.1f} s |"
        )
    for layer in result.layers:
        failed = [rule for rule in layer.rules if rule.status == Status.FAILED]
        skipped = [rule for rule in layer.rules if rule.status == Status.SKIPPED]
        if not (failed or skipped or layer.notes):
            continue
        lines += ["", f"## {layer.title}", ""]
        lines += [f"- {note}" for note in layer.notes]
        for rule in failed:
            lines += _rule_section(rule, replay(layer.name))
        if skipped:
            lines += ["", "Skipped:", ""]
            lines += [f"- {rule.title}: {rule.skip_reason}" for rule in skipped]
    if result.created:
        lines += [
            "",
            "## Tickets created by this run",
            "",
            "Each has a mirrorKey starting with the run's prefix "
            f"`{config.mirror_key_prefix}`. The suite asked to cancel those left open.",
            "",
            "| ticketId | mirrorKey | state at the end | clean-up |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {t.ticket_id} | `{t.mirror_key}` | {t.final_state or '?'} | {t.cleanup or '-'} |"
            for t in result.created
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rule_section(rule: Rule, replay: str) -> list[str]:
    lines = ["", f"### {rule.title}", "", f"Rule `{rule.layer}/{rule.rule_id}`."]
    for number, violation in enumerate(rule.violations, start=1):
        lines += ["", f"{number}. {violation.message}"]
        for exchange in violation.exchanges:
            lines += [
                "",
                "   ```sh",
                f"   {exchange.curl()}",
                "   ```",
                f"   Answer: `{exchange.error or exchange.status}` "
                f"`{exchange.response_text[:300].replace('`', chr(39))}`",
            ]
        if violation.curl:
            lines += ["", "   ```sh", *[f"   {line}" for line in violation.curl.splitlines()], "   ```"]
        if violation.answer:
            lines += [f"   Answer: `{violation.answer[:300].replace('`', chr(39))}`"]
        if violation.details:
            lines += ["", *[f"   {line}" for line in violation.details.splitlines()]]
    lines += ["", f"Replay the layer: `{replay}`"]
    return lines
