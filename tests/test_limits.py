"""Every field limit, required field, enum, range and date-time rule, derived from the spec.

Nothing here lists a field: the cases come from the request schemas, so a limit changed in
spec/openapi.yaml changes what these tests expect. Each case runs as JSON and as multipart.
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

import spec
from contracts.samples import INVALID_DATE_TIMES, LOWER_CASE_DATE_TIMES, VALID_DATE_TIMES, near_misses
from spec.contract import text_of_length
from tests.support import DOCUMENT, Api, create_body, multipart, update_body

CREATE = spec.request_schema(DOCUMENT, "createTroubleTicket", spec.JSON)
UPDATE = spec.request_schema(DOCUMENT, "updateTroubleTicket", spec.JSON)
SCHEMAS = {"create": CREATE, "update": UPDATE}
ENCODINGS = ["json", "multipart"]
FILE_PART = {"create": "attachment", "update": "attachments"}


def _cases(keyword: str) -> list[tuple[str, str]]:
    return [
        (operation, name)
        for operation, schema in SCHEMAS.items()
        for name, prop in schema["properties"].items()
        if keyword in prop
    ]


class Sender:
    """Sends a create or an update to the mock, as JSON or multipart."""

    def __init__(self, tu: Api, operation: str, encoding: str) -> None:
        self.tu, self.operation, self.encoding = tu, operation, encoding
        self.ticket_id, self.mirror_key = ("", "")
        if operation == "update":
            self.ticket_id, self.mirror_key = tu.open_ticket()

    def valid_body(self) -> dict[str, Any]:
        if self.operation == "create":
            return create_body()
        return update_body(self.ticket_id, self.mirror_key)

    def send(self, body: dict[str, Any]) -> TestResponse:
        path = "/troubleTicket" if self.operation == "create" else f"/troubleTicket/{self.ticket_id}"
        method = self.tu.client.post if self.operation == "create" else self.tu.client.patch
        if self.encoding == "json":
            return method(path, json=body, headers=self.tu.headers)
        return method(path, data=multipart(body), headers=self.tu.headers, content_type="multipart/form-data")

    def expect_accepted(self, body: dict[str, Any]) -> None:
        response = self.send(body)
        assert response.status_code == (201 if self.operation == "create" else 200), response.get_json()

    def expect_rejected(self, body: dict[str, Any], *fragments: str) -> str:
        response = self.send(body)
        assert response.status_code == 400, response.get_json()
        message = response.get_json()["illegalArgumentException"]
        for fragment in fragments:
            assert fragment in message
        return message


@pytest.fixture(params=ENCODINGS)
def encoding(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize(
    ("operation", "name"),
    # An enum member's length is fixed by the enum: those are tested by the enum tests below.
    [(op, name) for op, name in _cases("maxLength") if "enum" not in SCHEMAS[op]["properties"][name]],
)
def test_string_at_its_max_length_passes_validation(tu: Api, encoding: str, operation: str, name: str) -> None:
    prop = SCHEMAS[operation]["properties"][name]
    sender = Sender(tu, operation, encoding)
    value = text_of_length(prop, prop["maxLength"])
    assert len(value) == prop["maxLength"]
    if operation == "update" and name == "mirrorKey":
        sender.ticket_id, sender.mirror_key = tu.open_ticket(mirrorKey=value)
    if operation == "update" and name == "ticketId":
        # No ticket has a 15-character id yet: the request passes the schema and reaches the lookup.
        sender.ticket_id = value
        response = sender.send(sender.valid_body())
        assert response.status_code == 400
        assert list(response.get_json()) == ["objectNotFoundException"]
        return
    sender.expect_accepted({**sender.valid_body(), name: value})


@pytest.mark.parametrize(("operation", "name"), _cases("maxLength"))
def test_string_over_its_max_length_is_rejected(tu: Api, encoding: str, operation: str, name: str) -> None:
    prop = SCHEMAS[operation]["properties"][name]
    sender = Sender(tu, operation, encoding)
    value = text_of_length(prop, prop["maxLength"] + 1)
    sender.expect_rejected({**sender.valid_body(), name: value}, f"{name}: at most {prop['maxLength']} characters")


@pytest.mark.parametrize(
    ("operation", "name"), [(op, name) for op, schema in SCHEMAS.items() for name in schema["required"]]
)
@pytest.mark.parametrize("absence", ["missing", "null"])
def test_required_field_absent_or_null_is_named(
    tu: Api, encoding: str, operation: str, name: str, absence: str
) -> None:
    sender = Sender(tu, operation, encoding)
    body = sender.valid_body()
    if absence == "missing":
        del body[name]
    else:
        body[name] = None
    message = sender.expect_rejected(body)
    assert message == f"required fields: {name}"


@pytest.mark.parametrize("operation", SCHEMAS)
def test_all_required_fields_missing_are_named_in_table_order(tu: Api, encoding: str, operation: str) -> None:
    sender = Sender(tu, operation, encoding)
    message = sender.expect_rejected({"unrelated": 1})
    assert message == "required fields: " + ",".join(spec.required_in_order(SCHEMAS[operation]))


def test_the_seed_error_example_is_what_a_sparse_update_gets(tu: Api) -> None:
    """The page's example message, reproduced exactly: the first three fields missing."""
    sender = Sender(tu, "update", "json")
    body = {"ticketId": sender.ticket_id}
    _, _, op = spec.operation(DOCUMENT, "updateTroubleTicket")
    seed_message = spec.resolve(op["responses"]["400"], DOCUMENT)["content"]["application/json"]["example"]
    assert sender.expect_rejected(body) == seed_message["illegalArgumentException"]


@pytest.mark.parametrize(("operation", "name"), _cases("enum"))
def test_enum_near_misses_are_rejected(tu: Api, encoding: str, operation: str, name: str) -> None:
    sender = Sender(tu, operation, encoding)
    for member in SCHEMAS[operation]["properties"][name]["enum"]:
        for miss in near_misses(member):
            sender.expect_rejected({**sender.valid_body(), name: miss}, f"{name}: must be one of")


@pytest.mark.parametrize(("operation", "name"), [(op, n) for op, n in _cases("enum") if op == "create"])
def test_every_create_enum_member_is_accepted(tu: Api, encoding: str, operation: str, name: str) -> None:
    sender = Sender(tu, operation, encoding)
    for member in SCHEMAS[operation]["properties"][name]["enum"]:
        sender.expect_accepted({**sender.valid_body(), name: member})


@pytest.mark.parametrize(("operation", "name"), _cases("minimum"))
def test_integer_range_ends(tu: Api, encoding: str, operation: str, name: str) -> None:
    prop = SCHEMAS[operation]["properties"][name]
    sender = Sender(tu, operation, encoding)
    for value in range(prop["minimum"], prop["maximum"] + 1):
        sender.expect_accepted({**sender.valid_body(), name: value})
    sender.expect_rejected({**sender.valid_body(), name: prop["minimum"] - 1}, f"{name}: must be at least")
    sender.expect_rejected({**sender.valid_body(), name: prop["maximum"] + 1}, f"{name}: must be at most")


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        (op, name)
        for op, schema in SCHEMAS.items()
        for name, prop in schema["properties"].items()
        if prop.get("type") == "integer"
    ],
)
@pytest.mark.parametrize("wrong", ["1", True, 1.5, None])
def test_integers_are_strict(tu: Api, operation: str, name: str, wrong: Any) -> None:
    sender = Sender(tu, operation, "json")
    body = {**sender.valid_body(), name: wrong}
    if wrong is None and name not in SCHEMAS[operation]["required"]:
        sender.expect_rejected(body, f"{name}: must be of type integer, got null")
    elif wrong is None:
        assert sender.expect_rejected(body) == f"required fields: {name}"
    else:
        sender.expect_rejected(body, f"{name}: must be of type integer")


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        (op, name)
        for op, schema in SCHEMAS.items()
        for name, prop in schema["properties"].items()
        if prop.get("format") == "date-time"
    ],
)
def test_date_times(tu: Api, encoding: str, operation: str, name: str) -> None:
    sender = Sender(tu, operation, encoding)
    limit = SCHEMAS[operation]["properties"][name].get("maxLength", 64)
    for valid in (*VALID_DATE_TIMES, *LOWER_CASE_DATE_TIMES):  # the mock takes RFC 3339's lower case too
        if len(valid) <= limit:
            sender.expect_accepted({**sender.valid_body(), name: valid})
    for invalid in INVALID_DATE_TIMES:
        sender.expect_rejected({**sender.valid_body(), name: invalid}, f"{name}: must be an RFC 3339 date-time")


@pytest.mark.parametrize("operation", SCHEMAS)
@pytest.mark.parametrize(
    ("content", "accepted"),
    [
        ("ZmlsZSBudW1iZXIgMQ==", True),
        ("ZmlsZSBudW1iZXIgMQ", True),
        ("string", True),
        ("", True),
        ("Zm9v!", False),
        ("Zm9vY", False),
        ("Zm9v YmFy", False),
        ("Zg=", False),
        ("Zm9v=", False),
    ],
)
def test_attachment_content_must_be_base64(tu: Api, operation: str, content: str, accepted: bool) -> None:
    sender = Sender(tu, operation, "json")
    body = {**sender.valid_body(), "attachments": [{"content": content, "name": "f.txt", "mimeType": "text/plain"}]}
    if accepted:
        sender.expect_accepted(body)
    else:
        sender.expect_rejected(body, "attachments[0].content: must be standard base64")


@pytest.mark.parametrize("operation", SCHEMAS)
@pytest.mark.parametrize("missing", ["content", "name"])
def test_attachment_required_fields_are_named_with_their_path(tu: Api, operation: str, missing: str) -> None:
    sender = Sender(tu, operation, "json")
    item = {"content": "Zm9v", "name": "f.txt"}
    del item[missing]
    body = {**sender.valid_body(), "attachments": [{"content": "Zm9v", "name": "ok"}, item]}
    assert sender.expect_rejected(body) == f"required fields: attachments[1].{missing}"


@pytest.mark.parametrize("operation", SCHEMAS)
def test_several_violations_are_all_named_in_table_order(tu: Api, operation: str) -> None:
    sender = Sender(tu, operation, "json")
    body = sender.valid_body()
    names = [n for n, p in SCHEMAS[operation]["properties"].items() if "maxLength" in p and "enum" not in p][-2:]
    for name in names:
        prop = SCHEMAS[operation]["properties"][name]
        body[name] = text_of_length(prop, prop["maxLength"] + 5)
    message = sender.expect_rejected(body)
    assert [part.split(":")[0] for part in message.split("; ")] == names


@pytest.mark.parametrize(("operation", "name"), [(op, n) for op, n in _cases("minimum")])
def test_an_integral_float_is_kept_as_an_integer(tu: Api, operation: str, name: str) -> None:
    """JSON Schema counts 3.0 as an integer; the mock stores and answers it as 3."""
    ticket_id, mirror_key = tu.open_ticket(**{name: float(SCHEMAS[operation]["properties"][name]["maximum"])})
    stored = tu.get(ticket_id).get_json()[name]
    assert stored == SCHEMAS[operation]["properties"][name]["maximum"] and isinstance(stored, int)
    answer = tu.patch(ticket_id, update_body(ticket_id, mirror_key)).get_json()
    assert answer[name] == str(stored)
