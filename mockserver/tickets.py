"""What the provider does with a ticket: create, read, update and the TO's own transitions.

Everything here works on plain data: the HTTP layer parses and authenticates, the store
persists, the lifecycle decides. Response shapes are read from the spec's response schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import spec
from mockserver.errors import (
    IllegalArgument,
    RequiredFieldsMissing,
    TicketNotFound,
    TicketNotFoundOnUpdate,
)
from mockserver.store import Attachment, Change, DuplicateMirrorKey, Ticket, TicketStore
from mockserver.validation import BodyRules, OperationRules, decode_base64
from spec.lifecycle import Lifecycle, Side

STATE = "baseTroubleTicketState"
# Fields that identify a ticket or carry files: kept in their own columns and tables.
_NOT_STORED_AS_FIELDS = {"ticketId", "mirrorKey", STATE, "attachments"}


def _projection(schema: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(response name, stored name, declared type) for each property of a response schema."""
    return [
        (name, prop.get("x-request-field", name), prop.get("type"))
        for name, prop in schema.get("properties", {}).items()
    ]


def _project(projection: list[tuple[str, str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, source, declared in projection:
        if source in values:
            value = values[source]
            # The PATCH answer declares preferredPriority a string: serialize to the declared type.
            if declared == "string" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            out[name] = value
    return out


@dataclass
class TicketService:
    """The provider's behaviour over a store, following the spec and the lifecycle."""

    store: TicketStore
    lifecycle: Lifecycle
    create_rules: OperationRules
    update_rules: OperationRules
    transition_rules: OperationRules
    created_view: list[tuple[str, str, Any]]
    ticket_view: list[tuple[str, str, Any]]
    updated_view: list[tuple[str, str, Any]]

    @classmethod
    def from_spec(cls, document: dict[str, Any], store: TicketStore, lifecycle: Lifecycle) -> TicketService:
        """Build the service with every rule and response shape read from the OpenAPI document."""
        update_rules = OperationRules.from_spec(document, "updateTroubleTicket")
        return cls(
            store=store,
            lifecycle=lifecycle,
            create_rules=OperationRules.from_spec(document, "createTroubleTicket"),
            update_rules=update_rules,
            transition_rules=transition_rules_from(update_rules),
            created_view=_projection(spec.response_schema(document, "createTroubleTicket", "201")),
            ticket_view=_projection(spec.response_schema(document, "getTroubleTicket", "200")),
            updated_view=_projection(spec.response_schema(document, "updateTroubleTicket", "200")),
        )

    def create(self, tenant: str, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        """Open a ticket for `tenant`; the body has passed `create_rules`."""
        fields = self._stored_fields(body, self.create_rules)
        mirror_key = body["mirrorKey"]
        try:
            ticket = self.store.create(
                tenant=tenant,
                mirror_key=mirror_key,
                state=body[STATE],
                fields=fields,
                dialog=body.get("dialog"),
                attachments=embedded_attachments(body) + files,
            )
        except DuplicateMirrorKey as duplicate:
            raise IllegalArgument(
                f"mirrorKey: {mirror_key!r} already belongs to trouble ticket {duplicate.ticket_id}; "
                "a mirrorKey opens one ticket only"
            ) from None
        return _project(self.created_view, self._values(ticket))

    def create_warnings(self, body: dict[str, Any]) -> list[str]:
        """What an integrator should hear about an accepted create (the spec's own traps)."""
        limit = self.update_rules.body.properties.get("mirrorKey", {}).get("maxLength")
        key = body.get("mirrorKey", "")
        if limit is not None and len(key) > limit:
            return [
                f"mirrorKey has {len(key)} characters but an update accepts at most {limit}: "
                "this ticket can never be updated"
            ]
        return []

    def read(self, tenant: str, ticket_id: str) -> dict[str, Any]:
        """The tenant's ticket as GET shows it."""
        ticket = self.store.get(tenant, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return self.view(ticket)

    def view(self, ticket: Ticket) -> dict[str, Any]:
        return _project(self.ticket_view, self._values(ticket))

    def update(self, tenant: str, ticket_id: str, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        """Apply a TU update (PATCH); the body has passed `update_rules`."""

        def decide(ticket: Ticket | None) -> Change:
            if ticket is None:
                raise TicketNotFoundOnUpdate(ticket_id)
            if body["ticketId"] != ticket_id:
                raise IllegalArgument(
                    f"ticketId: the body names {body['ticketId']!r} but the path names {ticket_id!r}; "
                    "they must be equal"
                )
            if body["mirrorKey"] != ticket.mirror_key:
                raise IllegalArgument(
                    f"mirrorKey: {body['mirrorKey']!r} is not the mirrorKey of trouble ticket {ticket_id} "
                    f"({ticket.mirror_key!r})"
                )
            return self._change(ticket, body, files, side="TU", actor=tenant, rules=self.update_rules)

        ticket = self.store.update(tenant, ticket_id, decide)
        return _project(self.updated_view, {**self._values(ticket), "dialog": body["dialog"]})

    def transition(self, tenant: str, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a TO edge (the mock's test hook); the body has passed `transition_rules`."""

        def decide(ticket: Ticket | None) -> Change:
            if ticket is None:
                raise TicketNotFound(ticket_id)
            return self._change(ticket, body, [], side="TO", actor=f"TO (hook, {tenant})", rules=self.transition_rules)

        return self.view(self.store.update(tenant, ticket_id, decide))

    def _change(
        self,
        ticket: Ticket,
        body: dict[str, Any],
        files: list[Attachment],
        *,
        side: Side,
        actor: str,
        rules: OperationRules,
    ) -> Change:
        target = body[STATE]
        refusal = self.lifecycle.refusal(ticket.state, target, side)
        if refusal:
            raise IllegalArgument(f"{STATE}: {refusal}")
        missing = [name for name in self.lifecycle.entry_requirements(ticket.state, target) if body.get(name) is None]
        if missing:
            raise RequiredFieldsMissing(missing)
        return Change(
            side=side,
            actor=actor,
            state=target,
            dialog=body.get("dialog"),
            fields=self._stored_fields(body, rules),
            attachments=embedded_attachments(body) + files,
        )

    @staticmethod
    def _stored_fields(body: dict[str, Any], rules: OperationRules) -> dict[str, Any]:
        return {
            name: body[name]
            for name in rules.body.properties
            if name not in _NOT_STORED_AS_FIELDS and body.get(name) is not None
        }

    @staticmethod
    def _values(ticket: Ticket) -> dict[str, Any]:
        return {**ticket.fields, "ticketId": ticket.ticket_id, "mirrorKey": ticket.mirror_key, STATE: ticket.state}


def embedded_attachments(body: dict[str, Any]) -> list[Attachment]:
    """The base64 attachments of a JSON body (already checked by the schema's `format: byte`)."""
    found = []
    for item in body.get("attachments") or ():
        content = decode_base64(item["content"])
        assert content is not None, "the schema's format check lets only base64 through"
        found.append(Attachment(name=item["name"], mime_type=item.get("mimeType"), content=content))
    return found


def transition_rules_from(update_rules: OperationRules) -> OperationRules:
    """The TO hook's body: the update's, less the ids that the hook's path already gives."""
    schema = dict(update_rules.body.schema)
    ids = {"ticketId", "mirrorKey"}
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in ids}
    schema["required"] = [name for name in schema.get("required", ()) if name not in ids]
    return OperationRules(
        body=BodyRules(schema),
        multipart_data_part=update_rules.multipart_data_part,
        multipart_file_part=update_rules.multipart_file_part,
    )
