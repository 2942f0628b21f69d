"""A grade of a TU client, read from the journal of the mock it talked to.

Every request the provider would refuse is a finding, filed under the contract rule it broke
(the mock records the rule when it refuses: `rules` in each journal entry, `spec.catalogue` ids).
Left out: requests a test refused on purpose (marked with the X-Mock-Expect-Refusal header) and
requests a fault took (the mock's doing, not the client's). A repeated create is the client's
fault only when the 201 of the first had reached it: a retry after a dropped connection, a
truncated answer or a timeout is how an idempotent client is meant to learn its ticket's id.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from mockserver.control import PREFIX as CONTROL_PREFIX
from mockserver.journal import EXPECT_REFUSAL_HEADER
from spec.catalogue import Catalogue
from spec.contract import Contract

REPEATED_CREATE = "ids.repeated-mirror-key"
# Faults that keep a 201 from the client (latency and slow bodies only delay it: a client that
# gave up waiting is told apart by when it sent the repeat).
UNSEEN_KINDS = ("drop", "truncate", "error")
# The order a report lists categories in, and how a rule id falls into one.
CATEGORIES = (
    "missing field",
    "over a limit",
    "wrong type",
    "not an allowed value",
    "wrong format",
    "illegal or wrong-side transition",
    "bad, expired or missing token",
    "wrong media type",
    "repeated create",
    "wrong ids",
    "unknown ticket",
    "malformed request",
    "body too large",
    "other",
)


def category(rule: str) -> str:
    """The kind of mistake a rule id names, for grouping a report."""
    if rule.startswith("auth."):
        return "bad, expired or missing token"
    if rule.startswith("lifecycle."):
        return "illegal or wrong-side transition"
    if rule == REPEATED_CREATE:
        return "repeated create"
    if rule in ("read.404", "ids.unknown-ticket-update"):
        return "unknown ticket"
    if rule.startswith("ids."):
        return "wrong ids"
    suffix = rule.rsplit(".", 1)[-1]
    by_suffix = {
        "required": "missing field",
        "maxLength": "over a limit",
        "minLength": "over a limit",
        "maximum": "over a limit",
        "minimum": "over a limit",
        "type": "wrong type",
        "enum": "not an allowed value",
        "format": "wrong format",
        "pattern": "wrong format",
        "415": "wrong media type",
        "413": "body too large",
        "multipart": "malformed request",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    return "malformed request" if rule.startswith(("http.", "body.")) else "other"


@dataclass(frozen=True)
class Finding:
    """One request the provider would refuse, under one rule it broke."""

    rule: str
    text: str
    source: str
    entry: dict[str, Any]
    note: str | None = None

    @property
    def category(self) -> str:
        return category(self.rule)


@dataclass
class Grade:
    """What a client did right and wrong, from the journal entries of its requests."""

    graded: int = 0
    findings: list[Finding] = field(default_factory=list)
    expected: list[dict[str, Any]] = field(default_factory=list)  # refused on purpose (the header)
    faulted: list[dict[str, Any]] = field(default_factory=list)  # taken by an injected fault
    retried_creates: list[dict[str, Any]] = field(default_factory=list)  # repeats the client could not avoid
    warnings: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    mock_failures: list[dict[str, Any]] = field(default_factory=list)  # 5xx the mock did not inject
    journal_full: bool = False
    first: str | None = None
    last: str | None = None

    @property
    def broke_contract(self) -> bool:
        return bool(self.findings)

    @property
    def refused_requests(self) -> int:
        return len({id(finding.entry) for finding in self.findings})

    def by_rule(self) -> dict[str, list[Finding]]:
        """Findings grouped by rule, categories in CATEGORIES order, rules by id within one."""
        ordered = sorted(self.findings, key=lambda f: (CATEGORIES.index(f.category), f.rule))
        groups: dict[str, list[Finding]] = {}
        for finding in ordered:
            groups.setdefault(finding.rule, []).append(finding)
        return groups

    # -- renderings --------------------------------------------------------------------------

    def verdict(self) -> str:
        if not self.broke_contract:
            return f"no request the provider would refuse ({self.graded} requests graded)"
        rules = len(self.by_rule())
        return (
            f"the client broke the contract: {self.refused_requests} of {self.graded} requests "
            f"would be refused, under {rules} rule{'s' if rules > 1 else ''}"
        )

    def text(self, *, limit: int = 5) -> str:
        """A plain-text report: the verdict, then each broken rule with up to `limit` of its requests."""
        lines = [self.verdict()]
        for rule, findings in self.by_rule().items():
            first = findings[0]
            lines.append("")
            lines.append(f"[{first.category}] {rule}: {first.text} ({first.source})")
            for finding in findings[:limit]:
                lines.append(f"  {describe(finding.entry)}")
                if finding.note:
                    lines.append(f"    note: {finding.note}")
            if len(findings) > limit:
                lines.append(f"  ... and {len(findings) - limit} more")
        extra = self._left_out_lines()
        if extra and self.broke_contract:
            lines.append("")
        return "\n".join(lines + extra)

    def _left_out_lines(self) -> list[str]:
        lines = []
        if self.expected:
            lines.append(f"left out: {len(self.expected)} refused on purpose ({EXPECT_REFUSAL_HEADER})")
        if self.faulted:
            lines.append(f"left out: {len(self.faulted)} taken by an injected fault")
        if self.retried_creates:
            lines.append(
                f"handled: {len(self.retried_creates)} repeated create(s) after an answer the client never got"
            )
        if self.mock_failures:
            lines.append(f"the mock itself failed {len(self.mock_failures)} request(s) (5xx): see its log")
        for entry, warning in self.warnings:
            lines.append(f"warning: {entry.get('method')} {entry.get('path')}: {warning}")
        if self.journal_full:
            lines.append(
                "warning: the journal was full, so older requests were not graded: serve with a larger --journal-size"
            )
        return lines

    def markdown(self, *, limit: int = 20) -> str:
        """A Markdown report: the verdict, a summary table, then each broken rule with its requests."""
        out = ["# Grade of the TU client", "", f"**Verdict:** {self.verdict()}.", ""]
        if self.first:
            out += [f"Requests from {self.first} to {self.last}.", ""]
        groups = self.by_rule()
        if groups:
            out += ["| category | rule | source | requests |", "|---|---|---|---:|"]
            out += [f"| {fs[0].category} | `{rule}` | {fs[0].source} | {len(fs)} |" for rule, fs in groups.items()]
            out.append("")
        for rule, findings in groups.items():
            first = findings[0]
            out += [f"## `{rule}`: {first.text}", "", f"*{first.category}; source: {first.source}*", ""]
            for finding in findings[:limit]:
                out += _markdown_exchange(finding.entry, finding.note)
            if len(findings) > limit:
                out += [f"... and {len(findings) - limit} more.", ""]
        extra = self._left_out_lines()
        if extra:
            out += ["## Left out, handled and warnings", ""] + [f"- {line}" for line in extra] + [""]
        return "\n".join(out)

    def junit_xml(self) -> str:
        """JUnit XML: one failed test case per broken rule, and one that counts the requests graded."""
        suite = ElementTree.Element(
            "testsuite",
            name="tt-mock client grade",
            tests=str(len(self.by_rule()) + 1),
            failures=str(len(self.by_rule())),
        )
        ElementTree.SubElement(suite, "testcase", classname="client", name=f"{self.graded} requests graded")
        for rule, findings in self.by_rule().items():
            case = ElementTree.SubElement(suite, "testcase", classname=findings[0].category, name=rule)
            failure = ElementTree.SubElement(
                case, "failure", message=f"{findings[0].text}: {len(findings)} request(s)", type=findings[0].source
            )
            failure.text = "\n".join(describe(f.entry) + (f" ({f.note})" if f.note else "") for f in findings)
        return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def grade(
    entries: Iterable[dict[str, Any]], contract: Contract, catalogue: Catalogue, *, capacity: int | None = None
) -> Grade:
    """Grade the client behind `entries` (journal entries, oldest first)."""
    entries = list(entries)
    result = Grade(first=entries[0].get("at") if entries else None, last=entries[-1].get("at") if entries else None)
    result.journal_full = capacity is not None and capacity > 0 and len(entries) >= capacity
    creates: dict[tuple[Any, Any], dict[str, Any]] = {}  # (tenant, ticketId) -> the create that made it
    for entry in entries:
        if str(entry.get("path", "")).startswith(CONTROL_PREFIX + "/"):
            continue  # a TO move through the transition hook: the test playing the provider, not the client
        if entry.get("direction") == "out":  # the mock's own callbacks to a mirror: not the client's
            continue
        result.graded += 1
        status = entry.get("status")
        made = _created(entry, contract)
        if made is not None:
            creates[(entry.get("tenant"), made)] = entry
        if entry.get("fault"):
            result.faulted.append(entry)
            continue
        if not isinstance(status, int):
            continue
        if entry.get("expectRefusal"):
            if 200 <= status < 300:
                result.warnings.append((entry, f"marked {EXPECT_REFUSAL_HEADER} but accepted ({status})"))
            else:
                result.expected.append(entry)
            continue
        if status >= 500:
            result.mock_failures.append(entry)
            continue
        if status < 400:
            for warning in entry.get("warnings") or ():
                result.warnings.append((entry, warning))
            continue
        for rule in entry.get("rules") or [_fallback(status)]:
            note = None
            if rule == REPEATED_CREATE:
                first = creates.get((entry.get("tenant"), entry.get("ticketId")))
                excuse = _unseen_answer(first, entry)
                if excuse:
                    result.retried_creates.append(entry)
                    continue
                note = _repeat_note(first)
            known = rule in catalogue
            text = catalogue[rule].text if known else "a rule this catalogue does not list"
            source = catalogue[rule].source.value if known else "unknown"
            result.findings.append(Finding(rule, text, source, entry, note))
    return result


def _created(entry: dict[str, Any], contract: Contract) -> str | None:
    """The ticket a create made, even when a fault kept its answer from the client."""
    if entry.get("method") != "POST" or entry.get("path") != contract.collection_path:
        return None
    answered = (entry.get("fault") or {}).get("handled") or entry
    if answered.get("status") == 201 and isinstance(answered.get("response"), dict):
        return answered["response"].get(contract.names.ticket_id)
    return None


def _unseen_answer(first: dict[str, Any] | None, repeat: dict[str, Any]) -> bool:
    """True when the client cannot have seen the first create's 201: a fault took it, or the repeat
    was sent before that answer was (the client gave up waiting)."""
    if first is None:
        return False
    if (first.get("fault") or {}).get("kind") in UNSEEN_KINDS:
        return True
    sent, answered = repeat.get("receivedAt"), first.get("at")
    try:
        return bool(sent and answered and datetime.fromisoformat(sent) < datetime.fromisoformat(answered))
    except ValueError:
        return False


def _repeat_note(first: dict[str, Any] | None) -> str:
    if first is None:
        return "the create that made this ticket is not in the journal (made before it, or seeded)"
    return f"the first create was answered 201 at {first.get('at')}, and nothing kept that answer from the client"


def _fallback(status: int) -> str:
    return {401: "auth.malformed-token", 404: "http.unknown-path"}.get(status, "body.other-invalid-data")


# -- showing an exchange -----------------------------------------------------------------------


def _target(entry: dict[str, Any]) -> str:
    query = entry.get("query")
    return f"{entry.get('path')}{'?' + query if query else ''}"


def answer_text(entry: dict[str, Any]) -> str:
    """The answer, in short: the error message, or the JSON."""
    response = entry.get("response")
    if isinstance(response, dict) and len(response) == 1:
        ((_, message),) = response.items()
        if isinstance(message, str):
            return message
    return json.dumps(response)[:200] if response is not None else "(no body)"


def describe(entry: dict[str, Any]) -> str:
    """One line: the request, who sent it, and what it got."""
    who = f" as {entry['tenant']}" if entry.get("tenant") else ""
    sent = f"{entry.get('method')} {_target(entry)}{who} at {entry.get('at')}"
    return f"{sent} -> {entry.get('status')}: {answer_text(entry)}"


def body_text(entry: dict[str, Any]) -> str | None:
    body = entry.get("body")
    if body is None:
        return None
    if isinstance(body, dict):
        return json.dumps(body, indent=2, ensure_ascii=False)
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(body)


def curl(entry: dict[str, Any], base_url: str = "$TT_MOCK") -> str:
    """The request as a curl command (the token from $TOKEN: the journal never keeps one)."""
    parts = ["curl", "-s", "-X", str(entry.get("method")), f'"{base_url}{_target(entry)}"']
    headers = entry.get("headers") or {}
    if "Authorization" in headers:
        parts += ["-H", '"Authorization: Bearer $TOKEN"']
    body = entry.get("body")
    if isinstance(body, dict) and "multipart" in body:
        for name in body["multipart"]:
            value = body.get(name)
            parts += ["-F", shlex.quote(f"{name}={value}" if isinstance(value, str) else f"{name}=@FILE")]
    elif body is not None:
        if "Content-Type" in headers:
            parts += ["-H", shlex.quote(f"Content-Type: {headers['Content-Type']}")]
        parts += ["--data-binary", shlex.quote(str(body))]
    return " ".join(parts)


def _markdown_exchange(entry: dict[str, Any], note: str | None) -> list[str]:
    out = [
        f"- `{entry.get('method')} {_target(entry)}`"
        + (f" as {entry['tenant']}" if entry.get("tenant") else "")
        + f", {entry.get('at')}: **{entry.get('status')}** {answer_text(entry)}"
    ]
    if note:
        out.append(f"  - note: {note}")
    body = body_text(entry)
    if body is not None:
        out += ["", "  ```json", *("  " + line for line in body.splitlines()[:40]), "  ```"]
    out += ["", "  ```sh", f"  {curl(entry)}", "  ```", ""]
    return out
