"""How-to: check what your client sent, and that nothing it sent breaks the contract."""

from __future__ import annotations

import pytest
import requests

from mockserver.testing import TTMock
from tests.examples.test_howto_fixture import OPEN


def test_howto_see_what_your_client_sent_and_got(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    requests.post(f"{mock.url}/troubleTicket", json=OPEN, headers=mock.headers("TU-ACME"), timeout=5)
    requests.get(f"{mock.url}/troubleTicket/RED-99999", headers=mock.headers("TU-ACME"), timeout=5)

    (create,) = mock.requests(method="POST", path="/troubleTicket")
    assert create.json["mirrorKey"] == "ACME-1"  # what the client sent
    assert create.status == 201 and create.response["mirrorKey"] == "ACME-1"  # what it got
    # Filters: a spec path template matches any ticket id; a status may be a class.
    (missing,) = mock.requests(path="/troubleTicket/{ticketId}", status="4xx")
    assert missing.status == 404 and missing.rules == ("read.404",)
    assert [r.method for r in mock.requests(tenant="TU-ACME")] == ["POST", "GET"]  # oldest first
    assert mock.requests(ticket_id=create.response["ticketId"]) == [create]


def test_howto_assert_your_client_broke_no_rule(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    requests.post(f"{mock.url}/troubleTicket", json=OPEN, headers=mock.headers("TU-ACME"), timeout=5)
    mock.assert_no_violations()  # passes: the provider would accept everything sent in this test


def test_howto_a_violation_fails_the_test_with_every_request_that_broke_a_rule(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    sloppy = {**OPEN, "preferredPriority": "1", "troubleType": "T" * 36}
    requests.post(f"{mock.url}/troubleTicket", json=sloppy, headers=mock.headers("TU-ACME"), timeout=5)
    with pytest.raises(AssertionError) as failure:
        mock.assert_no_violations()
    report = str(failure.value)
    assert report.startswith("the client broke the contract: 1 of 1 requests would be refused, under 2 rules")
    assert "create.troubleType.maxLength" in report and "create.preferredPriority.type" in report
    assert "-> 400: troubleType: at most 35 characters allowed, got 36" in report


def test_howto_send_a_bad_request_on_purpose(tt_mock_in_process: TTMock) -> None:
    # A test of how your client copes with a refusal marks the request: graders leave it out.
    mock = tt_mock_in_process
    headers = mock.headers("TU-ACME", expect_refusal="missing dialog, on purpose")
    answer = requests.post(f"{mock.url}/troubleTicket", json={**OPEN, "dialog": None}, headers=headers, timeout=5)
    assert answer.json() == {"illegalArgumentException": "required fields: dialog"}
    mock.assert_no_violations()
