"""The example TU client's own tests, against the mock (tt_mock: the real server), faults included."""

from __future__ import annotations

import pytest
from tu_client import Attachment, ProviderRefused, ProviderUnavailable, TroubleTicketClient

from mockserver.testing import TTMock


def new_ticket(mirror_key: str = "ACME-1", **fields: object) -> dict[str, object]:
    return {
        "mirrorKey": mirror_key,
        "dialog": "ONT synced, no browsing",
        "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
        "troubleDescription": "ONT sincronizado, pero no navega.",
        "troubleDetectionTime": "2025-01-15T10:30:00Z",
        "preferredPriority": 1,
        "troubledObject": "CTO",
        "customerTroubleNum": "O99999999999/M9999999999",
        "wh1Parameter": "red",
        "clearencePerson": "agent-7",
        **fields,
    }


# -- the API, when all goes well ----------------------------------------------------------------


def test_opens_reads_and_cancels_a_ticket(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    ticket_id = client.open_ticket(new_ticket())
    ticket = client.ticket(ticket_id)
    assert ticket["baseTroubleTicketState"] == "OPENACTIVE" and ticket["mirrorKey"] == "ACME-1"
    assert ticket["troubleDectectionTime"] == "2025-01-15T10:30:00Z"
    answer = client.cancel(ticket_id, "ACME-1", "the customer fixed it")
    assert answer["dialog"] == "the customer fixed it" and answer["preferredPriority"] == "1"  # a string here
    (create,) = tt_mock.requests(method="POST")
    assert create.json["baseTroubleTicketState"] == "OPENACTIVE"
    assert tt_mock.ticket(ticket_id)["baseTroubleTicketState"] == "DEFERRED.AWAITING-CANCELATION"


def test_an_update_with_files_goes_as_multipart(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    ticket_id = client.open_ticket(new_ticket())
    files = [Attachment("ont.jpg", b"\xff\xd8jpeg", "image/jpeg"), Attachment("log.txt", b"LOS at 09:00", "text/plain")]
    client.update(ticket_id, "ACME-1", "OPENACTIVE", "photo and log attached", attachments=files)
    (patch,) = tt_mock.requests(method="PATCH")
    assert patch.parts == ["data", "attachments"]  # the journal names each part once
    assert patch.json["dialog"] == "photo and log attached"
    stored = tt_mock.history(ticket_id)[-1]["attachments"]
    assert [(a["name"], a["mimeType"]) for a in stored] == [("ont.jpg", "image/jpeg"), ("log.txt", "text/plain")]
    assert tt_mock.attachment(ticket_id, stored[0]["id"]) == b"\xff\xd8jpeg"


def test_a_create_with_a_file_uses_the_singular_part(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    client.open_ticket(new_ticket(), attachments=[Attachment("speedtest.png", b"\x89PNG", "image/png")])
    (create,) = tt_mock.requests(method="POST")
    assert create.parts == ["data", "attachment"]


def test_accepts_a_resolution_the_to_made(client: TroubleTicketClient, tt_mock: TTMock, tenant: str) -> None:
    ticket = tt_mock.seed(tenant, state="CLEARED", fields={"mirrorKey": "ACME-7"})
    client.accept_resolution(ticket["ticketId"], "ACME-7")
    assert client.ticket(ticket["ticketId"])["baseTroubleTicketState"] == "CLOSED"


def test_a_mirror_key_opens_one_ticket(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    first = client.open_ticket(new_ticket("ACME-2"))
    assert client.open_ticket(new_ticket("ACME-2")) == first
    assert len(tt_mock.requests(method="POST")) == 1  # the client knew, and asked nothing


def test_a_refusal_is_reported_not_retried(tt_mock: TTMock, tenant: str, waits: list[float]) -> None:
    # Asking for the TO's edge (resolving its own ticket) is refused: on purpose here, so marked.
    marked = TroubleTicketClient(
        tt_mock.url,
        tt_mock.token(tenant),
        sleep=waits.append,
        headers={tt_mock.EXPECT_REFUSAL: "the TU may not resolve a ticket"},
    )
    ticket_id = marked.open_ticket(new_ticket())
    with pytest.raises(ProviderRefused) as refused:
        marked.update(
            ticket_id,
            "ACME-1",
            "CLEARED",
            "fixed it myself",
            closeOutType="x",
            closeOutNarr="y",
            serviceRestoredTime="2025-01-16T09:00:00Z",
        )
    assert refused.value.status == 400 and "only the TO moves a ticket" in refused.value.message
    assert len(tt_mock.requests(method="PATCH")) == 1 and waits == []


# -- a provider that fails ----------------------------------------------------------------------


def test_waits_out_a_503_as_its_retry_after_says(
    client: TroubleTicketClient, tt_mock: TTMock, waits: list[float]
) -> None:
    tt_mock.fault("error", status=503, retry_after=3, method="POST", times=2)
    ticket_id = client.open_ticket(new_ticket())
    assert waits == [3.0, 3.0]
    assert [t["ticketId"] for t in tt_mock.tickets()] == [ticket_id]


def test_backs_off_exponentially_without_a_retry_after(
    client: TroubleTicketClient, tt_mock: TTMock, waits: list[float]
) -> None:
    tt_mock.fault("error", status=500, method="GET", times=3)
    ticket_id = client.open_ticket(new_ticket())
    assert client.ticket(ticket_id)["mirrorKey"] == "ACME-1"
    assert waits == [0.5, 1.0, 2.0]


def test_retries_a_connection_dropped_before_the_provider_read_it(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    tt_mock.fault("drop", method="POST", times=1)
    ticket_id = client.open_ticket(new_ticket())
    assert [t["ticketId"] for t in tt_mock.tickets()] == [ticket_id]


def test_a_create_whose_answer_was_lost_is_not_made_twice(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    # The provider makes the ticket, then the connection drops: the client cannot know, so it
    # sends the create again, and learns the ticket's id from the refusal of the repeat.
    tt_mock.fault("drop", stage="after", method="POST", times=1)
    ticket_id = client.open_ticket(new_ticket())
    (made,) = tt_mock.tickets()
    assert made["ticketId"] == ticket_id
    assert [r.status for r in tt_mock.requests(method="POST")] == [None, 400]


@pytest.mark.parametrize("kind", ["truncate", "error"])
def test_a_create_answered_wrongly_after_it_was_made_is_not_made_twice(
    client: TroubleTicketClient, tt_mock: TTMock, kind: str
) -> None:
    tt_mock.fault(kind, stage="after", method="POST", times=1)
    ticket_id = client.open_ticket(new_ticket())
    assert [t["ticketId"] for t in tt_mock.tickets()] == [ticket_id]


def test_retries_a_truncated_answer(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    ticket_id = client.open_ticket(new_ticket())
    tt_mock.fault("truncate", method="GET", times=1)
    assert client.ticket(ticket_id)["ticketId"] == ticket_id
    assert [r.fault is not None for r in tt_mock.requests(method="GET")] == [True, False]


def test_gives_up_on_a_provider_too_slow_for_its_timeout_then_recovers(
    tt_mock: TTMock, tenant: str, waits: list[float]
) -> None:
    client = TroubleTicketClient(tt_mock.url, tt_mock.token(tenant), timeout=0.3, retries=1, sleep=waits.append)
    ticket_id = client.open_ticket(new_ticket())
    tt_mock.fault("latency", ms=1000, method="GET", times=1)
    assert client.ticket(ticket_id)["ticketId"] == ticket_id  # the first read timed out, the second did not
    tt_mock.fault("latency", ms=1000, method="GET")
    with pytest.raises(ProviderUnavailable, match="2 tries failed, the last with ReadTimeout"):
        client.ticket(ticket_id)


def test_a_slow_body_is_waited_for(client: TroubleTicketClient, tt_mock: TTMock) -> None:
    ticket_id = client.open_ticket(new_ticket())
    tt_mock.fault("slow-body", ms=600, method="GET", times=1)
    assert client.ticket(ticket_id)["ticketId"] == ticket_id


def test_a_flaky_provider_does_not_stop_a_whole_workflow(
    client: TroubleTicketClient, tt_mock: TTMock, tenant: str
) -> None:
    # One request in three fails, in a way fixed by the seed, until the workflow is done.
    tt_mock.fault("error", status=503, probability=0.33, seed=2025, tenant=tenant)
    tt_mock.fault("drop", probability=0.1, seed=7, method="GET")
    opened = [client.open_ticket(new_ticket(f"ACME-{n}")) for n in range(5)]
    for n, ticket_id in enumerate(opened):
        client.update(ticket_id, f"ACME-{n}", "OPENACTIVE", "any news?")
        assert client.ticket(ticket_id)["dialog"] == "any news?"
    assert len(tt_mock.tickets()) == 5
    assert any(r.fault for r in tt_mock.requests())
