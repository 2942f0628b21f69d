"""The contract suite's parts, one by one."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts import client as client_module
from contracts.client import CreationBudget, Exchange, MirrorKeys, RateLimiter, SkipRule, parse_rate
from contracts.config import RunConfig
from contracts.contract import Contract, near_misses, text_of_length
from contracts.layers.auth import bad_credentials
from contracts.report import write_junit, write_markdown
from contracts.results import LayerResult, Rule
from contracts.runner import RunResult
from tests.support import token


@pytest.mark.parametrize(("text", "interval"), [("10/s", 0.1), ("60/m", 1.0), ("2/h", 1800.0), (" 4 / s ", 0.25)])
def test_rates_are_read_as_intervals(text: str, interval: float) -> None:
    assert parse_rate(text) == pytest.approx(interval)


@pytest.mark.parametrize("text", ["fast", "10", "0/s", "-1/s", "10/d"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit must look like"):
        parse_rate(text)


def test_the_rate_limiter_spaces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0}
    slept: list[float] = []
    monkeypatch.setattr(client_module.time, "monotonic", lambda: clock["now"])

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(client_module.time, "sleep", sleep)
    limiter = RateLimiter("4/s")
    for _ in range(4):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25]


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


def test_the_creation_budget_refuses_past_its_limit() -> None:
    budget = CreationBudget(2)
    budget.take()
    budget.spend()
    with pytest.raises(SkipRule, match="--max-creates 2"):
        budget.take()
    assert budget.left == 0


def test_a_curl_reads_the_token_from_the_environment() -> None:
    exchange = Exchange(
        "POST",
        "http://h/troubleTicket",
        {"Content-Type": "application/json", "Authorization": "Bearer secret-token"},
        json_body={"dialog": "it's down"},
        token_label="$TT_TOKEN",
    )
    command = exchange.curl()
    assert "secret-token" not in command
    assert '-H "Authorization: Bearer $TT_TOKEN"' in command
    assert '--data-raw \'{"dialog": "it\'"\'"\'s down"}\'' in command


def test_a_multipart_curl_names_each_part() -> None:
    exchange = Exchange(
        "PATCH",
        "http://h/troubleTicket/RED-1",
        {},
        token_label="$TT_TOKEN",
        multipart=[("data", None, "application/json", b'{"a": 1}'), ("attachments", "log.txt", "text/plain", b"12345")],
    )
    command = exchange.curl()
    assert "-F 'data={\"a\": 1};type=application/json'" in command
    assert "-F 'attachments=@log.txt;type=text/plain'" in command


def test_bad_credentials_never_show_the_token_and_keep_its_signature() -> None:
    original = token("TU-A")
    header, _, signature = original.split(".")
    forged = bad_credentials(original)
    tampered, shown = forged["payload altered under the original signature"]
    assert tampered.endswith("." + signature) and tampered != f"Bearer {original}"
    payload = json.loads(base64.urlsafe_b64decode(tampered.split(".")[1] + "=="))
    assert payload["sub"] != "TU-A"
    unsigned, _ = forged["alg none"]
    assert json.loads(base64.urlsafe_b64decode(unsigned.split()[1].split(".")[0] + "=="))["alg"] == "none"
    assert all(original not in label for value in forged.values() if value for label in value[1:])


def test_boundary_values_come_from_the_schema() -> None:
    assert len(text_of_length({"type": "string"}, 35)) == 35
    assert text_of_length({"type": "string", "format": "date-time"}, 20) == "2025-01-15T10:30:00Z"
    assert len(text_of_length({"type": "string", "format": "date-time"}, 23)) == 23
    assert set(near_misses("cliente")) >= {"Cliente", "CLIENTE", "cliente ", " cliente", "client"}
    assert "cliente" not in near_misses("cliente")


def test_the_contract_reads_the_request_and_response_shapes_from_the_spec() -> None:
    contract = Contract.load()
    assert contract.create.required[:3] == ["baseTroubleTicketState", "mirrorKey", "dialog"]
    assert (contract.create.file_part, contract.update.file_part) == ("attachment", "attachments")
    view = {field.name: field.source for field in contract.ticket_view}
    assert view["troubleDectectionTime"] == "troubleDetectionTime"
    assert contract.close_out("CLEARED").keys() == {"closeOutType", "closeOutNarr", "serviceRestoredTime"}
    assert contract.create.missing({"mirrorKey": None, "attachments": [{"content": "x"}]})[:2] == [
        "baseTroubleTicketState",
        "mirrorKey",
    ]


def _result() -> RunResult:
    failed = Rule("boundaries", "create.json.dialog.over-max-length", "create (json): dialog over maxLength 4000")
    failed.violate(
        "dialog of 4001 characters: expected 400, got 201",
        Exchange(
            "POST",
            "http://h/troubleTicket",
            {},
            json_body={"dialog": "x"},
            token_label="$TT_TOKEN",
            status=201,
            response_text='{"ticketId": "RED-1"}',
        ),
    )
    skipped = Rule("auth", "tenancy", "tenant B")
    skipped.skip("needs --token-b")
    layers = [
        LayerResult("boundaries", "Boundaries", [failed, Rule("boundaries", "ok", "fine")]),
        LayerResult("auth", "Auth", [skipped]),
    ]
    return RunResult(RunConfig(base_url="http://h", token="t"), seed=5, layers=layers)


def test_junit_has_one_test_case_per_rule(tmp_path: Path) -> None:
    write_junit(_result(), tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    cases = list(root.iter("testcase"))
    assert len(cases) == 3 and root.get("failures") == "1"
    failure = cases[0].find("failure")
    assert failure is not None and "curl" in failure.text and "$TT_TOKEN" in failure.text
    assert cases[2].find("skipped").get("message") == "needs --token-b"


def test_the_markdown_report_gives_the_verdict_the_request_and_the_replay(tmp_path: Path) -> None:
    result = _result()
    assert not result.conforms and result.violations == 1
    write_markdown(result, tmp_path / "r.md", replay=lambda layer: f"replay {layer}")
    text = (tmp_path / "r.md").read_text()
    assert "does not conform: 1 violations" in text
    assert "| Boundaries | 2 | 1 | 1 | 0 | 1 |" in text
    assert "dialog of 4001 characters: expected 400, got 201" in text
    assert "curl -i -X POST" in text and "Replay the layer: `replay boundaries`" in text
    assert "tenant B: needs --token-b" in text
