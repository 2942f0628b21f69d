"""Every lifecycle edge, allowed and refused, for both sides, through the mock's HTTP API.

The TU moves tickets with PATCH; the TO's moves go through the mock's /_mock transition hook.
The expected answer of every (from, to, side) comes from the lifecycle file.
"""

from __future__ import annotations

import pytest

from mockserver.app import MockParts
from spec import lifecycle as lifecycle_module
from tests.support import CLOSE_OUT, Api, auth, update_body

LIFECYCLE = lifecycle_module.load()
CASES = [(s, t, side) for s in LIFECYCLE.states for t in LIFECYCLE.states for side in ("TU", "TO")]


def _case_id(case: tuple[str, str, str]) -> str:
    return f"{case[2]}:{case[0]}->{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_each_edge_is_allowed_or_refused_as_the_table_says(tu: Api, parts: MockParts, case: tuple) -> None:
    source, target, side = case
    ticket_id, mirror_key = tu.ticket_in(source)
    history_before = parts.service.history()
    extra = CLOSE_OUT if LIFECYCLE.entry_requirements(source, target) else {}
    response = tu.move(ticket_id, mirror_key, target, side, **extra)
    if LIFECYCLE.allows(source, target, side):
        assert response.status_code == 200, response.get_json()
        assert tu.get(ticket_id).get_json()["baseTroubleTicketState"] == target
    else:
        assert response.status_code == 400
        message = response.get_json()["illegalArgumentException"]
        assert message.startswith("baseTroubleTicketState:") and source in message and target in message
        assert parts.service.history() == history_before


def test_entering_cleared_needs_the_close_out_fields(tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    response = tu.move(ticket_id, mirror_key, "CLEARED", "TO")
    assert response.status_code == 400
    assert response.get_json() == {
        "illegalArgumentException": "required fields: " + ",".join(LIFECYCLE.requires_on_entry["CLEARED"])
    }
    assert tu.get(ticket_id).get_json()["baseTroubleTicketState"] == "OPENACTIVE"


def test_staying_in_cleared_needs_no_close_out_fields(tu: Api) -> None:
    ticket_id, mirror_key = tu.ticket_in("CLEARED")
    response = tu.move(ticket_id, mirror_key, "CLEARED", "TU", dialog="still checking")
    assert response.status_code == 200, response.get_json()


def test_close_out_fields_show_once_the_ticket_is_cleared(tu: Api) -> None:
    ticket_id, mirror_key = tu.ticket_in("CLEARED")
    answer = tu.get(ticket_id).get_json()
    assert {name: answer[name] for name in CLOSE_OUT} == CLOSE_OUT


def test_the_hook_answers_with_the_ticket_as_get_shows_it(tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    response = tu.move(ticket_id, mirror_key, "DEFERRED.AWAITING-INFORMATION", "TO")
    assert response.status_code == 200
    assert response.get_json() == tu.get(ticket_id).get_json()


def test_the_hook_checks_the_body_like_patch(tu: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    assert tu.transition(ticket_id, {"baseTroubleTicketState": "CLEARED"}).get_json() == {
        "illegalArgumentException": "required fields: dialog"
    }
    response = tu.transition(ticket_id, {"baseTroubleTicketState": "cleared", "dialog": "x"})
    assert "baseTroubleTicketState: must be one of" in response.get_json()["illegalArgumentException"]


def test_the_hook_needs_the_owners_token(tu: Api, tu_b: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    body = {"baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION", "dialog": "x"}
    assert tu.client.post(f"/_mock/troubleTicket/{ticket_id}/transition", json=body).status_code == 401
    response = tu_b.transition(ticket_id, body)
    assert response.status_code == 404
    assert list(response.get_json()) == ["objectNotFoundException"]
    assert tu.transition("RED-999", body).status_code == 404


def test_history_records_each_move_and_who_made_it(tu: Api, parts: MockParts) -> None:
    ticket_id, _ = tu.ticket_in("CLOSED")
    (ticket,) = parts.service.history()
    moves = [(event["from"], event["to"], event["side"]) for event in ticket["history"]]
    route = [(edge.source, edge.target, edge.side) for edge in LIFECYCLE.route("CLOSED")]
    assert moves == [(None, "OPENACTIVE", "TU"), *route]
    assert all(event["actor"] == "TU-A" or "TU-A" in event["actor"] for event in ticket["history"])


@pytest.mark.parametrize("terminal", sorted(LIFECYCLE.terminal))
def test_a_terminal_ticket_refuses_even_a_dialog(tu: Api, terminal: str) -> None:
    ticket_id, mirror_key = tu.ticket_in(terminal)
    response = tu.client.patch(
        f"/troubleTicket/{ticket_id}", json=update_body(ticket_id, mirror_key, terminal), headers=auth("TU-A")
    )
    assert response.status_code == 400
    assert "terminal" in response.get_json()["illegalArgumentException"]
