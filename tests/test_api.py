"""The three operations as an integrator meets them: answers, stored state, errors and protocol."""

from __future__ import annotations

import hashlib
import json
import re

import jsonschema
import pytest
from flask.testing import FlaskClient

import spec
from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from tests.support import DOCUMENT, SECRET, Api, auth, create_body, multipart, update_body


def _response_schema(operation_id: str, status: str) -> dict:
    return spec.response_schema(DOCUMENT, operation_id, status)


# -- the seed page's own examples ------------------------------------------------------------


def test_the_seed_create_example_is_accepted_as_is(tu: Api) -> None:
    response = tu.create(spec.example(DOCUMENT, "createTroubleTicket"))
    assert response.status_code == 201
    assert response.get_json() == {"ticketId": "RED-1", "mirrorKey": "string"}


def test_the_seed_update_example_is_accepted_with_real_ids(tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    response = tu.patch(ticket_id, update_body(ticket_id, mirror_key))
    assert response.status_code == 200, response.get_json()
    # The page's own update example spells one key `mimetype`: ignored, and said so.
    assert "ignored unknown fields: attachments[1].mimetype" in response.headers.getlist("X-Mock-Warning")


def test_the_seed_get_sample_round_trips_as_stored_data(tu: Api) -> None:
    _, _, op = spec.operation(DOCUMENT, "getTroubleTicket")
    sample = op["responses"]["200"]["content"]["application/json"]["example"]
    body = create_body(
        mirrorKey=sample["mirrorKey"],
        dialog=sample["dialog"],
        troubleType=sample["troubleType"],
        troubleDescription=sample["troubleDescription"],
        troubleDetectionTime=sample["troubleDectectionTime"],
        troubledObject=sample["troubledObject"],
        customerTroubleNum=sample["customerTroubleNum"],
        wh1Parameter=sample["wh1Parameter"].lower(),  # the sample's "Red" is free text in a response only
        customer=str(sample["customer"]),
    )
    ticket_id, _ = tu.open_ticket(**body)
    stored = tu.get(ticket_id).get_json()
    expected = {**sample, "ticketId": ticket_id, "wh1Parameter": "red", "customer": "100"}
    assert stored == expected


# -- round trips -----------------------------------------------------------------------------


def test_create_then_get_returns_every_field_under_the_response_names(tu: Api) -> None:
    body = create_body()
    ticket_id, mirror_key = tu.open_ticket(**body)
    assert re.fullmatch(r"RED-[0-9]+", ticket_id) and len(ticket_id) <= 15
    answer = tu.get(ticket_id).get_json()
    jsonschema.validate(answer, _response_schema("getTroubleTicket", "200"))
    for name, prop in _response_schema("getTroubleTicket", "200")["properties"].items():
        source = prop.get("x-request-field", name)
        if source in body:
            assert answer[name] == body[source], name
    assert answer["troubleDectectionTime"] == body["troubleDetectionTime"]
    assert answer["baseTroubleTicketState"] == "OPENACTIVE"


def test_patch_answers_with_the_dialog_sent_and_stored_values(tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket(preferredPriority=2)
    response = tu.patch(ticket_id, update_body(ticket_id, mirror_key, dialog="new dialog", customer=250))
    assert response.status_code == 200
    answer = response.get_json()
    jsonschema.validate(answer, _response_schema("updateTroubleTicket", "200"))
    assert answer["dialog"] == "new dialog"
    assert answer["preferredPriority"] == "2"  # a string in the PATCH answer, as the page shows
    assert answer["ticketId"] == ticket_id
    stored = tu.get(ticket_id).get_json()
    assert stored["dialog"] == "new dialog"
    assert stored["customer"] == 250  # the update's integer replaces the create's string
    assert stored["preferredPriority"] == 2


def test_ticket_ids_follow_the_sequence(tu: Api) -> None:
    assert [tu.open_ticket()[0] for _ in range(3)] == ["RED-1", "RED-2", "RED-3"]


@pytest.mark.parametrize("ticket_id", ["RED-0001", "red-1", "RED-1 ", "1", "RED-١", "RED-99999999999999"])
def test_ids_the_mock_never_issued_are_not_found(tu: Api, ticket_id: str) -> None:
    tu.open_ticket()
    response = tu.get(ticket_id)
    assert response.status_code == 404
    assert list(response.get_json()) == ["objectNotFoundException"]


def test_get_of_an_unknown_ticket_is_404_and_patch_is_400(tu: Api) -> None:
    assert tu.get("RED-77").status_code == 404
    response = tu.patch("RED-77", update_body("RED-77", "ONV-1"))
    assert response.status_code == 400
    assert response.get_json() == {"objectNotFoundException": "trouble ticket RED-77 not found"}


def test_body_ticket_id_must_equal_the_path(tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    other, _ = tu.open_ticket()
    response = tu.patch(ticket_id, update_body(other, mirror_key))
    assert response.status_code == 400
    assert response.get_json()["illegalArgumentException"].startswith("ticketId:")


def test_body_mirror_key_must_be_the_tickets(tu: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    response = tu.patch(ticket_id, update_body(ticket_id, "ONV-other"))
    assert response.status_code == 400
    assert response.get_json()["illegalArgumentException"].startswith("mirrorKey:")


def test_a_long_create_mirror_key_cannot_be_updated_and_the_mock_warns(tu: Api) -> None:
    """255 characters on create, 15 on update: both limits hold, as the page writes them."""
    created = tu.create(create_body(mirrorKey="M" * 16))
    assert "this ticket can never be updated" in created.headers["X-Mock-Warning"]
    ticket_id, mirror_key = created.get_json()["ticketId"], "M" * 16
    response = tu.patch(ticket_id, update_body(ticket_id, mirror_key))
    assert response.status_code == 400
    assert "mirrorKey: at most 15 characters" in response.get_json()["illegalArgumentException"]


def test_a_refused_update_changes_nothing(tu: Api, parts: MockParts) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    before = parts.service.history()
    response = tu.patch(ticket_id, update_body(ticket_id, mirror_key, "CLOSED", dialog="sneaky", customer=9))
    assert response.status_code == 400
    assert parts.service.history() == before


def test_unknown_fields_are_ignored_and_not_stored(tu: Api) -> None:
    response = tu.create(create_body(colour="blue"))
    assert response.status_code == 201
    assert response.headers.getlist("X-Mock-Warning") == ["ignored unknown fields: colour"]
    assert "colour" not in tu.get(response.get_json()["ticketId"]).get_json()


def test_an_empty_string_is_a_value(tu: Api) -> None:
    assert tu.create(create_body(dialog="", troubleType="")).status_code == 201


# -- bodies the mock refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{", "the body is not valid JSON"),
        (b"", "the body is not valid JSON"),
        (b"[1, 2]", "the body must be a JSON object, got array"),
        (b'"text"', "the body must be a JSON object, got string"),
        (b'{"preferredPriority": NaN}', "NaN is not a JSON value"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"dialog": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"dialog": "\xff\xfe"}', "the body is not valid JSON"),
    ],
)
def test_malformed_json_is_a_400_naming_the_problem(tu: Api, raw: bytes, fragment: str) -> None:
    response = tu.client.post("/troubleTicket", data=raw, headers=tu.headers, content_type="application/json")
    assert response.status_code == 400
    assert fragment in response.get_json()["illegalArgumentException"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_other_media_types_get_415(tu: Api, content_type: str | None, method: str) -> None:
    ticket_id, _ = tu.open_ticket()
    path = "/troubleTicket" if method == "post" else f"/troubleTicket/{ticket_id}"
    headers = dict(tu.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = getattr(tu.client, method)(path, data=json.dumps(create_body()), headers=headers)
    assert response.status_code == 415
    assert "application/json or multipart/form-data" in response.get_json()["illegalArgumentException"]


def test_json_with_a_charset_parameter_is_json(tu: Api) -> None:
    headers = {**tu.headers, "Content-Type": "application/json; charset=utf-8"}
    assert tu.client.post("/troubleTicket", data=json.dumps(create_body()), headers=headers).status_code == 201


@pytest.fixture
def small_app() -> FlaskClient:
    return create_app(MockConfig(jwt_secret=SECRET, max_body_bytes=2048)).test_client()


@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_a_body_over_the_limit_gets_413_and_the_mock_carries_on(small_app: FlaskClient, encoding: str) -> None:
    headers = auth("TU-A")
    big = create_body(dialog="x" * 3000)
    if encoding == "json":
        response = small_app.post("/troubleTicket", json=big, headers=headers)
    else:
        response = small_app.post(
            "/troubleTicket", data=multipart(big), headers=headers, content_type="multipart/form-data"
        )
    assert response.status_code == 413
    assert "at most 2048" in response.get_json()["illegalArgumentException"]
    assert small_app.post("/troubleTicket", json=create_body(), headers=headers).status_code == 201


# -- the order of checks ---------------------------------------------------------------------


def test_authentication_is_checked_before_the_media_type(client: FlaskClient) -> None:
    assert client.post("/troubleTicket", data="x", content_type="text/plain").status_code == 401


def test_the_media_type_is_checked_before_the_size(small_app: FlaskClient) -> None:
    response = small_app.post("/troubleTicket", data="x" * 5000, headers=auth("TU-A"), content_type="text/plain")
    assert response.status_code == 415


def test_the_schema_is_checked_before_the_tickets_existence(tu: Api) -> None:
    response = tu.patch("RED-404", {"ticketId": "RED-404"})
    assert response.get_json() == {
        "illegalArgumentException": "required fields: baseTroubleTicketState,mirrorKey,dialog"
    }


def test_existence_is_checked_before_the_ids_and_the_lifecycle(tu: Api) -> None:
    response = tu.patch("RED-404", update_body("RED-1", "nope", "CLOSED"))
    assert list(response.get_json()) == ["objectNotFoundException"]


# -- multipart -------------------------------------------------------------------------------


def _stored_files(parts: MockParts, ticket_id: str) -> list[dict]:
    (ticket,) = [t for t in parts.service.history() if t["ticketId"] == ticket_id]
    return [file for event in ticket["history"] for file in event["attachments"]]


def test_multipart_create_stores_the_raw_bytes_of_each_attachment_part(tu: Api, parts: MockParts) -> None:
    files = [
        (b"\x00\x01binary\xff", "trace.pcap", "application/vnd.tcpdump.pcap"),
        (b"hello", "note.txt", "text/plain"),
    ]
    response = tu.client.post("/troubleTicket", data=multipart(create_body(attachments=[]), files), headers=tu.headers)
    assert response.status_code == 201, response.get_json()
    stored = _stored_files(parts, response.get_json()["ticketId"])
    assert [(f["name"], f["mimeType"], f["size"]) for f in stored] == [
        ("trace.pcap", "application/vnd.tcpdump.pcap", len(files[0][0])),
        ("note.txt", "text/plain", 5),
    ]
    assert stored[0]["sha256"] == hashlib.sha256(files[0][0]).hexdigest()
    download = tu.client.get(f"/_mock/tickets/{response.get_json()['ticketId']}/attachments/{stored[0]['id']}")
    assert download.data == files[0][0]


def test_multipart_update_takes_parts_named_attachments(tu: Api, parts: MockParts) -> None:
    ticket_id, mirror_key = tu.open_ticket(attachments=[])
    data = multipart(
        update_body(ticket_id, mirror_key, attachments=[]), [(b"log", "a.log", "text/plain")], "attachments"
    )
    response = tu.client.patch(f"/troubleTicket/{ticket_id}", data=data, headers=tu.headers)
    assert response.status_code == 200, response.get_json()
    assert [f["name"] for f in _stored_files(parts, ticket_id)] == ["a.log"]


def test_a_part_named_for_the_other_operation_is_ignored_and_said_so(tu: Api, parts: MockParts) -> None:
    data = multipart(create_body(attachments=[]), [(b"x", "x.txt", "text/plain")], "attachments")
    response = tu.client.post("/troubleTicket", data=data, headers=tu.headers)
    assert response.status_code == 201
    assert _stored_files(parts, response.get_json()["ticketId"]) == []
    assert "ignored multipart part 'attachments'" in response.headers["X-Mock-Warning"]


def test_json_and_multipart_attachments_are_both_kept(tu: Api, parts: MockParts) -> None:
    body = create_body(attachments=[{"content": "aGk=", "name": "embedded.txt"}])
    response = tu.client.post("/troubleTicket", data=multipart(body, [(b"raw", "part.bin", "x/y")]), headers=tu.headers)
    assert [f["name"] for f in _stored_files(parts, response.get_json()["ticketId"])] == ["embedded.txt", "part.bin"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "required fields: data"),
        ("null", "required fields: data"),
        ("{not json", "the 'data' part is not valid JSON"),
    ],
)
def test_multipart_needs_a_json_data_part(tu: Api, data: str | None, message: str) -> None:
    payload = {"other": "x"} if data is None else {"data": data}
    response = tu.client.post("/troubleTicket", data=payload, headers=tu.headers, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["illegalArgumentException"].startswith(message)


def test_a_data_part_sent_as_a_file_is_read_too(tu: Api) -> None:
    import io

    payload = {"data": (io.BytesIO(json.dumps(create_body()).encode()), "data.json", "application/json")}
    assert tu.client.post("/troubleTicket", data=payload, headers=tu.headers).status_code == 201


# -- protocol --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/troubleTicket/RED-1", "GET, HEAD, OPTIONS, PATCH"),
        ("PUT", "/troubleTicket/RED-1", "GET, HEAD, OPTIONS, PATCH"),
        ("POST", "/troubleTicket/RED-1", "GET, HEAD, OPTIONS, PATCH"),
        ("GET", "/troubleTicket", "OPTIONS, POST"),
        ("PATCH", "/troubleTicket", "OPTIONS, POST"),
        ("TRACE", "/troubleTicket", "OPTIONS, POST"),
    ],
)
def test_other_methods_get_405_with_allow(client: FlaskClient, method: str, path: str, allowed: str) -> None:
    response = client.open(path, method=method, headers=auth("TU-A"))
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert list(response.get_json()) == ["illegalArgumentException"]


@pytest.mark.parametrize("path", ["/", "/troubleTicket/", "/troubleTickets", "/troubleTicket/RED-1/extra", "/x%00y"])
def test_other_paths_get_a_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=auth("TU-A"))
    assert response.status_code == 404
    assert list(response.get_json()) == ["objectNotFoundException"]


def test_head_answers_as_get_without_a_body(tu: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    response = tu.client.head(f"/troubleTicket/{ticket_id}", headers=tu.headers)
    assert response.status_code == 200
    assert response.data == b""
    assert int(response.headers["Content-Length"]) == len(tu.get(ticket_id).data)


def test_options_lists_the_methods_without_a_token(client: FlaskClient) -> None:
    response = client.options("/troubleTicket/RED-1")
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PATCH"}


@pytest.mark.parametrize("path", ["/openapi.yaml", "/openapi.json"])
def test_the_spec_is_served(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    served = json.loads(response.data) if path.endswith(".json") else __import__("yaml").safe_load(response.data)
    assert served == DOCUMENT
