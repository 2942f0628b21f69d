"""How-to: start a test from a ticket in any state, play the TO, and read a ticket's history."""

from __future__ import annotations

import json

import requests

from mockserver.testing import TTMock


def _patch(mock: TTMock, ticket: dict, state: str, dialog: str) -> requests.Response:
    body = {
        "baseTroubleTicketState": state,
        "ticketId": ticket["ticketId"],
        "mirrorKey": ticket["mirrorKey"],
        "dialog": dialog,
    }
    return requests.patch(
        f"{mock.url}/troubleTicket/{ticket['ticketId']}", json=body, headers=mock.headers("TU-ACME"), timeout=5
    )


def test_howto_seed_a_ticket_the_to_has_resolved(tt_mock_in_process: TTMock) -> None:
    # A ticket already CLEARED: the mock takes the lifecycle's route there and fills in what each
    # move needs (CLEARED's close-out fields). Fields not given come from the spec's own example.
    ticket = tt_mock_in_process.seed("TU-ACME", state="CLEARED", fields={"mirrorKey": "ACME-9", "preferredPriority": 2})

    # Your client accepts the resolution.
    assert _patch(tt_mock_in_process, ticket, "CLOSED", "confirmed by the customer").status_code == 200
    assert [event["to"] for event in tt_mock_in_process.history(ticket["ticketId"])] == [
        "OPENACTIVE",
        "CLEARED",
        "CLOSED",
    ]


def test_howto_seed_a_ticket_with_a_history_of_your_own(tt_mock_in_process: TTMock) -> None:
    # Each move of a history is an edge of the lifecycle for the side that takes it; the mock
    # refuses a seed that breaks the contract, naming where (TTMockError).
    ticket = tt_mock_in_process.seed(
        "TU-ACME",
        ticket_id="RED-8400",
        fields={"mirrorKey": "ACME-10"},
        history=[
            {
                "side": "TO",
                "baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION",
                "dialog": "which ONT?",
                "at": "2025-01-15T11:00:00Z",
            },
        ],
    )
    assert ticket["ticketId"] == "RED-8400" and ticket["baseTroubleTicketState"] == "DEFERRED.AWAITING-INFORMATION"
    assert _patch(tt_mock_in_process, ticket, "OPENACTIVE", "ONT 7, serial ZTE123").status_code == 200


def test_howto_play_the_to(tt_mock_in_process: TTMock) -> None:
    ticket = tt_mock_in_process.seed("TU-ACME")  # OPENACTIVE
    tt_mock_in_process.play_to(
        ticket["ticketId"], "DEFERRED.AWAITING-INFORMATION", tenant="TU-ACME", dialog="send a photo of the ONT"
    )
    # Your client would now poll, see the state and answer.
    assert _patch(tt_mock_in_process, ticket, "OPENACTIVE", "photo attached").status_code == 200
    resolved = tt_mock_in_process.play_to(ticket["ticketId"], "CLEARED", tenant="TU-ACME")  # close-out filled in
    assert resolved["baseTroubleTicketState"] == "CLEARED"
    sides = [(event["side"], event["to"]) for event in tt_mock_in_process.history(ticket["ticketId"])]
    assert sides == [
        ("TU", "OPENACTIVE"),
        ("TO", "DEFERRED.AWAITING-INFORMATION"),
        ("TU", "OPENACTIVE"),
        ("TO", "CLEARED"),
    ]


def test_howto_read_an_attachment_your_client_sent(tt_mock_in_process: TTMock) -> None:
    ticket = tt_mock_in_process.seed("TU-ACME")
    files = [("attachments", ("ont.jpg", b"\xff\xd8 a photo", "image/jpeg"))]
    update = {
        "baseTroubleTicketState": "OPENACTIVE",
        "ticketId": ticket["ticketId"],
        "mirrorKey": ticket["mirrorKey"],
        "dialog": "photo",
    }
    data = {"data": json.dumps(update)}  # the multipart part `data` carries the JSON; files go in `attachments`
    answer = requests.patch(
        f"{tt_mock_in_process.url}/troubleTicket/{ticket['ticketId']}",
        data=data,
        files=files,
        headers=tt_mock_in_process.headers("TU-ACME"),
        timeout=5,
    )
    assert answer.status_code == 200
    (attachment,) = tt_mock_in_process.history(ticket["ticketId"])[-1]["attachments"]
    assert attachment["name"] == "ont.jpg" and attachment["mimeType"] == "image/jpeg"
    assert tt_mock_in_process.attachment(ticket["ticketId"], attachment["id"]) == b"\xff\xd8 a photo"
