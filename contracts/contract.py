"""What the suite knows of the API, all of it read from the spec and the lifecycle file.

No limit, field name, enum or state is written in the suite's code: the layers ask this
module, which asks `spec/openapi.yaml` and `spec/lifecycle.yaml` (or the files given).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spec
from spec import lifecycle as lifecycle_module
from spec.bodies import BodyShape
from spec.lifecycle import Lifecycle

CREATE, GET, UPDATE = "createTroubleTicket", "getTroubleTicket", "updateTroubleTicket"
ERROR_KEYS = ("illegalArgumentException", "remoteException", "objectNotFoundException")
STATE = "baseTroubleTicketState"


@dataclass(frozen=True)
class Field:
    """One property of a request body schema."""

    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def max_length(self) -> int | None:
        return self.schema.get("maxLength")

    @property
    def enum(self) -> list[Any] | None:
        return self.schema.get("enum")

    @property
    def type(self) -> str | None:
        return self.schema.get("type")

    @property
    def is_date_time(self) -> bool:
        return self.schema.get("format") == "date-time"


@dataclass(frozen=True)
class Body:
    """A request body of one operation: its fields and how it travels as multipart."""

    operation_id: str
    schema: dict[str, Any]
    data_part: str  # the multipart part that carries the JSON
    file_part: str  # the multipart parts that carry raw attachments
    shape: BodyShape = field(repr=False)

    @property
    def fields(self) -> list[Field]:
        required = set(self.schema.get("required", ()))
        return [Field(name, prop, name in required) for name, prop in self.schema["properties"].items()]

    def max_length(self, name: str) -> int | None:
        """The maxLength of one property, or None."""
        return self.schema["properties"].get(name, {}).get("maxLength")

    @property
    def required(self) -> list[str]:
        return spec.required_in_order(self.schema)

    def missing(self, body: Any) -> list[str]:
        """The required fields `body` lacks (null counts as missing), as the API must name them."""
        return self.shape.missing(body, []) if isinstance(body, dict) else []


@dataclass(frozen=True)
class ResponseField:
    name: str  # as the response spells it
    source: str  # the request field it reports
    type: Any


@dataclass(frozen=True)
class Contract:
    """The API as the spec and the lifecycle file describe it."""

    document: dict[str, Any]
    lifecycle: Lifecycle
    create: Body
    update: Body
    collection_path: str
    item_path: str
    ticket_view: list[ResponseField]
    update_view: list[ResponseField]
    methods: dict[str, list[str]]

    @classmethod
    def load(
        cls, spec_path: str | Path = spec.OPENAPI_PATH, lifecycle_path: str | Path = spec.LIFECYCLE_PATH
    ) -> Contract:
        """Read the contract from an OpenAPI document and a lifecycle file."""
        document = spec.load_openapi(spec_path)
        collection_path, _, _ = spec.operation(document, CREATE)
        item_path, _, _ = spec.operation(document, GET)
        return cls(
            document=document,
            lifecycle=lifecycle_module.load(lifecycle_path),
            create=_body(document, CREATE),
            update=_body(document, UPDATE),
            collection_path=collection_path,
            item_path=item_path,
            ticket_view=_view(spec.response_schema(document, GET, "200")),
            update_view=_view(spec.response_schema(document, UPDATE, "200")),
            methods=spec.allowed_methods(document),
        )

    def ticket_path(self, ticket_id: str) -> str:
        return self.item_path.replace("{ticketId}", ticket_id)

    def create_body(self, mirror_key: str, **overrides: Any) -> dict[str, Any]:
        """The spec's create example, under a mirrorKey of the suite's."""
        body = spec.example(self.document, CREATE)
        body["mirrorKey"] = mirror_key
        body.update(overrides)
        return body

    def update_body(self, ticket_id: str, mirror_key: str, state: str, **overrides: Any) -> dict[str, Any]:
        """The spec's update example aimed at one ticket, asking for `state`."""
        body = spec.example(self.document, UPDATE)
        body.update({"ticketId": ticket_id, "mirrorKey": mirror_key, STATE: state})
        body.update(overrides)
        return body

    def close_out(self, target: str) -> dict[str, Any]:
        """Values for the fields a request must carry to enter `target` (from the lifecycle file)."""
        fields = {f.name: f for f in self.update.fields}
        return {name: sample_value(fields[name].schema) for name in self.lifecycle.requires_on_entry.get(target, ())}


def _body(document: dict[str, Any], operation_id: str) -> Body:
    schema = spec.request_schema(document, operation_id, spec.JSON)
    multipart = spec.request_schema(document, operation_id, spec.MULTIPART)
    (data_part,) = spec.required_in_order(multipart)
    (file_part,) = [name for name in multipart["properties"] if name != data_part]
    shape = BodyShape.of(schema)
    assert shape is not None
    return Body(operation_id, schema, data_part, file_part, shape)


def _view(schema: dict[str, Any]) -> list[ResponseField]:
    return [
        ResponseField(name, prop.get("x-request-field", name), prop.get("type"))
        for name, prop in schema.get("properties", {}).items()
    ]


def sample_value(schema: dict[str, Any]) -> Any:
    """A small valid value for a scalar schema."""
    if "enum" in schema:
        return copy.deepcopy(schema["enum"][0])
    if schema.get("type") == "integer":
        return schema.get("minimum", 1)
    return text_of_length(schema, min(schema.get("maxLength", 20), 20))


def text_of_length(schema: dict[str, Any], length: int) -> str:
    """A string of `length` characters (at least 20 for a date-time) that breaks no rule but its length."""
    if schema.get("format") == "date-time":
        if length <= 20:
            return "2025-01-15T10:30:00Z"
        return "2025-01-15T10:30:00." + "1" * max(length - 21, 1) + "Z"
    return "K" * length


def near_misses(value: str) -> list[str]:
    """Spellings a careless client might send for an enum member: case, spaces, a letter more or less."""
    candidates = [value.upper(), value.lower(), value.capitalize(), f"{value} ", f" {value}", value[:-1], value + "S"]
    return [candidate for candidate in dict.fromkeys(candidates) if candidate != value]


VALID_DATE_TIMES = ("2025-01-15T10:30:00Z", "2025-01-15t10:30:00z", "2025-01-15T10:30:00.123+02:00")
INVALID_DATE_TIMES = ("2025-01-15", "2025-13-01T00:00:00Z", "2025-01-15T25:00:00Z", "yesterday", "2025-01-15 10:30:00Z")
INVALID_BASE64 = ("Zm9v!", "Zm9vY", "Zm9v YmFy", "Zg=")
