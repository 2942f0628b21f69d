"""The mock's control API under /_mock: not part of the provider's contract.

It lets a test play the TO (the transition hook), start from a clean slate (reset), and see
what the mock holds (tickets with history) and what clients sent (the journal).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, request

from mockserver.api import flask_rule
from mockserver.auth import Authenticator
from mockserver.bodies import parse_json, read_body
from mockserver.errors import TicketNotFound
from mockserver.faults import FaultInjector, add_fault_routes
from mockserver.filters import JournalQuery, check_known
from mockserver.journal import FileJournal, MemoryJournal, clock
from mockserver.responses import json_response
from mockserver.seeding import Seeder
from mockserver.tickets import TicketService

if TYPE_CHECKING:
    from mockserver.toside import ToSide

PREFIX = "/_mock"


def control_blueprint(
    service: TicketService,
    authenticator: Authenticator,
    requests_seen: MemoryJournal | FileJournal,
    *,
    max_body_bytes: int,
    seeder: Seeder | None = None,
    seed_path: Path | None = None,
    injector: FaultInjector | None = None,
    to_side: ToSide | None = None,
) -> Blueprint:
    """Routes under /_mock."""
    control = Blueprint("control", __name__, url_prefix=PREFIX)
    parameter = service.contract.path_parameter
    seeder = seeder or Seeder(service)

    def forget_tickets(tenant: str | None) -> dict[str, Any]:
        """Forget tickets, then make the start-up seeds (--seed) again: a reset is a fresh start."""
        deleted = service.store.reset(tenant)
        seeded = len(seeder.apply_file(seed_path).created) if seed_path else 0
        return {"deleted": deleted, "tenant": tenant, "seeded": seeded}

    @control.post(flask_rule(service.contract.item_path) + "/transition")
    def transition(**path: str) -> Response:
        """Apply a TO edge to the caller's ticket, with the same validation as PATCH."""
        g.tenant = authenticator.tenant(request.headers.get("Authorization"))
        parsed = read_body(request, service.transition_rules, max_bytes=max_body_bytes)
        return json_response(service.transition(g.tenant, path[parameter], parsed.body), warnings=parsed.warnings)

    @control.get("/health")
    def health() -> Response:
        """Up, and the mock's clock: pass `now` as a journal's `since` to see only what comes after."""
        return json_response({"status": "ok", "now": clock()})

    @control.post("/reset")
    def reset() -> Response:
        """Forget every ticket and the journal, or only one tenant's tickets with ?tenant=; seed again."""
        tenant = request.args.get("tenant") or None
        answer = forget_tickets(tenant)
        if tenant is None:
            requests_seen.clear()
        return json_response(answer)

    def with_steps(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each ticket with the TO's steps scheduled on it (mockserver.toside), when there is a TO side."""
        if to_side is None:
            return entries
        pending = to_side.scheduled()
        ids = service.contract.ticket_ids
        for entry in entries:
            entry["scheduled"] = pending.get(ids.sequence(entry[ids_field]) or 0, [])
        return entries

    ids_field = service.contract.names.ticket_id

    def mock_now() -> dict[str, str]:
        return {"now": to_side.clock.iso()} if to_side is not None else {}

    @control.get("/tickets")
    def tickets() -> Response:
        """Every ticket (or one tenant's, ?tenant=) with its full history; `now` is the mock's clock."""
        return json_response({"tickets": with_steps(service.history(request.args.get("tenant") or None)), **mock_now()})

    @control.post("/tickets")
    def seed() -> Response:
        """Store a ticket in any state with any fields and history, checked against the contract."""
        data = parse_json(request.get_data(cache=False), what="the seed")
        token_tenant = None
        if request.headers.get("Authorization"):
            token_tenant = authenticator.tenant(request.headers.get("Authorization"))
        plan = seeder.plan(data, tenant=token_tenant)
        return json_response(seeder.apply(plan), 201, warnings=plan.warnings)

    @control.delete("/tickets")
    def forget() -> Response:
        """Forget every ticket (or one tenant's, ?tenant=), keeping the journal; seed again."""
        check_known(request.args, ("tenant",))
        return json_response(forget_tickets(request.args.get("tenant") or None))

    @control.get("/tickets/<ticket_id>")
    def ticket(ticket_id: str) -> Response:
        """One ticket with its full history (?tenant= to insist on its owner)."""
        check_known(request.args, ("tenant",))
        seq = service.contract.ticket_ids.sequence(ticket_id)
        found = service.store.history_of(seq, request.args.get("tenant") or None) if seq is not None else None
        if found is None:
            raise TicketNotFound(ticket_id)
        return json_response({**with_steps([service.history_entry(found)])[0], **mock_now()})

    @control.get("/tickets/<ticket_id>/attachments/<int:attachment_id>")
    def attachment(ticket_id: str, attachment_id: int) -> Response:
        """One stored attachment, as the bytes that were sent."""
        found = service.attachment(request.args.get("tenant") or None, ticket_id, attachment_id)
        if found is None:
            raise TicketNotFound(f"{ticket_id} attachment {attachment_id}")
        response = Response(found.content, mimetype=found.mime_type or "application/octet-stream")
        response.headers["Content-Disposition"] = f'attachment; filename="{_ascii(found.name)}"'
        return response

    @control.get("/journal")
    def journal() -> Response:
        """The requests received, newest first; filters in JournalQuery (an unknown one is a 400)."""
        query = JournalQuery.from_args(request.args.to_dict(flat=False))
        now = clock()  # before reading: an entry of a later request must not come before `now`
        entries = query.select(requests_seen.newest())
        return json_response({"requests": entries, "now": now, "capacity": requests_seen.size})

    @control.get("/journal/count")
    def journal_count() -> Response:
        """How many requests kept in the journal match the filters (the same as /journal's, less paging)."""
        query = JournalQuery.from_args(request.args.to_dict(flat=False), paging=False)
        now = clock()
        return json_response({"count": len(query.select(requests_seen.newest())), "now": now})

    @control.delete("/journal")
    def journal_reset() -> Response:
        """Forget the journal alone; tickets and faults stay."""
        check_known(request.args, ())
        deleted = len(requests_seen.newest())
        requests_seen.clear()
        return json_response({"deleted": deleted})

    if injector is not None:
        add_fault_routes(control, injector)
    if to_side is not None:
        from mockserver.toside import add_to_side_routes

        add_to_side_routes(control, to_side)
    return control


def _ascii(name: str) -> str:
    return "".join(char if " " <= char <= "~" and char not in '"\\' else "_" for char in name)
