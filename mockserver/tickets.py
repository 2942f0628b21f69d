"""What the provider does with a ticket: create, read, update and the TO's own transitions.

Everything here works on plain data: the HTTP layer parses and authenticates, the store
persists, the lifecycle decides. Field names, ticket ids and answer shapes are the contract's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.errors import (
    IllegalArgument,
    RequiredFieldsMissing,
    TicketNotFound,
    TicketNotFoundOnUpdate,
)
from mockserver.store import Attachment, Change, DuplicateMirrorKey, Ticket, TicketHistory, TicketStore
from mockserver.validation import BodyRules, OperationRules
from spec.bodies import decode_base64
from spec.catalogue import edge_rule, entry_rule, terminal_rule
from spec.contract import Contract, project
from spec.lifecycle import Side

# The largest integer a store's key holds (SQLite INTEGER, PostgreSQL bigint): a larger ticket
# or attachment number names nothing, and must not reach the store, which cannot bind it.
MAX_STORED_INTEGER = 2**63 - 1


@dataclass
class TicketService:
    """The provider's behaviour over a store, following the contract."""

    contract: Contract
    store: TicketStore
    create_rules: OperationRules
    update_rules: OperationRules
    transition_rules: OperationRules

    @classmethod
    def of(cls, contract: Contract, store: TicketStore) -> TicketService:
        """The service with every rule built from the contract."""
        update_rules = OperationRules.of(contract.update)
        return cls(
            contract=contract,
            store=store,
            create_rules=OperationRules.of(contract.create),
            update_rules=update_rules,
            transition_rules=transition_rules_from(update_rules, contract),
        )

    def ticket_id(self, ticket: Ticket) -> str:
        return self.contract.ticket_ids.of(ticket.seq)

    def create(self, tenant: str, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        """Open a ticket for `tenant`; the body has passed `create_rules`."""
        names = self.contract.names
        mirror_key = body[names.mirror_key]
        try:
            ticket = self.store.create(
                tenant=tenant,
                mirror_key=mirror_key,
                state=body[names.state],
                fields=self.stored_fields(body, self.create_rules),
                dialog=body.get(names.dialog),
                attachments=self.embedded_attachments(body) + files,
            )
        except DuplicateMirrorKey as duplicate:
            existing = self.contract.ticket_ids.of(duplicate.seq)
            raise IllegalArgument(
                f"{names.mirror_key}: {mirror_key!r} already belongs to trouble ticket "
                f"{existing}; a {names.mirror_key} opens one ticket only",
                rules=("ids.repeated-mirror-key",),
                ticket_id=existing,
            ) from None
        return project(self.contract.created_view, self._values(ticket))

    def create_warnings(self, body: dict[str, Any]) -> list[str]:
        """What an integrator should hear about an accepted create (the spec's own traps)."""
        name = self.contract.names.mirror_key
        limit = self.contract.update.max_length(name)
        key = body.get(name, "")
        if limit is not None and len(key) > limit:
            return [
                f"{name} has {len(key)} characters but an update accepts at most {limit}: "
                "this ticket can never be updated"
            ]
        return []

    def read(self, tenant: str, ticket_id: str) -> dict[str, Any]:
        """The tenant's ticket as GET shows it."""
        seq = self._sequence(ticket_id)
        ticket = self.store.get(tenant, seq) if seq is not None else None
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return self.view(ticket)

    def view(self, ticket: Ticket) -> dict[str, Any]:
        return project(self.contract.ticket_view, self._values(ticket))

    def update(self, tenant: str, ticket_id: str, body: dict[str, Any], files: list[Attachment]) -> dict[str, Any]:
        """Apply a TU update (PATCH); the body has passed `update_rules`."""
        names = self.contract.names

        def decide(ticket: Ticket | None) -> Change:
            if ticket is None:
                raise TicketNotFoundOnUpdate(ticket_id)
            if body[names.ticket_id] != ticket_id:
                raise IllegalArgument(
                    f"{names.ticket_id}: the body names {body[names.ticket_id]!r} but the path names {ticket_id!r}; "
                    "they must be equal",
                    rules=("ids.path-body-match",),
                )
            if body[names.mirror_key] != ticket.mirror_key:
                raise IllegalArgument(
                    f"{names.mirror_key}: {body[names.mirror_key]!r} is not the {names.mirror_key} of trouble "
                    f"ticket {ticket_id} ({ticket.mirror_key!r})",
                    rules=("ids.mirror-key-match",),
                )
            return self._change(ticket, body, files, side="TU", actor=tenant, rules=self.update_rules)

        ticket = self.store.update(tenant, self._sequence(ticket_id), decide)
        return project(self.contract.update_view, {**self._values(ticket), names.dialog: body[names.dialog]})

    def transition(self, tenant: str, ticket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a TO edge (the mock's test hook); the body has passed `transition_rules`."""

        def decide(ticket: Ticket | None) -> Change:
            if ticket is None:
                raise TicketNotFound(ticket_id)
            return self._change(ticket, body, [], side="TO", actor=f"TO (hook, {tenant})", rules=self.transition_rules)

        return self.view(self.store.update(tenant, self._sequence(ticket_id), decide))

    def to_move(self, ticket: Ticket, body: dict[str, Any], *, actor: str) -> Change:
        """The change a TO move makes of `ticket` (a scenario's step), refused as the hook's would be.
        `body` is the hook's: it must pass `transition_rules`, which this checks again."""
        return self._change(
            ticket,
            self.transition_rules.body.check(dict(body)),
            [],
            side="TO",
            actor=actor,
            rules=self.transition_rules,
        )

    def history(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every ticket (of one tenant, or all) with its full history, as the control API shows it."""
        return [self.history_entry(entry) for entry in self.store.history(tenant)]

    def history_entry(self, entry: TicketHistory) -> dict[str, Any]:
        """One ticket with its history, as the control API shows it."""
        names, ticket = self.contract.names, entry.ticket
        return {
            names.ticket_id: self.ticket_id(ticket),
            "tenant": ticket.tenant,
            names.mirror_key: ticket.mirror_key,
            names.state: ticket.state,
            "createdAt": ticket.created_at,
            "updatedAt": ticket.updated_at,
            "fields": ticket.fields,
            "history": entry.events,
        }

    def attachment(self, tenant: str | None, ticket_id: str, attachment_id: int) -> Attachment | None:
        seq = self._sequence(ticket_id)
        if seq is None or not 0 < attachment_id <= MAX_STORED_INTEGER:
            return None
        return self.store.attachment(tenant, seq, attachment_id)

    def _sequence(self, ticket_id: str) -> int | None:
        """The store's number for a ticket id, or None for an id no stored ticket can have."""
        seq = self.contract.ticket_ids.sequence(ticket_id)
        return seq if seq is not None and seq <= MAX_STORED_INTEGER else None

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
        names, lifecycle = self.contract.names, self.contract.lifecycle
        target = body[names.state]
        refusal = lifecycle.refusal(ticket.state, target, side)
        if refusal:
            rule = (
                terminal_rule(ticket.state)
                if lifecycle.is_terminal(ticket.state)
                else edge_rule(side, ticket.state, target)
            )
            raise IllegalArgument(f"{names.state}: {refusal}", rules=(rule,))
        missing = [name for name in lifecycle.entry_requirements(ticket.state, target) if body.get(name) is None]
        if missing:
            raise RequiredFieldsMissing(missing, rules=(entry_rule(target),))
        return Change(
            side=side,
            actor=actor,
            state=target,
            dialog=body.get(names.dialog),
            fields=self.stored_fields(body, rules),
            attachments=self.embedded_attachments(body) + files,
        )

    def stored_fields(self, body: dict[str, Any], rules: OperationRules) -> dict[str, Any]:
        """The fields of a checked body that are kept as the ticket's own (not ids, state or files)."""
        kept_apart = self.contract.names.identifying  # in their own columns and tables
        return {
            name: body[name] for name in rules.body.properties if name not in kept_apart and body.get(name) is not None
        }

    def _values(self, ticket: Ticket) -> dict[str, Any]:
        names = self.contract.names
        return {
            **ticket.fields,
            names.ticket_id: self.ticket_id(ticket),
            names.mirror_key: ticket.mirror_key,
            names.state: ticket.state,
        }

    def embedded_attachments(self, body: dict[str, Any]) -> list[Attachment]:
        """The base64 attachments of a JSON body (already checked by the schema's `format: byte`)."""
        names, found = self.contract.attachment_names, []
        for item in body.get(self.contract.names.attachments) or ():
            content = decode_base64(item[names.content])
            assert content is not None, "the schema's format check lets only base64 through"
            found.append(Attachment(name=item[names.name], mime_type=item.get(names.media_type), content=content))
        return found


def transition_rules_from(update_rules: OperationRules, contract: Contract) -> OperationRules:
    """The TO hook's body: the update's, less the ids that the hook's path already gives."""
    schema = dict(update_rules.body.schema)
    ids = {contract.names.ticket_id, contract.names.mirror_key}
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in ids}
    schema["required"] = [name for name in schema.get("required", ()) if name not in ids]
    return OperationRules(
        body=BodyRules(schema),
        multipart_data_part=update_rules.multipart_data_part,
        multipart_file_part=update_rules.multipart_file_part,
    )
