"""Seeding: a ticket in any state, with the fields and history a test needs, made in one step.

A seed is checked against the contract as a request would be: its fields pass the create schema
(missing ones are taken from the spec's own create example), every step of its history passes the
update schema and is an edge of the lifecycle for the side that takes it, and a move into a state
that needs fields (CLEARED's close-out fields) carries them. A seed that breaks a rule gets the
contract's error body naming where (`history[1]: ...`); nothing is stored.

    {"tenant": "TU-A", "state": "CLEARED"}                      # the shortest route, filled in
    {"tenant": "TU-A", "ticketId": "RED-84",
     "fields": {"mirrorKey": "ONV-1024", "preferredPriority": 2},
     "history": [{"side": "TO", "baseTroubleTicketState": "CLEARED", "dialog": "fibre spliced",
                  "closeOutType": "...", "closeOutNarr": "...", "serviceRestoredTime": "...",
                  "at": "2025-01-16T09:00:00Z"}]}
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.datafiles import read_yaml
from mockserver.errors import ApiError, IllegalArgument
from mockserver.filters import check_known, parse_time
from mockserver.store import Change, DuplicateMirrorKey, TicketIdTaken
from mockserver.tickets import TicketService
from spec.lifecycle import SIDES

SEED_KEYS = ("tenant", "ticketId", "state", "fields", "history", "createdAt")
STEP_KEYS = ("side", "at")  # besides the fields of an update
MIRROR_KEY_PREFIX = "SEED-"  # with 8 hex digits: within the update's 15 characters
# Ends the actor of every seeded event: what a test set up, not what a side did (the TO's
# callbacks to a mirror leave seeded moves out).
SEEDED = " (seeded)"


@dataclass
class SeedPlan:
    """A checked seed, ready to store."""

    tenant: str
    seq: int | None
    mirror_key: str
    events: list[tuple[Change, str | None]]
    warnings: list[str] = field(default_factory=list)


@dataclass
class FileSeeding:
    """What applying a seed file did."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already in the store, left as they are


class Seeder:
    """Checks seeds against the contract and stores them through the service's store."""

    def __init__(self, service: TicketService) -> None:
        self.service = service
        self.contract = service.contract

    def plan(self, data: Any, *, tenant: str | None = None, mirror_key: str | None = None) -> SeedPlan:
        """Check a seed; raise IllegalArgument naming the first problem. `tenant` (from a bearer
        token) stands in when the seed names none; `mirror_key` when its fields give none."""
        contract, names = self.contract, self.contract.names
        if not isinstance(data, dict):
            raise IllegalArgument('a seed is a JSON object such as {"tenant": "TU-A", "state": "CLEARED"}')
        check_known(data, SEED_KEYS, what="field")
        tenant = data.get("tenant", tenant)
        if not isinstance(tenant, str) or not tenant.strip():
            raise IllegalArgument("tenant: name the tenant (a token's sub) the ticket belongs to")
        seq = None
        if data.get("ticketId") is not None:
            seq = contract.ticket_ids.sequence(str(data["ticketId"]))
            if seq is None:
                example = contract.ticket_ids.of(84)
                raise IllegalArgument(f"ticketId: {data['ticketId']!r} is not a ticket id such as {example}")
        created_at = _time(data.get("createdAt"), "createdAt")

        fields = data.get("fields") or {}
        if not isinstance(fields, dict):
            raise IllegalArgument("fields: an object of the create's fields")
        mirror_key = fields.get(names.mirror_key) or mirror_key or MIRROR_KEY_PREFIX + secrets.token_hex(4)
        body = contract.example_create(mirror_key)
        body.pop(names.attachments, None)  # the example's placeholder file is nobody's attachment
        body.update(fields)
        rules = self.service.create_rules
        body = self._checked(rules.body.check, body, "fields")
        unknown = rules.body.unknown_fields(body)
        warnings = [f"fields: ignored unknown fields: {', '.join(unknown)}"] if unknown else []
        warnings += self.service.create_warnings(body)  # e.g. a mirrorKey no update will accept
        opening = Change(
            side="TU",
            actor=f"{tenant}{SEEDED}",
            state=body[names.state],
            dialog=body.get(names.dialog),
            fields=self.service.stored_fields(body, rules),
            attachments=self.service.embedded_attachments(body),
        )
        events: list[tuple[Change, str | None]] = [(opening, created_at)]
        events += self._history(data, tenant, opening.state)
        return SeedPlan(tenant, seq, mirror_key, events, warnings)

    def _checked(self, check: Any, body: dict[str, Any], where: str) -> dict[str, Any]:
        """A body that passed `check`; its refusal is prefixed with where in the seed the body was."""
        try:
            return check(body)
        except ApiError as error:
            raise IllegalArgument(f"{where}: {error.render(self.contract)}") from None

    def _history(self, data: dict[str, Any], tenant: str, start: str) -> list[tuple[Change, str | None]]:
        lifecycle, names = self.contract.lifecycle, self.contract.names
        state = data.get("state")
        if state is not None and state not in lifecycle.states:
            raise IllegalArgument(f"state: {state!r} is not a state of the lifecycle ({', '.join(lifecycle.states)})")
        history = data.get("history")
        if history is None:
            return list(self._route(state or start, start, tenant)) if state else []
        if not isinstance(history, list):
            raise IllegalArgument(
                "history: a list of moves, each {side, " + names.state + ", " + names.dialog + ", ...}"
            )
        rules = self.service.transition_rules
        events: list[tuple[Change, str | None]] = []
        current = start
        for index, step in enumerate(history):
            where = f"history[{index}]"
            if not isinstance(step, dict):
                raise IllegalArgument(f'{where}: a move is an object such as {{"side": "TO", ...}}')
            check_known(step, (*STEP_KEYS, *rules.body.properties), what="field", where=f"{where}: ")
            side = step.get("side")
            if side not in SIDES:
                raise IllegalArgument(f"{where}.side: who takes the edge, {' or '.join(SIDES)}; got {side!r}")
            at = _time(step.get("at"), f"{where}.at")
            body = {key: value for key, value in step.items() if key not in STEP_KEYS}
            body = self._checked(rules.body.check, body, where)
            target = body[names.state]
            refusal = lifecycle.refusal(current, target, side)
            if refusal:
                raise IllegalArgument(f"{where}: {refusal}")
            missing = [name for name in lifecycle.entry_requirements(current, target) if body.get(name) is None]
            if missing:
                raise IllegalArgument(f"{where}: a move into {target} needs {', '.join(missing)}")
            actor = tenant if side == "TU" else "TO"
            change = Change(
                side=side,
                actor=f"{actor}{SEEDED}",
                state=target,
                dialog=body.get(names.dialog),
                fields=self.service.stored_fields(body, rules),
                attachments=self.service.embedded_attachments(body),
            )
            events.append((change, at))
            current = target
        if state is not None and state != current:
            raise IllegalArgument(f"state: the history ends in {current}, not {state}; give one or make them agree")
        return events

    def _route(self, target: str, start: str, tenant: str) -> Iterator[tuple[Change, str | None]]:
        """The lifecycle's shortest route to `target`, each step with the fields it needs."""
        try:
            route = self.contract.lifecycle.route(target, start)
        except ValueError:
            raise IllegalArgument(f"state: no route of the lifecycle leads from {start} to {target}") from None
        for edge in route:
            fields = self.contract.entry_fields(edge.target)
            yield (
                Change(
                    side=edge.side,
                    actor=f"{tenant if edge.side == 'TU' else 'TO'}{SEEDED}",
                    state=edge.target,
                    dialog=f"seeded: {edge.meaning or edge.target}",
                    fields=fields,
                ),
                None,
            )

    def apply(self, plan: SeedPlan) -> dict[str, Any]:
        """Store a checked seed; answer the ticket with its history, as /_mock/tickets shows it."""
        names, ids = self.contract.names, self.contract.ticket_ids
        try:
            ticket = self.service.store.seed(
                tenant=plan.tenant, mirror_key=plan.mirror_key, seq=plan.seq, events=plan.events
            )
        except DuplicateMirrorKey as duplicate:
            existing = ids.of(duplicate.seq)
            raise IllegalArgument(
                f"{names.mirror_key}: {plan.mirror_key!r} already belongs to {plan.tenant}'s trouble ticket {existing}",
                ticket_id=existing,
            ) from None
        except TicketIdTaken as taken:
            raise IllegalArgument(f"ticketId: {ids.of(taken.seq)} is another ticket's") from None
        found = self.service.store.history_of(ticket.seq)
        assert found is not None, "a ticket just stored is there"
        return self.service.history_entry(found)

    # -- seed files ------------------------------------------------------------------------

    def apply_file(self, path: str | Path) -> FileSeeding:
        """Store every ticket of a seed file that the store lacks (a tenant's mirrorKey it has
        already is left as it is). Raise ValueError naming the file, the ticket and the problem."""
        done = FileSeeding()
        for index, data in enumerate(read_seed_file(path)):
            try:
                plan = self.plan(data, mirror_key=f"{MIRROR_KEY_PREFIX}{index + 1}")
            except ApiError as error:
                raise ValueError(f"{path}: tickets[{index}]: {error.render(self.contract)}") from None
            try:
                done.created.append(self.apply(plan)[self.contract.names.ticket_id])
            except ApiError as error:
                if error.ticket_id is None:  # not a mirrorKey already seeded: an id taken by another
                    raise ValueError(f"{path}: tickets[{index}]: {error.render(self.contract)}") from None
                done.kept.append(error.ticket_id)
        return done


def read_seed_file(path: str | Path) -> list[Any]:
    """The seeds of a YAML (or JSON) file: a list, or `tickets:` holding one."""
    data = read_yaml(path)
    if isinstance(data, dict) and set(data) == {"tickets"}:
        data = data["tickets"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: a seed file holds a list of tickets (or tickets: with one)")
    return data


def _time(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise IllegalArgument(f"{what}: an RFC 3339 date-time such as 2025-01-15T10:30:00Z")
    parse_time(value, what)
    return value
