"""A reference TU mirror: the endpoint of spec/mirror.yaml, stateful, served by `tt-mock serve --role tu-mirror`.

For a TO's developers who test the notifications their system sends, and as the correct target the
mirror suite (`tt-contracts run --mirror`) is proven on. It keeps the TU's tickets by mirrorKey,
takes the TO's moves through PATCH as the mirror's contract says (the TO's edges of the lifecycle,
the same body rules, error bodies and order of checks as the provider), and shows them at GET.

The TU's own side is played through its control API, as the mock's TO is through its hook:

    POST /_mock/troubleTicket                       open a ticket: {"mirrorKey", "ticketId", ...fields}
    POST /_mock/troubleTicket/{mirrorKey}/transition  a TU move: {"baseTroubleTicketState", "dialog"}
    GET  /_mock/tickets[/{mirrorKey}]                 every ticket with its history: what the TO sent
    POST /_mock/reset, /_mock/journal, /_mock/faults  as on the mock

Its tables are its own (`mirror_tickets`, `mirror_events`), in a store file of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml
from flask import Blueprint, Flask, Response, g, request

from mockserver.api import flask_rule
from mockserver.auth import Authenticator, resolve_secret
from mockserver.bodies import parse_json, read_body
from mockserver.config import MockConfig
from mockserver.control import PREFIX
from mockserver.errors import IllegalArgument, RequiredFieldsMissing, TicketNotFound, TicketNotFoundOnUpdate
from mockserver.faults import FaultInjector, add_fault_routes
from mockserver.filters import JournalQuery, check_known
from mockserver.journal import FileJournal, MemoryJournal, clock, open_journal
from mockserver.refusals import RefusalRules
from mockserver.responses import json_response
from mockserver.store import Attachment, TicketStore, Tx
from mockserver.tickets import transition_rules_from
from mockserver.validation import BodyRules, OperationRules
from spec import lifecycle as lifecycle_module
from spec.bodies import decode_base64
from spec.catalogue import edge_rule, entry_rule, terminal_rule
from spec.contract import project
from spec.lifecycle import Lifecycle, Side
from spec.mirror import MirrorContract, load_document

TABLES = [
    """CREATE TABLE IF NOT EXISTS mirror_tickets (
        mirror_key TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        state TEXT NOT NULL,
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS mirror_events (
        id {id},
        mirror_key TEXT NOT NULL REFERENCES mirror_tickets (mirror_key) ON DELETE CASCADE,
        at TEXT NOT NULL,
        side TEXT NOT NULL,
        actor TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        dialog TEXT,
        changes TEXT NOT NULL,
        attachments TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS mirror_events_by_ticket ON mirror_events (mirror_key)",
]


@dataclass(frozen=True)
class MirrorTicket:
    mirror_key: str
    ticket_id: str  # the TO's id
    state: str
    fields: dict[str, Any]
    created_at: str
    updated_at: str


class MirrorService:
    """The TU's tickets and what the TO reports on them, following the mirror's contract."""

    def __init__(self, contract: MirrorContract, store: TicketStore) -> None:
        self.contract, self.store = contract, store
        self.update_rules = OperationRules.of(contract.update)
        # A TU move through the hook: the update's body less the ids, which the path gives.
        self.move_rules = transition_rules_from(self.update_rules, contract)  # type: ignore[arg-type]
        names = contract.names
        properties = contract.update.properties
        shown = {
            f.source: {"type": f.type} if f.type else {}
            for f in contract.ticket_view
            if f.source not in (names.ticket_id, names.mirror_key, names.state)
        }
        self.open_rules = BodyRules(
            {
                "type": "object",
                "required": [names.mirror_key, names.ticket_id],
                "properties": {
                    names.mirror_key: properties[names.mirror_key],
                    names.ticket_id: properties[names.ticket_id],
                    **shown,
                },
            }
        )
        store.ensure_tables(TABLES)

    # -- the mirror's API (the TO calls it) ----------------------------------------------------

    def read(self, mirror_key: str) -> dict[str, Any]:
        ticket = self._get(mirror_key)
        if ticket is None:
            raise TicketNotFound(mirror_key)
        return project(self.contract.ticket_view, self._values(ticket))

    def update(self, mirror_key: str, body: dict[str, Any], files: list[Attachment], caller: str) -> dict[str, Any]:
        """The TO reports a move (or a dialog); the body has passed `update_rules`."""
        names = self.contract.names
        with self.store.transaction() as tx:
            ticket = self._get(mirror_key, tx)
            if ticket is None:
                raise TicketNotFoundOnUpdate(mirror_key)
            if body[names.mirror_key] != mirror_key:
                raise IllegalArgument(
                    f"{names.mirror_key}: the body names {body[names.mirror_key]!r} but the path names "
                    f"{mirror_key!r}; they must be equal",
                    rules=("ids.path-body-match",),
                )
            if body[names.ticket_id] != ticket.ticket_id:
                raise IllegalArgument(
                    f"{names.ticket_id}: {body[names.ticket_id]!r} is not the TO's id of ticket {mirror_key} "
                    f"({ticket.ticket_id!r})",
                    rules=("ids.ticket-id-match",),
                )
            ticket = self._move(tx, ticket, body, files, side="TO", actor=f"TO ({caller})")
        return project(self.contract.update_view, {**self._values(ticket), names.dialog: body.get(names.dialog)})

    # -- the TU's own side (the control API) ---------------------------------------------------

    def open(self, data: Any) -> dict[str, Any]:
        """A ticket the TU opened (on the TO, whose id it was given), in the lifecycle's initial state."""
        names, lifecycle = self.contract.names, self.contract.lifecycle
        body = self.open_rules.check(data)
        key, ticket_id = body[names.mirror_key], body[names.ticket_id]
        fields = {
            name: value
            for name, value in body.items()
            if name not in (names.mirror_key, names.ticket_id) and value is not None
        }
        at = self.store.now()
        with self.store.transaction() as tx:
            if self._get(key, tx) is not None:
                raise IllegalArgument(f"{names.mirror_key}: the mirror has a ticket {key!r} already")
            tx.execute(
                "INSERT INTO mirror_tickets (mirror_key, ticket_id, state, fields, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, ticket_id, lifecycle.initial, json.dumps(fields), at, at),
            )
            self._event(tx, key, at, "TU", "TU (opened)", None, lifecycle.initial, fields.get(names.dialog), fields, [])
        return self.read(key)

    def tu_move(self, mirror_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """The TU's own move on its ticket; the body has passed `move_rules`."""
        with self.store.transaction() as tx:
            ticket = self._get(mirror_key, tx)
            if ticket is None:
                raise TicketNotFound(mirror_key)
            ticket = self._move(tx, ticket, body, [], side="TU", actor="TU (hook)")
        return project(self.contract.ticket_view, self._values(ticket))

    def history(self, mirror_key: str | None = None) -> list[dict[str, Any]]:
        """Every ticket (or one) with its events, oldest first: what the TO sent, and the TU's moves."""
        names = self.contract.names
        where, params = ("WHERE mirror_key = ?", (mirror_key,)) if mirror_key else ("", ())
        tickets = self.store.query(f"SELECT * FROM mirror_tickets {where} ORDER BY created_at, mirror_key", params)
        events = self.store.query(f"SELECT * FROM mirror_events {where} ORDER BY id", params)
        by_ticket: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_ticket.setdefault(event["mirror_key"], []).append(
                {
                    "at": event["at"],
                    "side": event["side"],
                    "actor": event["actor"],
                    "from": event["from_state"],
                    "to": event["to_state"],
                    "dialog": event["dialog"],
                    "changes": json.loads(event["changes"]),
                    "attachments": json.loads(event["attachments"]),
                }
            )
        return [
            {
                names.mirror_key: row["mirror_key"],
                names.ticket_id: row["ticket_id"],
                names.state: row["state"],
                "createdAt": row["created_at"],
                "updatedAt": row["updated_at"],
                "fields": json.loads(row["fields"]),
                "history": by_ticket.get(row["mirror_key"], []),
            }
            for row in tickets
        ]

    def reset(self) -> int:
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM mirror_tickets")

    # -- inside ------------------------------------------------------------------------------

    def _move(
        self, tx: Tx, ticket: MirrorTicket, body: dict[str, Any], files: list[Attachment], *, side: Side, actor: str
    ) -> MirrorTicket:
        """A move by `side`, refused as the provider refuses one; recorded with its fields."""
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
        kept_apart = names.identifying
        changes = {name: value for name, value in body.items() if name not in kept_apart and value is not None}
        changes = {name: value for name, value in changes.items() if name in self.contract.update.properties}
        files = self._attachments(body) + files
        fields = {**ticket.fields, **changes}
        at = self.store.now()
        tx.execute(
            "UPDATE mirror_tickets SET state = ?, fields = ?, updated_at = ? WHERE mirror_key = ?",
            (target, json.dumps(fields), at, ticket.mirror_key),
        )
        self._event(
            tx, ticket.mirror_key, at, side, actor, ticket.state, target, body.get(names.dialog), changes, files
        )
        return MirrorTicket(ticket.mirror_key, ticket.ticket_id, target, fields, ticket.created_at, at)

    def _attachments(self, body: dict[str, Any]) -> list[Attachment]:
        names, found = self.contract.attachment_names, []
        for item in body.get(self.contract.names.attachments) or ():
            content = decode_base64(item[names.content]) or b""
            found.append(Attachment(item[names.name], item.get(names.media_type), content))
        return found

    @staticmethod
    def _event(
        tx: Tx,
        key: str,
        at: str,
        side: str,
        actor: str,
        source: str | None,
        target: str,
        dialog: str | None,
        changes: dict[str, Any],
        files: list[Attachment],
    ) -> None:
        kept = [
            {
                "name": f.name,
                "mimeType": f.mime_type,
                "size": len(f.content),
                "sha256": hashlib.sha256(f.content).hexdigest(),
            }
            for f in files
        ]
        tx.execute(
            "INSERT INTO mirror_events (mirror_key, at, side, actor, from_state, to_state, dialog, changes,"
            " attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, at, side, actor, source, target, dialog, json.dumps(changes), json.dumps(kept)),
        )

    def _get(self, mirror_key: str, tx: Tx | None = None) -> MirrorTicket | None:
        sql, params = "SELECT * FROM mirror_tickets WHERE mirror_key = ?", (mirror_key,)
        rows = tx.query(sql, params) if tx is not None else self.store.query(sql, params)
        if not rows:
            return None
        row = rows[0]
        return MirrorTicket(
            row["mirror_key"],
            row["ticket_id"],
            row["state"],
            json.loads(row["fields"]),
            row["created_at"],
            row["updated_at"],
        )

    def _values(self, ticket: MirrorTicket) -> dict[str, Any]:
        names = self.contract.names
        return {
            **ticket.fields,
            names.ticket_id: ticket.ticket_id,
            names.mirror_key: ticket.mirror_key,
            names.state: ticket.state,
        }


@dataclass(frozen=True)
class MirrorParts:
    """What one mirror app was built from, for tests that look inside."""

    config: MockConfig
    contract: MirrorContract
    store: TicketStore
    journal: MemoryJournal | FileJournal
    service: MirrorService
    authenticator: Authenticator


def create_mirror_app(
    config: MockConfig | None = None,
    *,
    document: dict[str, Any] | None = None,
    lifecycle: Lifecycle | None = None,
    store: TicketStore | None = None,
    authenticator: Authenticator | None = None,
    service_class: type[MirrorService] | None = None,
) -> Flask:
    """Build the reference TU mirror. Each part defaults to what `config` names; tests may pass their
    own (a changed rule, a store, an authenticator, a service with a bug)."""
    from mockserver.app import _register_error_handlers, _register_journal

    config = config or MockConfig(role="tu-mirror")
    lifecycle = lifecycle or lifecycle_module.load(config.lifecycle_path)
    if document is None:
        document = load_document(config.mirror_spec_path)
    contract = MirrorContract.from_document(
        document, lifecycle, spec_path=config.mirror_spec_path, lifecycle_path=config.lifecycle_path
    )
    store = store or TicketStore(config.db)
    journal = open_journal(config.db, config.journal_size)
    authenticator = authenticator or Authenticator(resolve_secret(config.jwt_secret))
    service = (service_class or MirrorService)(contract, store)

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=config.max_body_bytes, MAX_FORM_MEMORY_SIZE=config.max_body_bytes)
    app.register_blueprint(_api(service, authenticator, config.max_body_bytes))
    injector = FaultInjector(store, contract, authenticator, skip=(PREFIX, "/openapi."))  # type: ignore[arg-type]
    if config.faults_path is not None:
        injector.load_file(config.faults_path)
    app.register_blueprint(_control(service, journal, injector, config.max_body_bytes))
    app.extensions["mockserver"] = MirrorParts(config, contract, store, journal, service, authenticator)
    served_yaml = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    served_json = json.dumps(document, indent=2)
    app.add_url_rule("/openapi.yaml", "openapi_yaml", lambda: Response(served_yaml, mimetype="application/yaml"))
    app.add_url_rule("/openapi.json", "openapi_json", lambda: Response(served_json, mimetype="application/json"))
    _register_error_handlers(app, contract, RefusalRules(contract))  # type: ignore[arg-type]
    _register_journal(app, journal, contract)  # type: ignore[arg-type]
    injector.install(app)
    return app


def _api(service: MirrorService, authenticator: Authenticator, max_body_bytes: int) -> Blueprint:
    api = Blueprint("mirror_api", __name__)
    contract = service.contract
    item, parameter = flask_rule(contract.item_path), contract.path_parameter

    @api.before_request
    def authenticate() -> None:
        if request.method != "OPTIONS":
            g.tenant = authenticator.tenant(request.headers.get("Authorization"))

    @api.get(item)
    def get_ticket(**path: str) -> Response:
        return json_response(service.read(path[parameter]))

    @api.patch(item)
    def update_ticket(**path: str) -> Response:
        parsed = read_body(request, service.update_rules, max_bytes=max_body_bytes)
        return json_response(
            service.update(path[parameter], parsed.body, parsed.files, g.tenant), warnings=parsed.warnings
        )

    return api


def _control(
    service: MirrorService, journal: MemoryJournal | FileJournal, injector: FaultInjector, max_body_bytes: int
) -> Blueprint:
    control = Blueprint("mirror_control", __name__, url_prefix=PREFIX)
    contract = service.contract
    collection = contract.item_path[: contract.item_path.rindex("/")]

    @control.post(collection)
    def open_ticket() -> Response:
        """The TU opens a ticket in its own system: {mirrorKey, ticketId (the TO's), ...fields}."""
        check_known(request.args, ())
        return json_response(service.open(parse_json(request.get_data(cache=False), what="the ticket")), 201)

    @control.post(flask_rule(contract.item_path) + "/transition")
    def tu_move(**path: str) -> Response:
        """The TU moves its own ticket (asks to cancel, supplies information...), as the lifecycle lets the TU."""
        parsed = read_body(request, service.move_rules, max_bytes=max_body_bytes)
        return json_response(service.tu_move(path[contract.path_parameter], parsed.body), warnings=parsed.warnings)

    @control.get("/health")
    def health() -> Response:
        return json_response({"status": "ok", "now": clock(), "role": "tu-mirror"})

    @control.post("/reset")
    def reset() -> Response:
        """Forget every ticket and the journal."""
        deleted = service.reset()
        journal.clear()
        return json_response({"deleted": deleted})

    @control.get("/tickets")
    def tickets() -> Response:
        return json_response({"tickets": service.history()})

    @control.get("/tickets/<mirror_key>")
    def ticket(mirror_key: str) -> Response:
        found = service.history(mirror_key)
        if not found:
            raise TicketNotFound(mirror_key)
        return json_response(found[0])

    @control.get("/journal")
    def requests_received() -> Response:
        query = JournalQuery.from_args(request.args.to_dict(flat=False))
        now = clock()
        return json_response({"requests": query.select(journal.newest()), "now": now, "capacity": journal.size})

    @control.delete("/journal")
    def journal_reset() -> Response:
        deleted = len(journal.newest())
        journal.clear()
        return json_response({"deleted": deleted})

    add_fault_routes(control, injector)
    return control
