"""Grading a client from the journal: what counts against it, what is left out, how it is reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from mockserver.app import MockParts
from mockserver.grading import CATEGORIES, Grade, category, grade
from mockserver.testing import free_port, served
from spec.catalogue import Catalogue
from tests.support import Api, auth, create_body, token, update_body


@pytest.fixture
def catalogue(parts: MockParts) -> Catalogue:
    return Catalogue.build(parts.contract)


def _grade(client: FlaskClient, parts: MockParts, catalogue: Catalogue) -> Grade:
    entries = client.get("/_mock/journal?order=oldest").get_json()["requests"]
    return grade(entries, parts.contract, catalogue)


def _sloppy(tu: Api) -> None:
    """A client that gets most things wrong once."""
    tu.create(create_body(dialog=None))  # missing field
    tu.create(create_body(troubleType="T" * 36))  # over a limit
    tu.create(create_body(preferredPriority="1"))  # wrong type
    tu.create(create_body(wh1Parameter="Red"))  # not an allowed value
    ticket, key = tu.open_ticket()
    tu.patch(
        ticket,
        update_body(
            ticket, key, "CLEARED", closeOutType="x", closeOutNarr="y", serviceRestoredTime="2025-01-16T09:00:00Z"
        ),
    )  # the TO's edge
    tu.client.get(f"/troubleTicket/{ticket}", headers={"Authorization": f"Bearer {token('TU-A', exp_seconds=-5)}"})
    tu.client.post("/troubleTicket", data="x", headers={**tu.headers, "Content-Type": "text/plain"})
    tu.create(create_body(mirrorKey=key))  # repeated create, though the 201 came back


def test_a_sloppy_client_is_graded_rule_by_rule(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    _sloppy(tu)
    result = _grade(client, parts, catalogue)
    assert result.broke_contract and result.refused_requests == 8 and result.graded == 9
    groups = result.by_rule()
    assert list(groups) == [
        "create.dialog.required",
        "create.troubleType.maxLength",
        "create.preferredPriority.type",
        "create.wh1Parameter.enum",
        "lifecycle.TU.OPENACTIVE->CLEARED",
        "auth.expired",
        "create.415",
        "ids.repeated-mirror-key",
    ]
    assert [category(rule) for rule in groups] == [
        "missing field",
        "over a limit",
        "wrong type",
        "not an allowed value",
        "illegal or wrong-side transition",
        "bad, expired or missing token",
        "wrong media type",
        "repeated create",
    ]
    (repeat,) = groups["ids.repeated-mirror-key"]
    assert "answered 201" in repeat.note
    assert repeat.text == catalogue["ids.repeated-mirror-key"].text


def test_every_category_is_one_a_rule_can_fall_into(catalogue: Catalogue) -> None:
    assert {category(rule.id) for rule in catalogue} <= set(CATEGORIES)


def test_a_correct_client_gets_a_clean_grade(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    ticket, key = tu.open_ticket()
    tu.get(ticket)
    tu.patch(ticket, update_body(ticket, key, "DEFERRED.AWAITING-CANCELATION"))
    result = _grade(client, parts, catalogue)
    assert not result.broke_contract and result.graded == 3
    assert result.text().startswith("no request the provider would refuse (3 requests graded)")


def test_refusals_made_on_purpose_and_faults_are_left_out(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    tu.client.post("/troubleTicket", json={}, headers={**tu.headers, "X-Mock-Expect-Refusal": "empty body"})
    client.post("/_mock/faults", json={"kind": "error", "times": 1})
    tu.create(create_body(dialog=None))  # taken by the fault: the provider never judged it
    tu.client.get("/troubleTicket/RED-9", headers={**tu.headers, "X-Mock-Expect-Refusal": "1"})
    result = _grade(client, parts, catalogue)
    assert not result.broke_contract
    assert (len(result.expected), len(result.faulted)) == (2, 1)
    assert "left out: 2 refused on purpose (X-Mock-Expect-Refusal)" in result.text()


def test_a_request_marked_as_a_refusal_but_accepted_is_a_warning(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    tu.client.post("/troubleTicket", json=create_body(), headers={**tu.headers, "X-Mock-Expect-Refusal": "1"})
    result = _grade(client, parts, catalogue)
    assert not result.broke_contract
    assert "marked X-Mock-Expect-Refusal but accepted (201)" in result.text()


def test_warnings_of_accepted_requests_are_reported_not_counted(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    tu.create(create_body(colour="blue", mirrorKey="K" * 16))
    result = _grade(client, parts, catalogue)
    assert not result.broke_contract
    text = result.text()
    assert "ignored unknown fields: colour" in text and "can never be updated" in text


@pytest.mark.parametrize("kind", ["drop", "truncate", "error"])
def test_a_repeated_create_after_an_answer_the_client_never_got_is_handled_not_counted(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue, kind: str
) -> None:
    client.post("/_mock/faults", json={"kind": kind, "stage": "after", "times": 1, "method": "POST"})
    body = create_body()
    tu.create(body)  # made, but the client never heard
    assert tu.create(body).status_code == 400  # the idempotent retry learns the ticket from the refusal
    result = _grade(client, parts, catalogue)
    assert not result.broke_contract
    assert len(result.retried_creates) == 1


def _entry(**fields: Any) -> dict[str, Any]:
    base = {
        "method": "POST",
        "path": "/troubleTicket",
        "tenant": "TU-A",
        "query": "",
        "headers": {},
        "body": None,
        "warnings": [],
        "rules": [],
        "fault": None,
        "expectRefusal": None,
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("retry_sent", "counted"),
    [
        ("2025-01-15T10:00:00.500000Z", False),  # before the first create was answered: the client gave up waiting
        ("2025-01-15T10:00:02.000000Z", True),
    ],  # after: it had its 201
)
def test_a_repeated_create_sent_before_the_first_was_answered_is_a_timeout_retry(
    parts: MockParts, catalogue: Catalogue, retry_sent: str, counted: bool
) -> None:
    first = _entry(
        receivedAt="2025-01-15T10:00:00.000000Z",
        at="2025-01-15T10:00:01.000Z",
        status=201,
        response={"ticketId": "RED-1", "mirrorKey": "K"},
        ticketId="RED-1",
    )
    repeat = _entry(
        receivedAt=retry_sent,
        at="2025-01-15T10:00:02.100Z",
        status=400,
        ticketId="RED-1",
        rules=["ids.repeated-mirror-key"],
        response={"illegalArgumentException": "K already..."},
    )
    result = grade([first, repeat], parts.contract, catalogue)
    assert result.broke_contract is counted
    assert len(result.retried_creates) == (not counted)


def test_a_full_journal_is_said_to_be_so(parts: MockParts, catalogue: Catalogue) -> None:
    entries = [_entry(status=201, response={"ticketId": f"RED-{n}"}, at="t") for n in range(3)]
    assert "journal was full" in grade(entries, parts.contract, catalogue, capacity=3).text()
    assert "journal was full" not in grade(entries, parts.contract, catalogue, capacity=4).text()


def test_the_reports_show_each_request_and_its_answer(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    _sloppy(tu)
    result = _grade(client, parts, catalogue)
    text = result.text()
    assert text.startswith("the client broke the contract: 8 of 9 requests would be refused, under 8 rules")
    assert "[over a limit] create.troubleType.maxLength: create: troubleType has at most 35 characters (page)" in text
    assert "POST /troubleTicket as TU-A at" in text and "-> 400: troubleType: at most 35 characters allowed" in text
    # Each rule's section stands apart: the verdict, then a blank line before each rule.
    assert text.count("\n\n[") == len(result.by_rule())
    markdown = result.markdown()
    assert "| over a limit | `create.troubleType.maxLength` | page | 1 |" in markdown
    # The body is shown pretty-printed in a JSON block (the curl line has it too, on one line).
    assert "  ```json\n  {\n" in markdown
    assert '\n    "troubleType": "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT",\n' in markdown
    assert 'curl -s -X POST "$TT_MOCK/troubleTicket" -H "Authorization: Bearer $TOKEN"' in markdown
    suite = ElementTree.fromstring(result.junit_xml())
    assert (suite.get("tests"), suite.get("failures")) == ("9", "8")
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert failed == set(result.by_rule())


def test_a_multipart_request_is_shown_as_curl_parts(
    client: FlaskClient, parts: MockParts, tu: Api, catalogue: Catalogue
) -> None:
    import io
    import json

    tu.client.post(
        "/troubleTicket",
        headers=auth("TU-A"),
        content_type="multipart/form-data",
        data={"data": json.dumps(create_body(dialog=None)), "attachment": (io.BytesIO(b"x"), "a.txt")},
    )
    markdown = _grade(client, parts, catalogue).markdown()
    assert "-F 'data=" in markdown and "-F attachment=@FILE" in markdown


# -- `tt-mock report`: the same grade, of a mock served at a URL --------------------------------


def _report(*options: str) -> int:
    from mockserver.cli import main

    return main(["report", *options])


def test_tt_mock_report_grades_the_journal_of_the_mock_at_a_url(
    app: Flask, tu: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import EXIT_BROKE_CONTRACT, EXIT_CLEAN

    _sloppy(tu)
    tu_b = Api(tu.client, "TU-B", tu.lifecycle)
    tu_b.open_ticket()  # TU-B keeps the contract
    # The mock behind a proxy that serves it under a path; the URL given as copied, with its slash.
    app.wsgi_app = DispatcherMiddleware(NotFound(), {"/mock-X": app.wsgi_app})  # type: ignore[method-assign]
    with served(app) as base:
        url = f"{base}/mock-X/"
        md, xml = tmp_path / "reports" / "md" / "grade.md", tmp_path / "reports" / "xml" / "grade.xml"
        assert _report("--url", url, "--tenant", "TU-A", "--report", str(md), "--junit-xml", str(xml)) == (
            EXIT_BROKE_CONTRACT
        )
        text = capsys.readouterr().out
        # TU-A's requests: the sloppy session's but the one whose expired token names no tenant
        assert "7 of 8 requests" in text and "create.troubleType.maxLength" in text
        assert "`create.troubleType.maxLength`" in md.read_text(encoding="utf-8")
        suite = ElementTree.fromstring(xml.read_text(encoding="utf-8"))
        assert (suite.get("tests"), suite.get("failures")) == ("8", "7")

        assert _report("--url", url, "--tenant", "TU-B") == EXIT_CLEAN
        assert "create.troubleType.maxLength" not in capsys.readouterr().out
        assert _report("--url", url, "--since", "2999-01-01T00:00:00Z") == EXIT_CLEAN  # nothing since then
        assert _report("--url", url) == EXIT_BROKE_CONTRACT  # every tenant
        assert "8 of 10 requests" in capsys.readouterr().out


def test_tt_mock_report_without_a_mock_at_the_url_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import EXIT_USAGE

    url = f"http://127.0.0.1:{free_port()}"
    assert _report("--url", url + "/") == EXIT_USAGE
    assert f"no mock answers at {url} " in capsys.readouterr().err


def test_tt_mock_report_of_a_url_that_is_not_a_mock_names_its_answer(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import EXIT_USAGE

    with served(app) as base:
        assert _report("--url", f"{base}/elsewhere") == EXIT_USAGE
    error = capsys.readouterr().err
    assert f"{base}/elsewhere/_mock/journal" in error and "404" in error


def test_tt_mock_report_with_a_contract_it_cannot_read_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import EXIT_USAGE

    assert _report("--spec", str(tmp_path / "missing.yaml")) == EXIT_USAGE
    assert "cannot read the contract" in capsys.readouterr().err
