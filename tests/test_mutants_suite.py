"""The suite's own checks at their edges, where mutation testing (make mutation) found no test holding them.

The faults (`tests/faults.py`) prove each check can fail a run; these hold what the faults of
this spec cannot reach: a 400 judged by the error-body check even where no schema describes it
(an adapted spec), and the reading of an error body that every check and the mock share.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import time
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, request

import spec
from contracts import checks, cli
from contracts import runner as runner_module
from contracts import tokens as tokens_module
from contracts.client import ApiClient, CreationBudget, MirrorKeys, SkipRule, guarded_session
from contracts.config import RunConfig
from contracts.context import Context
from contracts.coverage import Coverage, summarize
from contracts.html import write_html
from contracts.layers.auth import bad_credentials
from contracts.layers.schema import Observed, finish_covers
from contracts.report import summary_lines, write_junit, write_markdown
from contracts.results import LayerRun, RunResult, Status
from contracts.runner import run
from contracts.samples import near_misses
from contracts.tokens import OAuthClient, TokenError, Tokens
from contracts.transport import (
    Exchange,
    GuardedAdapter,
    HaltedRequest,
    Limits,
    Monitor,
    RateLimiter,
    RunHalted,
    Traffic,
)
from contracts.verdicts import Verdicts
from mockserver import create_app
from spec import lifecycle as lifecycle_module
from spec.catalogue import SOURCES, Catalogue, Source
from spec.contract import Contract
from tests.faults import CONFIG, FAULTS, _foreign_ticket_named_as_foreign, _holding_red_1, correct_mock
from tests.mirror_faults import MIRROR_FAULTS, correct_mirror
from tests.serving import served
from tests.support import token

CONTRACT = Contract.load()
ERRORS = CONTRACT.errors
KEY = ERRORS.illegal_argument

GOOD = [{key: "a message"} for key in ERRORS.all]
BAD = [
    {KEY: "a message", "code": 400},  # a second key
    {KEY: "a message", ERRORS.remote: "another"},  # two exception keys
    {KEY: 400},  # not text
    {"error": "a message"},  # not one of the contract's keys
    {},
    ["a message"],
    "a message",
    None,
]


@pytest.mark.parametrize("answer", GOOD, ids=ERRORS.all)
def test_an_error_body_with_one_exception_key_gives_its_message(answer: dict[str, str]) -> None:
    assert ERRORS.message(answer) == "a message"


@pytest.mark.parametrize("answer", BAD, ids=lambda a: json.dumps(a))
def test_anything_else_is_not_an_error_body(answer: Any) -> None:
    assert ERRORS.message(answer) is None


@pytest.fixture
def contract_in_use() -> Any:
    checks.use_contract(CONTRACT)
    yield
    checks.use_contract(None)


def response(status: int, answer: Any) -> Any:
    """What the check reads of a Schemathesis response."""
    return SimpleNamespace(status_code=status, content=json.dumps(answer).encode())


@pytest.mark.parametrize("status", [400, 401, 404, 405, 413, 415, 499])
@pytest.mark.parametrize("answer", BAD, ids=lambda a: json.dumps(a))
def test_the_error_body_check_fails_every_4xx_that_is_not_an_error_body(
    contract_in_use: None, status: int, answer: Any
) -> None:
    """A 400 included: on a spec whose 400s have no schema, Schemathesis' own checks would say nothing."""
    with pytest.raises(AssertionError, match=f"A {status} body must be a JSON object with exactly one of"):
        checks.error_body_has_one_exception_key(None, response(status, answer), None)


@pytest.mark.parametrize(
    ("status", "answer"), [(400, GOOD[0]), (404, GOOD[-1]), (200, BAD[0]), (399, BAD[0]), (500, BAD[0])]
)
def test_the_error_body_check_passes_error_bodies_and_judges_only_4xx(
    contract_in_use: None, status: int, answer: Any
) -> None:
    assert checks.error_body_has_one_exception_key(None, response(status, answer), None) is None


# -- the reports -------------------------------------------------------------------------------

LIFECYCLE = lifecycle_module.load()
CATALOGUE = Catalogue.build(CONTRACT)
FORBIDDEN = "lifecycle.TU.OPENACTIVE->CLOSED"  # a move the lifecycle file forbids the TU


def _one_failure(rule_id: str, covers: str, **extra: str) -> RunResult:
    layer = LayerRun("lifecycle", "Lifecycle", CATALOGUE)
    rule = layer.new_rule(rule_id, f"the rule {rule_id}", [covers])
    rule.violate(f"{covers} broken", breaks=covers, **extra)
    layer.add(rule)
    return RunResult(base_url="http://h", seed=1, layers=[layer.finish()], catalogue=CATALOGUE, options={}, replay={})


def _page(result: RunResult, tmp_path: Path) -> str:
    write_html(result, tmp_path / "r.html", LIFECYCLE)
    return (tmp_path / "r.html").read_text()


def _drawn_edges(page: str) -> set[str]:
    return set(re.findall(r"<title>([^<]*): forbidden by the lifecycle file, taken by the provider</title>", page))


def test_the_html_lifecycle_draws_a_forbidden_move_only_when_the_provider_took_it(tmp_path: Path) -> None:
    assert not LIFECYCLE.allows("OPENACTIVE", "CLOSED", "TU")
    taken = _page(_one_failure("tu.closes-directly", FORBIDDEN), tmp_path)
    assert _drawn_edges(taken) == {"OPENACTIVE \u2192 CLOSED (TU)"}
    other = _page(_one_failure("create.dialog", "create.dialog.maxLength"), tmp_path)
    assert _drawn_edges(other) == set()  # a failure of another rule draws no move


def test_the_html_report_gives_a_violation_s_own_reproduction(tmp_path: Path) -> None:
    """Schemathesis' failures come with a curl of their own, and no Exchange: the page shows it."""
    curl = "curl -X GET 'http://h/troubleTicket/RED-1' -H 'Authorization: Bearer $TT_TOKEN'"
    page = _page(_one_failure("read.x", "read.200.body", curl=curl, answer="{}", details="a detail"), tmp_path)
    assert f"<pre>{escape(curl)}</pre>" in page
    assert "<p>Answer: <code>{}</code></p>" in page and "<pre>a detail</pre>" in page


# -- forged credentials ------------------------------------------------------------------------


def test_a_token_that_is_not_a_jwt_is_shown_as_it_was_sent() -> None:
    """It holds no secret: the report's reproduction sends the very header the run sent."""
    forged = bad_credentials(Tokens(a=token("TU-A")))
    assert forged["not a JWT"] == ("auth.malformed-token", ("Bearer not-a-jwt", "Bearer not-a-jwt"))
    assert forged["no token"] == ("auth.no-token", None)


# -- verdicts on answers -----------------------------------------------------------------------


def test_an_answer_whose_whole_shape_is_the_mock_s_choice_breaks_only_its_body_rule() -> None:
    """A gateway's 415 with a key too many is a warning (create.415.body, the mock's), not errors.exactly-one-key."""
    verdicts = Verdicts(CONTRACT, CATALOGUE)
    extra_key = {KEY: "x", "code": 4}
    assert CATALOGUE.source("create.415.body") is Source.MOCK
    assert verdicts.answer_violations("create", 415, extra_key) == ["create.415.body"]
    assert verdicts.answer_violations("read", 401, extra_key) == ["read.401.body"]
    # Where the page gives the body, the same answer breaks the binding rule it is about.
    assert verdicts.answer_violations("create", 400, extra_key) == ["errors.exactly-one-key"]
    assert verdicts.answer_violations("create", 415, {KEY: "x"}) == []


# -- tokens from an OAuth2 endpoint ------------------------------------------------------------


def _token_endpoint(answer: Any, seen: list[dict[str, str]]) -> Flask:
    endpoint = Flask("token-endpoint")

    @endpoint.post("/oauth/token")
    def issue() -> Any:
        auth = request.authorization
        seen.append({**request.form, "client": auth.username if auth else "", "secret": auth.password if auth else ""})
        return answer

    return endpoint


def test_a_token_is_asked_for_by_the_client_credentials_grant_and_read_from_access_token() -> None:
    seen: list[dict[str, str]] = []
    with served(_token_endpoint({"access_token": "tok-1", "expires_in": 120}, seen)) as url:
        client = OAuthClient(f"{url}/oauth/token", "TU-A", "s3cret", scope="tickets", audience="api")
        before = time.monotonic()
        obtained, expires = client.fetch()
    assert obtained == "tok-1" and before + 119 <= expires <= time.monotonic() + 120
    assert seen == [
        {
            "grant_type": "client_credentials",
            "scope": "tickets",
            "audience": "api",
            "client": "TU-A",
            "secret": "s3cret",
        }
    ]


def test_a_token_endpoint_without_an_access_token_is_a_token_error_saying_what_it_answered() -> None:
    seen: list[dict[str, str]] = []
    with served(_token_endpoint({"token": "tok-1"}, seen)) as url:
        with pytest.raises(TokenError, match=r"gave no access_token: 200 .*tok-1"):
            OAuthClient(f"{url}/oauth/token", "TU-A", "s3cret").fetch()
    assert seen[0]["grant_type"] == "client_credentials" and "scope" not in seen[0]


# -- a halted run ------------------------------------------------------------------------------


def test_a_run_past_its_deadline_halts_and_every_later_request_says_the_first_reason() -> None:
    labels = Tokens(a="t")
    adapter = GuardedAdapter(
        limiter=RateLimiter(None),
        limits=Limits(run_deadline=time.monotonic() - 1),
        monitor=Monitor(labels, lambda: None),
        traffic=Traffic(),
    )
    session = guarded_session(adapter)
    for _ in range(2):
        with pytest.raises(HaltedRequest, match=r"the run has halted: the run reached its deadline \(--max-time\)"):
            session.get("http://127.0.0.1:9/troubleTicket")
    assert adapter.halted is not None and adapter.halted.exit_code == 2
    # A later cause does not replace the first: the run halted for its deadline.
    assert adapter.halt(RunHalted("another", exit_code=1)).reason.startswith("the run reached its deadline")
    assert adapter.traffic.requests == 0  # nothing was sent


def test_near_misses_are_each_spelling_a_careless_client_might_send() -> None:
    """Case (upper, lower, capitalised), a space either side, a letter less and one more; never the value itself."""
    assert near_misses("OpenActive") == [
        "OPENACTIVE",
        "openactive",
        "Openactive",
        "OpenActive ",
        " OpenActive",
        "OpenActiv",
        "OpenActiveS",
    ]
    assert near_misses("red") == ["RED", "Red", "red ", " red", "re", "redS"]  # each spelling once


# -- runs against the correct mock, in-process ---------------------------------------------------


def _run(app: Flask, **options: Any) -> RunResult:
    settings: dict[str, Any] = {"max_examples": 3, "seed": 7, "progress": False}
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TU-A"), **settings))


@pytest.fixture(scope="module")
def without_to_hook() -> RunResult:
    return _run(correct_mock(), layers=("lifecycle", "boundaries", "roundtrip"))


@pytest.mark.slow
@pytest.mark.mutation
def test_without_the_to_hook_moves_from_states_only_the_to_reaches_are_skipped(without_to_hook: RunResult) -> None:
    assert without_to_hook.exit_code == 0
    rules = {rule.rule_id: rule for rule in without_to_hook.layer("lifecycle").rules}
    cleared = rules["TU.from-CLEARED"]
    assert cleared.status is Status.SKIPPED
    assert (cleared.skip_reason, cleared.skip_remedy) == ("reaching CLEARED takes a TO move", "add --to-hook")
    assert "TU.from-OPENACTIVE" not in rules  # the TU's own moves from where it stands are checked
    assert any(r.status is Status.PASSED and "OPENACTIVE" in r.rule_id for r in rules.values())


@pytest.mark.slow
@pytest.mark.mutation
def test_each_rule_is_titled_and_covers_what_it_checks(without_to_hook: RunResult) -> None:
    titles = {rule.title for rule in without_to_hook.layer("boundaries").rules}
    assert any(re.fullmatch(r".*preferredPriority 1\.0 counts as the integer 1", title) for title in titles), titles
    roundtrip = {rule.rule_id: rule for rule in without_to_hook.layer("roundtrip").rules}
    assert "update.multipart" in roundtrip["update.multipart"].covers
    assert "update.multipart" not in roundtrip["update.json"].covers


@pytest.mark.slow
@pytest.mark.mutation
def test_with_no_ticket_to_spare_the_protocol_rules_needing_one_are_skipped_saying_how_to_lift_it() -> None:
    result = _run(correct_mock(), layers=("protocol",), max_creates=1)  # the pre-flight's ticket
    assert result.exit_code == 0
    skipped = {rule.rule_id: rule for rule in result.rules if rule.status is Status.SKIPPED}
    assert {"415", "no-5xx.bodies"} <= skipped.keys()
    assert {skipped[r].skip_remedy for r in ("415", "no-5xx.bodies")} == {"raise --max-creates"}


@pytest.mark.slow
@pytest.mark.mutation
def test_a_spec_whose_update_example_sends_no_files_is_checked_all_the_same(tmp_path: Path) -> None:
    """An adapted spec: the roundtrip's updates drop the files part only when the example has one."""
    document = spec.load_openapi()
    examples = document["paths"]
    for operation in (op for item in examples.values() for op in item.values() if isinstance(op, dict)):
        if operation.get("operationId") == CONTRACT.update.operation_id:
            for example in operation["requestBody"]["content"]["application/json"]["examples"].values():
                example["value"].pop(CONTRACT.names.attachments, None)
    for beside in spec.OPENAPI_PATH.parent.glob("*.yaml"):  # the rules the catalogue reads beside it
        (tmp_path / beside.name).write_text(beside.read_text())
    path = tmp_path / "openapi.yaml"
    path.write_text(json.dumps(document))
    result = _run(create_app(CONFIG, document=document), layers=("roundtrip",), spec_path=path)
    assert result.exit_code == 0
    assert {rule.rule_id for rule in result.rules} >= {"ids.mirror-key", "order.ids-before-lifecycle"}


@pytest.mark.slow
@pytest.mark.mutation
def test_a_read_only_schema_run_sends_nothing_but_reads() -> None:
    app, methods = _holding_red_1(correct_mock()), []
    app.before_request(lambda: methods.append(request.method))
    result = _run(app, layers=("schema",), read_only=True, ticket_ids=("RED-1",))
    assert methods and set(methods) <= {"GET", "HEAD"}, sorted(set(methods))
    assert result.exit_code == 0


@pytest.mark.slow
@pytest.mark.mutation
def test_the_schema_layer_covers_the_answers_it_saw() -> None:
    result = _run(correct_mock(), layers=("schema",))
    coverage = {entry.rule.id: entry for entry in summarize(result).rules}
    for rule_id in ("read.200.required", "read.200.ticketId", "read.404.body", "create.201"):
        assert coverage[rule_id].status is Coverage.PASSED and "schema" in coverage[rule_id].layers, rule_id


# -- the mirror's runs ---------------------------------------------------------------------------


def _run_mirror(app: Flask, stream: io.StringIO | None = None, **options: Any) -> RunResult:
    settings: dict[str, Any] = {"max_examples": 3, "seed": 7, "mirror": True, "progress": stream is not None}
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TO"), **settings), stream=stream)


@pytest.mark.slow
@pytest.mark.mutation
def test_without_the_tu_hook_mirror_rules_needing_a_ticket_say_so() -> None:
    result = _run_mirror(correct_mirror(), layers=("lifecycle",))
    skipped = [rule for rule in result.rules if rule.status is Status.SKIPPED]
    assert skipped and {rule.skip_reason for rule in skipped} == {
        "a mirror ticket to test on needs the mirror's TU hook"
    }


@pytest.mark.slow
@pytest.mark.mutation
@pytest.mark.parametrize(("fault", "noted"), [("not-found-empty", True), (None, False)])
def test_the_mirror_pre_flight_notes_an_unknown_key_answered_without_error_body(fault: str | None, noted: bool) -> None:
    app = next(f for f in MIRROR_FAULTS if f.name == fault).build() if fault else correct_mirror()
    stream = io.StringIO()
    _run_mirror(app, stream, layers=("auth",))
    notes = [line for line in stream.getvalue().splitlines() if line.startswith("pre-flight: GET ")]
    assert bool(notes) is noted and all("answered 404" in note and "the layers will judge it" in note for note in notes)


# -- the reports' tables, sections and limits -----------------------------------------------------


def test_the_source_table_counts_every_contract_rule_of_each_source() -> None:
    lines = summary_lines(_one_failure("create.dialog", "create.dialog.maxLength"))
    header = next(i for i, line in enumerate(lines) if line.startswith("source "))
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : header + 1 + len(SOURCES)]}
    for source in SOURCES:
        assert int(rows[source.value][0]) == sum(rule.source is source for rule in CATALOGUE), source
    assert rows["page"][1:3] == ["1", "1"]  # the one rule checked, and failed


def test_the_html_report_shows_a_failure_as_a_failure_not_a_warning(tmp_path: Path) -> None:
    page = _page(_one_failure("create.dialog", "create.dialog.maxLength"), tmp_path)
    assert "<div class='violation'>" in page and "violation warning" not in page


def test_the_html_report_shows_the_first_500_characters_of_an_answer(tmp_path: Path) -> None:
    layer = LayerRun("boundaries", "Boundaries", CATALOGUE)
    rule = layer.new_rule("create.dialog", "the dialog's limit", ["create.dialog.maxLength"])
    answer = Exchange("POST", "http://h/troubleTicket", {}, status=201, response_text="a" * 500 + "b" * 100)
    rule.violate("a dialog too long was taken", answer)
    layer.add(rule)
    result = RunResult(base_url="http://h", seed=1, layers=[layer.finish()], catalogue=CATALOGUE, options={}, replay={})
    shown = re.findall(r"Answer: <code>([^<]*)</code>", _page(result, tmp_path))
    assert shown == ["201 " + "a" * 500]


def test_each_markdown_section_of_a_failure_is_a_heading_set_apart(tmp_path: Path) -> None:
    write_markdown(_one_failure("create.dialog", "create.dialog.maxLength"), tmp_path / "r.md")
    lines = (tmp_path / "r.md").read_text().splitlines()
    heading = lines.index("### the rule create.dialog")
    assert lines[heading - 1] == "" and lines[heading - 2] == "## Failures"


def test_junit_counts_a_layer_the_run_never_reached_as_skipped(tmp_path: Path) -> None:
    result = _one_failure("create.dialog", "create.dialog.maxLength")
    result.halted, result.not_reached = RunHalted("the run reached its deadline", exit_code=2), ["auth"]
    write_junit(result, tmp_path / "r.xml")
    suite = next(s for s in ET.parse(tmp_path / "r.xml").getroot() if s.get("name") == "auth")
    assert (suite.get("tests"), suite.get("skipped")) == ("1", "1")
    skipped = suite.find("testcase/skipped")
    assert skipped is not None and "deadline" in skipped.get("message", "")


# -- tokens obtained again ------------------------------------------------------------------------


def test_an_obtained_token_is_obtained_again_a_quarter_of_its_life_before_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quarter of its life, at most 30 s: never sent once expired, never fetched for nothing."""
    clock = {"now": 1000.0}
    monkeypatch.setattr(tokens_module, "time", SimpleNamespace(monotonic=lambda: clock["now"], time=time.time))
    for lifetime, early in ((40, 10.0), (3600, 30.0)):
        seen: list[dict[str, str]] = []
        with served(_token_endpoint({"access_token": "tok", "expires_in": lifetime}, seen)) as url:
            tokens = Tokens(a="", clients={"a": OAuthClient(f"{url}/oauth/token", "TU-A", "s3cret")})
            tokens.obtain("a")
            clock["now"] += lifetime - early - 1
            tokens.refresh()
            assert len(seen) == 1, lifetime  # not yet
            clock["now"] += 2
            tokens.refresh()
            assert len(seen) == 2, lifetime  # before it expires


# -- the command line, in-process -----------------------------------------------------------------

COMMAND = ["run", "--base-url", "http://127.0.0.1:9", "--token", "t", "--quiet"]


def test_the_command_line_writes_each_report_where_it_is_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(runner_module, "run", lambda config: _one_failure("create.dialog", "create.dialog.maxLength"))
    paths = {
        option: tmp_path / name
        for option, name in (("--report", "r.md"), ("--junit-xml", "r.xml"), ("--html", "r.html"))
    }
    code = cli.main([*COMMAND, *(part for option, path in paths.items() for part in (option, str(path)))])
    assert code == 1
    out = capsys.readouterr().out
    for path in paths.values():
        assert path.is_file() and str(path) in out, path
    assert "### the rule create.dialog" in paths["--report"].read_text()


def test_a_rate_limit_that_is_not_one_is_a_usage_error_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*COMMAND, "--rate-limit", "fast"])
    assert exit_.value.code == 2
    assert re.search(r"^usage error: .*rate limit.*'fast'", capsys.readouterr().err, re.M)


def test_a_bug_of_the_suite_s_own_exits_3_with_its_traceback_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(config: RunConfig) -> RunResult:
        raise KeyError("a bug of the suite")

    monkeypatch.setattr(runner_module, "run", crash)
    assert cli.main(COMMAND) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'a bug of the suite'" in err
    assert re.search(r"^internal error: .*exit 3.*traceback", err, re.M)  # the line to grep for


# -- the lifecycle and tenancy rules, as the report names them ----------------------------------


@pytest.mark.slow
@pytest.mark.mutation
def test_a_move_taken_without_its_entry_fields_fails_a_rule_naming_the_move_and_the_fields() -> None:
    fault = next(f for f in FAULTS if f.name == "cleared-without-close-out")
    result = _run(fault.build(), layers=("lifecycle",), to_hook=True)
    assert result.exit_code == 1
    rules = {rule.rule_id: rule for rule in result.layer("lifecycle").rules}
    entry = rules["TO.OPENACTIVE->CLEARED.without-entry-fields"]
    assert entry.status is Status.FAILED
    needs = LIFECYCLE.entry_requirements("OPENACTIVE", "CLEARED")
    message = entry.violations[0].message
    assert "OPENACTIVE -> CLEARED" in message and all(field in message for field in needs), message
    # Each move's title says what the lifecycle file makes of it.
    assert "refused" in rules["TU.OPENACTIVE->CLOSED"].title and "allowed" not in rules["TU.OPENACTIVE->CLOSED"].title
    assert "allowed" in rules["TO.OPENACTIVE->CLEARED"].title


@pytest.mark.slow
@pytest.mark.mutation
def test_a_tenant_told_another_s_ticket_exists_sees_both_answers_to_compare() -> None:
    fault = next(f for f in FAULTS if f.build is _foreign_ticket_named_as_foreign)
    result = _run(fault.build(), layers=("auth",), token_b=token("TU-B"))
    rules = {rule.rule_id: rule for rule in result.layer("auth").rules}
    read = rules["tenancy.read"]
    assert read.status is Status.FAILED
    paths = [exchange.url for exchange in read.violations[0].exchanges]
    assert len(paths) == 2 and paths[0] != paths[1]  # A's ticket, and one nobody has
    assert rules["tenancy.update"].status is Status.PASSED


@pytest.mark.slow
@pytest.mark.mutation
def test_a_mirror_read_that_is_not_a_200_confirms_no_move() -> None:
    """A GET answered 202 "still mirroring" shows no state, whatever its body holds: the moves are not seen made."""
    app = next(f for f in MIRROR_FAULTS if f.name == "reads-202").build()
    result = _run_mirror(app, layers=("lifecycle",), tu_hook=True)
    assert result.exit_code == 1
    broken = {v.breaks for rule in result.rules for v in rule.violations if v.binding}
    assert "lifecycle.TO.OPENACTIVE->CLEARED" in broken, broken  # an allowed move, not seen made


# -- the required-fields check, on the bodies it judges -------------------------------------------


def _case(operation_id: str, body: Any, media_type: str = "application/json") -> Any:
    """What the check reads of a Schemathesis case."""
    operation = SimpleNamespace(definition=SimpleNamespace(raw={"operationId": operation_id}))
    return SimpleNamespace(operation=operation, body=body, media_type=media_type)


def _answered_400(message: str, media_type: str = "application/json") -> Any:
    sent = SimpleNamespace(headers={"Content-Type": media_type})
    return SimpleNamespace(status_code=400, content=json.dumps({KEY: message}).encode(), request=sent)


REQUIRED_CHECK = checks.required_fields_message_names_the_missing


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [("getTroubleTicket", {}), (CONTRACT.create.operation_id, ["a list"]), (CONTRACT.update.operation_id, "text")],
)
def test_the_required_fields_check_judges_only_json_objects_sent_to_create_or_update(
    contract_in_use: None, operation_id: str, body: Any
) -> None:
    """A read has no required fields, a body that is no object no fields at all: any message will do."""
    wrong = CONTRACT.required_message.format(["dialog"])
    assert REQUIRED_CHECK(None, _answered_400(wrong), _case(operation_id, body)) is None


def test_the_required_fields_check_reads_the_data_part_of_a_multipart_body(contract_in_use: None) -> None:
    multipart = "multipart/form-data"
    case = _case(CONTRACT.create.operation_id, {CONTRACT.create.data_part: {}}, multipart)
    expected = CONTRACT.required_message.format(CONTRACT.create.missing({}))
    assert REQUIRED_CHECK(None, _answered_400(expected, multipart), case) is None
    with pytest.raises(checks.Breach) as breach:
        REQUIRED_CHECK(None, _answered_400("the body is wrong", multipart), case)
    assert breach.value.breaks == "body.required-fields-message"
    assert all(name in str(breach.value) for name in CONTRACT.create.missing({}))  # it names what was missing


# -- the rules a request body breaks --------------------------------------------------------------


def test_a_body_breaking_no_rule_of_the_catalogue_breaks_other_invalid_data() -> None:
    """A body that is no object, or an error the catalogue has no rule for: the rule it breaks is named all the same."""
    verdicts = Verdicts(CONTRACT, CATALOGUE)
    assert "body.other-invalid-data" in CATALOGUE
    assert verdicts.body_violations(CONTRACT.create, ["a list"]) == ["body.other-invalid-data"]
    name = CONTRACT.names.attachments
    assert "create.attachments[].type" not in CATALOGUE  # an attachment that is no object
    body = {**CONTRACT.example_create("CT-1"), name: [1]}
    assert verdicts.body_violations(CONTRACT.create, body) == ["body.other-invalid-data"]


# -- a read-only run's client ---------------------------------------------------------------------


def test_a_read_only_client_creates_nothing_and_says_read_only_mode_is_why() -> None:
    adapter = GuardedAdapter(
        limiter=RateLimiter(None), limits=Limits(), monitor=Monitor(Tokens(a="t"), lambda: None), traffic=Traffic()
    )
    budget = CreationBudget(None)
    client = ApiClient(
        "http://127.0.0.1:9",
        Tokens(a="t"),
        names=CONTRACT.names,
        keys=MirrorKeys("CT-"),
        budget=budget,
        adapter=adapter,
        read_only=True,
    )
    with pytest.raises(SkipRule) as skipped:
        client.create(CONTRACT.collection_path, CONTRACT.example_create("CT-1"))
    assert "read-only" in str(skipped.value)  # the skip reason names the mode, as --read-only spells it
    assert budget.used == 0 and adapter.traffic.requests == 0


# -- the replay command a report prints -----------------------------------------------------------


def test_the_replay_command_runs_the_layer_again_with_the_run_s_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lifecycle = tmp_path / "lifecycle.yaml"
    lifecycle.write_text(spec.LIFECYCLE_PATH.read_text())
    config = RunConfig(base_url="http://127.0.0.1:9", token="t", lifecycle_path=lifecycle, max_creates=5, to_hook=True)
    context = Context(config, CONTRACT, CATALOGUE, None, None, 7, None, None)  # type: ignore[arg-type]
    command = shlex.split(context.replay_command("lifecycle"), comments=True)
    assert command[0] == "tt-contracts"  # and the rest is what the command line takes
    seen: list[RunConfig] = []
    monkeypatch.setenv("TT_TOKEN", "t")
    monkeypatch.setattr(runner_module, "run", lambda config: seen.append(config) or _one_failure("x", "read.200"))
    assert cli.main([*command[1:], "--quiet"]) == 1
    replayed = seen[0]
    assert replayed.lifecycle_path == lifecycle and replayed.layers == ("lifecycle",)
    assert (replayed.seed, replayed.max_creates, replayed.to_hook) == (7, 5, True)


# -- what each rule of the schema layer covers ----------------------------------------------------


def _label(operation_id: str) -> str:
    path, method, _ = spec.operation(CONTRACT.document, operation_id)
    return f"{method} {path}"


def _schema_covers(operation: str, check: str, observed: Observed) -> list[str]:
    context = Context(RunConfig(base_url="http://h", token="t"), CONTRACT, CATALOGUE, None, None, 7, None, None)  # type: ignore[arg-type]
    rule = LayerRun("schema", "Schema", CATALOGUE).new_rule(f"{operation}.{check}", check, ["http.documented-statuses"])
    finish_covers(context, rule, operation, check, observed)
    return rule.covers


def test_each_schema_rule_covers_what_its_check_judged_of_the_answers_seen() -> None:
    read, update = _label(CONTRACT.operations["read"]), _label(CONTRACT.operations["update"])
    observed = Observed()
    observed.statuses = {read: {200, 404}, update: {200}}
    schema_check = _schema_covers(read, "response_schema_conformance", observed)
    assert {"read.200.body", "read.200.ticketId", "read.200.required", "read.404.body"} <= set(schema_check)
    media_type_check = _schema_covers(read, "content_type_conformance", observed)
    assert {"read.200.body", "read.404.body"} <= set(media_type_check)
    assert not {"read.200.ticketId", "read.200.required"} & set(media_type_check)  # it reads no field
    assert "update.200" in _schema_covers(update, "positive_data_acceptance", observed)
    assert "create.201" in _schema_covers(_label(CONTRACT.operations["create"]), "positive_data_acceptance", observed)


def test_a_schema_rule_of_an_operation_the_contract_does_not_name_covers_only_its_own() -> None:
    """An adapted spec may document more operations (a search, a delete): their rules are reported as they are."""
    observed = Observed()
    observed.statuses = {"DELETE /troubleTicket/{ticketId}": {204}}
    covers = _schema_covers("DELETE /troubleTicket/{ticketId}", "status_code_conformance", observed)
    assert covers == ["http.documented-statuses"]


# -- a provider that takes integers written as integers only --------------------------------------


@pytest.mark.slow
@pytest.mark.mutation
def test_a_provider_refusing_an_integral_float_is_told_which_value_it_refused() -> None:
    fault = next(f for f in FAULTS if f.name == "integral-floats-refused")
    result = _run(fault.build(), layers=("boundaries",), **fault.options)
    assert result.exit_code == 1
    rules = [rule for rule in result.layer("boundaries").rules if rule.rule_id.endswith(".integral-float")]
    refused = [rule for rule in rules if rule.status is Status.FAILED]
    assert any(".json." in rule.rule_id for rule in refused), [(r.rule_id, r.status) for r in rules]  # JSON bodies
    for rule in refused:
        assert {v.breaks for v in rule.violations} == {"body.integer-as-float"}, rule.rule_id
        assert any(isinstance(note, str) and "1.0" in note for note in rule.notes), rule.notes  # the value it refused
