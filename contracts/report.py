"""Reports of a run: a summary for the terminal, JUnit XML for CI pages, Markdown for people.

Each leads with the verdict a CI engineer needs in ten seconds: conforms or not, what was
skipped and how to check it, how many warnings; then the tables per layer and per source, then
each failure with its curl, the answer and the command that replays it.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import TextIO

from contracts.coverage import Coverage, Summary, summarize
from contracts.results import Rule, RunResult, Status, Violation
from contracts.transport import Exchange
from spec.catalogue import SOURCES

STATUS_ORDER = (Status.PASSED, Status.FAILED, Status.WARNED, Status.SKIPPED, Status.NOT_CHECKED)


def verdict(result: RunResult) -> str:
    """One line: the verdict, the rules, what was skipped and how to check it, the warnings."""
    rules = result.rules
    skipped = [r for r in rules if r.status in (Status.SKIPPED, Status.NOT_CHECKED)]
    remedies = Counter(r.skip_remedy for r in skipped if r.skip_remedy and r.status is Status.SKIPPED)
    parts = [f"{len(rules)} rules"]
    if skipped:
        hint = "; ".join(f"{count} need: {remedy}" for remedy, count in remedies.most_common())
        parts.append(f"{len(skipped)} skipped" + (f" ({hint})" if hint else ""))
    parts.append(f"{result.warnings} warning{'s' * (result.warnings != 1)}")
    if result.finding is not None:
        head = "DOES NOT CONFORM: the provider died or broke during the run"
    elif result.halted is not None:
        head = f"RUN HALTED ({result.halted.reason})"
    elif result.conforms:
        head = "CONFORMS"
    else:
        failed = sum(r.status is Status.FAILED for r in rules)
        head = f"DOES NOT CONFORM: {result.failures} failures in {failed} rules"
    return f"{head}: {', '.join(parts)}"


def summary_lines(result: RunResult, coverage: Summary | None = None) -> list[str]:
    """The tables per layer and per source, the coverage, and the verdict."""
    coverage = coverage or summarize(result)
    columns = ("rules", 5), ("passed", 6), ("failed", 6), ("warned", 6), ("skipped", 7), ("coverage", 8), ("time", 7)
    lines = [f"{'layer':<11} " + " ".join(f"{name:>{width}}" for name, width in columns)]
    for layer in result.layers:
        skipped = layer.count(Status.SKIPPED) + layer.count(Status.NOT_CHECKED)
        _, _, percent = coverage.layer_percent(layer.name)
        lines.append(
            f"{layer.name:<11} {len(layer.rules):>5} {layer.count(Status.PASSED):>6} {layer.count(Status.FAILED):>6} "
            f"{layer.count(Status.WARNED):>6} {skipped:>7} {percent:>7.0f}% {layer.seconds:>6.1f}s"
        )
    for name in result.not_reached:
        lines.append(f"{name:<11} not reached: the run halted first")
    lines.append("")
    lines.append(
        f"{'source':<11} {'contract rules':>14} {'checked':>7} {'failed':>6} {'warned':>6} {'skipped':>7} {'other':>5}"
    )
    by_source = coverage.by_source()
    for source in SOURCES:
        counts = by_source.get(source.value, Counter())
        checked = sum(n for status, n in counts.items() if status.checked)
        other = counts[Coverage.NOT_REACHED] + counts[Coverage.NOT_CHECKABLE]
        lines.append(
            f"{source.value:<11} {sum(counts.values()):>14} {checked:>7} {counts[Coverage.FAILED]:>6} "
            f"{counts[Coverage.WARNED]:>6} {counts[Coverage.SKIPPED]:>7} {other:>5}"
        )
    lines.append("")
    lines.append(
        f"coverage: {coverage.checked} of {len(coverage.checkable)} checkable contract rules checked "
        f"({coverage.percent:.0f}%); {len(coverage.rules) - len(coverage.checkable)} not checkable from outside"
    )
    lines.append(
        f"{verdict(result)} (seed {result.seed}, {result.traffic.requests} requests, "
        f"{len(result.created)} tickets created, {result.seconds:.1f} s)"
    )
    return lines


def print_summary(result: RunResult, stream: TextIO) -> None:
    coverage = summarize(result)
    if result.finding is not None:
        stream.write(f"FINDING at {result.finding.at}: {result.finding.message}\n")
        for exchange in result.finding.exchanges:
            stream.write(f"  {exchange.curl()}\n    -> {exchange.answer(200)}\n")
        stream.write("\n")
    for line in summary_lines(result, coverage):
        stream.write(line + "\n")
    for rule in result.rules:
        for label, binding in (("FAILED", True), ("WARNING", False)):
            mine = [v for v in rule.violations if v.binding == binding]
            if mine:
                first = mine[0].message.splitlines()[0][:300]
                stream.write(f"  {label} [{rule.layer}] {rule.title} ({mine[0].source}: {mine[0].breaks}): {first}\n")
    if result.halted is not None and result.finding is None:
        stream.write(f"The run halted: {result.halted.reason}\n")


# -- JUnit -------------------------------------------------------------------------------------


def write_junit(result: RunResult, path: Path) -> None:
    """One <testsuite> per layer, one <testcase> per rule (its source and contract rules as
    properties), and a `contract-coverage` suite with one <testcase> per contract rule."""
    coverage = summarize(result)
    root = ET.Element(
        "testsuites",
        name="trouble-ticket contract",
        tests=str(len(result.rules)),
        failures=str(sum(rule.status is Status.FAILED for rule in result.rules)),
    )
    for layer in result.layers:
        done, covered, percent = coverage.layer_percent(layer.name)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=layer.name,
            tests=str(len(layer.rules)),
            failures=str(layer.count(Status.FAILED)),
            skipped=str(layer.count(Status.SKIPPED) + layer.count(Status.NOT_CHECKED)),
            time=f"{layer.seconds:.3f}",
        )
        _properties(suite, {"coverage": f"{percent:.0f}%", "contract rules checked": f"{done} of {covered}"})
        for rule in layer.rules:
            case = ET.SubElement(
                suite, "testcase", classname=f"contracts.{layer.name}", name=rule.title, time=f"{rule.seconds:.3f}"
            )
            _properties(
                case, {"source": rule.source.value, "covers": " ".join(rule.covers), "status": rule.status.value}
            )
            if rule.status is Status.FAILED:
                binding = [v for v in rule.violations if v.binding]
                failure = ET.SubElement(
                    case, "failure", message=binding[0].message.splitlines()[0][:500], type=binding[0].breaks
                )
                failure.text = "\n\n".join(
                    _violation_text(v, result.replay.get(layer.name, "")) for v in rule.violations
                )
            elif rule.status in (Status.SKIPPED, Status.NOT_CHECKED):
                ET.SubElement(case, "skipped", message=rule.skip_reason or "skipped")
            elif rule.status is Status.WARNED:
                out = ET.SubElement(case, "system-out")
                out.text = "WARNING (a choice only the mock makes):\n\n" + "\n\n".join(
                    _violation_text(v, result.replay.get(layer.name, "")) for v in rule.violations
                )
    for name in result.not_reached:
        suite = ET.SubElement(root, "testsuite", name=name, tests="1", skipped="1")
        case = ET.SubElement(suite, "testcase", classname=f"contracts.{name}", name=f"every rule of the {name} layer")
        reason = result.halted.reason if result.halted else "the run stopped"
        ET.SubElement(case, "skipped", message=f"not checked: the run halted before this layer ({reason})")
    suite = ET.SubElement(root, "testsuite", name="contract-coverage", tests=str(len(coverage.rules)))
    _properties(
        suite, {"coverage": f"{coverage.percent:.0f}%", "checked": f"{coverage.checked} of {len(coverage.checkable)}"}
    )
    for entry in coverage.rules:
        case = ET.SubElement(
            suite, "testcase", classname="contracts.coverage", name=f"{entry.rule.id}: {entry.rule.text}"
        )
        _properties(
            case, {"source": entry.rule.source.value, "status": entry.status.value, "layers": " ".join(entry.layers)}
        )
        if not entry.status.checked:
            ET.SubElement(case, "skipped", message=f"{entry.status.value}: {'; '.join(entry.reasons)}")
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _properties(element: ET.Element, values: dict[str, str]) -> None:
    properties = ET.SubElement(element, "properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=value)


def _violation_text(violation: Violation, replay: str) -> str:
    parts = [f"{violation.message}\nbreaks {violation.breaks} ({violation.source.value})"]
    for exchange in violation.exchanges:
        parts += [f"request: {exchange.curl()}", f"answer: {exchange.answer(500)}"]
    if violation.curl:
        parts.append(f"request: {violation.curl}")
    if violation.answer:
        parts.append(f"answer: {violation.answer}")
    if violation.details:
        parts.append(violation.details)
    if replay:
        parts.append(f"replay: {replay}")
    return "\n".join(parts)


# -- Markdown ----------------------------------------------------------------------------------


def write_markdown(result: RunResult, path: Path) -> None:
    """A report a person can act on: the verdict, the tables, then each failure and warning."""
    coverage = summarize(result)
    options = ", ".join(f"{k}: {v}" for k, v in result.options.items() if v not in (None, False, ""))
    lines = [
        "# Trouble Ticket contract report",
        "",
        f"**{verdict(result)}**",
        "",
        f"- Endpoint: `{result.base_url}`",
        f"- Run: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}, seed `{result.seed}`, "
        f"{result.traffic.requests} requests, {result.seconds:.1f} s",
        f"- Options: {options}",
        f"- Replay: `{result.replay.get('', '')}`",
    ]
    if result.traffic.retried:
        retried = ", ".join(f"{count} x {key}" for key, count in result.traffic.retried.items())
        lines.append(f"- Sent again: {retried} (waited {result.traffic.waited:.1f} s as Retry-After asked)")
    if result.finding is not None:
        lines += ["", "## The provider died or broke", "", f"At {result.finding.at}: {result.finding.message}", ""]
        lines += ["Breaks `http.server-survives` (standard). The rules after it were not checked.", ""]
        for exchange in result.finding.exchanges:
            lines += _exchange_lines(exchange, indent="")
    elif result.halted is not None:
        lines += ["", "## The run halted", "", result.halted.reason, "", "The rules after it were not checked."]
    lines += ["", "## Summary", "", "| layer | rules | passed | failed | warned | skipped | coverage | time |"]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for layer in result.layers:
        _, _, percent = coverage.layer_percent(layer.name)
        skipped = layer.count(Status.SKIPPED) + layer.count(Status.NOT_CHECKED)
        lines.append(
            f"| {layer.title} | {len(layer.rules)} | {layer.count(Status.PASSED)} | {layer.count(Status.FAILED)} | "
            f"{layer.count(Status.WARNED)} | {skipped} | {percent:.0f}% | {layer.seconds:.1f} s |"
        )
    lines += ["", "| source | contract rules | checked | failed | warned | skipped | not reached | not checkable |"]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    by_source = coverage.by_source()
    for source in SOURCES:
        counts = by_source.get(source.value, Counter())
        checked = sum(n for status, n in counts.items() if status.checked)
        lines.append(
            f"| {source.value} | {sum(counts.values())} | {checked} | {counts[Coverage.FAILED]} "
            f"| {counts[Coverage.WARNED]} | {counts[Coverage.SKIPPED]} | {counts[Coverage.NOT_REACHED]} "
            f"| {counts[Coverage.NOT_CHECKABLE]} |"
        )
    lines += [
        "",
        f"Coverage: {coverage.checked} of {len(coverage.checkable)} checkable contract rules checked "
        f"({coverage.percent:.0f}%). `page`, `standard` and `contract` rules bind the provider; `mock` rules are "
        "this project's mock's own choices: breaking one is a warning"
        + (" (a failure here: the run was strict)." if result.strict else "."),
    ]
    failed = [rule for rule in result.rules if rule.status is Status.FAILED]
    warned = [rule for rule in result.rules if any(not v.binding for v in rule.violations)]
    if failed:
        lines += ["", "## Failures"]
        for rule in failed:
            lines += _rule_section(rule, [v for v in rule.violations if v.binding], result.replay.get(rule.layer, ""))
    if warned:
        lines += ["", "## Warnings", "", "Choices only the mock makes; the provider may choose otherwise."]
        for rule in warned:
            lines += _rule_section(
                rule, [v for v in rule.violations if not v.binding], result.replay.get(rule.layer, "")
            )
    notes = [(rule, note) for rule in result.rules for note in rule.notes]
    if notes:
        lines += ["", "## What the provider chose where the page allows two readings", ""]
        lines += [f"- {note} (`{rule.layer}`: {rule.title})" for rule, note in notes]
    skipped = [rule for rule in result.rules if rule.status in (Status.SKIPPED, Status.NOT_CHECKED)]
    if skipped:
        lines += ["", "## Skipped and not checked", ""]
        reasons = Counter((rule.skip_reason or "", rule.skip_remedy or "") for rule in skipped)
        for (reason, remedy), count in reasons.most_common():
            lines.append(f"- {count} rule{'s' * (count != 1)}: {reason}" + (f" ({remedy})" if remedy else ""))
    lines += [
        "",
        "<details><summary>Every rule checked</summary>",
        "",
        "| layer | rule | source | status |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.layer} | {_cell(r.title)} | {r.source.value} | {r.status.value} |" for r in result.rules]
    lines += ["", "</details>", "", "<details><summary>Coverage of the contract, rule by rule</summary>", ""]
    lines += ["| contract rule | source | status | checked by or why not |", "|---|---|---|---|"]
    for entry in coverage.rules:
        why = ", ".join(entry.layers) if entry.status.checked else "; ".join(entry.reasons)
        lines.append(
            f"| `{entry.rule.id}`: {_cell(entry.rule.text)} | {entry.rule.source.value} "
            f"| {entry.status.value} | {_cell(why)} |"
        )
    lines += ["", "</details>"]
    if result.created:
        lines += [
            "",
            f"<details><summary>Tickets created by this run ({len(result.created)})</summary>",
            "",
            "Each has a mirrorKey starting with the run's prefix. The suite asked to cancel those left open.",
            "",
            "| ticketId | mirrorKey | state at the end | clean-up |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {t.ticket_id} | `{t.mirror_key}` | {t.final_state or '?'} | {t.cleanup or '-'} |"
            for t in result.created
        ]
        lines += ["", "</details>"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _exchange_lines(exchange: Exchange, indent: str = "   ") -> list[str]:
    answer = exchange.answer(300).replace("`", "'")
    sent = f" (sent {exchange.at})" if exchange.at else ""
    return ["", f"{indent}```sh", f"{indent}{exchange.curl()}", f"{indent}```", f"{indent}Answer{sent}: `{answer}`"]


def _rule_section(rule: Rule, violations: list[Violation], replay: str) -> list[str]:
    lines = [
        "",
        f"### {rule.title}",
        "",
        f"Rule `{rule.layer}/{rule.rule_id}`, checks: " + ", ".join(f"`{c}`" for c in rule.covers),
    ]
    for number, violation in enumerate(violations, start=1):
        lines += [
            "",
            f"{number}. {violation.message}",
            "",
            f"   Breaks `{violation.breaks}` ({violation.source.value}).",
        ]
        for exchange in violation.exchanges:
            lines += _exchange_lines(exchange)
        if violation.curl:
            lines += ["", "   ```sh", *[f"   {line}" for line in violation.curl.splitlines()], "   ```"]
        if violation.answer:
            lines += [f"   Answer: `{violation.answer[:300].replace('`', chr(39))}`"]
        if violation.details:
            lines += ["", *[f"   {line}" for line in violation.details.splitlines()]]
    if replay:
        lines += ["", f"Replay the layer: `{replay}`"]
    return lines
