"""The contract, read once from `openapi.yaml` and `lifecycle.yaml`.

Every fact the mock and the contract suite share lives in those two files: the paths, the
fields with a role of their own (`x-contract`), the request bodies and how they travel as
multipart, the answers and their declared types, the error keys, the `required fields:`
message and the ticket id pattern. This module reads them; nothing else names them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spec
from spec import lifecycle as lifecycle_module
from spec.bodies import BodyShape
from spec.lifecycle import SIDES, Lifecycle, Side


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
    def type(self) -> str | list[str] | None:
        return self.schema.get("type")

    @property
    def is_date_time(self) -> bool:
        return self.schema.get("format") == "date-time"


@dataclass(frozen=True)
class Body:
    """The request body of one operation: its fields and how it travels as multipart."""

    role: str  # "create" or "update", as x-contract names the operation
    operation_id: str
    schema: dict[str, Any]
    data_part: str  # the multipart part that carries the JSON
    file_part: str  # the multipart parts that carry raw attachments
    shape: BodyShape = field(repr=False)

    @property
    def properties(self) -> dict[str, Any]:
        return self.schema.get("properties", {})

    @property
    def fields(self) -> list[Field]:
        required = set(self.schema.get("required", ()))
        return [Field(name, prop, name in required) for name, prop in self.properties.items()]

    def max_length(self, name: str) -> int | None:
        """The maxLength of one property, or None."""
        return self.properties.get(name, {}).get("maxLength")

    @property
    def required(self) -> list[str]:
        return spec.required_in_order(self.schema)

    def missing(self, body: Any) -> list[str]:
        """The required fields `body` lacks (null counts as missing), as the API must name them."""
        return self.shape.missing(body, []) if isinstance(body, dict) else []


@dataclass(frozen=True)
class ResponseField:
    """One property of an answer: its name there, the request field it reports, its declared type."""

    name: str
    source: str
    type: Any


def view_of(schema: dict[str, Any]) -> list[ResponseField]:
    """The fields an answer shows, read from its schema (`x-request-field` maps a renamed one)."""
    return [
        ResponseField(name, prop.get("x-request-field", name), prop.get("type"))
        for name, prop in schema.get("properties", {}).items()
    ]


def as_declared(value: Any, declared: Any) -> Any:
    """A stored value as an answer declaring `declared` shows it: an integer in a string field as text."""
    if declared == "string" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def project(view: list[ResponseField], values: dict[str, Any]) -> dict[str, Any]:
    """The answer a view makes of stored values, each in its declared type."""
    return {f.name: as_declared(values[f.source], f.type) for f in view if f.source in values}


@dataclass(frozen=True)
class FieldNames:
    """Request fields with a role of their own (x-contract.fields)."""

    state: str
    ticket_id: str
    mirror_key: str
    dialog: str
    attachments: str

    @property
    def identifying(self) -> frozenset[str]:
        """Fields that say which ticket a body is about, or carry files: not stored as plain fields."""
        return frozenset({self.state, self.ticket_id, self.mirror_key, self.attachments})


@dataclass(frozen=True)
class AttachmentNames:
    """The fields of one embedded attachment (x-contract.attachment-fields)."""

    content: str
    name: str
    media_type: str


@dataclass(frozen=True)
class ErrorKeys:
    """The one key of each error body (x-contract.errors)."""

    illegal_argument: str
    remote: str
    not_found: str

    @property
    def all(self) -> tuple[str, str, str]:
        return (self.illegal_argument, self.remote, self.not_found)

    def message(self, answer: Any) -> str | None:
        """The message of a contract error body, or None when `answer` is not one."""
        if isinstance(answer, dict) and len(answer) == 1:
            ((key, value),) = answer.items()
            if key in self.all and isinstance(value, str):
                return value
        return None


@dataclass(frozen=True)
class RequiredFieldsMessage:
    """`required fields: a,b` (x-contract.required-fields-message)."""

    prefix: str
    separator: str

    def format(self, names: list[str]) -> str:
        return self.prefix + self.separator.join(names)

    def parse(self, message: str) -> list[str] | None:
        """The names a required-fields message gives, or None when the message is not one."""
        if not message.startswith(self.prefix):
            return None
        rest = message[len(self.prefix) :]
        return rest.split(self.separator) if rest else []


@dataclass(frozen=True)
class TicketIds:
    """Ticket ids: a prefix and a decimal sequence number, read from the create answer's pattern."""

    prefix: str
    max_length: int | None

    @classmethod
    def from_schema(cls, schema: dict[str, Any]) -> TicketIds:
        pattern = schema.get("pattern", "")
        match = re.fullmatch(r"\^((?:[^\\\[\]()*+?.{}|^$]|\\.)*)\[0-9\]\+\$", pattern)
        if not match:
            raise ValueError(f"the ticketId pattern must read ^PREFIX[0-9]+$, not {pattern!r}")
        return cls(prefix=re.sub(r"\\(.)", r"\1", match.group(1)), max_length=schema.get("maxLength"))

    def of(self, sequence: int) -> str:
        return f"{self.prefix}{sequence}"

    def sequence(self, ticket_id: str) -> int | None:
        """The number behind an id in its one canonical form (no sign, no leading zero), or None."""
        digits = ticket_id[len(self.prefix) :] if ticket_id.startswith(self.prefix) else ""
        if not (digits.isascii() and digits.isdigit()) or digits[0] == "0":
            return None
        if self.max_length is not None and len(ticket_id) > self.max_length:
            return None
        return int(digits)

    def matches(self, text: Any) -> bool:
        if not isinstance(text, str) or not text.startswith(self.prefix):
            return False
        digits = text[len(self.prefix) :]
        return digits.isascii() and digits.isdigit() and (self.max_length is None or len(text) <= self.max_length)


@dataclass(frozen=True)
class Contract:
    """The API as the spec and the lifecycle file describe it."""

    document: dict[str, Any]
    lifecycle: Lifecycle
    spec_path: Path
    lifecycle_path: Path
    operations: dict[str, str]  # role -> operationId
    names: FieldNames
    attachment_names: AttachmentNames
    errors: ErrorKeys
    required_message: RequiredFieldsMessage
    ticket_ids: TicketIds
    create: Body
    update: Body
    collection_path: str
    item_path: str
    created_view: list[ResponseField]
    ticket_view: list[ResponseField]
    update_view: list[ResponseField]
    methods: dict[str, list[str]]

    @classmethod
    def load(cls, spec_path: str | Path = spec.OPENAPI_PATH, lifecycle_path: str | Path | None = None) -> Contract:
        """Read the contract; the lifecycle file defaults to the one the spec names (`x-lifecycle`)."""
        spec_path = Path(spec_path)
        document = spec.load_openapi(spec_path)
        lifecycle_path = Path(lifecycle_path) if lifecycle_path else spec.lifecycle_path_of(document, spec_path)
        return cls.from_document(
            document, lifecycle_module.load(lifecycle_path), spec_path=spec_path, lifecycle_path=lifecycle_path
        )

    @classmethod
    def from_document(
        cls,
        document: dict[str, Any],
        lifecycle: Lifecycle,
        *,
        spec_path: Path = spec.OPENAPI_PATH,
        lifecycle_path: Path = spec.LIFECYCLE_PATH,
    ) -> Contract:
        """The contract of an OpenAPI document already read, with its lifecycle."""
        try:
            names = document["x-contract"]
            operations = dict(names["operations"])
            create_id, read_id, update_id = operations["create"], operations["read"], operations["update"]
            fields = names["fields"]
            errors = {kind: _error_key(document, schema) for kind, schema in names["errors"].items()}
            message = names["required-fields-message"]
            attachment = names["attachment-fields"]
            collection_path, _, _ = spec.operation(document, create_id)
            item_path, _, _ = spec.operation(document, read_id)
            created_schema = spec.response_schema(document, create_id, "201")
            return cls(
                document=document,
                lifecycle=lifecycle,
                spec_path=spec_path,
                lifecycle_path=lifecycle_path,
                operations=operations,
                names=FieldNames(
                    state=fields["state"],
                    ticket_id=fields["ticket-id"],
                    mirror_key=fields["mirror-key"],
                    dialog=fields["dialog"],
                    attachments=fields["attachments"],
                ),
                attachment_names=AttachmentNames(attachment["content"], attachment["name"], attachment["media-type"]),
                errors=ErrorKeys(errors["illegal-argument"], errors["remote"], errors["not-found"]),
                required_message=RequiredFieldsMessage(message["prefix"], message["separator"]),
                ticket_ids=TicketIds.from_schema(created_schema["properties"][fields["ticket-id"]]),
                create=_body(document, "create", create_id),
                update=_body(document, "update", update_id),
                collection_path=collection_path,
                item_path=item_path,
                created_view=view_of(created_schema),
                ticket_view=view_of(spec.response_schema(document, read_id, "200")),
                update_view=view_of(spec.response_schema(document, update_id, "200")),
                methods=spec.allowed_methods(document),
            )
        except (KeyError, TypeError) as missing:
            raise ValueError(f"{spec_path}: x-contract or an operation it names is incomplete ({missing!r})") from None

    @property
    def path_parameter(self) -> str:
        """The item path's parameter (`ticketId` in `/troubleTicket/{ticketId}`)."""
        return self.item_path[self.item_path.rindex("{") + 1 : self.item_path.rindex("}")]

    def ticket_path(self, ticket_id: str) -> str:
        return self.item_path.replace("{" + self.path_parameter + "}", ticket_id)

    def body(self, role: str) -> Body:
        return {"create": self.create, "update": self.update}[role]

    @property
    def bodies(self) -> tuple[Body, ...]:
        """The request bodies of the contract, each with rules of its own."""
        return (self.create, self.update)

    @property
    def sides(self) -> tuple[Side, ...]:
        """The sides whose lifecycle edges are rules of this endpoint: both on the provider."""
        return SIDES

    def example_create(self, mirror_key: str, **overrides: Any) -> dict[str, Any]:
        """The spec's create example (the page's own), under a mirrorKey of the caller's."""
        body = spec.example(self.document, self.create.operation_id)
        body[self.names.mirror_key] = mirror_key
        body.update(overrides)
        return body

    def example_update(self, ticket_id: str, mirror_key: str, state: str, **overrides: Any) -> dict[str, Any]:
        """The spec's update example aimed at one ticket, asking for `state`."""
        body = spec.example(self.document, self.update.operation_id)
        names = self.names
        body.update({names.ticket_id: ticket_id, names.mirror_key: mirror_key, names.state: state})
        body.update(overrides)
        return body

    def entry_fields(self, target: str) -> dict[str, Any]:
        """Values for the fields a request must carry to enter `target` (the lifecycle's requires_on_entry)."""
        properties = self.update.properties
        return {name: sample_value(properties[name]) for name in self.lifecycle.requires_on_entry.get(target, ())}


def _error_key(document: dict[str, Any], schema_name: str) -> str:
    (key,) = document["components"]["schemas"][schema_name]["properties"]
    return key


def _body(document: dict[str, Any], role: str, operation_id: str) -> Body:
    schema = spec.request_schema(document, operation_id, spec.JSON)
    multipart = spec.request_schema(document, operation_id, spec.MULTIPART)
    (data_part,) = spec.required_in_order(multipart)
    (file_part,) = [
        name
        for name, part in multipart["properties"].items()
        if part.get("type") == "array" and part.get("items", {}).get("format") == "binary"
    ]
    shape = BodyShape.of(schema)
    assert shape is not None, f"{operation_id}: the request body must be an object schema"
    return Body(role, operation_id, schema, data_part, file_part, shape)


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
