"""How-to: develop a TU client against the mock. Read these as examples; they run as tests.

The mock here is built in-process (`create_app`) and reached through Flask's test client; against
`make mock` the same calls go over HTTP with any client.
"""

from __future__ import annotations

from mockserver import MockConfig, create_app
from mockserver.auth import mint_token

SECRET = "my-teams-shared-test-secret-of-32-bytes"


def test_howto_open_a_ticket_and_follow_it_to_closed() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET))  # :memory: store, a fresh mock per test
    client = app.test_client()
    me = {"Authorization": f"Bearer {mint_token('TU-ACME', secret=SECRET)}"}

    # 1. The TU opens a ticket.
    created = client.post(
        "/troubleTicket",
        headers=me,
        json={
            "baseTroubleTicketState": "OPENACTIVE",
            "mirrorKey": "ACME-77",
            "dialog": "no sync since 9:00",
            "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
            "troubleDescription": "ONT LOS red",
            "troubleDetectionTime": "2025-01-15T09:00:00Z",
            "preferredPriority": 3,
            "troubledObject": "ONT",
            "customerTroubleNum": "O12345678901/M1234567890",
            "wh1Parameter": "cliente",
            "clearencePerson": "ops-4",
        },
    )
    assert created.status_code == 201
    ticket_id = created.get_json()["ticketId"]

    # 2. Your test plays the TO: it resolves the ticket through the mock's hook.
    resolved = client.post(
        f"/_mock/troubleTicket/{ticket_id}/transition",
        headers=me,
        json={
            "baseTroubleTicketState": "CLEARED",
            "dialog": "fibre spliced",
            "closeOutType": "FTTH_CTO_REPAIRED",
            "closeOutNarr": "broken splice",
            "serviceRestoredTime": "2025-01-15T12:00:00Z",
        },
    )
    assert resolved.get_json()["baseTroubleTicketState"] == "CLEARED"

    # 3. The TU accepts the resolution.
    accepted = client.patch(
        f"/troubleTicket/{ticket_id}",
        headers=me,
        json={
            "baseTroubleTicketState": "CLOSED",
            "ticketId": ticket_id,
            "mirrorKey": "ACME-77",
            "dialog": "confirmed",
        },
    )
    assert accepted.status_code == 200
    assert client.get(f"/troubleTicket/{ticket_id}", headers=me).get_json()["baseTroubleTicketState"] == "CLOSED"


def test_howto_see_what_your_client_sent() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET))
    client = app.test_client()
    me = {"Authorization": f"Bearer {mint_token('TU-ACME', secret=SECRET)}"}

    client.post("/troubleTicket", headers=me, json={"mirrorKey": "ACME-78"})  # a client bug: fields missing

    (last,) = client.get("/_mock/journal?limit=1").get_json()["requests"]
    assert last["status"] == 400
    assert last["response"]["illegalArgumentException"].startswith("required fields: baseTroubleTicketState,")
    assert last["body"] == '{"mirrorKey": "ACME-78"}'
