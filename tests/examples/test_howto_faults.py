"""How-to: a slow, failing or vanishing provider, to test your client's retries and timeouts."""

from __future__ import annotations

import pytest
import requests

from mockserver.testing import TTMock
from tests.examples.test_howto_fixture import OPEN


def test_howto_the_provider_is_unavailable_twice(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    mock.fault("error", status=503, retry_after=1, method="POST", path="/troubleTicket", times=2)
    answers = [
        requests.post(f"{mock.url}/troubleTicket", json=OPEN, headers=mock.headers("TU-ACME"), timeout=5)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [503, 503, 201]
    assert answers[0].headers["Retry-After"] == "1" and "remoteException" in answers[0].json()
    # The journal marks each injected fault; graders leave those requests out.
    assert [r.fault is not None for r in mock.requests()] == [True, True, False]


def test_howto_the_connection_drops_after_the_ticket_was_made(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    mock.fault("drop", stage="after", times=1)  # the provider does the work; the answer never comes
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{mock.url}/troubleTicket", json=OPEN, headers=mock.headers("TU-ACME"), timeout=5)
    # An idempotent client retries with the same mirrorKey, and learns its ticket from the refusal.
    retry = requests.post(f"{mock.url}/troubleTicket", json=OPEN, headers=mock.headers("TU-ACME"), timeout=5)
    assert (
        retry.status_code == 400
        and "already belongs to trouble ticket RED-" in retry.json()["illegalArgumentException"]
    )
    assert len(mock.tickets()) == 1
    mock.assert_no_violations()  # a retry after an answer it never got is not held against the client


def test_howto_a_slow_provider_and_a_client_timeout(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    with mock.fault("latency", ms=1500, times=1):  # cleared when the block ends
        with pytest.raises(requests.Timeout):
            requests.get(f"{mock.url}/troubleTicket/RED-1", headers=mock.headers("TU-ACME"), timeout=0.3)
    assert mock.faults() == []


def test_howto_a_truncated_answer(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process
    fault = mock.fault("truncate", keep=0.5, method="GET", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{mock.url}/troubleTicket/RED-1", headers=mock.headers("TU-ACME"), timeout=5)
    assert fault.refresh()["hits"] == 1


def test_howto_a_flaky_provider_that_fails_the_same_way_every_run(tt_mock_in_process: TTMock) -> None:
    mock = tt_mock_in_process

    def twenty_reads() -> list[int]:
        url, headers = f"{mock.url}/troubleTicket/RED-1", mock.headers("TU-ACME")
        return [requests.get(url, headers=headers, timeout=5).status_code for _ in range(20)]

    with mock.fault("error", status=500, probability=0.25, seed=42, tenant="TU-ACME"):
        first = twenty_reads()
    with mock.fault("error", status=500, probability=0.25, seed=42, tenant="TU-ACME"):
        assert twenty_reads() == first  # the seed fixes which requests fail
    assert set(first) == {500, 404}


@pytest.mark.server
def test_howto_faults_on_the_real_server(tt_mock: TTMock) -> None:
    # Faults live in the mock's store, so every worker of the real server shares them and their counts.
    tt_mock.fault("drop", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{tt_mock.url}/troubleTicket/RED-1", headers=tt_mock.headers("TU-ACME"), timeout=5)
    assert (
        requests.get(f"{tt_mock.url}/troubleTicket/RED-1", headers=tt_mock.headers("TU-ACME"), timeout=5).status_code
        == 404
    )
