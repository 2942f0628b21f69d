"""Fault injection (`/_mock/faults`, `--faults FILE`): which requests a fault takes, and what it does."""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from tests.serving import ServedMock, mint, served
from tests.support import SECRET, Api, auth, create_body


def _fault(client: FlaskClient, **spec: Any) -> dict[str, Any]:
    response = client.post("/_mock/faults", json=spec)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _journal(client: FlaskClient) -> list[dict[str, Any]]:
    return client.get("/_mock/journal?order=oldest").get_json()["requests"]


def test_an_error_for_the_next_n_requests_then_the_provider_again(client: FlaskClient, tu: Api) -> None:
    fault = _fault(client, kind="error", status=503, retryAfter=2, method="POST", times=2)
    assert fault["remaining"] == 2 and fault["active"] is True and fault["stage"] == "before"
    answers = [tu.create() for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 201]
    assert answers[0].get_json() == {"remoteException": fault["message"]}
    assert answers[0].headers["Retry-After"] == "2"
    # Before handling: the refused creates made nothing.
    assert len(client.get("/_mock/tickets").get_json()["tickets"]) == 1
    listed = client.get(f"/_mock/faults/{fault['id']}").get_json()
    assert (listed["seen"], listed["hits"], listed["remaining"], listed["active"]) == (2, 2, 0, False)
    marks = [entry["fault"] for entry in _journal(client)]
    assert [m and (m["id"], m["kind"], m["request"]) for m in marks] == [
        (fault["id"], "error", 1),
        (fault["id"], "error", 2),
        None,
    ]


def test_an_error_after_handling_answers_503_though_the_ticket_was_made(client: FlaskClient, tu: Api) -> None:
    _fault(client, kind="error", status=500, stage="after", times=1)
    answer = tu.create()
    assert answer.status_code == 500 and "remoteException" in answer.get_json() and "Retry-After" not in answer.headers
    (ticket,) = client.get("/_mock/tickets").get_json()["tickets"]
    (entry,) = _journal(client)
    assert entry["status"] == 500
    assert entry["fault"]["handled"] == {
        "status": 201,
        "response": {"ticketId": ticket["ticketId"], "mirrorKey": ticket["mirrorKey"]},
    }


@pytest.mark.parametrize(
    ("match", "hit", "missed"),
    [
        ({"method": "GET"}, ("GET", "TU-A"), ("POST", "TU-A")),
        ({"method": "get,patch"}, ("GET", "TU-A"), ("POST", "TU-A")),
        ({"path": "/troubleTicket/{ticketId}"}, ("GET", "TU-A"), ("POST", "TU-A")),
        ({"path": "/troubleTicket"}, ("POST", "TU-A"), ("GET", "TU-A")),
        ({"path": "/trouble*"}, ("POST", "TU-A"), None),
        ({"tenant": "TU-B"}, ("GET", "TU-B"), ("GET", "TU-A")),
        ({"tenant": "TU-B", "method": "POST"}, ("POST", "TU-B"), ("GET", "TU-B")),
    ],
)
def test_a_fault_takes_only_the_requests_it_matches(
    client: FlaskClient, match: dict[str, str], hit: tuple[str, str], missed: tuple[str, str] | None
) -> None:
    _fault(client, kind="error", **match)

    def send(method: str, tenant: str) -> int:
        if method == "POST":
            return client.post("/troubleTicket", json=create_body(), headers=auth(tenant)).status_code
        return client.get("/troubleTicket/RED-1", headers=auth(tenant)).status_code

    assert send(*hit) == 503
    if missed is not None:
        assert send(*missed) != 503


def test_a_tenant_fault_spares_a_request_without_a_valid_token(client: FlaskClient) -> None:
    _fault(client, kind="error", tenant="TU-A")
    assert client.get("/troubleTicket/RED-1", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_the_control_api_and_the_spec_are_never_faulted(client: FlaskClient) -> None:
    _fault(client, kind="error")
    assert client.get("/_mock/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_a_probability_with_a_seed_picks_the_same_requests_every_time(tmp_path: Path) -> None:
    def run() -> list[int]:
        client = create_app(MockConfig(jwt_secret=SECRET)).test_client()
        _fault(client, kind="error", probability=0.3, seed=7)
        return [client.get("/troubleTicket/RED-1", headers=auth("TU-A")).status_code for _ in range(200)]

    first = run()
    assert first == run()
    assert 40 <= first.count(503) <= 80  # about 30% of 200
    assert set(first) == {503, 404}


def test_a_probability_without_a_seed_gets_one_that_is_listed(client: FlaskClient) -> None:
    fault = _fault(client, kind="drop", probability=0.5)
    assert isinstance(fault["seed"], int)


def test_times_and_probability_together_stop_after_n_hits(client: FlaskClient) -> None:
    fault = _fault(client, kind="error", probability=0.5, seed=1, times=3)
    statuses = [client.get("/troubleTicket/RED-1", headers=auth("TU-A")).status_code for _ in range(40)]
    assert statuses.count(503) == 3
    assert client.get(f"/_mock/faults/{fault['id']}").get_json()["remaining"] == 0


@pytest.mark.parametrize(("ms", "low", "high"), [(120, 120, 400), ([50, 90], 50, 350)])
def test_latency_delays_the_answer(client: FlaskClient, tu: Api, ms: Any, low: int, high: int) -> None:
    _fault(client, kind="latency", ms=ms, times=1)
    assert tu.get("RED-1").status_code == 404  # then handled as usual
    (entry,) = _journal(client)
    assert low <= entry["durationMs"] <= high
    assert entry["fault"]["kind"] == "latency"


def test_latency_after_handling_delays_an_answer_already_decided(client: FlaskClient, tu: Api) -> None:
    _fault(client, kind="latency", ms=60, stage="after", times=1)
    assert tu.create().status_code == 201
    (entry,) = _journal(client)
    assert entry["durationMs"] >= 60 and entry["fault"]["handled"]["status"] == 201


def test_a_dropped_request_is_journaled_without_an_answer(client: FlaskClient, tu: Api) -> None:
    _fault(client, kind="drop", stage="after", times=1)
    tu.create()  # the test client gets whatever the server would refuse to send
    (entry,) = _journal(client)
    assert entry["status"] is None and entry["response"] is None
    assert entry["fault"]["kind"] == "drop" and entry["fault"]["handled"]["status"] == 201


def test_faults_are_listed_and_cleared_one_or_all(client: FlaskClient) -> None:
    first = _fault(client, kind="error")
    second = _fault(client, kind="latency", ms=1, path="/troubleTicket")
    listed = client.get("/_mock/faults").get_json()["faults"]
    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    assert listed[1]["path"] == "/troubleTicket" and listed[1]["origin"] == "api"
    assert client.delete(f"/_mock/faults/{first['id']}").get_json() == {"deleted": 1}
    for gone in (client.delete(f"/_mock/faults/{first['id']}"), client.get(f"/_mock/faults/{first['id']}")):
        assert gone.status_code == 404 and "objectNotFoundException" in gone.get_json()
    assert client.delete("/_mock/faults").get_json() == {"deleted": 1}
    assert client.get("/_mock/faults").get_json() == {"faults": []}


def test_a_reset_keeps_the_faults(client: FlaskClient) -> None:
    _fault(client, kind="error")
    client.post("/_mock/reset")
    assert len(client.get("/_mock/faults").get_json()["faults"]) == 1


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ([], "a fault is a JSON object"),
        ({}, "kind: one of latency, error, drop, truncate, slow-body"),
        ({"kind": "explode"}, "kind"),
        ({"kind": "error", "ms": 5}, "unknown field for a error fault: ms"),
        ({"kind": "drop", "status": 500}, "status"),
        ({"kind": "error", "status": 404}, "status: an integer from 500 to 599"),
        ({"kind": "error", "retryAfter": -1}, "retryAfter"),
        ({"kind": "error", "times": 0}, "times: an integer of at least 1"),
        ({"kind": "error", "times": "2"}, "times"),
        ({"kind": "error", "probability": 0}, "probability"),
        ({"kind": "error", "probability": 1.5}, "probability"),
        ({"kind": "error", "seed": -3}, "seed"),
        ({"kind": "error", "stage": "during"}, "stage"),
        ({"kind": "truncate", "stage": "before"}, "stage: a truncate fault changes the answer"),
        ({"kind": "truncate", "keep": 1}, "keep"),
        ({"kind": "latency"}, "ms: how long"),
        ({"kind": "latency", "ms": -1}, "ms"),
        ({"kind": "latency", "ms": [5]}, "ms"),
        ({"kind": "latency", "ms": [9, 5]}, "ms: [lo, hi] with lo at most hi"),
        ({"kind": "latency", "ms": 10**9}, "ms"),
        ({"kind": "slow-body"}, "ms"),
        ({"kind": "error", "path": "troubleTicket"}, "path: a path starts with '/'"),
        ({"kind": "error", "method": ""}, "method"),
        ({"kind": "error", "tenant": 7}, "tenant"),
    ],
)
def test_a_fault_that_cannot_mean_anything_is_a_400_naming_it(client: FlaskClient, spec: Any, named: str) -> None:
    response = client.post("/_mock/faults", json=spec)
    assert response.status_code == 400, response.get_json()
    assert named in response.get_json()["illegalArgumentException"]
    assert client.get("/_mock/faults").get_json() == {"faults": []}


def test_every_worker_on_a_store_shares_the_faults_and_their_counts(tmp_path: Path) -> None:
    config = MockConfig(db=str(tmp_path / "t.db"), jwt_secret=SECRET)
    workers = [create_app(config).test_client() for _ in range(2)]
    _fault(workers[0], kind="error", times=3)
    statuses = [workers[n % 2].get("/troubleTicket/RED-1", headers=auth("TU-A")).status_code for n in range(8)]
    assert statuses == [503, 503, 503, 404, 404, 404, 404, 404]


FAULTS_FILE = """\
faults:
  - {kind: error, status: 503, retryAfter: 1, method: POST, times: 1}
  - {kind: latency, ms: [10, 20], path: "/troubleTicket/{ticketId}"}
"""


def test_a_faults_file_is_loaded_once_for_all_workers(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(FAULTS_FILE)
    config = MockConfig(db=str(tmp_path / "t.db"), jwt_secret=SECRET, faults_path=faults)
    first, second = create_app(config).test_client(), create_app(config).test_client()
    listed = second.get("/_mock/faults").get_json()["faults"]
    assert [(f["kind"], f["origin"]) for f in listed] == [
        ("error", "file faults.yaml"),
        ("latency", "file faults.yaml"),
    ]
    assert first.post("/troubleTicket", json=create_body(), headers=auth("TU-A")).status_code == 503
    assert second.post("/troubleTicket", json=create_body(), headers=auth("TU-A")).status_code == 201


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{kind: error}", "a faults file holds a list of faults"),
        ("- {kind: error}\n- {kind: latency}", "faults[1]: ms: how long"),
        ("- {kind: error, status: 200}", "faults[0]: status"),
    ],
)
def test_a_bad_faults_file_stops_the_start_naming_the_fault(tmp_path: Path, text: str, message: str) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(text)
    with pytest.raises(ValueError, match="faults.yaml") as raised:
        create_app(MockConfig(jwt_secret=SECRET, faults_path=faults))
    assert message in str(raised.value)


# -- on the wire: a thread server in this process (Werkzeug) -----------------------------------


@pytest.fixture
def over_http() -> Iterator[tuple[str, Flask]]:
    app = create_app(MockConfig(jwt_secret=SECRET))
    with served(app) as url:
        yield url, app


def _add(url: str, **spec: Any) -> None:
    assert requests.post(f"{url}/_mock/faults", json=spec, timeout=5).status_code == 201


def test_a_dropped_connection_gets_no_answer_at_all(over_http: tuple[str, Flask]) -> None:
    url, _ = over_http
    _add(url, kind="drop", stage="after", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{url}/troubleTicket", json=create_body(), headers=auth("TU-A"), timeout=5)
    # The work was done: a client that retries must not open a second ticket.
    assert len(requests.get(f"{url}/_mock/tickets", timeout=5).json()["tickets"]) == 1


def test_a_truncated_body_ends_short_of_its_content_length(over_http: tuple[str, Flask]) -> None:
    url, _ = over_http
    _add(url, kind="truncate", keep=0.5, times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(f"{url}/troubleTicket", json=create_body(), headers=auth("TU-A"), timeout=5)
    assert requests.get(f"{url}/_mock/health", timeout=5).ok


def test_a_slow_body_arrives_whole_but_late(over_http: tuple[str, Flask]) -> None:
    url, _ = over_http
    _add(url, kind="slow-body", ms=300, times=1)
    started = time.monotonic()
    answer = requests.post(f"{url}/troubleTicket", json=create_body(), headers=auth("TU-A"), timeout=5)
    assert answer.status_code == 201 and answer.json()["ticketId"].startswith("RED-")
    assert time.monotonic() - started >= 0.25
    assert answer.elapsed.total_seconds() < 0.25  # the headers came first, the body after
    (entry,) = requests.get(f"{url}/_mock/journal", timeout=5).json()["requests"]
    assert entry["fault"]["kind"] == "slow-body"


# -- on the wire: the real server (granian, two workers) ---------------------------------------


@pytest.fixture(scope="module")
def granian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path_factory.mktemp("granian") / "tickets.db").start()
    yield mock
    mock.stop()


@pytest.fixture
def real(granian: ServedMock) -> Iterator[ServedMock]:
    requests.delete(f"{granian.url}/_mock/faults", timeout=5)
    yield granian
    requests.delete(f"{granian.url}/_mock/faults", timeout=5)


def _raw_exchange(port: int, request: bytes) -> tuple[bytes, str]:
    """What a server sends back on one connection, and how the connection ended."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received, "open"
            except ConnectionResetError:
                return received, "reset"
            if not chunk:
                return received, "closed"
            received += chunk


@functools.cache
def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint('TU-A')}"}  # minted by the served mock's own command, once


def _raw_get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {_bearer()['Authorization']}\r\n\r\n".encode()


@pytest.mark.server
@pytest.mark.parametrize("stage", ["before", "after"])
def test_granian_drops_the_connection_without_a_byte(real: ServedMock, stage: str) -> None:
    _add(real.url, kind="drop", stage=stage, times=20)
    for _ in range(20):  # the same every time, not a race won most times
        assert _raw_exchange(real.port, _raw_get("/troubleTicket/RED-1")) == (b"", "closed")
    _add(real.url, kind="drop", stage=stage, times=1, method="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{real.url}/troubleTicket",
            json=create_body(),
            headers=_bearer(),
            timeout=5,
        )
    assert requests.get(f"{real.url}/_mock/health", timeout=5).ok


@pytest.mark.server
def test_granian_truncates_the_body_after_its_headers(real: ServedMock) -> None:
    _add(real.url, kind="truncate", keep=0.5, times=1)
    received, ending = _raw_exchange(real.port, _raw_get("/troubleTicket/RED-999"))
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert head.startswith(b"HTTP/1.1 404") and ending == "closed"
    assert 0 < len(body) == length // 2
    _add(real.url, kind="truncate", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{real.url}/troubleTicket/RED-999", headers=_bearer(), timeout=5)


@pytest.mark.server
def test_granian_sends_a_slow_body_in_pieces(real: ServedMock) -> None:
    _add(real.url, kind="slow-body", ms=400, times=1)
    started = time.monotonic()
    answer = requests.get(f"{real.url}/troubleTicket/RED-999", headers=_bearer(), timeout=5)
    assert answer.status_code == 404 and "objectNotFoundException" in answer.json()
    assert time.monotonic() - started >= 0.35


@pytest.mark.server
def test_granian_workers_share_the_count_of_a_fault(real: ServedMock) -> None:
    _add(real.url, kind="error", times=5, path="/troubleTicket/RED-2")
    headers = {**_bearer(), "Connection": "close"}  # new connections: both workers
    statuses = [
        requests.get(f"{real.url}/troubleTicket/RED-2", headers=headers, timeout=5).status_code for _ in range(12)
    ]
    assert statuses == [503] * 5 + [404] * 7


@pytest.mark.server
def test_injected_faults_leave_no_error_in_the_servers_log(real: ServedMock) -> None:
    for kind in ("drop", "truncate", "error"):
        _add(real.url, kind=kind, times=1)
        try:
            requests.get(f"{real.url}/troubleTicket/RED-1", headers=_bearer(), timeout=5)
        except requests.RequestException:
            pass
    log = real.log.read_text()
    assert "Traceback" not in log and "[ERROR]" not in log, log


@pytest.mark.server
def test_gunicorn_drops_and_truncates_too(tmp_path: Path) -> None:
    with ServedMock(tmp_path / "tickets.db", "--server", "gunicorn") as mock:
        _add(mock.url, kind="drop", stage="after", times=1)
        assert _raw_exchange(mock.port, _raw_get("/troubleTicket/RED-1")) == (b"", "closed")
        _add(mock.url, kind="truncate", times=1)
        received, ending = _raw_exchange(mock.port, _raw_get("/troubleTicket/RED-1"))
        assert received.startswith(b"HTTP/1.1 404") and ending == "closed"
        assert len(received.partition(b"\r\n\r\n")[2]) > 0
