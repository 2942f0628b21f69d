"""Callbacks: each TO move is delivered to the tenant's mirror, retried on the mock's clock, listed.

The mock is driven through Flask's test client (no background thread: deliveries go when a test
asks, or advances the clock); the mirror is the reference TU mirror, served on a loopback port by
a thread of this process. About 8 s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from mockserver.auth import mint_token
from mockserver.mirrors import MAX_ATTEMPTS, backoff_ms
from mockserver.testing import TTMirror, free_port, served
from mockserver.tu_mirror import create_mirror_app
from spec.mirror import MirrorContract
from tests.support import CLOSE_OUT, SECRET, Api, create_body, update_body

MIRROR = MirrorContract.load()
LIFECYCLE = MIRROR.lifecycle
TO_EDGES = [t for t in LIFECYCLE.transitions if t.side == "TO"]


@pytest.fixture(scope="module")
def mirror_url() -> Iterator[str]:
    with served(create_mirror_app(MockConfig(role="tu-mirror", jwt_secret=SECRET))) as url:
        yield url


@pytest.fixture
def mirror(mirror_url: str) -> TTMirror:
    found = TTMirror(mirror_url, secret=SECRET)
    found.reset()
    found._call("DELETE", "/faults")
    return found


@pytest.fixture
def wired(client: FlaskClient, mirror: TTMirror) -> TTMirror:
    """TU-A's TO moves go to the mirror (a token the mock mints with its secret, the mirror's too)."""
    answer = client.put("/_mock/mirrors/TU-A", json={"url": mirror.url})
    assert answer.status_code == 200, answer.get_json()
    return mirror


def deliver(client: FlaskClient) -> list[dict[str, Any]]:
    answer = client.post("/_mock/callbacks/deliver?timeout=5")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["attempts"]


def callbacks(client: FlaskClient, **filters: str) -> list[dict[str, Any]]:
    return list(reversed(client.get("/_mock/callbacks", query_string=filters).get_json()["callbacks"]))


def advance(client: FlaskClient, seconds: float) -> None:
    assert client.post("/_mock/clock", json={"advance": seconds}).status_code == 200


def opened(tu: Api, mirror: TTMirror, **fields: Any) -> tuple[str, str]:
    """A ticket the TU opened on the TO and recorded on its mirror."""
    ticket_id, key = tu.open_ticket(**fields)
    mirror.open(key, ticket_id)
    return ticket_id, key


def reach(tu: Api, mirror: TTMirror, ticket_id: str, key: str, state: str, client: FlaskClient) -> None:
    """Walk a ticket to `state` on both sides: the TU moves its mirror ticket itself, the TO's moves are delivered."""
    for edge in LIFECYCLE.route(state):
        extra = CLOSE_OUT if LIFECYCLE.entry_requirements(edge.source, edge.target) else {}
        assert tu.move(ticket_id, key, edge.target, edge.side, **extra).status_code == 200
        if edge.side == "TU":
            mirror.move(key, edge.target)
        else:
            assert [a["status"] for a in deliver(client)] == ["delivered"]


@pytest.mark.parametrize("edge", TO_EDGES, ids=[f"{t.source}->{t.target}" for t in TO_EDGES])
def test_each_to_edge_is_delivered_to_the_tenants_mirror(
    client: FlaskClient, tu: Api, wired: TTMirror, edge: Any
) -> None:
    ticket_id, key = opened(tu, wired)
    reach(tu, wired, ticket_id, key, edge.source, client)
    extra = CLOSE_OUT if LIFECYCLE.entry_requirements(edge.source, edge.target) else {}
    assert tu.move(ticket_id, key, edge.target, "TO", **extra).status_code == 200
    assert deliver(client)[-1]["status"] == "delivered"
    sent = callbacks(client, ticketId=ticket_id)[-1]
    names = MIRROR.names
    assert sent["path"] == MIRROR.ticket_path(key) and sent["status"] == "delivered"
    assert sent["body"][names.state] == edge.target and sent["body"][names.ticket_id] == ticket_id
    assert sent["body"][names.mirror_key] == key and sent["body"][names.dialog] == f"TO moves to {edge.target}"
    assert {k: sent["body"][k] for k in extra} == extra  # the close-out fields travel with the move
    (attempt,) = sent["attempts"]
    assert attempt["status"] == 200 and attempt["answer"][names.dialog] == sent["body"][names.dialog]
    last = wired.history(key)[-1]
    assert (last["side"], last["to"], last["dialog"]) == ("TO", edge.target, f"TO moves to {edge.target}")
    assert wired.ticket(key)["baseTroubleTicketState"] == edge.target


def test_scenario_moves_and_clock_moves_are_delivered_too(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    scenarios = client.get("/_mock/scenarios").get_json()["scenarios"]
    ask = next(
        s for s in scenarios if s["when"]["from"] == ["created"] and "mirrorKey starts" in str(s["when"]["match"])
    )
    prefix = ask["when"]["match"][0].split("'")[1]
    ticket_id, key = opened(tu, wired, mirrorKey=f"{prefix}9")
    client.post("/_mock/clock", json={"advance": ask["after"]})
    assert [a["status"] for a in deliver(client)] == ["delivered"]
    (sent,) = callbacks(client, ticketId=ticket_id)
    assert sent["status"] == "delivered" and sent["move"]["actor"] == f"TO (scenario {ask['name']})"
    assert wired.ticket(key)["baseTroubleTicketState"] == ask["then"]["to"]


def test_tu_moves_seeded_moves_and_tenants_without_a_mirror_send_nothing(
    client: FlaskClient, tu: Api, tu_b: Api, wired: TTMirror
) -> None:
    ticket_id, key = opened(tu, wired)
    assert tu.patch(ticket_id, update_body(ticket_id, key, LIFECYCLE.cancel_request)).status_code == 200
    client.post("/_mock/tickets", json={"tenant": "TU-A", "state": "CLEARED"})
    other, _ = tu_b.ticket_in("CLEARED")
    assert callbacks(client) == [] and deliver(client) == []
    assert [e["side"] for e in wired.history(key)] == ["TU"]


def test_a_failing_mirror_is_tried_again_later_on_the_mock_clock(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    wired.fault("error", status=503, method="PATCH", times=2)
    ticket_id, key = opened(tu, wired)
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO")
    for attempt, answered in enumerate((503, 503), start=1):
        assert [(a["attempt"], a["answered"], a["status"]) for a in deliver(client)] == [(attempt, answered, "pending")]
        assert deliver(client) == []  # not due yet: the delay runs on the mock's clock
        advance(client, backoff_ms(attempt) / 1000)
    assert [a["status"] for a in deliver(client)] == ["delivered"]
    (sent,) = callbacks(client, ticketId=ticket_id)
    assert [a["status"] for a in sent["attempts"]] == [503, 503, 200]
    assert sent["status"] == "delivered" and sent["nextAttemptAt"] is None
    assert wired.ticket(key)["baseTroubleTicketState"] == "DEFERRED.AWAITING-INFORMATION"


def test_a_refusal_is_final_and_the_move_stays(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    ticket_id, key = tu.open_ticket()  # the TU never recorded it on its mirror
    assert tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO").status_code == 200
    assert [a["answered"] for a in deliver(client)] == [400]
    advance(client, 3600)
    assert deliver(client) == []
    (sent,) = callbacks(client, ticketId=ticket_id)
    assert sent["status"] == "refused" and len(sent["attempts"]) == 1
    assert MIRROR.errors.not_found in sent["attempts"][0]["answer"]
    assert tu.get(ticket_id).get_json()["baseTroubleTicketState"] == "DEFERRED.AWAITING-INFORMATION"


def test_a_mirror_that_never_answers_is_given_up_after_the_last_attempt(client: FlaskClient, tu: Api) -> None:
    client.put("/_mock/mirrors/TU-A", json={"url": f"http://127.0.0.1:{free_port()}"})
    ticket_id, key = tu.open_ticket()
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (tried,) = deliver(client)
        assert tried["attempt"] == attempt and tried["answered"] is None
        advance(client, backoff_ms(attempt) / 1000)
    (sent,) = callbacks(client, ticketId=ticket_id)
    assert sent["status"] == "failed" and f"gave up after {MAX_ATTEMPTS} attempts" in sent["note"]
    assert all(a["error"].startswith("no answer") for a in sent["attempts"])


def test_one_tickets_callbacks_arrive_in_the_order_of_its_moves(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    wired.fault("error", status=503, method="PATCH", times=1)
    ticket_id, key = opened(tu, wired)
    state = "DEFERRED.AWAITING-INFORMATION"
    tu.transition(ticket_id, {"baseTroubleTicketState": state, "dialog": "first"})
    tu.transition(ticket_id, {"baseTroubleTicketState": state, "dialog": "second"})
    first, second = callbacks(client)
    assert [(a["id"], a["answered"]) for a in deliver(client)] == [(first["id"], 503)]  # the second waits its turn
    advance(client, backoff_ms(1) / 1000)
    assert [(a["id"], a["status"]) for a in deliver(client)] == [
        (first["id"], "delivered"),
        (second["id"], "delivered"),
    ]
    assert [e["dialog"] for e in wired.history(key) if e["side"] == "TO"] == ["first", "second"]


def test_a_callback_the_mirror_contract_would_refuse_is_not_sent(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    limit = MIRROR.update.max_length(MIRROR.names.mirror_key)
    ticket_id, key = tu.open_ticket(mirrorKey="L" * (limit + 5))  # the create's limit allows it
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO")
    assert deliver(client) == []
    (sent,) = callbacks(client, ticketId=ticket_id)
    assert sent["status"] == "skipped" and "mirrorKey: at most 15 characters" in sent["note"]


def test_callbacks_are_in_the_journal_apart_from_what_clients_sent(
    client: FlaskClient, tu: Api, wired: TTMirror
) -> None:
    ticket_id, key = opened(tu, wired)
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO")
    deliver(client)
    (out,) = client.get("/_mock/journal?direction=out").get_json()["requests"]
    assert out["method"] == "PATCH" and out["path"] == wired.url + MIRROR.ticket_path(key)
    assert out["status"] == 200 and out["ticketId"] == ticket_id and out["callback"]["outcome"] == "delivered"
    assert "sub TO" in out["headers"]["Authorization"] and "eyJ" not in out["headers"]["Authorization"]
    assert json.loads(out["body"])[MIRROR.names.state] == "DEFERRED.AWAITING-INFORMATION"
    received = client.get("/_mock/journal?direction=in").get_json()["requests"]
    assert received and all("callback" not in entry for entry in received)
    assert client.get("/_mock/journal?direction=sideways").status_code == 400


def test_the_token_the_configuration_names(
    client: FlaskClient, tu: Api, wired: TTMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.put("/_mock/mirrors/TU-A", json={"url": wired.url, "tokenEnv": "TU_A_MIRROR_TOKEN"})
    assert client.get("/_mock/mirrors").get_json()["mirrors"][0]["token"] == "$TU_A_MIRROR_TOKEN"
    ticket_id, key = opened(tu, wired)
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO")
    (unset,) = deliver(client)
    assert (
        unset["status"] == "pending" and "$TU_A_MIRROR_TOKEN (not set)" in callbacks(client)[0]["attempts"][0]["error"]
    )
    monkeypatch.setenv("TU_A_MIRROR_TOKEN", mint_token("TO-of-the-north", secret=SECRET))
    advance(client, backoff_ms(1) / 1000)
    assert [a["status"] for a in deliver(client)] == ["delivered"]
    assert wired.requests(method="PATCH")[-1].tenant == "TO-of-the-north"
    client.put("/_mock/mirrors/TU-A", json={"url": wired.url, "token": "not-a-jwt"})
    tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO", dialog="again")
    assert [a["answered"] for a in deliver(client)] == [401]
    assert callbacks(client)[-1]["status"] == "refused"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "a mirror is a JSON object"),
        ({}, "url: the mirror's base URL"),
        ({"url": "ftp://127.0.0.1"}, "http:// or https:// URL"),
        ({"url": "http://"}, "with a host"),
        ({"url": "http://u:p@127.0.0.1"}, "without credentials"),
        ({"url": "http://127.0.0.1/?x=1"}, "without credentials, query or fragment"),
        ({"url": "http://127.0.0.1:port"}, "no number"),
        ({"url": "http://127.0.0.1", "token": 5}, "token: the bearer token"),
        ({"url": "http://127.0.0.1", "tokenEnv": "1-BAD"}, "tokenEnv: the name of an environment variable"),
        ({"url": "http://127.0.0.1", "token": "t", "tokenEnv": "T"}, "not both"),
        ({"url": "http://127.0.0.1", "colour": "red"}, "colour: not a field of a mirror"),
    ],
)
def test_a_mirror_that_cannot_be_used_is_a_400_naming_why(client: FlaskClient, body: Any, named: str) -> None:
    answer = client.put("/_mock/mirrors/TU-A", json=body)
    assert answer.status_code == 400 and named in answer.get_json()["illegalArgumentException"]
    assert client.get("/_mock/mirrors").get_json()["mirrors"] == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000", "https://mirror.example/tt", "HTTPS://Mirror.Example"])
def test_a_mirror_at_an_http_or_https_url_is_taken_as_given(client: FlaskClient, url: str) -> None:
    assert client.put("/_mock/mirrors/TU-A", json={"url": url + "/"}).status_code == 200
    (mirror,) = client.get("/_mock/mirrors").get_json()["mirrors"]
    assert mirror["tenant"] == "TU-A" and mirror["url"] == url


def test_the_start_up_mirrors_come_back_after_the_api_changed_them(tmp_path: Path) -> None:
    config = MockConfig(jwt_secret=SECRET, mirrors=(("TU-A", "http://127.0.0.1:9"),), mirror_tokens=(("TU-A", "TOK"),))
    client = create_app(config).test_client()
    client.put("/_mock/mirrors/TU-A", json={"url": "http://127.0.0.1:10"})
    client.put("/_mock/mirrors/TU-B", json={"url": "http://127.0.0.1:11"})
    assert client.delete("/_mock/mirrors/TU-C").status_code == 404
    listed = client.delete("/_mock/mirrors").get_json()["mirrors"]
    assert listed == [{"tenant": "TU-A", "url": "http://127.0.0.1:9", "token": "$TOK", "origin": "start-up"}]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        (MockConfig(mirror_tokens=(("TU-A", "TOK"),)), "--mirror-token names TU-A, which no --mirror gives a URL"),
        (MockConfig(mirrors=(("TU-A", "localhost:9000"),)), "--mirror TU-A=localhost:9000: url: an http://"),
    ],
)
def test_a_start_up_mirror_that_cannot_be_used_stops_the_mock(config: MockConfig, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        create_app(config)


def test_callbacks_filters(client: FlaskClient) -> None:
    assert client.get("/_mock/callbacks?status=lost").status_code == 400
    assert client.get("/_mock/callbacks?ticketId=nonsense").get_json()["callbacks"] == []
    assert client.post("/_mock/callbacks/deliver?timeout=forever").status_code == 400


def test_a_move_is_answered_before_its_callback_is_sent(client: FlaskClient, tu: Api, wired: TTMirror) -> None:
    """The hook answers at once; the callback waits in the store for a sender (here, the test)."""
    ticket_id, key = opened(tu, wired)
    assert tu.move(ticket_id, key, "DEFERRED.AWAITING-INFORMATION", "TO").status_code == 200
    (waiting,) = callbacks(client)
    assert waiting["status"] == "pending" and waiting["attempts"] == []
    assert wired.history(key)[-1]["side"] == "TU"  # nothing reached the mirror during the request
    assert create_body()  # the helpers stay importable for the how-to tests
