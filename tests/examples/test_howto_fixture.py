"""How-to: point your TU client at the mock. Read these as examples; they run as tests.

The `tt_mock` fixture (from this package's pytest plugin, active once it is installed) is the real
server on a free port, started once per session; each test begins with no tickets and no faults.
`tt_mock_in_process` is the same mock in a thread of the test process, for speed. Both give the
URL to hand your client and tokens for any tenant.
"""

from __future__ import annotations

import pytest
import requests

from mockserver.testing import TTMock

OPEN = {
    "baseTroubleTicketState": "OPENACTIVE",
    "mirrorKey": "ACME-1",
    "dialog": "ONT synced, no browsing",
    "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
    "troubleDescription": "ONT sincronizado, pero no navega.",
    "troubleDetectionTime": "2025-01-15T10:30:00Z",
    "preferredPriority": 1,
    "troubledObject": "CTO",
    "customerTroubleNum": "O99999999999/M9999999999",
    "wh1Parameter": "red",
    "clearencePerson": "agent-7",
}


def test_howto_give_your_client_the_url_and_a_token(tt_mock_in_process: TTMock) -> None:
    # Your client takes a base URL and a bearer token; the token's sub is the tenant (your TU).
    base, token = tt_mock_in_process.url, tt_mock_in_process.token("TU-ACME")
    headers = {"Authorization": f"Bearer {token}"}

    created = requests.post(f"{base}/troubleTicket", json=OPEN, headers=headers, timeout=5)
    assert created.status_code == 201
    ticket_id = created.json()["ticketId"]

    read = requests.get(f"{base}/troubleTicket/{ticket_id}", headers=headers, timeout=5).json()
    assert read["baseTroubleTicketState"] == "OPENACTIVE"
    assert read["troubleDectectionTime"] == "2025-01-15T10:30:00Z"  # sic: the answer spells it so


def test_howto_each_tenant_sees_its_own_tickets(tt_mock_in_process: TTMock) -> None:
    mine, theirs = tt_mock_in_process.headers("TU-ACME"), tt_mock_in_process.headers("TU-OTHER")
    ticket_id = requests.post(f"{tt_mock_in_process.url}/troubleTicket", json=OPEN, headers=mine, timeout=5).json()[
        "ticketId"
    ]
    answer = requests.get(f"{tt_mock_in_process.url}/troubleTicket/{ticket_id}", headers=theirs, timeout=5)
    assert answer.status_code == 404  # as if it did not exist


def test_howto_every_test_starts_from_a_clean_mock(tt_mock_in_process: TTMock) -> None:
    assert tt_mock_in_process.tickets() == [] and tt_mock_in_process.faults() == []
    assert tt_mock_in_process.requests() == []


@pytest.mark.server
def test_howto_the_real_server(tt_mock: TTMock) -> None:
    # The same calls against `tt-mock serve` (granian, two workers), as your CI would run it. With
    # `pytest --tt-mock-url http://host:8080` the fixture uses a mock already running there instead.
    created = requests.post(f"{tt_mock.url}/troubleTicket", json=OPEN, headers=tt_mock.headers("TU-ACME"), timeout=5)
    assert created.status_code == 201
    (sent,) = tt_mock.requests()
    assert sent.method == "POST" and sent.status == 201 and sent.tenant == "TU-ACME"
