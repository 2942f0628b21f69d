"""The reference TU mirror (`tt-mock serve --role tu-mirror`) and the mirror's spec it serves.

The mirror suite proves the mirror's contract rule by rule (test_mirror_suite.py); these check the
parts only the reference has: its TU hook, its listing, the spec it serves, and the derivation
of spec/mirror.yaml from openapi.yaml. Under a second.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from openapi_spec_validator import validate

import spec
from mockserver import MockConfig
from mockserver.tu_mirror import create_mirror_app
from spec.catalogue import Catalogue
from spec.contract import Contract
from spec.mirror import MirrorContract, load_document
from tests.support import SECRET, auth

MIRROR = MirrorContract.load()
NAMES = MIRROR.names


@pytest.fixture
def mirror() -> FlaskClient:
    return create_mirror_app(MockConfig(role="tu-mirror", jwt_secret=SECRET)).test_client()


def open_ticket(mirror: FlaskClient, key: str = "ONV-1", ticket_id: str = "RED-1", **fields: Any) -> Any:
    return mirror.post("/_mock/troubleTicket", json={NAMES.mirror_key: key, NAMES.ticket_id: ticket_id, **fields})


def patch(mirror: FlaskClient, key: str, state: str, **fields: Any) -> Any:
    body = {NAMES.state: state, NAMES.ticket_id: "RED-1", NAMES.mirror_key: key, NAMES.dialog: "from the TO", **fields}
    return mirror.patch(MIRROR.ticket_path(key), json=body, headers=auth("TO"))


def test_a_ticket_the_tu_opened_reads_back_with_the_tos_id(mirror: FlaskClient) -> None:
    opened = open_ticket(mirror, troubleType="FTTH_X", preferredPriority=2)
    assert opened.status_code == 201
    shown = mirror.get(MIRROR.ticket_path("ONV-1"), headers=auth("TO")).get_json()
    assert shown == {
        NAMES.ticket_id: "RED-1",
        NAMES.mirror_key: "ONV-1",
        NAMES.state: MIRROR.lifecycle.initial,
        "troubleType": "FTTH_X",
        "preferredPriority": 2,
    }


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({NAMES.ticket_id: "RED-1"}, f"required fields: {NAMES.mirror_key}"),
        ({NAMES.mirror_key: "K" * 16, NAMES.ticket_id: "RED-1"}, "at most 15 characters"),
        ({NAMES.mirror_key: "ONV-2", NAMES.ticket_id: "RED-1", "preferredPriority": "high"}, "must be of type integer"),
    ],
)
def test_a_ticket_the_hook_cannot_open_is_a_400(mirror: FlaskClient, body: dict[str, Any], named: str) -> None:
    answer = mirror.post("/_mock/troubleTicket", json=body)
    assert answer.status_code == 400 and named in answer.get_json()[MIRROR.errors.illegal_argument]


def test_a_mirror_key_opens_one_ticket(mirror: FlaskClient) -> None:
    assert open_ticket(mirror).status_code == 201
    again = open_ticket(mirror, ticket_id="RED-2")
    assert again.status_code == 400 and "already" in again.get_json()[MIRROR.errors.illegal_argument]


def test_the_tu_moves_its_own_ticket_only_along_its_own_edges(mirror: FlaskClient) -> None:
    open_ticket(mirror)
    cancel = MIRROR.lifecycle.cancel_request
    moved = mirror.post("/_mock/troubleTicket/ONV-1/transition", json={NAMES.state: cancel, NAMES.dialog: "cancel"})
    assert moved.status_code == 200 and moved.get_json()[NAMES.state] == cancel
    to_edge = next(t for t in MIRROR.lifecycle.transitions if t.source == cancel and t.side == "TO")
    refused = mirror.post(
        "/_mock/troubleTicket/ONV-1/transition", json={NAMES.state: to_edge.target, NAMES.dialog: "x"}
    )
    assert refused.status_code == 400
    assert (
        f"only the TO moves a ticket from {cancel} to {to_edge.target}"
        in refused.get_json()[MIRROR.errors.illegal_argument]
    )
    assert patch(mirror, "ONV-1", to_edge.target).status_code == 200


def test_the_listing_shows_what_the_to_sent_and_who_moved_it(mirror: FlaskClient) -> None:
    open_ticket(mirror)
    patch(mirror, "ONV-1", "DEFERRED.AWAITING-INFORMATION")
    patch(mirror, "ONV-1", "CLOSED")  # refused: not recorded
    (listed,) = mirror.get("/_mock/tickets").get_json()["tickets"]
    assert [(e["side"], e["to"]) for e in listed["history"]] == [
        ("TU", "OPENACTIVE"),
        ("TO", "DEFERRED.AWAITING-INFORMATION"),
    ]
    assert listed["history"][1]["actor"] == "TO (TO)" and listed["history"][1]["dialog"] == "from the TO"
    assert mirror.get("/_mock/tickets/ONV-404").status_code == 404
    assert [r["status"] for r in mirror.get("/_mock/journal?method=PATCH&order=oldest").get_json()["requests"]] == [
        200,
        400,
    ]
    assert mirror.post("/_mock/reset").get_json() == {"deleted": 1}
    assert mirror.get("/_mock/tickets").get_json()["tickets"] == []


def test_it_serves_its_spec_whole_and_valid(mirror: FlaskClient) -> None:
    served = mirror.get("/openapi.json").get_json()
    assert "openapi.yaml#" not in str(served)  # the references into the provider's spec are inlined
    validate(served)
    assert yaml.safe_load(mirror.get("/openapi.yaml").get_data(as_text=True)) == served


def test_the_mirror_spec_follows_a_limit_changed_in_the_providers(tmp_path: Path) -> None:
    """Derived, not copied: edit openapi.yaml beside mirror.yaml and the mirror's limit moves with it."""
    for name in ("openapi.yaml", "mirror.yaml", "lifecycle.yaml", "rules.yaml", "mirror-rules.yaml"):
        shutil.copy(spec.SPEC_DIR / name, tmp_path / name)
    document = yaml.safe_load((tmp_path / "openapi.yaml").read_text())
    document["components"]["schemas"]["UpdateTroubleTicket"]["properties"]["dialog"]["maxLength"] = 999
    (tmp_path / "openapi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    adapted = MirrorContract.load(tmp_path / "mirror.yaml")
    assert adapted.update.max_length(NAMES.dialog) == 999
    assert Catalogue.build(adapted)["update.dialog.maxLength"].text.endswith("at most 999 characters")


def test_the_mirrors_rules_are_the_providers_update_rules_and_the_to_sides_edges() -> None:
    mirror, provider = Catalogue.build(MIRROR), Catalogue.build(Contract.load())
    update_rules = {r.id for r in provider if r.id.startswith("update.")}
    assert update_rules <= {r.id for r in mirror}
    assert {r.id for r in mirror if r.id.startswith("lifecycle.TU.")} == set()
    assert {r.id for r in mirror if r.id.startswith("lifecycle.TO.")} == {
        r.id for r in provider if r.id.startswith("lifecycle.TO.")
    }
    assert not {r.id for r in mirror if r.id.startswith(("create.", "tenancy."))}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda text: text.replace("UpdateTroubleTicket/properties/mirrorKey", "Nothing/here"), "points at nothing"),
        (lambda text: text.replace("  sides: [TO]", "  sides: [ISP]"), "x-contract.sides"),
    ],
)
def test_a_mirror_spec_that_cannot_be_read_says_why(tmp_path: Path, change: Any, named: str) -> None:
    for name in ("openapi.yaml", "lifecycle.yaml"):
        shutil.copy(spec.SPEC_DIR / name, tmp_path / name)
    (tmp_path / "mirror.yaml").write_text(change(spec.MIRROR_PATH.read_text()))
    with pytest.raises(ValueError, match=named):
        MirrorContract.load(tmp_path / "mirror.yaml")


def test_a_rules_file_that_inherits_a_rule_the_other_lacks_says_which(tmp_path: Path) -> None:
    for name in ("openapi.yaml", "mirror.yaml", "lifecycle.yaml", "rules.yaml"):
        shutil.copy(spec.SPEC_DIR / name, tmp_path / name)
    rules = spec.SPEC_DIR.joinpath("mirror-rules.yaml").read_text().replace("- http.head\n", "- http.teapot\n")
    (tmp_path / "mirror-rules.yaml").write_text(rules)
    with pytest.raises(ValueError, match="inherits rules rules.yaml does not list: http.teapot"):
        Catalogue.build(MirrorContract.load(tmp_path / "mirror.yaml"))
    assert load_document(tmp_path / "mirror.yaml")["info"]["x-derived-from"] == "openapi.yaml"


@pytest.mark.parametrize(
    ("changed", "rule"),
    [({NAMES.mirror_key: "ONV-2"}, "ids.path-body-match"), ({NAMES.ticket_id: "RED-2"}, "ids.ticket-id-match")],
)
def test_an_update_whose_ids_disagree_is_a_400_naming_the_rule(
    mirror: FlaskClient, changed: dict[str, str], rule: str
) -> None:
    open_ticket(mirror)
    refused = patch(mirror, "ONV-1", "DEFERRED.AWAITING-INFORMATION", **changed)
    assert refused.status_code == 400
    ((name, value),) = changed.items()
    message = refused.get_json()[MIRROR.errors.illegal_argument]
    assert name in message and value in message
    (entry,) = mirror.get("/_mock/journal?method=PATCH").get_json()["requests"]
    assert entry["rules"] == [rule]
    assert mirror.get("/_mock/tickets/ONV-1").get_json()["history"][-1]["side"] == "TU"  # nothing moved
