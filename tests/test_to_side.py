"""The TO side of the mock: its clock, its scenarios (spec/scenarios.yaml) and their steps.

Cases come from the shipped scenario file and the lifecycle: each scenario is triggered as its
`when` says and must fire after exactly its `after` on the mock's clock, which the tests advance
instead of sleeping. About 5 s.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

import spec
from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from mockserver.cli import main as tt_mock
from mockserver.clock import Clock, format_seconds, parse_duration, parse_ms
from mockserver.scenarios import CREATED, Scenario, parse
from mockserver.store import TicketStore
from mockserver.tickets import TicketService
from spec.contract import Contract
from tests.support import CLOSE_OUT, SECRET, Api, create_body, update_body

CONTRACT = Contract.load()
LIFECYCLE = CONTRACT.lifecycle
RULES = TicketService.of(CONTRACT, TicketStore(":memory:")).transition_rules
BOOK = parse(yaml.safe_load(spec.SCENARIOS_PATH.read_text())["scenarios"], CONTRACT, RULES, origin="shipped")


def advance(client: FlaskClient, duration: Any) -> dict[str, Any]:
    answer = client.post("/_mock/clock", json={"advance": duration})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def steps(client: FlaskClient, **filters: str) -> list[dict[str, Any]]:
    answer = client.get("/_mock/steps", query_string=filters)
    assert answer.status_code == 200, answer.get_json()
    return list(reversed(answer.get_json()["steps"]))


def ticket(client: FlaskClient, ticket_id: str) -> dict[str, Any]:
    return client.get(f"/_mock/tickets/{ticket_id}").get_json()


# -- the clock -----------------------------------------------------------------------------------


def test_the_clock_is_the_wall_clock_until_it_is_moved(client: FlaskClient) -> None:
    clock = client.get("/_mock/clock").get_json()
    assert clock["scale"] == 1.0 and abs(clock["offsetSeconds"]) < 1
    assert abs(parse_ms(clock["now"]) - parse_ms(clock["wallNow"])) < 1000


def test_events_the_journal_and_the_ticket_list_tell_the_mock_time(client: FlaskClient, tu: Api) -> None:
    moved = advance(client, "72h")
    assert 259_199 < moved["offsetSeconds"] < 259_201
    ticket_id, _ = tu.open_ticket()
    (created,) = ticket(client, ticket_id)["history"]
    assert abs(parse_ms(created["at"]) - parse_ms(moved["now"])) < 5000
    (entry,) = client.get("/_mock/journal?method=POST").get_json()["requests"]
    assert abs(parse_ms(entry["clock"]) - parse_ms(moved["now"])) < 5000
    assert (
        abs(parse_ms(entry["receivedAt"]) - parse_ms(moved["wallNow"])) < 5000
    )  # the journal's own times stay the wall's
    listing = client.get("/_mock/tickets").get_json()
    assert parse_ms(listing["now"]) >= parse_ms(moved["now"])


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "send one of"),
        ([], "send one of"),
        ({"advance": "1h", "scale": 2}, "send one of"),
        ({"advance": "soon"}, "advance: a duration such as"),
        ({"advance": -5}, "cannot be negative"),
        ({"advance": True}, "advance: a duration"),
        ({"to": "yesterday"}, "to: an RFC 3339 date-time"),
        ({"to": "2020-01-01T00:00:00Z"}, "only moves forward"),
        ({"to": 5}, "to: an RFC 3339 date-time"),
        ({"scale": 0}, "above 0"),
        ({"scale": "fast"}, "scale: a number"),
        ({"scale": 10**9}, "at most"),
        ({"reset": False}, "reset: true"),
        ({"rewind": "1h"}, "send one of"),
    ],
)
def test_a_clock_change_that_cannot_mean_anything_is_a_400_naming_it(
    client: FlaskClient, body: Any, named: str
) -> None:
    answer = client.post("/_mock/clock", json=body)
    assert answer.status_code == 400
    message = answer.get_json()["illegalArgumentException"]
    assert named in message
    if named.split(" ")[0].endswith(":"):
        assert message.startswith(named)  # a message about one field names it first


def test_the_scale_runs_the_clock_faster_and_a_change_never_goes_back(tmp_path: Path) -> None:
    wall = [1_000_000]
    clock = Clock(TicketStore(str(tmp_path / "t.db")), wall=lambda: wall[0])
    clock.set_scale(60)
    wall[0] += 1000
    assert clock.now_ms() == 1_000_000 + 60_000
    clock.advance(3_600_000)
    wall[0] += 500
    assert clock.now_ms() == 1_000_000 + 60_000 + 3_600_000 + 30_000
    before = clock.now_ms()
    clock.set_scale(1)  # re-anchored where it is: no jump
    assert clock.now_ms() == before
    clock.reset()
    assert clock.now_ms() == wall[0] and clock.state().scale == 1.0


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30s", 30_000), ("10m", 600_000), ("4h", 14_400_000), ("1h30m", 5_400_000), ("1d", 86_400_000), (90, 90_000)],
)
def test_durations(text: Any, ms: int) -> None:
    assert parse_duration(text) == ms


def test_the_clock_is_shared_through_the_store(tmp_path: Path) -> None:
    """Two workers on one file tell the same time: the offset lives in the store, not in a process."""
    db = str(tmp_path / "t.db")
    one, two = (create_app(MockConfig(db=db, jwt_secret=SECRET)).test_client() for _ in range(2))
    advance(one, "5h")
    assert 17_999 < two.get("/_mock/clock").get_json()["offsetSeconds"] < 18_001


# -- scenarios: each shipped one fires as its `when` and `after` say -----------------------------


def matching_fields(scenario: Scenario) -> dict[str, Any]:
    """Create fields that satisfy a scenario's conditions (a prefix gets a short suffix)."""
    fields: dict[str, Any] = {}
    for condition in scenario.conditions:
        fields[condition.name] = condition.prefix + "7" if condition.prefix is not None else condition.values[0]
    fields.setdefault(CONTRACT.names.mirror_key, create_body()["mirrorKey"])
    return fields


def trigger(client: FlaskClient, tu: Api, scenario: Scenario) -> str:
    """A ticket whose latest event starts `scenario`; return its id."""
    fields = matching_fields(scenario)
    if scenario.sources is not None and None in scenario.sources:
        return tu.open_ticket(**fields)[0]
    sources = scenario.sources or tuple(t.source for t in LIFECYCLE.transitions if t.target == scenario.enters)
    source = sources[0]
    edge = next(
        t
        for t in LIFECYCLE.transitions
        if (t.source, t.target) == (source, scenario.enters) and scenario.by in (None, t.side)
    )
    seeded = client.post("/_mock/tickets", json={"tenant": tu.tenant, "state": source, "fields": fields})
    assert seeded.status_code == 201, seeded.get_json()
    ticket_id, key = seeded.get_json()["ticketId"], seeded.get_json()["mirrorKey"]
    extra = CLOSE_OUT if LIFECYCLE.entry_requirements(source, scenario.enters) else {}
    assert tu.move(ticket_id, key, scenario.enters, edge.side, **extra).status_code == 200
    return ticket_id


@pytest.mark.parametrize("scenario", BOOK.scenarios, ids=[s.name for s in BOOK.scenarios])
def test_each_shipped_scenario_fires_after_exactly_its_delay(client: FlaskClient, tu: Api, scenario: Scenario) -> None:
    ticket_id = trigger(client, tu, scenario)
    (step,) = [s for s in steps(client, ticketId=ticket_id) if s["scenario"] == scenario.name]
    trigger_at = parse_ms(ticket(client, ticket_id)["history"][-1]["at"])
    assert step["status"] == "pending" and parse_ms(step["dueAt"]) == trigger_at + scenario.after_ms
    now = parse_ms(client.get("/_mock/clock").get_json()["now"])
    advance(client, max(trigger_at + scenario.after_ms - now - 1000, 0) / 1000)  # a second early
    assert ticket(client, ticket_id)["baseTroubleTicketState"] == scenario.enters
    fired = advance(client, "2s")["fired"]
    assert [(f["scenario"], f["status"]) for f in fired if f["ticketId"] == ticket_id][0] == (scenario.name, "fired")
    shown = ticket(client, ticket_id)
    assert shown["baseTroubleTicketState"] == scenario.to
    last = shown["history"][-1]
    assert (last["side"], last["actor"], last["dialog"]) == ("TO", f"TO (scenario {scenario.name})", scenario.dialog)
    assert parse_ms(last["at"]) == trigger_at + scenario.after_ms  # recorded at its due time
    for name, value in scenario.fields.items():
        expected = format_seconds(trigger_at + scenario.after_ms) if value == "now" else value
        assert last["changes"][name] == expected


def test_a_move_before_the_due_time_drops_the_step(client: FlaskClient, tu: Api) -> None:
    resolve = next(s for s in BOOK if s.to == "CLEARED" and s.sources == (None,))
    ticket_id, key = tu.open_ticket(**matching_fields(resolve))
    cancel = LIFECYCLE.cancel_request
    assert tu.patch(ticket_id, update_body(ticket_id, key, cancel)).status_code == 200
    (dropped,) = steps(client, ticketId=ticket_id, status="dropped")
    assert dropped["scenario"] == resolve.name and f"moved to {cancel}" in dropped["note"]
    advance(client, resolve.after_ms / 1000 + 1)
    assert ticket(client, ticket_id)["baseTroubleTicketState"] != "CLEARED"


def test_the_tu_breaking_its_silence_drops_the_auto_close_and_the_to_does_not(client: FlaskClient, tu: Api) -> None:
    auto_close = next(s for s in BOOK if s.unless_updated_by == "TU")
    spoken, _ = tu.ticket_in(auto_close.enters)
    silent, _ = tu.ticket_in(auto_close.enters)
    spoken_key = ticket(client, spoken)["mirrorKey"]
    assert (
        tu.patch(spoken, update_body(spoken, spoken_key, auto_close.enters, dialog="still broken?")).status_code == 200
    )
    assert (
        tu.transition(silent, {"baseTroubleTicketState": auto_close.enters, "dialog": "a TO note"}).status_code == 200
    )
    (dropped,) = steps(client, ticketId=spoken, status="dropped")
    assert "the TU updated the ticket" in dropped["note"]
    assert [s["status"] for s in steps(client, ticketId=silent)] == ["pending"]
    advance(client, auto_close.after_ms / 1000 + 1)
    assert ticket(client, spoken)["baseTroubleTicketState"] == auto_close.enters
    assert ticket(client, silent)["baseTroubleTicketState"] == auto_close.to


def test_one_advance_plays_a_whole_chain_each_move_at_its_due_time(client: FlaskClient, tu: Api) -> None:
    resolve = next(s for s in BOOK if s.to == "CLEARED" and s.sources == (None,))
    auto_close = next(s for s in BOOK if s.enters == resolve.to)
    ticket_id, _ = tu.open_ticket(**matching_fields(resolve))
    opened = parse_ms(ticket(client, ticket_id)["history"][0]["at"])
    fired = advance(client, (resolve.after_ms + auto_close.after_ms) / 1000 + 60)["fired"]
    assert [f["scenario"] for f in fired] == [resolve.name, auto_close.name]
    history = ticket(client, ticket_id)["history"]
    assert [(e["to"], parse_ms(e["at"]) - opened) for e in history[1:]] == [
        (resolve.to, resolve.after_ms),
        (auto_close.to, resolve.after_ms + auto_close.after_ms),
    ]


def test_a_seeded_history_starts_its_scenarios_when_it_is_seeded(client: FlaskClient) -> None:
    auto_close = next(s for s in BOOK if s.unless_updated_by == "TU")
    history = [
        {
            "side": "TO",
            "baseTroubleTicketState": auto_close.enters,
            "dialog": "fixed",
            "at": "2025-01-16T09:00:00Z",
            **CLOSE_OUT,
        }
    ]
    seeded = client.post("/_mock/tickets", json={"tenant": "TU-A", "history": history}).get_json()
    (step,) = steps(client, ticketId=seeded["ticketId"])
    now = parse_ms(client.get("/_mock/clock").get_json()["now"])
    assert 0 <= parse_ms(step["dueAt"]) - now <= auto_close.after_ms
    assert parse_ms(step["dueAt"]) - now > auto_close.after_ms - 60_000


def test_the_ticket_list_shows_each_tickets_scheduled_steps(client: FlaskClient, tu: Api) -> None:
    resolve = next(s for s in BOOK if s.to == "CLEARED" and s.sources == (None,))
    ticket_id, _ = tu.open_ticket(**matching_fields(resolve))
    (listed,) = client.get("/_mock/tickets").get_json()["tickets"]
    assert [s["scenario"] for s in listed["scheduled"]] == [resolve.name]
    assert ticket(client, ticket_id)["scheduled"] == listed["scheduled"]


@pytest.mark.parametrize(
    ("query", "named"), [("status=later", "status: one of"), ("colour=red", "unknown filter"), ("limit=0", "limit")]
)
def test_a_steps_filter_that_cannot_mean_anything_is_a_400(client: FlaskClient, query: str, named: str) -> None:
    answer = client.get(f"/_mock/steps?{query}")
    assert answer.status_code == 400 and named in answer.get_json()["illegalArgumentException"]


def test_the_scenarios_are_listed_as_read(client: FlaskClient) -> None:
    listed = client.get("/_mock/scenarios").get_json()
    assert listed["file"] == spec.SCENARIOS_PATH.name
    assert [s["name"] for s in listed["scenarios"]] == [s.name for s in BOOK]
    assert all(s["afterSeconds"] > 0 and s["then"]["to"] in LIFECYCLE.states for s in listed["scenarios"])
    # Which side's update cancels a pending step, as the file says (absent: none does).
    written = yaml.safe_load(spec.SCENARIOS_PATH.read_text())["scenarios"]
    assert [s["unlessUpdatedBy"] for s in listed["scenarios"]] == [w.get("unless_updated_by") for w in written]


# -- steps live in the store: a restart loses none, and each fires once whichever worker fires it --


def test_steps_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    resolve = next(s for s in BOOK if s.to == "CLEARED" and s.sources == (None,))
    first = create_app(MockConfig(db=db, jwt_secret=SECRET))
    api = Api(first.test_client(), "TU-A", LIFECYCLE)
    ticket_id, _ = api.open_ticket(**matching_fields(resolve))
    first.extensions["mockserver"].store.close()
    del first, api

    again = create_app(MockConfig(db=db, jwt_secret=SECRET)).test_client()
    assert [s["status"] for s in steps(again, ticketId=ticket_id)] == ["pending"]
    advance(again, resolve.after_ms / 1000)
    assert ticket(again, ticket_id)["baseTroubleTicketState"] == resolve.to


def test_each_step_fires_once_however_many_workers_race_for_it(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    resolve = next(s for s in BOOK if s.to == "CLEARED" and s.sources == (None,))
    workers: list[Flask] = [create_app(MockConfig(db=db, jwt_secret=SECRET)) for _ in range(3)]
    api = Api(workers[0].test_client(), "TU-A", LIFECYCLE)
    tickets = [api.open_ticket(**{**matching_fields(resolve), "mirrorKey": f"RACE-{n}"})[0] for n in range(25)]
    parts: list[MockParts] = [w.extensions["mockserver"] for w in workers]
    parts[0].to_side.clock.advance(resolve.after_ms)
    fired: list[dict[str, Any]] = []
    start = threading.Barrier(6)

    def race(part: MockParts) -> None:
        start.wait()
        fired.extend(part.to_side.scheduler.fire_due())

    threads = [threading.Thread(target=race, args=(parts[n % 3],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(f["ticketId"] for f in fired if f["status"] == "fired") == sorted(tickets)
    client = workers[1].test_client()
    for ticket_id in tickets:
        to_moves = [e for e in ticket(client, ticket_id)["history"] if e["side"] == "TO"]
        assert [e["to"] for e in to_moves] == [resolve.to]


# -- a scenario file is checked against the lifecycle at start-up ------------------------------------


FORBIDDEN_TO_EDGES = [
    (source, target)
    for source in LIFECYCLE.states
    for target in LIFECYCLE.states
    if not LIFECYCLE.allows(source, target, "TO")
]


def one(**overrides: Any) -> list[dict[str, Any]]:
    scenario: dict[str, Any] = {
        "name": "mine",
        "when": {"enters": LIFECYCLE.initial},
        "after": "1h",
        "then": {"to": "DEFERRED.AWAITING-INFORMATION", "dialog": "tell me more"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(scenario.get(key), dict):
            scenario[key] = {**scenario[key], **value}
        elif value is None:
            scenario.pop(key, None)
        else:
            scenario[key] = value
    return [scenario]


@pytest.mark.parametrize(("source", "target"), FORBIDDEN_TO_EDGES, ids=[f"{s}->{t}" for s, t in FORBIDDEN_TO_EDGES])
def test_a_scenario_taking_an_edge_the_to_may_not_is_refused_naming_it(source: str, target: str) -> None:
    fields = CLOSE_OUT if LIFECYCLE.requires_on_entry.get(target) else {}
    data = one(when={"enters": source}, then={"to": target, "fields": fields})
    with pytest.raises(ValueError) as refused:
        parse(data, CONTRACT, RULES, origin="my-scenarios.yaml")
    message = str(refused.value)
    assert message.startswith("my-scenarios.yaml: scenarios[0] (mine): then.to:")
    assert LIFECYCLE.refusal(source, target, "TO") in message


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (one(name=None), "name: every scenario has a name"),
        (
            one(whn={}),
            "whn is not a key here (one of name, meaning, when, after, unless_updated_by, then) (did you mean when?)",
        ),
        (one(when={"enters": "RESOLVED"}), "when.enters: one of"),
        (one(when={"from": "CLOSED"}), "the lifecycle has no edge from CLOSED to OPENACTIVE"),
        (one(when={"from": CREATED, "enters": "CLEARED"}, then={"to": "CLOSED"}), "a ticket is created in OPENACTIVE"),
        (one(when={"by": "ISP"}), "when.by: TU or TO"),
        (
            one(when={"match": {"troubelType": "x"}}),
            "troubelType is not a field of a ticket (did you mean troubleType?)",
        ),
        (one(when={"match": {"mirrorKey": {"endsWith": "x"}}}), "endsWith is not a key here"),
        (one(after="soon"), "after: a duration such as"),
        (one(unless_updated_by="TOU"), "unless_updated_by: TU or TO"),
        (one(then={"to": "CLEARED"}), "needs closeOutType, closeOutNarr, serviceRestoredTime"),
        (one(then={"dialog": None}), "then.dialog"),
        (one(then={"fields": {"colour": "red"}}), "colour is not a field of an update"),
        (one(then={"fields": {"customer": "now"}}), "'now' stands for a time"),
        (one(then={"dialog": "x" * 4001}), "the provider would refuse this move: dialog: at most 4000"),
        (one() + one(), "another scenario is named 'mine'"),
    ],
)
def test_a_scenario_mistake_is_refused_naming_the_scenario_and_the_problem(data: list[Any], named: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse(data, CONTRACT, RULES, origin="my-scenarios.yaml")
    assert "my-scenarios.yaml: scenarios[" in str(refused.value)
    assert named in str(refused.value)


def test_a_bad_scenario_file_stops_the_mock_at_start_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "scenarios.yaml"
    bad.write_text(yaml.safe_dump({"scenarios": one(when={"enters": "CLEARED"}, then={"to": "OPENACTIVE"})}))
    code = tt_mock(["serve", "--scenario", str(bad), "--db", str(tmp_path / "t.db"), "--port", "1"])
    assert code == 2
    error = capsys.readouterr().err
    assert "cannot start the mock" in error and "scenarios[0] (mine)" in error
    assert "only the TU moves a ticket from CLEARED to OPENACTIVE" in error


def test_a_to_that_never_moves_by_itself(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text("scenarios: []\n")
    client = create_app(MockConfig(jwt_secret=SECRET, scenario_path=quiet)).test_client()
    Api(client, "TU-A", LIFECYCLE).ticket_in("CLEARED")
    assert steps(client) == [] and advance(client, "1000h")["fired"] == []


def test_an_ordinary_ticket_meets_only_the_shipped_scenarios_without_conditions(client: FlaskClient, tu: Api) -> None:
    """Matching on fields lets integrators pick an outcome; the page's own example picks none of them."""
    ticket_id, _ = tu.open_ticket()
    assert steps(client, ticketId=ticket_id) == []
    for state in LIFECYCLE.states:
        expected = [s.name for s in BOOK if s.enters == state and not s.conditions]
        if not expected or LIFECYCLE.is_terminal(state):
            continue
        moved, _ = tu.ticket_in(state)
        assert [s["scenario"] for s in steps(client, ticketId=moved, status="pending")] == expected


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--role", "tu-mirror", "--scenario", "x.yaml"], "--scenario serve the TO (--role to), not a tu-mirror"),
        (["--role", "tu-mirror", "--mirror", "TU-A=http://127.0.0.1:9"], "--mirror serve the TO"),
        (["--mirror", "TU-A"], "--mirror takes TENANT=VALUE"),
        (["--mirror", "TU-A=ftp://127.0.0.1"], "url: an http:// or https:// URL"),
        (["--time-scale", "0"], "the time scale is above 0"),
    ],
)
def test_serving_options_that_cannot_work_exit_2_saying_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    assert tt_mock(["serve", "--db", str(tmp_path / "t.db"), "--port", "1", *args]) == 2
    assert named in capsys.readouterr().err


def test_the_scenarios_listed_say_what_each_does_as_the_file_writes_it(client: FlaskClient) -> None:
    listed = client.get("/_mock/scenarios").get_json()["scenarios"]
    written = yaml.safe_load(spec.SCENARIOS_PATH.read_text())["scenarios"]
    # then: the state the TO moves to, its dialog, the other fields of its move (none when the file gives none)
    assert [s["then"] for s in listed] == [{"fields": {}, **w["then"]} for w in written]
    assert any(s["then"]["fields"] for s in listed)  # the close-out fields of a move into CLEARED
    assert [s["meaning"] for s in listed] == [w["meaning"] for w in written]
    assert [s["when"]["enters"] for s in listed] == [w["when"]["enters"] for w in written]
    assert [parse_duration(s["after"]) for s in listed] == [parse_duration(w["after"]) for w in written]
    assert [s["afterSeconds"] * 1000 for s in listed] == [parse_duration(w["after"]) for w in written]
