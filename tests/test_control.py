"""The /_mock control API: health, reset, ticket history and the request journal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mockserver.journal import FileJournal, MemoryJournal
from tests.support import Api, create_body, token


def test_health(client: FlaskClient) -> None:
    health = client.get("/_mock/health").get_json()
    assert health["status"] == "ok" and health["now"].endswith("Z")


def test_reset_forgets_every_ticket(client: FlaskClient, tu: Api, tu_b: Api) -> None:
    a, _ = tu.open_ticket()
    tu_b.open_ticket()
    assert client.post("/_mock/reset").get_json() == {"deleted": 2, "tenant": None, "seeded": 0}
    assert tu.get(a).status_code == 404
    assert client.get("/_mock/tickets").get_json()["tickets"] == []


def test_reset_of_one_tenant_keeps_the_others(client: FlaskClient, tu: Api, tu_b: Api) -> None:
    a, _ = tu.open_ticket()
    b, _ = tu_b.open_ticket()
    assert client.post("/_mock/reset?tenant=TU-A").get_json()["deleted"] == 1
    assert tu.get(a).status_code == 404
    assert tu_b.get(b).status_code == 200


def test_tickets_lists_each_ticket_with_its_history(client: FlaskClient, tu: Api, tu_b: Api) -> None:
    ticket_id, _ = tu.ticket_in("CLEARED")
    tu_b.open_ticket()
    (listed,) = client.get("/_mock/tickets?tenant=TU-A").get_json()["tickets"]
    assert listed["ticketId"] == ticket_id and listed["tenant"] == "TU-A"
    assert [event["to"] for event in listed["history"]] == ["OPENACTIVE", "CLEARED"]
    assert len(client.get("/_mock/tickets").get_json()["tickets"]) == 2


def test_the_journal_shows_what_the_client_sent_newest_first(client: FlaskClient, tu: Api) -> None:
    tu.create(create_body(mirrorKey="ONV-J", colour="blue"))
    client.get("/troubleTicket/RED-1")  # no token
    entries = client.get("/_mock/journal").get_json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/troubleTicket/RED-1", 401),
        ("POST", "/troubleTicket", 201),
    ]
    created = entries[1]
    assert created["tenant"] == "TU-A"
    assert '"mirrorKey": "ONV-J"' in created["body"]
    assert created["response"] == {"ticketId": "RED-1", "mirrorKey": "ONV-J"}
    assert created["warnings"] == ["ignored unknown fields: colour"]
    assert token("TU-A") not in created["headers"]["Authorization"]
    assert created["headers"]["Authorization"].endswith("(sub=TU-A)")


def test_the_journal_filters_by_tenant_and_limit(client: FlaskClient, tu: Api, tu_b: Api) -> None:
    tu.open_ticket()
    tu_b.open_ticket()
    tu_b.open_ticket()
    assert len(client.get("/_mock/journal?limit=2").get_json()["requests"]) == 2
    assert [e["tenant"] for e in client.get("/_mock/journal?tenant=TU-A").get_json()["requests"]] == ["TU-A"]
    bad = client.get("/_mock/journal?limit=-1")
    assert bad.status_code == 400 and "limit" in bad.get_json()["illegalArgumentException"]


def test_the_journal_leaves_out_the_control_api(client: FlaskClient) -> None:
    client.get("/_mock/tickets")
    client.get("/openapi.json")
    assert client.get("/_mock/journal").get_json()["requests"] == []


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_the_journal_keeps_only_the_newest_entries(tmp_path: Path, kind: str) -> None:
    journal = MemoryJournal(10) if kind == "memory" else FileJournal(str(tmp_path / "j.journal"), 10)
    for n in range(500):  # enough for the file to rotate several times
        journal.record({"n": n, "tenant": "TU-A" if n % 2 else "TU-B"})
    assert [e["n"] for e in journal.newest()] == list(range(499, 489, -1))
    assert [e["n"] for e in journal.newest(limit=3, tenant="TU-A")] == [499, 497, 495]
    journal.clear()
    assert journal.newest() == []


def test_a_file_journal_is_shared_by_every_process_on_the_store(tmp_path: Path) -> None:
    path = str(tmp_path / "j.journal")
    FileJournal(path, 50).record({"n": "parent"})
    # A second worker process writing to the same journal.
    code = f"from mockserver.journal import FileJournal; FileJournal({path!r}, 50).record({{'n': 'child'}})"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {e["n"] for e in FileJournal(path, 50).newest()} == {"parent", "child"}


def test_an_entry_too_large_for_the_journal_is_shortened_not_lost(tmp_path: Path) -> None:
    journal = FileJournal(str(tmp_path / "j.journal"), 10)
    journal.record({"n": 1, "method": "POST", "path": "/troubleTicket", "body": "é" * 20000, "response": None})
    (entry,) = journal.newest()
    assert entry["method"] == "POST" and "too large" in entry["body"]
