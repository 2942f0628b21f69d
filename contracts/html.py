"""The HTML report: one self-contained page (no script, no network) that a person reads in a browser.

The verdict first, then the tables per layer and per source, the lifecycle drawn from the
lifecycle file with each edge coloured by what the run made of it for its side, then each
failure and warning with its curl, the answer and the command that replays it.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from html import escape
from pathlib import Path

from contracts.coverage import Coverage, Summary, summarize
from contracts.report import verdict
from contracts.results import Rule, RunResult, Status, Violation
from contracts.transport import Exchange
from spec.catalogue import SOURCES, edge_rule
from spec.diagram import lifecycle_svg
from spec.lifecycle import SIDES, Lifecycle, Transition

COLOURS = {
    Coverage.PASSED: "#1a7f37",
    Coverage.FAILED: "#cf222e",
    Coverage.WARNED: "#9a6700",
    Coverage.SKIPPED: "#8c959f",
    Coverage.NOT_REACHED: "#8c959f",
    Coverage.NOT_CHECKABLE: "#8c959f",
}
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0 auto;
       max-width: 1180px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.verdict { padding: 14px 18px; border-radius: 6px; font-weight: 600; font-size: 16px; color: #fff; }
.verdict.ok { background: #1a7f37; } .verdict.bad { background: #cf222e; } .verdict.halted { background: #9a6700; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
th { background: #f6f8fa; } td.n { text-align: right; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all;
      font-size: 12px; }
.source { font-size: 12px; padding: 1px 6px; border-radius: 10px; background: #ddf4ff; }
.status-passed { color: #1a7f37; } .status-failed { color: #cf222e; font-weight: 600; }
.status-warned { color: #9a6700; } .status-skipped, .status-not-checked, .status-not-reached { color: #57606a; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 22px;
  height: 4px; margin-right: 6px; vertical-align: middle; }
.diagram svg { max-width: 100%; height: auto; }
.violation { border-left: 3px solid #cf222e; padding-left: 10px; margin: 10px 0; }
.violation.warning { border-color: #9a6700; }
"""


def write_html(result: RunResult, path: Path, lifecycle: Lifecycle) -> None:
    """Write the run's report as one HTML file."""
    coverage = summarize(result)
    kind = "ok" if result.exit_code == 0 else ("halted" if result.exit_code == 2 else "bad")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Contract report: {escape(result.base_url)}</title>",
        f"<style>{STYLE}{_edge_styles(coverage, lifecycle)}</style>",
        "</head><body>",
        "<h1>Trouble Ticket contract report</h1>",
        f"<div class='verdict {kind}' id='verdict'>{escape(verdict(result))}</div>",
        f"<p>Endpoint <code>{escape(result.base_url)}</code>, "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}, seed <code>{result.seed}</code>, "
        f"{result.traffic.requests} requests, {result.seconds:.1f} s. "
        f"Replay: <code>{escape(result.replay.get('', ''))}</code></p>",
    ]
    if result.finding is not None:
        parts += [
            "<h2 id='finding'>The provider died or broke</h2>",
            f"<p>At {escape(result.finding.at)}: {escape(result.finding.message)} "
            "(breaks <code>http.server-survives</code>, standard). The rules after it were not checked.</p>",
            *[_exchange(e) for e in result.finding.exchanges],
        ]
    elif result.halted is not None:
        parts += ["<h2>The run halted</h2>", f"<p>{escape(result.halted.reason)}</p>"]
    parts += _tables(result, coverage)
    parts += _lifecycle(coverage, lifecycle)
    failed = [rule for rule in result.rules if rule.status is Status.FAILED]
    warned = [rule for rule in result.rules if any(not v.binding for v in rule.violations)]
    if failed:
        parts.append("<h2 id='failures'>Failures</h2>")
        parts += [_rule(rule, [v for v in rule.violations if v.binding], result, False) for rule in failed]
    if warned:
        parts.append(
            "<h2 id='warnings'>Warnings</h2><p>Choices only the mock makes: the provider may choose otherwise.</p>"
        )
        parts += [_rule(rule, [v for v in rule.violations if not v.binding], result, True) for rule in warned]
    notes = [(rule, note) for rule in result.rules for note in rule.notes]
    if notes:
        parts.append("<h2>What the provider chose where the page allows two readings</h2><ul>")
        parts += [f"<li>{escape(note)} <small>({escape(rule.title)})</small></li>" for rule, note in notes]
        parts.append("</ul>")
    skipped = Counter(
        (rule.skip_reason or "", rule.skip_remedy or "")
        for rule in result.rules
        if rule.status in (Status.SKIPPED, Status.NOT_CHECKED)
    )
    if skipped:
        parts.append("<h2>Skipped and not checked</h2><ul>")
        parts += [
            f"<li>{count} rule{'s' * (count != 1)}: {escape(reason)}"
            + (f" <b>({escape(remedy)})</b>" if remedy else "")
            + "</li>"
            for (reason, remedy), count in skipped.most_common()
        ]
        parts.append("</ul>")
    parts += _coverage_table(coverage)
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


def _tables(result: RunResult, coverage: Summary) -> list[str]:
    rows = [
        "<h2>Summary</h2><table id='layers'><tr><th>layer</th><th>rules</th><th>passed</th><th>failed</th>"
        "<th>warned</th>"
        "<th>skipped</th><th>coverage</th><th>time</th></tr>"
    ]
    for layer in result.layers:
        _, _, percent = coverage.layer_percent(layer.name)
        skipped = layer.count(Status.SKIPPED) + layer.count(Status.NOT_CHECKED)
        cells = [len(layer.rules), layer.count(Status.PASSED), layer.count(Status.FAILED), layer.count(Status.WARNED)]
        rows.append(
            f"<tr><td>{escape(layer.title)}</td>"
            + "".join(f"<td class='n'>{n}</td>" for n in cells)
            + f"<td class='n'>{skipped}</td><td class='n'>{percent:.0f}%</td>"
            + f"<td class='n'>{layer.seconds:.1f} s</td></tr>"
        )
    rows.append(
        "</table><table id='sources'><tr><th>source</th><th>contract rules</th><th>checked</th><th>failed</th>"
        "<th>warned</th><th>skipped</th><th>not reached</th><th>not checkable</th></tr>"
    )
    by_source = coverage.by_source()
    for source in SOURCES:
        counts = by_source.get(source.value, Counter())
        checked = sum(n for status, n in counts.items() if status.checked)
        cells = [sum(counts.values()), checked] + [
            counts[s]
            for s in (Coverage.FAILED, Coverage.WARNED, Coverage.SKIPPED, Coverage.NOT_REACHED, Coverage.NOT_CHECKABLE)
        ]
        rows.append(
            f"<tr><td><span class='source'>{source.value}</span></td>"
            + "".join(f"<td class='n'>{n}</td>" for n in cells)
            + "</tr>"
        )
    rows.append(
        f"</table><p>Coverage: <b>{coverage.checked} of {len(coverage.checkable)}</b> checkable contract rules checked "
        f"({coverage.percent:.0f}%). <code>page</code>, <code>standard</code> and <code>contract</code> rules bind "
        "the provider; <code>mock</code> rules are the mock's own choices: breaking one is a warning"
        + (" (a failure here: the run was strict)." if result.strict else ".")
        + "</p>"
    )
    return rows


def _edge_styles(coverage: Summary, lifecycle: Lifecycle) -> str:
    """CSS that colours each drawn edge by its side's coverage (the drawing marks edges with data-*)."""
    status = {entry.rule.id: entry.status for entry in coverage.rules}
    rules = []
    for edge in _as_run(coverage, lifecycle).transitions:
        found = status.get(edge_rule(edge.side, edge.source, edge.target))
        if found is None:  # not a rule of this contract (a mirror's run has the TO's edges only): drawn plain
            continue
        colour = COLOURS[found]
        selector = f'g.edge[data-side="{edge.side}"][data-from="{edge.source}"][data-to="{edge.target}"]'
        dash = "stroke-dasharray: 6 4;" if not found.checked else ""
        rules.append(f"{selector} path {{ stroke: {colour}; stroke-width: 3; {dash} }}")
        rules.append(f"{selector} rect {{ fill: {colour}; stroke: {colour}; }} {selector} text {{ fill: #fff; }}")
    return "\n".join(rules)


def _as_run(coverage: Summary, lifecycle: Lifecycle) -> Lifecycle:
    """The lifecycle to draw: the file's edges, and every move the provider took that it forbids."""
    breached = [
        Transition(source, target, side, "forbidden by the lifecycle file, taken by the provider")
        for side in SIDES
        for source in lifecycle.states
        for target in lifecycle.states
        if not lifecycle.allows(source, target, side)
        and any(e.rule.id == edge_rule(side, source, target) and e.status is Coverage.FAILED for e in coverage.rules)
    ]
    return dataclasses.replace(lifecycle, transitions=(*lifecycle.transitions, *breached)) if breached else lifecycle


def _lifecycle(coverage: Summary, lifecycle: Lifecycle) -> list[str]:
    status = {entry.rule.id: entry for entry in coverage.rules}
    legend = "".join(
        f"<span><i style='background:{COLOURS[s]}'></i>{label}</span>"
        for s, label in (
            (Coverage.PASSED, "checked, passed"),
            (Coverage.FAILED, "failed"),
            (Coverage.WARNED, "warned"),
            (Coverage.SKIPPED, "skipped or not reached (dashed)"),
        )
    )
    parts = [
        "<h2 id='lifecycle'>The lifecycle, edge by edge</h2>",
        "<p>Each edge of the lifecycle file, coloured by what the run made of it for its side; a move the "
        "file forbids but the provider took is drawn too, in red.</p>",
        f"<div class='legend'>{legend}</div><div class='diagram'>{lifecycle_svg(_as_run(coverage, lifecycle))}</div>",
        "<details><summary>Every move each side may or may not take</summary><table id='moves'>"
        "<tr><th>side</th><th>from</th><th>to</th><th>the contract says</th><th>this run</th></tr>",
    ]
    for side in SIDES:
        for source in lifecycle.states:
            if lifecycle.is_terminal(source):
                continue
            for target in lifecycle.states:
                entry = status.get(edge_rule(side, source, target))
                if entry is None:
                    continue
                verdict_text = "may" if lifecycle.allows(source, target, side) else "may not"
                reason = "" if entry.status.checked else f" ({escape('; '.join(entry.reasons))})"
                parts.append(
                    f"<tr><td>{side}</td><td>{source}</td><td>{target}</td><td>{verdict_text}</td>"
                    f"<td class='status-{entry.status.value.replace(' ', '-')}'>{entry.status.value}{reason}</td></tr>"
                )
    parts.append("</table></details>")
    return parts


def _exchange(exchange: Exchange) -> str:
    sent = f" (sent {escape(exchange.at)})" if exchange.at else ""
    return f"<pre>{escape(exchange.curl())}</pre><p>Answer{sent}: <code>{escape(exchange.answer(500))}</code></p>"


def _rule(rule: Rule, violations: list[Violation], result: RunResult, warning: bool) -> str:
    out = [
        f"<h3>{escape(rule.title)}</h3><p>Rule <code>{escape(rule.layer)}/{escape(rule.rule_id)}</code>; checks "
        + ", ".join(f"<code>{escape(c)}</code>" for c in rule.covers)
        + "</p>"
    ]
    for violation in violations:
        out.append(f"<div class='violation{' warning' if warning else ''}'><p>{escape(violation.message)}</p>")
        out.append(
            f"<p>Breaks <code>{escape(violation.breaks)}</code> "
            f"<span class='source'>{violation.source.value}</span></p>"
        )
        out += [_exchange(exchange) for exchange in violation.exchanges]
        if violation.curl:
            out.append(f"<pre>{escape(violation.curl)}</pre>")
        if violation.answer:
            out.append(f"<p>Answer: <code>{escape(violation.answer[:500])}</code></p>")
        if violation.details:
            out.append(f"<pre>{escape(violation.details)}</pre>")
        out.append("</div>")
    replay = result.replay.get(rule.layer, "")
    if replay:
        out.append(f"<p>Replay the layer: <code>{escape(replay)}</code></p>")
    return "\n".join(out)


def _coverage_table(coverage: Summary) -> list[str]:
    parts = [
        "<h2>Coverage of the contract, rule by rule</h2><details><summary>Every contract rule</summary>"
        "<table id='coverage'><tr><th>contract rule</th><th>source</th><th>status</th>"
        "<th>checked by, or why not</th></tr>"
    ]
    for entry in coverage.rules:
        why = ", ".join(entry.layers) if entry.status.checked else "; ".join(entry.reasons)
        parts.append(
            f"<tr><td><code>{escape(entry.rule.id)}</code>: {escape(entry.rule.text)}</td>"
            f"<td>{entry.rule.source.value}</td><td class='status-{entry.status.value.replace(' ', '-')}'>"
            f"{entry.status.value}</td><td>{escape(why)}</td></tr>"
        )
    parts.append("</table></details>")
    return parts
