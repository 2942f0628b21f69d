"""The journal's filters, count and reset (`/_mock/journal`): each filter selects what it says."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import Api, create_body, update_body


@pytest.fixture
def traffic(client: FlaskClient, tu: Api, tu_b: Api) -> dict[str, Any]:
    """A small mixed history: creates by two tenants, a read, an update, refusals, an unknown path."""
    first, key = tu.open_ticket()  # POST 201, TU-A
    tu_b.open_ticket()  # POST 201, TU-B
    tu.get(first)  # GET 200
    tu.patch(first, update_body(first, key, "DEFERRED.AWAITING-CANCELATION"))  # PATCH 200
    tu.get("RED-999")  # GET 404
    tu.create(create_body(dialog=None))  # POST 400
    client.get("/troubleTicket/RED-55")  # GET 401, no tenant
    client.get("/nowhere")  # 404, unknown path
    return {"ticket": first}


def _journal(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/_mock/journal{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["requests"]


def _seen(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["method"], e["path"], e["status"]) for e in entries]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("method=PATCH", [("PATCH", "/troubleTicket/{ticket}", 200)]),
        (
            "method=get,patch",
            [
                ("GET", "/nowhere", 404),
                ("GET", "/troubleTicket/RED-55", 401),
                ("GET", "/troubleTicket/RED-999", 404),
                ("PATCH", "/troubleTicket/{ticket}", 200),
                ("GET", "/troubleTicket/{ticket}", 200),
            ],
        ),
        ("status=201", [("POST", "/troubleTicket", 201)] * 2),
        ("status=4xx&method=POST", [("POST", "/troubleTicket", 400)]),
        (
            "status=401,404",
            [("GET", "/nowhere", 404), ("GET", "/troubleTicket/RED-55", 401), ("GET", "/troubleTicket/RED-999", 404)],
        ),
        ("status=2XX&method=GET", [("GET", "/troubleTicket/{ticket}", 200)]),
        (
            "path=/troubleTicket",
            [("POST", "/troubleTicket", 400), ("POST", "/troubleTicket", 201), ("POST", "/troubleTicket", 201)],
        ),
        (
            "path=/troubleTicket/{ticketId}&status=4xx",
            [("GET", "/troubleTicket/RED-55", 401), ("GET", "/troubleTicket/RED-999", 404)],
        ),
        ("path=/no*", [("GET", "/nowhere", 404)]),
        ("path=/troubleTicket/RED-999", [("GET", "/troubleTicket/RED-999", 404)]),
    ],
)
def test_each_filter_selects_what_it_names(
    client: FlaskClient, traffic: dict[str, Any], query: str, expected: list[tuple[Any, ...]]
) -> None:
    wanted = [(m, p.replace("{ticket}", traffic["ticket"]), s) for m, p, s in expected]
    assert _seen(_journal(client, "?" + query)) == wanted


def test_tenant_filter(client: FlaskClient, traffic: dict[str, Any]) -> None:
    assert {e["tenant"] for e in _journal(client, "?tenant=TU-B")} == {"TU-B"}
    assert len(_journal(client, "?tenant=TU-A")) == 5
    assert _journal(client, "?tenant=TU-C") == []


def test_ticket_id_filter_finds_every_request_about_a_ticket(client: FlaskClient, traffic: dict[str, Any]) -> None:
    ticket = traffic["ticket"]
    about = _journal(client, f"?ticketId={ticket}&order=oldest")
    assert [(e["method"], e["status"]) for e in about] == [("POST", 201), ("GET", 200), ("PATCH", 200)]
    assert all(e["ticketId"] == ticket for e in about)


def test_a_repeated_create_is_about_the_ticket_it_names(client: FlaskClient, tu: Api) -> None:
    body = create_body()
    first = tu.create(body).get_json()["ticketId"]
    assert tu.create(body).status_code == 400
    repeats = _journal(client, f"?ticketId={first}&status=400")
    assert [e["rules"] for e in repeats] == [["ids.repeated-mirror-key"]]


def test_since_selects_requests_received_from_then_on(client: FlaskClient, tu: Api) -> None:
    tu.open_ticket()
    marker = client.get("/_mock/journal/count").get_json()["now"]
    tu.open_ticket()
    tu.get("RED-404")
    later = _journal(client, f"?since={marker}&order=oldest")
    assert [(e["method"], e["status"]) for e in later] == [("POST", 201), ("GET", 404)]
    assert client.get(f"/_mock/journal/count?since={marker}").get_json()["count"] == 2


def test_since_takes_any_rfc3339_offset(client: FlaskClient, tu: Api) -> None:
    tu.open_ticket()
    assert len(_journal(client, "?since=2000-01-01T00:00:00Z")) == 1
    assert len(_journal(client, "?since=2000-01-01T01:00:00%2B01:00")) == 1
    assert _journal(client, "?since=2999-01-01T00:00:00.000001Z") == []


def test_order_and_limit(client: FlaskClient, traffic: dict[str, Any]) -> None:
    newest = _journal(client)
    assert _journal(client, "?order=oldest") == newest[::-1]
    assert _journal(client, "?limit=2") == newest[:2]
    assert _journal(client, "?order=oldest&limit=2") == newest[::-1][:2]


def test_count_matches_the_same_filters(client: FlaskClient, traffic: dict[str, Any]) -> None:
    for query in ("", "status=4xx", "method=POST&tenant=TU-A", "path=/troubleTicket/{ticketId}"):
        count = client.get(f"/_mock/journal/count?{query}").get_json()["count"]
        assert count == len(_journal(client, f"?{query}")), query


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("stauts=400", "stauts"),
        ("tenant=TU-A&colour=blue&shape=x", "colour, shape"),
        ("status=4x", "status"),
        ("status=600", "status"),
        ("status=abc", "status"),
        ("since=yesterday", "since"),
        ("since=2025-01-15T10:30:00", "since"),  # no offset: which time zone?
        ("limit=-1", "limit"),
        ("order=sideways", "order"),
        ("path=troubleTicket", "path"),
        ("method=GET&method=POST", "method"),
    ],
)
def test_a_filter_that_cannot_mean_anything_is_a_400_naming_it(client: FlaskClient, query: str, named: str) -> None:
    for endpoint in ("/_mock/journal", "/_mock/journal/count"):
        if endpoint.endswith("count") and query.startswith(("limit", "order")):
            continue
        response = client.get(f"{endpoint}?{query}")
        assert response.status_code == 400, (endpoint, query)
        assert named in response.get_json()["illegalArgumentException"]


def test_count_takes_no_paging(client: FlaskClient) -> None:
    response = client.get("/_mock/journal/count?limit=3")
    assert response.status_code == 400 and "limit" in response.get_json()["illegalArgumentException"]


def test_the_journal_alone_can_be_reset(client: FlaskClient, tu: Api) -> None:
    ticket, _ = tu.open_ticket()
    tu.get(ticket)
    assert client.delete("/_mock/journal").get_json() == {"deleted": 2}
    assert _journal(client) == []
    assert tu.get(ticket).status_code == 200  # the ticket is still there
    assert len(_journal(client)) == 1


def test_journal_answers_say_how_many_entries_it_keeps(client: FlaskClient) -> None:
    assert client.get("/_mock/journal").get_json()["capacity"] == 200


@pytest.mark.parametrize(
    ("send", "rules"),
    [
        (
            lambda tu: tu.create(create_body(dialog=None, troubleType=None)),
            ["create.dialog.required", "create.troubleType.required"],
        ),
        (lambda tu: tu.create(create_body(dialog="x" * 4001)), ["create.dialog.maxLength"]),
        (lambda tu: tu.create(create_body(preferredPriority="1")), ["create.preferredPriority.type"]),
        (lambda tu: tu.create(create_body(preferredPriority=4)), ["create.preferredPriority.maximum"]),
        (lambda tu: tu.create(create_body(wh1Parameter="Red")), ["create.wh1Parameter.enum"]),
        (
            lambda tu: tu.create(create_body(attachments=[{"content": "!!", "name": "a"}])),
            ["create.attachments[].content.format"],
        ),
        (lambda tu: tu.create(create_body(attachments=[{"content": "AA=="}])), ["create.attachments[].name.required"]),
        (
            lambda tu: tu.client.post(
                "/troubleTicket", data="{", headers={**tu.headers, "Content-Type": "application/json"}
            ),
            ["http.malformed-json"],
        ),
        (
            lambda tu: tu.client.post("/troubleTicket", data="x", headers={**tu.headers, "Content-Type": "text/plain"}),
            ["create.415"],
        ),
        (
            lambda tu: tu.client.post(
                "/troubleTicket", data={"attachment": "x"}, headers=tu.headers, content_type="multipart/form-data"
            ),
            ["create.multipart"],
        ),
        (lambda tu: tu.client.get("/troubleTicket/RED-1"), ["auth.no-token"]),
        (
            lambda tu: tu.client.get("/troubleTicket/RED-1", headers={"Authorization": "Bearer garbage"}),
            ["auth.malformed-token"],
        ),
        (
            lambda tu: tu.client.get("/troubleTicket/RED-1", headers={"Authorization": "Basic dTpw"}),
            ["auth.wrong-scheme"],
        ),
        (lambda tu: tu.get("RED-77"), ["read.404"]),
        (lambda tu: tu.patch("RED-77", update_body("RED-77", "K")), ["ids.unknown-ticket-update"]),
        (lambda tu: tu.client.delete("/troubleTicket/RED-1", headers=tu.headers), ["http.method-not-allowed"]),
        (lambda tu: tu.client.get("/elsewhere", headers=tu.headers), ["http.unknown-path"]),
    ],
    ids=lambda value: "" if callable(value) else value[0],
)
def test_a_refusal_records_the_rule_it_was_about(client: FlaskClient, tu: Api, send: Any, rules: list[str]) -> None:
    assert 400 <= send(tu).status_code < 500
    (entry,) = _journal(client, "?limit=1")
    assert entry["rules"] == rules


@pytest.mark.parametrize(
    ("target", "extra", "rule"),
    [
        ("CLEARED", {}, "lifecycle.TU.OPENACTIVE->CLEARED"),  # the TO's edge, asked by the TU
        ("CLOSED", {}, "lifecycle.TU.OPENACTIVE->CLOSED"),  # an edge of nobody's
    ],
)
def test_a_lifecycle_refusal_names_the_edge(
    client: FlaskClient, tu: Api, target: str, extra: dict[str, Any], rule: str
) -> None:
    ticket, key = tu.open_ticket()
    assert tu.patch(ticket, update_body(ticket, key, target, **extra)).status_code == 400
    assert _journal(client, "?limit=1")[0]["rules"] == [rule]


def test_terminal_states_and_entry_fields_have_rules_of_their_own(client: FlaskClient, tu: Api) -> None:
    ticket, key = tu.ticket_in("CLOSED.CANCELED")
    tu.patch(ticket, update_body(ticket, key, "OPENACTIVE"))
    assert _journal(client, "?limit=1")[0]["rules"] == ["lifecycle.terminal.CLOSED.CANCELED"]
    ticket, key = tu.ticket_in("DEFERRED.AWAITING-INFORMATION")
    tu.transition(ticket, {"baseTroubleTicketState": "OPENACTIVE", "dialog": "back"})  # control: not journaled
    tu.patch(ticket, update_body(ticket, key, "OPENACTIVE", mirrorKey="OTHER"))
    assert _journal(client, "?limit=1")[0]["rules"] == ["ids.mirror-key-match"]
    tu.patch(ticket, update_body("RED-1", key, "OPENACTIVE"))
    assert _journal(client, "?limit=1")[0]["rules"] == ["ids.path-body-match"]


def test_an_accepted_request_has_no_rules_and_marks_the_expected_refusal_header(client: FlaskClient, tu: Api) -> None:
    tu.open_ticket()
    tu.client.get("/troubleTicket/RED-9", headers={**tu.headers, "X-Mock-Expect-Refusal": "not found on purpose"})
    refused, accepted = _journal(client)
    assert accepted["rules"] == [] and accepted["expectRefusal"] is None
    assert refused["expectRefusal"] == "not found on purpose"
