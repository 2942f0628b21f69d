"""The TO's own moves on the mock's clock: every ticket event feeds the scenarios, due steps fire.

Events are read from the store's history (`EventFeed`), each exactly once across workers: a cursor
row, advanced in the same write transaction that acts on the events. So nothing that committed a
ticket event needs to know of scenarios or mirrors, and nothing is lost when a worker dies between
the event and its consequences: the next scan, by any worker, picks the event up.

A step is scheduled when an event starts a scenario (mockserver.scenarios), due `after` the event
on the mock's clock; it is dropped when the ticket moves to another state first, or, for a step
that needs the TU's silence, when the TU updates the ticket. A due step fires in one write
transaction that scans the new events, checks the step and moves the ticket: it fires once, in
whichever worker gets there first, and a restart loses none (they live in the store).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockserver.clock import Clock, format_ms, format_seconds, parse_ms
from mockserver.errors import ApiError
from mockserver.scenarios import NOW, ScenarioBook
from mockserver.seeding import SEEDED
from mockserver.store import Change, Ticket, TicketStore, Tx
from mockserver.tickets import TicketService

log = logging.getLogger("mockserver.schedule")

TABLES = [
    """CREATE TABLE IF NOT EXISTS event_cursor (
        id INTEGER PRIMARY KEY,
        last_event_id BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS scheduled_steps (
        id {id},
        ticket_seq INTEGER NOT NULL REFERENCES tickets (seq) ON DELETE CASCADE,
        tenant TEXT NOT NULL,
        scenario TEXT NOT NULL,
        scenario_index INTEGER NOT NULL,
        trigger_event_id BIGINT NOT NULL,
        in_state TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        unless_updated_by TEXT,
        due_ms BIGINT NOT NULL,
        status TEXT NOT NULL,
        note TEXT,
        created_ms BIGINT NOT NULL,
        done_ms BIGINT
    )""",
    "CREATE INDEX IF NOT EXISTS scheduled_steps_by_status ON scheduled_steps (status, due_ms)",
    "CREATE INDEX IF NOT EXISTS scheduled_steps_by_ticket ON scheduled_steps (ticket_seq)",
]
PENDING, FIRED, DROPPED, REFUSED = "pending", "fired", "dropped", "refused"
STATUSES = (PENDING, FIRED, DROPPED, REFUSED)
SCAN_BATCH = 500  # events acted on per transaction


@dataclass(frozen=True)
class Event:
    """One event of a ticket's history, with the ticket as it is now."""

    id: int
    seq: int
    tenant: str
    mirror_key: str
    at: str  # the mock's time of the event
    side: str
    actor: str
    from_state: str | None  # None: the ticket was created
    to_state: str
    dialog: str | None
    changes: dict[str, Any]
    fields: dict[str, Any]  # the ticket's fields now

    @property
    def seeded(self) -> bool:
        """Set up by a test (POST /_mock/tickets, --seed), not done by a side."""
        return self.actor.endswith(SEEDED)

    @property
    def moved(self) -> bool:
        """The ticket changed state (or was created)."""
        return self.from_state != self.to_state


# What acts on each new event, inside the transaction that advances the cursor.
Listener = Callable[[Tx, Event, int], None]


class EventFeed:
    """The store's ticket events, each handed once to every listener."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store
        self.listeners: list[Listener] = []
        store.ensure_tables(TABLES)
        with store.transaction() as tx:
            # A store that held tickets before the feed existed: its old events are history.
            if not tx.query("SELECT last_event_id FROM event_cursor WHERE id = 1"):
                tx.execute("INSERT INTO event_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events")

    def behind(self) -> bool:
        """Whether events wait to be scanned (a read, for an idle worker to skip the write lock)."""
        rows = self.store.query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM events) AS newest,"
            " (SELECT last_event_id FROM event_cursor WHERE id = 1) AS done"
        )
        return bool(rows) and int(rows[0]["newest"]) > int(rows[0]["done"] or 0)

    def scan(self, tx: Tx, now_ms: int) -> int:
        """Hand every event after the cursor to the listeners, oldest first; return how many."""
        done = int(tx.query("SELECT last_event_id FROM event_cursor WHERE id = 1")[0]["last_event_id"])
        total = 0
        while True:
            rows = tx.query(
                "SELECT e.id, e.ticket_seq, e.at, e.side, e.actor, e.from_state, e.to_state, e.dialog, e.changes,"
                " t.tenant, t.mirror_key, t.fields FROM events e JOIN tickets t ON t.seq = e.ticket_seq"
                " WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (done, SCAN_BATCH),
            )
            if not rows:
                break
            for row in rows:
                event = Event(
                    id=int(row["id"]),
                    seq=int(row["ticket_seq"]),
                    tenant=row["tenant"],
                    mirror_key=row["mirror_key"],
                    at=row["at"],
                    side=row["side"],
                    actor=row["actor"],
                    from_state=row["from_state"],
                    to_state=row["to_state"],
                    dialog=row["dialog"],
                    changes=json.loads(row["changes"]),
                    fields=json.loads(row["fields"]),
                )
                for listener in self.listeners:
                    listener(tx, event, now_ms)
                done = event.id
                total += 1
        # Events of tickets deleted since are gone with them: the cursor passes them too.
        newest = tx.query("SELECT COALESCE(MAX(id), 0) AS newest FROM events")[0]["newest"]
        tx.execute("UPDATE event_cursor SET last_event_id = ? WHERE id = 1", (max(done, int(newest)),))
        return total


class _Stale(Exception):
    """A step whose ticket is gone or has moved on."""


class Scheduler:
    """Schedules the scenarios' steps from ticket events and fires them when due."""

    def __init__(self, service: TicketService, clock: Clock, feed: EventFeed, book: ScenarioBook) -> None:
        self.service, self.store, self.clock, self.feed, self.book = service, service.store, clock, feed, book
        self.contract = service.contract
        feed.listeners.append(self.on_event)

    # -- scheduling ----------------------------------------------------------------------------

    def on_event(self, tx: Tx, event: Event, now_ms: int) -> None:
        if event.moved:
            self._drop(tx, event.seq, None, f"the ticket moved to {event.to_state} before it was due", now_ms)
        self._drop(tx, event.seq, event.side, f"the {event.side} updated the ticket before it was due", now_ms)
        # A seeded history is the test's starting point: its delays count from when it was seeded.
        base = parse_ms(event.at)
        if event.seeded:
            base = max(base, now_ms)
        values = {**event.fields, self.contract.names.mirror_key: event.mirror_key, "tenant": event.tenant}
        for scenario in self.book:
            if not scenario.triggered(
                from_state=event.from_state, to_state=event.to_state, side=event.side, values=values
            ):
                continue
            tx.execute(
                "INSERT INTO scheduled_steps (ticket_seq, tenant, scenario, scenario_index, trigger_event_id,"
                " in_state, target, body, unless_updated_by, due_ms, status, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.seq,
                    event.tenant,
                    scenario.name,
                    scenario.index,
                    event.id,
                    scenario.enters,
                    scenario.to,
                    json.dumps({"dialog": scenario.dialog, "fields": scenario.fields}),
                    scenario.unless_updated_by,
                    base + scenario.after_ms,
                    PENDING,
                    now_ms,
                ),
            )

    @staticmethod
    def _drop(tx: Tx, seq: int, side: str | None, why: str, now_ms: int) -> None:
        """Drop a ticket's pending steps: all of them, or those that needed `side`'s silence."""
        where = "ticket_seq = ? AND status = ?" + (" AND unless_updated_by = ?" if side else "")
        params: tuple[Any, ...] = (seq, PENDING, side) if side else (seq, PENDING)
        tx.execute(
            f"UPDATE scheduled_steps SET status = ?, note = ?, done_ms = ? WHERE {where}",
            (DROPPED, why, now_ms, *params),
        )

    # -- firing --------------------------------------------------------------------------------

    def busy(self, until_ms: int) -> bool:
        """Whether a scan or a step waits (reads only: an idle worker takes no write lock)."""
        if self.feed.behind():
            return True
        rows = self.store.query(
            "SELECT COUNT(*) AS due FROM scheduled_steps WHERE status = ? AND due_ms <= ?", (PENDING, until_ms)
        )
        return int(rows[0]["due"]) > 0

    def catch_up(self) -> None:
        """Scan the events that wait, so that steps and callbacks are there to be listed."""
        if self.feed.behind():
            with self.store.transaction() as tx:
                self.feed.scan(tx, self.clock.now_ms(tx))

    def fire_due(self, until_ms: int | None = None) -> list[dict[str, Any]]:
        """Fire every step due by `until_ms` (default: the clock's time), earliest first, each in a
        transaction of its own that first scans new events (a step a move just dropped never
        fires, and a move a step makes may schedule the next). Return what fired or was dropped."""
        done: list[dict[str, Any]] = []
        while True:
            with self.store.transaction() as tx:
                now = self.clock.now_ms(tx)
                self.feed.scan(tx, now)
                rows = tx.query(
                    "SELECT * FROM scheduled_steps WHERE status = ? AND due_ms <= ?"
                    " ORDER BY due_ms, scenario_index, id LIMIT 1",
                    (PENDING, now if until_ms is None else until_ms),
                )
                if not rows:
                    return done
                done.append(self._fire(tx, rows[0], now))

    def _fire(self, tx: Tx, step: dict[str, Any], now_ms: int) -> dict[str, Any]:
        due = int(step["due_ms"])
        stored = json.loads(step["body"])
        names = self.contract.names
        fields = {name: format_seconds(due) if value == NOW else value for name, value in stored["fields"].items()}
        body = {**fields, names.state: step["target"], names.dialog: stored["dialog"]}
        actor = f"TO (scenario {step['scenario']})"

        def decide(ticket: Ticket | None) -> Change:
            if ticket is None:
                raise _Stale("the ticket is gone")
            if ticket.state != step["in_state"]:
                raise _Stale(f"the ticket is {ticket.state}, no longer {step['in_state']}")
            return self.service.to_move(ticket, body, actor=actor)

        status, note = FIRED, None
        try:
            # A step fires at its due time on the mock's clock, however late a worker gets to it.
            self.store.update_within(tx, step["tenant"], int(step["ticket_seq"]), decide, at=format_ms(due))
        except _Stale as stale:
            status, note = DROPPED, str(stale)
        except ApiError as refused:  # a lifecycle adapted since the step was scheduled
            status, note = REFUSED, refused.render(self.contract)
        tx.execute(
            "UPDATE scheduled_steps SET status = ?, note = ?, done_ms = ? WHERE id = ?",
            (status, note, now_ms, step["id"]),
        )
        if status != FIRED:
            log.info("scenario step %s not fired: %s", step["id"], note)
        return self.listing({**step, "status": status, "note": note, "done_ms": now_ms})

    # -- what the control API shows ------------------------------------------------------------

    def steps(
        self, *, seq: int | None = None, status: str | None = None, tenant: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Steps, newest first, by ticket, status and tenant."""
        where, params = [], []
        for column, value in (("ticket_seq", seq), ("status", status), ("tenant", tenant)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.store.query(f"SELECT * FROM scheduled_steps{clause} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [self.listing(row) for row in rows]

    def pending_by_ticket(self) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        rows = self.store.query("SELECT * FROM scheduled_steps WHERE status = ? ORDER BY due_ms, id", (PENDING,))
        for row in rows:
            found.setdefault(int(row["ticket_seq"]), []).append(self.listing(row))
        return found

    def listing(self, row: dict[str, Any]) -> dict[str, Any]:
        names = self.contract.names
        return {
            "id": row["id"],
            names.ticket_id: self.contract.ticket_ids.of(int(row["ticket_seq"])),
            "tenant": row["tenant"],
            "scenario": row["scenario"],
            "from": row["in_state"],
            "to": row["target"],
            "dueAt": format_ms(int(row["due_ms"])),
            "unlessUpdatedBy": row["unless_updated_by"],
            "status": row["status"],
            "note": row["note"],
            "scheduledAt": format_ms(int(row["created_ms"])),
            "doneAt": format_ms(int(row["done_ms"])) if row.get("done_ms") is not None else None,
        }
