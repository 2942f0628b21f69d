"""The contract suite's parts, one by one."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jwt
import pytest

from contracts import transport
from contracts.client import CreationBudget, MirrorKeys, SkipRule
from contracts.config import RunConfig
from contracts.coverage import Coverage, summarize
from contracts.html import write_html
from contracts.layers.auth import bad_credentials
from contracts.report import summary_lines, verdict, write_junit, write_markdown
from contracts.results import LayerRun, RunResult, Status
from contracts.samples import near_misses
from contracts.tokens import Tokens, resolve_tokens
from contracts.transport import Exchange, RateLimiter, parse_rate, retry_after
from contracts.verdicts import Verdicts, unusual_values
from spec import lifecycle as lifecycle_module
from spec.catalogue import Catalogue, Source
from spec.contract import Contract, text_of_length
from tests.support import SECRET, token

CONTRACT = Contract.load()
CATALOGUE = Catalogue.build(CONTRACT)


@pytest.mark.parametrize(("text", "interval"), [("10/s", 0.1), ("60/m", 1.0), ("2/h", 1800.0), (" 4 / s ", 0.25)])
def test_rates_are_read_as_intervals(text: str, interval: float) -> None:
    assert parse_rate(text) == pytest.approx(interval)


@pytest.mark.parametrize("text", ["fast", "10", "0/s", "-1/s", "10/d"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit must look like"):
        parse_rate(text)


def test_the_rate_limiter_spaces_requests_and_slows_down_on_429(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(transport.time, "monotonic", lambda: clock["now"])

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(transport.time, "sleep", sleep)
    limiter = RateLimiter("4/s")
    for _ in range(4):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25]
    limiter.slow_down()  # a quarter slower than asked, at least
    assert limiter.interval == pytest.approx(0.3125)
    unlimited = RateLimiter(None)
    for _ in range(100):
        unlimited.wait()
    unlimited.slow_down()  # 100 requests in the last second: 90 a second from now on
    assert unlimited.interval == pytest.approx(1 / 90)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, 1.0), ("", 1.0), ("3", 3.0), ("0", 0.0), ("-4", 0.0), ("999", transport.MAX_RETRY_AFTER), ("soon", 1.0)],
)
def test_retry_after_is_read_within_bounds(header: str | None, seconds: float) -> None:
    assert retry_after(header) == seconds


def test_retry_after_reads_an_http_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


def test_mirror_keys_are_unique_prefixed_and_fit_an_update() -> None:
    keys = MirrorKeys("CT-")
    made = [keys.fresh() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert all(key.startswith("CT-") and len(key) <= 15 for key in made)
    assert keys.owns(made[0]) and not keys.owns("ONV-1024")


@pytest.mark.parametrize("length", [15, 40, 255])
def test_a_mirror_key_of_an_exact_length_keeps_the_prefix(length: int) -> None:
    key = MirrorKeys("QA-").fresh(length=length)
    assert len(key) == length and key.startswith("QA-")


def test_the_creation_budget_refuses_past_its_limit_and_says_how_to_lift_it() -> None:
    budget = CreationBudget(2)
    budget.take()
    budget.spend()
    with pytest.raises(SkipRule, match="--max-creates 2") as refused:
        budget.take()
    assert refused.value.remedy == "raise --max-creates"
    assert budget.left == 0


def test_a_curl_reads_the_token_from_the_environment() -> None:
    exchange = Exchange(
        "POST",
        "http://h/troubleTicket",
        {"Content-Type": "application/json", "Authorization": "Bearer secret-token"},
        json_body={"dialog": "it's down"},
        authorization="Bearer $TT_TOKEN",
    )
    command = exchange.curl()
    assert "secret-token" not in command
    assert '-H "Authorization: Bearer $TT_TOKEN"' in command
    assert '--data-raw \'{"dialog": "it\'"\'"\'s down"}\'' in command


def test_a_multipart_curl_names_each_part() -> None:
    exchange = Exchange(
        "PATCH",
        "http://h/troubleTicket/RED-1",
        {"Content-Type": "multipart/form-data; boundary=x"},
        authorization="Bearer $TT_TOKEN",
        multipart=[("data", None, "application/json", b'{"a": 1}'), ("attachments", "log.txt", "text/plain", b"12345")],
    )
    command = exchange.curl()
    assert "-F 'data={\"a\": 1};type=application/json'" in command
    assert "-F 'attachments=@log.txt;type=text/plain'" in command
    assert "boundary=x" not in command  # curl writes its own


def test_bad_credentials_never_show_the_token_and_keep_its_signature() -> None:
    original = token("TU-A")
    header, _, signature = original.split(".")
    forged = bad_credentials(Tokens(a=original))
    rule, (tampered, shown) = forged["payload altered under the original signature"]
    assert rule == "auth.bad-signature"
    assert tampered.endswith("." + signature) and tampered != f"Bearer {original}"
    payload = json.loads(base64.urlsafe_b64decode(tampered.split(".")[1] + "=="))
    assert payload["sub"] != "TU-A"
    _, (unsigned, _) = forged["alg none"]
    assert json.loads(base64.urlsafe_b64decode(unsigned.split()[1].split(".")[0] + "=="))["alg"] == "none"
    assert all(original not in value[1][1] for value in forged.values() if value[1])
    assert "expired" not in forged and "not yet valid" not in forged  # no secret, no expired token: not forgeable


def test_with_a_secret_the_suite_mints_expired_early_and_second_tenant_tokens() -> None:
    tokens = resolve_tokens(RunConfig(base_url="http://h", token=token("TU-A"), jwt_secret=SECRET))
    assert tokens.minted_roles == ("b",)
    assert jwt.decode(tokens.b, SECRET, algorithms=["HS256"])["sub"] != "TU-A"
    forged = bad_credentials(tokens)
    _, (expired, label) = forged["expired"]
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired.split()[1], SECRET, algorithms=["HS256"])
    assert "$TT_JWT_SECRET" in label
    _, (early, _) = forged["not yet valid"]
    with pytest.raises(jwt.ImmatureSignatureError):
        jwt.decode(early.split()[1], SECRET, algorithms=["HS256"])
    assert tokens.role_labels()["b"].startswith("<a token minted with $TT_JWT_SECRET")


def test_boundary_values_come_from_the_schema() -> None:
    assert len(text_of_length({"type": "string"}, 35)) == 35
    assert text_of_length({"type": "string", "format": "date-time"}, 20) == "2025-01-15T10:30:00Z"
    assert len(text_of_length({"type": "string", "format": "date-time"}, 23)) == 23
    assert set(near_misses("cliente")) >= {"Cliente", "CLIENTE", "cliente ", " cliente", "client"}
    assert "cliente" not in near_misses("cliente")


def test_the_contract_reads_the_request_and_response_shapes_from_the_spec() -> None:
    assert CONTRACT.create.required[:3] == ["baseTroubleTicketState", "mirrorKey", "dialog"]
    assert (CONTRACT.create.file_part, CONTRACT.update.file_part) == ("attachment", "attachments")
    view = {field.name: field.source for field in CONTRACT.ticket_view}
    assert view["troubleDectectionTime"] == "troubleDetectionTime"
    assert CONTRACT.entry_fields("CLEARED").keys() == {"closeOutType", "closeOutNarr", "serviceRestoredTime"}
    assert CONTRACT.create.missing({"mirrorKey": None, "attachments": [{"content": "x"}]})[:2] == [
        "baseTroubleTicketState",
        "mirrorKey",
    ]
    assert CONTRACT.ticket_ids.prefix == "RED-" and CONTRACT.ticket_ids.sequence("RED-0012") is None
    assert CONTRACT.required_message.parse(CONTRACT.required_message.format(["a", "b"])) == ["a", "b"]


@pytest.mark.parametrize(
    ("rule_id", "source"),
    [
        ("create.dialog.maxLength", Source.PAGE),  # the page's table
        ("create.preferredPriority.type", Source.CONTRACT),  # "1" is not an integer: decided
        ("create.attachments[].name.required", Source.CONTRACT),  # unstarred on the page
        ("update.baseTroubleTicketState.required", Source.CONTRACT),
        ("update.ticketId.required", Source.PAGE),
        ("create.201.ticketId", Source.CONTRACT),  # the id rule
        ("read.404", Source.CONTRACT),
        ("create.415", Source.CONTRACT),
        ("create.415.body", Source.MOCK),  # a gateway's own 415 page is fine
        ("read.401.body", Source.MOCK),
        ("auth.challenge", Source.STANDARD),
        ("body.integer-as-float", Source.MOCK),
        ("lifecycle.TU.OPENACTIVE->CLOSED", Source.CONTRACT),
    ],
)
def test_each_rule_carries_the_source_the_spec_gives_it(rule_id: str, source: Source) -> None:
    assert CATALOGUE[rule_id].source is source


def test_the_catalogue_derives_a_rule_for_each_limit_of_the_spec() -> None:
    document = Contract.load().document
    document["components"]["schemas"]["CreateTroubleTicket"]["properties"]["homeId"]["minLength"] = 3
    changed = Catalogue.build(Contract.from_document(document, CONTRACT.lifecycle))
    assert "create.homeId.minLength" in changed and "create.homeId.minLength" not in CATALOGUE
    assert all(rule.why_not for rule in CATALOGUE if not rule.checkable)


def test_verdicts_name_the_rules_a_body_breaks() -> None:
    verdicts = Verdicts(CONTRACT, CATALOGUE)
    body = CONTRACT.example_create("K", dialog="x" * 4001, preferredPriority="1", wh1Parameter="Red")
    del body["troubleType"]
    body["attachments"][0]["content"] = "!!"
    assert set(verdicts.body_violations(CONTRACT.create, body)) == {
        "create.troubleType.required",
        "create.dialog.maxLength",
        "create.preferredPriority.type",
        "create.wh1Parameter.enum",
        "create.attachments[].content.format",
    }
    assert verdicts.answer_violations("read", 200, {"ticketId": 1, "mirrorKey": "K"}) == [
        "read.200.required",
        "read.200.ticketId",
    ]
    assert verdicts.answer_violations("create", 400, {"illegalArgumentException": "x", "code": 4}) == [
        "errors.exactly-one-key"
    ]
    assert verdicts.answer_violations("create", 415, "<html>") == ["create.415.body"]
    # One exception key and nothing more, but no message: the body is wrong, not its keys.
    assert verdicts.answer_violations("create", 400, {"illegalArgumentException": 400}) == ["create.400.body"]
    assert verdicts.answer_violations("create", 400, {"error": "x"}) == ["create.400.body"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"preferredPriority": 2.0}, ["body.integer-as-float"]),
        ({"troubleDetectionTime": "2025-01-15t10:30:00z"}, ["body.date-time-lower-case"]),
        ({"troubleDetectionTime": "2025-01-15T10:30:60Z"}, ["body.unusual-valid-values"]),
        ({"troubleDetectionTime": "2025-01-15T10:30:00+23:59"}, ["body.unusual-valid-values"]),
        ({"dialog": "a\x00b"}, ["body.unusual-valid-values"]),
        ({"troubleType": "   "}, ["body.unusual-valid-values"]),
        ({"troubleType": "\U0001f4a5" * 30}, ["body.unusual-valid-values"]),  # 60 UTF-16 units over 35
        ({"dialog": "ONT reboots"}, []),
    ],
)
def test_schema_valid_values_a_provider_may_refuse_are_told_apart(overrides: dict, expected: list[str]) -> None:
    assert unusual_values(CONTRACT.create, CONTRACT.example_create("K", **overrides)) == expected


def _result(strict: bool = False) -> RunResult:
    layer = LayerRun("boundaries", "Boundaries", CATALOGUE, strict=strict)
    failed = layer.new_rule(
        "create.json.dialog.over", "create (json): dialog over maxLength 4000", ["create.dialog.maxLength"]
    )
    failed.violate(
        "dialog of 4001 characters: expected 400, got 201",
        Exchange(
            "POST",
            "http://h/troubleTicket",
            {},
            json_body={"dialog": "x"},
            authorization="Bearer $TT_TOKEN",
            status=201,
        ),
    )
    warned = layer.new_rule("create.json.priority.float", "create (json): 1.0 counts as 1", ["body.integer-as-float"])
    warned.violate("preferredPriority 1.0: expected 201, got 400")
    layer.add(failed)
    layer.add(warned)
    layer.add(layer.new_rule("create.json.ok", "fine", ["create.troubleType.maxLength"]))
    auth = LayerRun("auth", "Auth", CATALOGUE)
    auth.skip("tenancy", "tenant B", ["tenancy.read"], "needs a second tenant's token", "set $TT_TOKEN_B")
    return RunResult(
        base_url="http://h",
        seed=5,
        layers=[layer.finish(), auth.finish()],
        catalogue=CATALOGUE,
        options={"TO hook": False},
        replay={"boundaries": "replay boundaries", "auth": "replay auth", "": "replay all"},
        strict=strict,
    )


def test_a_mock_only_rule_broken_is_a_warning_unless_strict() -> None:
    lenient, strict = _result(), _result(strict=True)
    statuses = [rule.status for rule in lenient.rules]
    assert statuses == [Status.FAILED, Status.WARNED, Status.PASSED, Status.SKIPPED]
    assert (lenient.failures, lenient.warnings, lenient.exit_code) == (1, 1, 1)
    assert [rule.status for rule in strict.rules][1] is Status.FAILED and strict.failures == 2


def test_the_verdict_says_what_was_skipped_and_how_to_check_it() -> None:
    line = verdict(_result())
    assert line.startswith("DOES NOT CONFORM: 1 failures in 1 rules")
    assert "1 skipped (1 need: set $TT_TOKEN_B)" in line and "1 warning" in line


def test_a_run_with_every_rule_passed_conforms() -> None:
    layer = LayerRun("boundaries", "Boundaries", CATALOGUE)
    layer.add(layer.new_rule("create.json.ok", "fine", ["create.troubleType.maxLength"]))
    result = RunResult(base_url="http://h", seed=5, layers=[layer.finish()], catalogue=CATALOGUE, options={}, replay={})
    assert verdict(result) == "CONFORMS: 1 rules, 0 warnings"


def test_coverage_follows_the_rules_each_check_covers() -> None:
    coverage = {entry.rule.id: entry for entry in summarize(_result()).rules}
    assert coverage["create.dialog.maxLength"].status is Coverage.FAILED
    assert coverage["body.integer-as-float"].status is Coverage.WARNED
    assert coverage["create.troubleType.maxLength"].status is Coverage.PASSED
    assert coverage["tenancy.read"].status is Coverage.SKIPPED and coverage["tenancy.read"].reasons == [
        "set $TT_TOKEN_B"
    ]
    assert coverage["create.mirrorKey.maxLength"].status is Coverage.NOT_REACHED
    assert coverage["body.homeId-for-client-issues"].status is Coverage.NOT_CHECKABLE


def test_junit_has_one_test_case_per_rule_with_its_source(tmp_path: Path) -> None:
    write_junit(_result(), tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    layers = [suite for suite in root if suite.get("name") != "contract-coverage"]
    cases = [case for suite in layers for case in suite.iter("testcase")]
    assert len(cases) == 4 and root.get("failures") == "1"
    assert root.get("tests") == "4" and [suite.get("tests") for suite in layers] == ["3", "1"]
    properties = {p.get("name"): p.get("value") for p in cases[0].iter("property")}
    assert properties["source"] == "page" and properties["covers"] == "create.dialog.maxLength"
    failure = cases[0].find("failure")
    assert (
        failure is not None
        and "curl" in failure.text
        and "$TT_TOKEN" in failure.text
        and "replay boundaries" in failure.text
    )
    assert cases[1].find("failure") is None and "WARNING" in cases[1].find("system-out").text
    assert cases[3].find("skipped").get("message") == "needs a second tenant's token"
    coverage = next(suite for suite in root if suite.get("name") == "contract-coverage")
    assert len(list(coverage.iter("testcase"))) == len(CATALOGUE)


def test_the_markdown_report_leads_with_the_verdict_and_gives_request_and_replay(tmp_path: Path) -> None:
    write_markdown(_result(), tmp_path / "r.md")
    text = (tmp_path / "r.md").read_text()
    assert text.splitlines()[2].startswith("**DOES NOT CONFORM: 1 failures")
    assert "| Boundaries | 3 | 1 | 1 | 1 | 0 |" in text
    assert "| page |" in text and "| mock |" in text
    assert (
        "dialog of 4001 characters: expected 400, got 201" in text and "Breaks `create.dialog.maxLength` (page)" in text
    )
    assert "curl -i -X POST" in text and "Replay the layer: `replay boundaries`" in text
    assert "## Warnings" in text and "preferredPriority 1.0" in text
    assert "1 rule: needs a second tenant's token (set $TT_TOKEN_B)" in text
    assert "<details><summary>Coverage of the contract" in text


def test_the_summary_tables_give_each_layer_and_each_source_a_row() -> None:
    lines = summary_lines(_result())
    assert lines[0] == "layer       rules passed failed warned skipped coverage    time"
    assert lines[1].split() == ["boundaries", "3", "1", "1", "1", "0", "100%", "0.0s"]
    header = lines.index("source      contract rules checked failed warned skipped other")
    assert [line.split()[0] for line in lines[header + 1 : header + 5]] == ["page", "standard", "contract", "mock"]


def test_the_html_report_shows_the_verdict_each_violation_and_each_move(tmp_path: Path) -> None:
    write_html(_result(), tmp_path / "r.html", lifecycle_module.load())
    page = (tmp_path / "r.html").read_text()
    assert "<div class='verdict bad' id='verdict'>DOES NOT CONFORM: 1 failures in 1 rules" in page
    assert "Breaks <code>create.dialog.maxLength</code> <span class='source'>page</span>" in page
    assert "<code>mock</code> rules are the mock's own choices: breaking one is a warning.</p>" in page
    legend = re.findall(r"</i>([^<]+)</span>", page)
    assert legend[:4] == ["checked, passed", "failed", "warned", "skipped or not reached (dashed)"]
    # A move no rule of the run checked says why, in the table of every move.
    assert (
        "<tr><td>TU</td><td>OPENACTIVE</td><td>DEFERRED.AWAITING-CANCELATION</td><td>may</td>"
        "<td class='status-not-reached'>not reached (no rule of this run checks it)</td></tr>"
    ) in page
