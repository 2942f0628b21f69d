"""The spec is valid OpenAPI and agrees with the lifecycle table and the seed page."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

import spec
from spec import lifecycle as lifecycle_module
from tests.support import DOCUMENT, LIFECYCLE_STATES


def test_spec_is_valid_openapi() -> None:
    document, _ = read_from_filename(str(spec.OPENAPI_PATH))
    validate(document)


def test_spec_points_at_the_lifecycle_file() -> None:
    assert (spec.SPEC_DIR / DOCUMENT["info"]["x-lifecycle"]).resolve() == spec.LIFECYCLE_PATH


def test_lifecycle_states_equal_the_spec_state_enum() -> None:
    assert set(lifecycle_module.load().states) == set(LIFECYCLE_STATES)
    assert len(LIFECYCLE_STATES) == len(set(LIFECYCLE_STATES))


def test_lifecycle_initial_state_is_the_only_create_state() -> None:
    create = spec.request_schema(DOCUMENT, "createTroubleTicket", spec.JSON)
    assert create["properties"]["baseTroubleTicketState"]["enum"] == [lifecycle_module.load().initial]


def test_close_out_fields_required_on_entry_exist_in_the_update_schema() -> None:
    update = spec.request_schema(DOCUMENT, "updateTroubleTicket", spec.JSON)
    for fields in lifecycle_module.load().requires_on_entry.values():
        assert set(fields) <= set(update["properties"])


@pytest.mark.parametrize("name", ["CreateTroubleTicket", "UpdateTroubleTicket"])
def test_required_fields_are_listed_in_property_order(name: str) -> None:
    """`required fields:` messages follow the schema's order; keep the two lists in step."""
    schema = DOCUMENT["components"]["schemas"][name]
    assert schema["required"] == spec.required_in_order(schema)


@pytest.mark.parametrize(
    ("operation_id", "schema_name"),
    [("createTroubleTicket", "CreateTroubleTicket"), ("updateTroubleTicket", "UpdateTroubleTicket")],
)
def test_request_examples_obey_their_schemas(operation_id: str, schema_name: str) -> None:
    schema = spec.resolve(DOCUMENT["components"]["schemas"][schema_name], DOCUMENT)
    jsonschema.validate(spec.example(DOCUMENT, operation_id), schema)


def test_seed_update_placeholder_breaks_the_ticket_id_limit() -> None:
    """Why the spec's PATCH example replaces the page's placeholders."""
    schema = spec.resolve(DOCUMENT["components"]["schemas"]["UpdateTroubleTicket"], DOCUMENT)
    body = spec.example(DOCUMENT, "updateTroubleTicket")
    body["ticketId"] = "<write here trouble ticket Id from TO>"
    with pytest.raises(jsonschema.ValidationError, match="is too long"):
        jsonschema.validate(body, schema)


@pytest.mark.parametrize(
    ("operation_id", "status"),
    [("createTroubleTicket", "201"), ("getTroubleTicket", "200"), ("updateTroubleTicket", "200")],
)
def test_response_examples_obey_their_schemas(operation_id: str, status: str) -> None:
    _, _, op = spec.operation(DOCUMENT, operation_id)
    example = op["responses"][status]["content"]["application/json"]["example"]
    jsonschema.validate(example, spec.response_schema(DOCUMENT, operation_id, status))


def test_create_links_lead_to_get_and_patch_by_ticket_id() -> None:
    _, _, op = spec.operation(DOCUMENT, "createTroubleTicket")
    links = op["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"]["ticketId"] for link in links.values()}
    assert targets == {
        "getTroubleTicket": "$response.body#/ticketId",
        "updateTroubleTicket": "$response.body#/ticketId",
    }


def test_multipart_parts_follow_the_page() -> None:
    """`attachment` on create, `attachments` on update: the page's own spelling."""
    create = spec.request_schema(DOCUMENT, "createTroubleTicket", spec.MULTIPART)
    update = spec.request_schema(DOCUMENT, "updateTroubleTicket", spec.MULTIPART)
    assert set(create["properties"]) == {"data", "attachment"}
    assert set(update["properties"]) == {"data", "attachments"}
    assert create["properties"]["data"] == spec.request_schema(DOCUMENT, "createTroubleTicket", spec.JSON)
