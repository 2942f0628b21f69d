"""The contract of a TU's mirror endpoint, read from `mirror.yaml` and the provider's spec it derives from.

`mirror.yaml` refers into `openapi.yaml` (`$ref: 'openapi.yaml#/components/...'`) for every schema,
answer and limit it shares with the provider. Reading it inlines those references, so that the
document the mock serves and the suite checks against is self-contained, and so that a limit
changed in `openapi.yaml` changes the mirror's too. `MirrorContract` then offers what the mock's
reference mirror and the mirror suite share, under the same names as `spec.contract.Contract`.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import spec
from spec import lifecycle as lifecycle_module
from spec.contract import (
    AttachmentNames,
    Body,
    ErrorKeys,
    FieldNames,
    RequiredFieldsMessage,
    ResponseField,
    TicketIds,
    _body,
    _error_key,
    sample_value,
    view_of,
)
from spec.lifecycle import SIDES, Lifecycle, Side


def load_document(path: str | Path = spec.MIRROR_PATH) -> dict[str, Any]:
    """The mirror's OpenAPI document with every reference into another file inlined (a fresh copy)."""
    path = Path(path).resolve()
    return copy.deepcopy(_inlined(str(path), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _inlined(name: str, _mtime_ns: int) -> dict[str, Any]:
    """Read and inline once per version of the file: every app the tests build reads it."""
    path = Path(name)
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict) or "paths" not in document:
        raise ValueError(f"{path}: not an OpenAPI document (no 'paths')")
    return _inline(document, path.parent, {})


def _inline(node: Any, folder: Path, loaded: dict[Path, dict[str, Any]]) -> Any:
    """`node` with each `$ref: 'FILE#/pointer'` replaced by the target, itself fully resolved."""
    if isinstance(node, list):
        return [_inline(item, folder, loaded) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        name, _, pointer = ref.partition("#")
        source = (folder / name).resolve()
        if source not in loaded:
            loaded[source] = spec.load_openapi(source)
        other = loaded[source]
        target: Any = other
        try:
            for part in pointer.lstrip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            raise ValueError(f"{ref!r} points at nothing in {source.name}") from None
        siblings = {key: _inline(value, folder, loaded) for key, value in node.items() if key != "$ref"}
        return {**spec.resolve(copy.deepcopy(target), other), **siblings}
    return {key: _inline(value, folder, loaded) for key, value in node.items()}


@dataclass(frozen=True)
class MirrorContract:
    """The mirror endpoint as `mirror.yaml` and the lifecycle file describe it."""

    document: dict[str, Any]
    lifecycle: Lifecycle
    spec_path: Path
    lifecycle_path: Path
    operations: dict[str, str]  # role (read, update) -> operationId
    names: FieldNames
    attachment_names: AttachmentNames
    errors: ErrorKeys
    required_message: RequiredFieldsMessage
    ticket_ids: TicketIds  # the TO's ids, which the body's ticketId carries
    update: Body
    item_path: str
    ticket_view: list[ResponseField]
    update_view: list[ResponseField]
    methods: dict[str, list[str]]
    sides: tuple[Side, ...]  # who sends updates here: the lifecycle's edges of these sides are the rules

    @classmethod
    def load(cls, spec_path: str | Path = spec.MIRROR_PATH, lifecycle_path: str | Path | None = None) -> MirrorContract:
        """Read the mirror's contract; the lifecycle file defaults to the one it names (`x-lifecycle`)."""
        spec_path = Path(spec_path)
        document = load_document(spec_path)
        lifecycle_path = Path(lifecycle_path) if lifecycle_path else spec.lifecycle_path_of(document, spec_path)
        return cls.from_document(
            document, lifecycle_module.load(lifecycle_path), spec_path=spec_path, lifecycle_path=lifecycle_path
        )

    @classmethod
    def from_document(
        cls, document: dict[str, Any], lifecycle: Lifecycle, *, spec_path: Path, lifecycle_path: Path
    ) -> MirrorContract:
        try:
            names = document["x-contract"]
            operations = dict(names["operations"])
            read_id, update_id = operations["read"], operations["update"]
            fields = names["fields"]
            errors = {kind: _error_key(document, schema) for kind, schema in names["errors"].items()}
            message = names["required-fields-message"]
            attachment = names["attachment-fields"]
            sides = tuple(names.get("sides", SIDES))
            if not sides or any(side not in SIDES for side in sides):
                raise ValueError(f"{spec_path}: x-contract.sides lists {', '.join(SIDES)}, not {sides!r}")
            item_path, _, _ = spec.operation(document, read_id)
            ticket_id_schema = spec.resolve(document["components"]["schemas"][names["ticket-id"]], document)
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
                ticket_ids=TicketIds.from_schema(ticket_id_schema),
                update=_body(document, "update", update_id),
                item_path=item_path,
                ticket_view=view_of(spec.response_schema(document, read_id, "200")),
                update_view=view_of(spec.response_schema(document, update_id, "200")),
                methods=spec.allowed_methods(document),
                sides=sides,  # type: ignore[arg-type]
            )
        except (KeyError, TypeError) as missing:
            raise ValueError(f"{spec_path}: x-contract or an operation it names is incomplete ({missing!r})") from None

    @property
    def bodies(self) -> tuple[Body, ...]:
        """The request bodies of the contract: the update alone (a mirror has no create)."""
        return (self.update,)

    @property
    def path_parameter(self) -> str:
        """The item path's parameter (`mirrorKey` in `/troubleTicket/{mirrorKey}`)."""
        return self.item_path[self.item_path.rindex("{") + 1 : self.item_path.rindex("}")]

    def ticket_path(self, mirror_key: str) -> str:
        return self.item_path.replace("{" + self.path_parameter + "}", mirror_key)

    def body(self, role: str) -> Body:
        if role != "update":
            raise KeyError(f"a mirror has no {role} body")
        return self.update

    def example_update(self, ticket_id: str, mirror_key: str, state: str, **overrides: Any) -> dict[str, Any]:
        """The spec's update example aimed at one mirror ticket, asking for `state`."""
        body = spec.example(self.document, self.update.operation_id)
        names = self.names
        body.update({names.ticket_id: ticket_id, names.mirror_key: mirror_key, names.state: state})
        body.update(overrides)
        return body

    def entry_fields(self, target: str) -> dict[str, Any]:
        """Values for the fields a move into `target` must carry (the lifecycle's requires_on_entry)."""
        properties = self.update.properties
        return {name: sample_value(properties[name]) for name in self.lifecycle.requires_on_entry.get(target, ())}
