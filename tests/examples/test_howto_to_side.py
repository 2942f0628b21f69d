"""How-to: let the TO move on its own (scenarios on the mock's clock), and receive its callbacks."""

from __future__ import annotations

import requests

from mockserver.testing import TTMirror, TTMock


def _open(mock: TTMock, mirror_key: str, **fields: object) -> str:
    body = mock.contract.example_create(mirror_key, **fields)
    answer = requests.post(f"{mock.url}/troubleTicket", json=body, headers=mock.headers("TU-ACME"), timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.json()["ticketId"]


def test_howto_let_the_to_resolve_and_close_a_ticket(tt_mock_in_process: TTMock) -> None:
    # The shipped scenarios (GET /_mock/scenarios) pick an outcome by the ticket's fields: this
    # troubleType is resolved after 4 h, and a resolved ticket is closed after 72 h of TU silence.
    ticket_id = _open(tt_mock_in_process, "ACME-20", troubleType="FTTH_PROVISION_RANGED_NO_NAVEGA")
    assert [s["scenario"] for s in tt_mock_in_process.steps(ticket_id)] == ["resolve-no-navega"]

    # Advance the mock's clock instead of sleeping: what became due fires, at its due time.
    fired = tt_mock_in_process.advance("4h")
    assert [f["scenario"] for f in fired] == ["resolve-no-navega"]
    assert tt_mock_in_process.ticket(ticket_id)["baseTroubleTicketState"] == "CLEARED"

    tt_mock_in_process.advance("72h")  # your client says nothing...
    assert tt_mock_in_process.ticket(ticket_id)["baseTroubleTicketState"] == "CLOSED"


def test_howto_get_the_tos_callbacks_on_your_mirror(tt_mock_in_process: TTMock, tt_mirror: TTMirror) -> None:
    # Your TU's mirror endpoint (here the reference one) receives every TO move on your tickets.
    tt_mock_in_process.set_mirror("TU-ACME", tt_mirror.url)
    ticket_id = _open(tt_mock_in_process, "INFO-21")  # INFO-: the TO asks for information after 1 h
    tt_mirror.open("INFO-21", ticket_id)  # your own system knows the ticket

    tt_mock_in_process.advance("1h")
    (callback,) = tt_mock_in_process.callbacks(ticket_id)  # sent first, then listed with its attempts
    assert callback["status"] == "delivered" and callback["attempts"][0]["status"] == 200
    assert tt_mirror.ticket("INFO-21")["baseTroubleTicketState"] == "DEFERRED.AWAITING-INFORMATION"


def test_howto_see_how_the_to_retries_when_your_mirror_fails(tt_mock_in_process: TTMock, tt_mirror: TTMirror) -> None:
    tt_mock_in_process.set_mirror("TU-ACME", tt_mirror.url)
    ticket = tt_mock_in_process.seed("TU-ACME", fields={"mirrorKey": "ACME-22"})
    tt_mirror.open("ACME-22", ticket["ticketId"])
    with tt_mirror.fault("error", status=503, method="PATCH", times=1):
        tt_mock_in_process.play_to(ticket["ticketId"], "DEFERRED.AWAITING-INFORMATION", tenant="TU-ACME")
        (failed,) = tt_mock_in_process.callbacks(ticket["ticketId"])
        assert failed["attempts"][0]["status"] == 503  # the mirror failed: the move stays, the callback waits
    tt_mock_in_process.advance("1m")  # the next attempt is due a second later, on the mock's clock
    (delivered,) = tt_mock_in_process.callbacks(ticket["ticketId"])
    assert delivered["status"] == "delivered"
    assert [a["status"] for a in delivered["attempts"]] == [503, 200]
