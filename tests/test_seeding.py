"""Seeding (`POST /_mock/tickets`, `--seed FILE`): any state, fields and history, checked by the contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from tests.support import CLOSE_OUT, LIFECYCLE_STATES, SECRET, Api, auth, update_body


def _seed(client: FlaskClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/_mock/tickets", json=body, **kwargs)


@pytest.mark.parametrize("state", LIFECYCLE_STATES)
def test_a_ticket_can_be_seeded_in_every_state_of_the_lifecycle(client: FlaskClient, tu: Api, state: str) -> None:
    response = _seed(client, {"tenant": "TU-A", "state": state})
    assert response.status_code == 201, response.get_json()
    seeded = response.get_json()
    assert seeded["baseTroubleTicketState"] == state and seeded["tenant"] == "TU-A"
    assert seeded["history"][-1]["to"] == state
    assert tu.get(seeded["ticketId"]).get_json()["baseTroubleTicketState"] == state


def test_a_seed_follows_the_lifecycle_and_fills_in_the_fields_each_move_needs(
    client: FlaskClient, parts: MockParts
) -> None:
    seeded = _seed(client, {"tenant": "TU-A", "state": "CLOSED"}).get_json()
    moves = [(event["from"], event["to"], event["side"]) for event in seeded["history"]]
    assert moves == [(None, "OPENACTIVE", "TU"), ("OPENACTIVE", "CLEARED", "TO"), ("CLEARED", "CLOSED", "TU")]
    for field in parts.lifecycle.requires_on_entry["CLEARED"]:
        assert field in seeded["history"][1]["changes"]


def test_a_seed_keeps_the_fields_and_history_it_was_given(client: FlaskClient, tu: Api) -> None:
    seed = {
        "tenant": "TU-A",
        "ticketId": "RED-8400",
        "createdAt": "2025-01-15T10:30:00Z",
        "fields": {"mirrorKey": "ONV-1024", "preferredPriority": 2, "dialog": "no sync since 9:00"},
        "history": [
            {
                "side": "TO",
                "baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION",
                "dialog": "which ONT?",
                "at": "2025-01-15T11:00:00Z",
            },
            {
                "side": "TU",
                "baseTroubleTicketState": "OPENACTIVE",
                "dialog": "ONT 7",
                "attachments": [{"content": "cGhvdG8=", "name": "ont.jpg", "mimeType": "image/jpeg"}],
            },
        ],
    }
    seeded = _seed(client, seed).get_json()
    assert seeded["ticketId"] == "RED-8400" and seeded["mirrorKey"] == "ONV-1024"
    assert seeded["createdAt"] == "2025-01-15T10:30:00Z"
    assert [e["dialog"] for e in seeded["history"]] == ["no sync since 9:00", "which ONT?", "ONT 7"]
    assert seeded["history"][1]["at"] == "2025-01-15T11:00:00Z"
    (attachment,) = seeded["history"][2]["attachments"]
    assert client.get(f"/_mock/tickets/RED-8400/attachments/{attachment['id']}").data == b"photo"
    read = tu.get("RED-8400").get_json()
    assert read["preferredPriority"] == 2 and read["dialog"] == "ONT 7"
    # The client goes on from there, as from any ticket of its own.
    assert tu.patch("RED-8400", update_body("RED-8400", "ONV-1024", "DEFERRED.AWAITING-CANCELATION")).status_code == 200
    # Ids the mock hands out next do not collide with a seeded one.
    assert int(tu.open_ticket()[0].removeprefix("RED-")) > 8400


def test_the_tenant_may_come_from_a_bearer_token(client: FlaskClient, tu: Api) -> None:
    seeded = _seed(client, {"state": "CLEARED"}, headers=auth("TU-A")).get_json()
    assert seeded["tenant"] == "TU-A"
    assert tu.get(seeded["ticketId"]).status_code == 200


def test_unknown_fields_are_ignored_with_a_warning(client: FlaskClient) -> None:
    response = _seed(client, {"tenant": "TU-A", "fields": {"colour": "blue"}})
    assert response.status_code == 201
    assert "colour" in response.headers["X-Mock-Warning"]


@pytest.mark.parametrize(
    ("seed", "named"),
    [
        ([], "a seed is a JSON object"),
        ({"tenant": "TU-A", "colour": "blue"}, "unknown field: colour"),
        ({"state": "CLEARED"}, "tenant"),
        ({"tenant": "TU-A", "state": "RESOLVED"}, "state: 'RESOLVED' is not a state"),
        ({"tenant": "TU-A", "ticketId": "84"}, "ticketId: '84' is not a ticket id such as RED-84"),
        ({"tenant": "TU-A", "ticketId": "RED-084"}, "ticketId"),
        ({"tenant": "TU-A", "createdAt": "yesterday"}, "createdAt"),
        (
            {"tenant": "TU-A", "fields": {"preferredPriority": "1"}},
            "fields: preferredPriority: must be of type integer",
        ),
        ({"tenant": "TU-A", "fields": {"dialog": "x" * 4001}}, "fields: dialog: at most 4000 characters"),
        ({"tenant": "TU-A", "fields": {"dialog": None}}, "fields: required fields: dialog"),
        ({"tenant": "TU-A", "fields": {"baseTroubleTicketState": "CLEARED"}}, "fields: baseTroubleTicketState"),
        ({"tenant": "TU-A", "history": {}}, "history: a list"),
        ({"tenant": "TU-A", "history": ["CLEARED"]}, "history[0]: a move is an object"),
        ({"tenant": "TU-A", "history": [{"baseTroubleTicketState": "CLEARED", "dialog": "x"}]}, "history[0].side"),
        (
            {
                "tenant": "TU-A",
                "history": [{"side": "TU", "baseTroubleTicketState": "CLEARED", "dialog": "x", **CLOSE_OUT}],
            },
            "history[0]: only the TO moves a ticket from OPENACTIVE to CLEARED",
        ),
        (
            {"tenant": "TU-A", "history": [{"side": "TO", "baseTroubleTicketState": "CLEARED", "dialog": "x"}]},
            "history[0]: a move into CLEARED needs closeOutType, closeOutNarr, serviceRestoredTime",
        ),
        (
            {"tenant": "TU-A", "history": [{"side": "TO", "baseTroubleTicketState": "CLEARED"}]},
            "history[0]: required fields: dialog",
        ),
        (
            {"tenant": "TU-A", "history": [{"side": "TO", "baseTroubleTicketState": "CLOSED", "dialog": "x"}]},
            "history[0]: a ticket in OPENACTIVE cannot move to CLOSED",
        ),
        (
            {
                "tenant": "TU-A",
                "history": [
                    {"side": "TU", "baseTroubleTicketState": "DEFERRED.AWAITING-CANCELATION", "dialog": "x"},
                    {"side": "TO", "baseTroubleTicketState": "CLOSED.CANCELED", "dialog": "y"},
                    {"side": "TO", "baseTroubleTicketState": "OPENACTIVE", "dialog": "z"},
                ],
            },
            "history[2]: the ticket is CLOSED.CANCELED, a terminal state",
        ),
        (
            {
                "tenant": "TU-A",
                "history": [{"side": "TO", "baseTroubleTicketState": "OPENACTIVE", "dialog": "x", "ticketId": "RED-1"}],
            },
            "history[0]",
        ),  # ids are the seed's, not a move's
        (
            {
                "tenant": "TU-A",
                "history": [{"side": "TO", "baseTroubleTicketState": "OPENACTIVE", "dialog": "x", "at": "soon"}],
            },
            "history[0].at",
        ),
        ({"tenant": "TU-A", "state": "CLEARED", "history": []}, "state: the history ends in OPENACTIVE, not CLEARED"),
    ],
)
def test_a_seed_that_breaks_the_contract_is_a_400_naming_where_and_stores_nothing(
    client: FlaskClient, seed: Any, named: str
) -> None:
    response = _seed(client, seed)
    assert response.status_code == 400, response.get_json()
    assert named in response.get_json()["illegalArgumentException"]
    assert client.get("/_mock/tickets").get_json()["tickets"] == []


def test_a_seed_that_is_not_json_is_a_400(client: FlaskClient) -> None:
    response = client.post("/_mock/tickets", data="{", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["illegalArgumentException"]


def test_a_seed_cannot_take_an_id_or_a_mirror_key_already_in_use(client: FlaskClient, tu: Api) -> None:
    ticket, key = tu.open_ticket()
    taken = _seed(client, {"tenant": "TU-B", "ticketId": ticket})
    assert (
        taken.status_code == 400
        and f"ticketId: {ticket} is another ticket's" in taken.get_json()["illegalArgumentException"]
    )
    repeated = _seed(client, {"tenant": "TU-A", "fields": {"mirrorKey": key}})
    assert repeated.status_code == 400 and ticket in repeated.get_json()["illegalArgumentException"]
    assert _seed(client, {"tenant": "TU-B", "fields": {"mirrorKey": key}}).status_code == 201  # another tenant's


def test_one_ticket_with_its_history(client: FlaskClient, tu: Api) -> None:
    ticket, _ = tu.ticket_in("CLEARED")
    found = client.get(f"/_mock/tickets/{ticket}").get_json()
    assert found["ticketId"] == ticket and [e["to"] for e in found["history"]] == ["OPENACTIVE", "CLEARED"]
    assert client.get(f"/_mock/tickets/{ticket}?tenant=TU-A").status_code == 200
    for missing in (f"/_mock/tickets/{ticket}?tenant=TU-B", "/_mock/tickets/RED-999", "/_mock/tickets/nonsense"):
        response = client.get(missing)
        assert response.status_code == 404 and "objectNotFoundException" in response.get_json()
    assert client.get(f"/_mock/tickets/{ticket}?owner=TU-A").status_code == 400


def test_forgetting_the_tickets_keeps_the_journal(client: FlaskClient, tu: Api) -> None:
    tu.open_ticket()
    assert client.delete("/_mock/tickets").get_json() == {"deleted": 1, "tenant": None, "seeded": 0}
    assert client.get("/_mock/tickets").get_json()["tickets"] == []
    assert len(client.get("/_mock/journal").get_json()["requests"]) == 1


SEED_FILE = """\
# Unquoted times stay the text the contract checks (YAML would make them dates).
tickets:
  - tenant: TU-A
    state: CLEARED
    fields: {mirrorKey: ONV-1, troubleDetectionTime: 2025-01-15T10:30:00Z}
  - tenant: TU-A
    ticketId: RED-500
    history:
      - side: TO
        baseTroubleTicketState: DEFERRED.AWAITING-INFORMATION
        dialog: which ONT?
        at: 2025-01-15T11:00:00Z
"""


def test_a_seed_file_makes_its_tickets_at_start_up_and_again_after_each_reset(tmp_path: Path) -> None:
    seeds = tmp_path / "seed.yaml"
    seeds.write_text(SEED_FILE)
    config = MockConfig(db=str(tmp_path / "t.db"), jwt_secret=SECRET, seed_path=seeds)
    client = create_app(config).test_client()
    listed = client.get("/_mock/tickets").get_json()["tickets"]
    assert [(t["mirrorKey"], t["baseTroubleTicketState"]) for t in listed] == [
        ("ONV-1", "CLEARED"),
        ("SEED-2", "DEFERRED.AWAITING-INFORMATION"),  # the file's second ticket, named by its place
    ]
    assert listed[1]["ticketId"] == "RED-500"
    assert listed[0]["fields"]["troubleDetectionTime"] == "2025-01-15T10:30:00Z"
    # A second worker (or a restart) on the same store leaves the tickets as they are.
    client.patch("/troubleTicket/RED-500", json=update_body("RED-500", "SEED-2", "OPENACTIVE"), headers=auth("TU-A"))
    again = create_app(config).test_client()
    assert [t["baseTroubleTicketState"] for t in again.get("/_mock/tickets").get_json()["tickets"]] == [
        "CLEARED",
        "OPENACTIVE",
    ]
    # A reset is a fresh start: the seeds as the file has them.
    assert again.post("/_mock/reset").get_json() == {"deleted": 2, "tenant": None, "seeded": 2}
    after = {t["mirrorKey"]: t for t in again.get("/_mock/tickets").get_json()["tickets"]}
    assert after["SEED-2"]["baseTroubleTicketState"] == "DEFERRED.AWAITING-INFORMATION"
    assert after["SEED-2"]["ticketId"] == "RED-500"  # a seed that names its id keeps it; the others get new ones
    assert after["ONV-1"]["baseTroubleTicketState"] == "CLEARED"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tickets: {tenant: TU-A}", "a seed file holds a list of tickets"),
        ("- {tenant: TU-A}\n- {tenant: TU-A, state: NOWHERE}", "tickets[1]: state: 'NOWHERE' is not a state"),
        ("- [unclosed", "not YAML"),
    ],
)
def test_a_bad_seed_file_stops_the_start_naming_the_ticket(tmp_path: Path, text: str, message: str) -> None:
    seeds = tmp_path / "seed.yaml"
    seeds.write_text(text)
    with pytest.raises(ValueError, match="seed.yaml") as raised:
        create_app(MockConfig(jwt_secret=SECRET, seed_path=seeds))
    assert message in str(raised.value)


def test_a_move_of_the_history_naming_an_unknown_field_is_a_400_naming_the_move_and_the_field(
    client: FlaskClient,
) -> None:
    move = {"side": "TU", "baseTroubleTicketState": "DEFERRED.AWAITING-CANCELATION", "dialog": "x", "colour": "blue"}
    response = _seed(client, {"tenant": "TU-A", "history": [move]})
    assert response.status_code == 400, response.get_json()
    message = response.get_json()["illegalArgumentException"]
    assert message.startswith("history[0]: ") and "unknown field: colour" in message
    assert client.get("/_mock/tickets").get_json()["tickets"] == []
