"""The TO side of the mock comes alive: its clock, its scenarios, its callbacks to the TUs' mirrors.

`ToSide` puts the parts together over one store: the clock (mockserver.clock), which the store
then records events by; the event feed and the scheduler of scenario steps (mockserver.schedule);
the mirrors and the outbox of callbacks (mockserver.mirrors). In a served worker, two threads do
the work outside any request: one scans new events and fires due steps, the other sends due
callbacks. A request that wrote wakes them; a clock advance fires what became due before it
answers, so that a test never waits for time to pass.

Its control routes (`add_to_side_routes`) live on the control blueprint, under its guards.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from mockserver.auth import Authenticator
from mockserver.bodies import parse_json
from mockserver.clock import Clock, format_ms, parse_duration, parse_ms
from mockserver.config import MockConfig
from mockserver.errors import ApiError, IllegalArgument
from mockserver.filters import check_known
from mockserver.journal import FileJournal, MemoryJournal
from mockserver.mirrors import STATUSES as DELIVERY_STATUSES
from mockserver.mirrors import Deliveries, Mirror, Mirrors, check_tenant
from mockserver.responses import json_response
from mockserver.scenarios import ScenarioBook
from mockserver.scenarios import load as load_scenarios
from mockserver.schedule import STATUSES as STEP_STATUSES
from mockserver.schedule import EventFeed, Scheduler
from mockserver.tickets import TicketService
from spec.mirror import MirrorContract, load_document

log = logging.getLogger("mockserver.toside")

TICK_SECONDS = 0.25  # how often an idle worker looks for due steps and callbacks (reads only)
MAX_SETTLE_SECONDS = 60.0  # the longest POST /_mock/callbacks/deliver waits for callbacks in flight
WRITES = ("POST", "PATCH", "PUT", "DELETE")


class ToSide:
    """The clock, the scenarios and the callbacks of one mock, over its store."""

    def __init__(
        self,
        service: TicketService,
        config: MockConfig,
        authenticator: Authenticator,
        journal: MemoryJournal | FileJournal | None = None,
    ) -> None:
        store, contract = service.store, service.contract
        self.service, self.contract = service, contract
        self.clock = Clock(store, default_scale=config.time_scale or 1.0)
        if config.time_scale is not None:
            self.clock.set_scale(config.time_scale)
        store.now = self.clock.iso  # ticket events happen on the mock's clock
        self.feed = EventFeed(store)
        self.book = (
            load_scenarios(config.scenario_path, contract, service.transition_rules)
            if config.scenario_path is not None
            else ScenarioBook()
        )
        self.scheduler = Scheduler(service, self.clock, self.feed, self.book)
        self.mirror_contract = MirrorContract.from_document(
            load_document(config.mirror_spec_path),
            contract.lifecycle,
            spec_path=config.mirror_spec_path,
            lifecycle_path=config.lifecycle_path,
        )
        tokens = dict(config.mirror_tokens)
        unknown = sorted(set(tokens) - {tenant for tenant, _ in config.mirrors})
        if unknown:
            raise ValueError(f"--mirror-token names {', '.join(unknown)}, which no --mirror gives a URL")
        startup = []
        for tenant, url in config.mirrors:
            try:
                startup.append(Mirror.parse(tenant, {"url": url, "tokenEnv": tokens.get(tenant)}, origin="start-up"))
            except ApiError as problem:
                raise ValueError(f"--mirror {tenant}={url}: {problem.render(contract)}") from None
        self.mirrors = Mirrors(store, startup)
        self.deliveries = Deliveries(
            store, self.clock, self.feed, self.mirrors, contract, self.mirror_contract, secret=authenticator.secret,
            journal=journal,
        )  # fmt: skip
        self._wake_steps, self._wake_sender = threading.Event(), threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid: int | None = None

    # -- hooks into the app --------------------------------------------------------------------

    def install(self, app: Flask, journaled: Callable[[str], bool]) -> None:
        """The journal's entries get the mock's time (`clock`); a request that wrote wakes the workers."""

        @app.before_request
        def mock_time() -> None:
            if journaled(request.path):
                g.mock_clock = format_ms(self.clock.now_ms())

        @app.after_request
        def wake(response: Response) -> Response:
            if request.method in WRITES and response.status_code < 400:
                self.kick()
            return response

    # -- the background work of a served worker ------------------------------------------------

    def start(self) -> None:
        """Start this process's threads (a served worker's: never before a fork)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop.clear()
        work = (
            ("tt-steps", self._wake_steps, self.work_steps),
            ("tt-callbacks", self._wake_sender, self.work_callbacks),
        )
        self._threads = [
            threading.Thread(target=self._loop, args=(wake, step), name=name, daemon=True) for name, wake, step in work
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.kick()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads, self._pid = [], None

    def kick(self) -> None:
        self._wake_steps.set()
        self._wake_sender.set()

    def _loop(self, wake: threading.Event, work: Callable[[], None]) -> None:
        while not self._stop.is_set():
            wake.wait(TICK_SECONDS)
            wake.clear()
            if self._stop.is_set():
                return
            try:
                work()
            except Exception:  # a busy store, a bug: log it and carry on, the next tick tries again
                log.exception("the TO side's background work failed; trying again")
                time.sleep(TICK_SECONDS)

    def work_steps(self) -> None:
        if self.scheduler.busy(self.clock.now_ms()):
            self.scheduler.fire_due()
            self._wake_sender.set()

    def work_callbacks(self) -> None:
        if self.deliveries.waiting():
            self.deliveries.send_due()

    # -- what the control API does -------------------------------------------------------------

    def move_clock(self, data: Any) -> dict[str, Any]:
        """POST /_mock/clock: advance, set, rescale or reset it; fire what became due."""
        choices = ("advance", "to", "scale", "reset")
        if not isinstance(data, dict) or sum(key in data for key in choices) != 1:
            raise IllegalArgument(
                'send one of {"advance": "72h"} (or seconds), {"to": "2025-01-20T10:00:00Z"}, {"scale": 60}, '
                '{"reset": true}'
            )
        check_known(data, choices, what="field")
        try:
            if "advance" in data:
                self.clock.advance(parse_duration(data["advance"], "advance"))
            elif "to" in data:
                if not isinstance(data["to"], str):
                    raise ValueError("to: an RFC 3339 date-time such as 2025-01-20T10:00:00Z")
                try:
                    target = parse_ms(data["to"])
                except ValueError:
                    raise ValueError(
                        f"to: an RFC 3339 date-time such as 2025-01-20T10:00:00Z; got {data['to']!r}"
                    ) from None
                self.clock.advance_to(target)
            elif "scale" in data:
                scale = data["scale"]
                if isinstance(scale, bool) or not isinstance(scale, int | float):
                    raise ValueError(f"scale: a number of mock seconds per real second, such as 60; got {scale!r}")
                self.clock.set_scale(float(scale))
            else:
                if data["reset"] is not True:
                    raise ValueError("reset: true, to go back to the wall clock")
                self.clock.reset()
        except ValueError as problem:
            raise IllegalArgument(str(problem)) from None
        fired = self.scheduler.fire_due()
        self._wake_sender.set()
        return {**self.clock.describe(), "fired": fired}

    def settle_callbacks(self, timeout: float) -> dict[str, Any]:
        """Send every due callback now, and wait (up to `timeout` seconds) for those in flight."""
        self.scheduler.fire_due()
        attempts: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            attempts += self.deliveries.send_due()
            if self.deliveries.sending() == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.05)  # another worker's sender holds one: wait for its answer
        return {"attempts": attempts, "sending": self.deliveries.sending(), "now": format_ms(self.clock.now_ms())}

    def scheduled(self) -> dict[int, list[dict[str, Any]]]:
        """Each ticket's pending steps (by sequence number), for /_mock/tickets."""
        self.scheduler.catch_up()
        return self.scheduler.pending_by_ticket()


def add_to_side_routes(control: Blueprint, to_side: ToSide) -> None:
    """`/_mock/clock`, `/_mock/scenarios`, `/_mock/steps`, `/_mock/callbacks`, `/_mock/mirrors`."""
    contract = to_side.contract

    def selection(allowed_statuses: tuple[str, ...]) -> dict[str, Any]:
        check_known(request.args, ("ticketId", "status", "tenant", "limit"))
        chosen: dict[str, Any] = {}
        ticket_id = request.args.get("ticketId")
        if ticket_id:
            chosen["seq"] = contract.ticket_ids.sequence(ticket_id) or -1  # an id no ticket has: nothing
        status = request.args.get("status")
        if status:
            if status not in allowed_statuses:
                raise IllegalArgument(f"status: one of {', '.join(allowed_statuses)}; got {status!r}")
            chosen["status"] = status
        if request.args.get("tenant"):
            chosen["tenant"] = request.args["tenant"]
        limit = request.args.get("limit", "500")
        if not limit.isdigit() or not 0 < int(limit) <= 5000:
            raise IllegalArgument(f"limit: a number from 1 to 5000; got {limit!r}")
        chosen["limit"] = int(limit)
        return chosen

    @control.get("/clock")
    def clock() -> Response:
        """The mock's time, its scale, and how far it is from the wall clock."""
        return json_response(to_side.clock.describe())

    @control.post("/clock")
    def move_clock() -> Response:
        """Advance it (`{"advance": "72h"}`), set it, rescale it or reset it; due steps fire first."""
        check_known(request.args, ())
        return json_response(to_side.move_clock(parse_json(request.get_data(cache=False), what="the body")))

    @control.get("/scenarios")
    def scenarios() -> Response:
        book = to_side.book
        return json_response({"file": book.path.name if book.path else None, "scenarios": [s.describe() for s in book]})

    @control.get("/steps")
    def steps() -> Response:
        """The scenarios' steps, newest first: pending, fired, dropped (and why) or refused."""
        chosen = selection(STEP_STATUSES)
        to_side.scheduler.catch_up()
        return json_response({"steps": to_side.scheduler.steps(**chosen), "now": format_ms(to_side.clock.now_ms())})

    @control.get("/callbacks")
    def callbacks() -> Response:
        """The callbacks to the TUs' mirrors, newest first, each with its attempts and answers."""
        chosen = selection(DELIVERY_STATUSES)
        to_side.scheduler.catch_up()
        return json_response(
            {"callbacks": to_side.deliveries.listing(**chosen), "now": format_ms(to_side.clock.now_ms())}
        )

    @control.post("/callbacks/deliver")
    def deliver() -> Response:
        """Send the due callbacks now, in this request, and wait for those another worker is sending."""
        check_known(request.args, ("timeout",))
        text = request.args.get("timeout", "10")
        try:
            timeout = float(text)
        except ValueError:
            timeout = -1.0
        if not 0 <= timeout <= MAX_SETTLE_SECONDS:
            raise IllegalArgument(f"timeout: seconds from 0 to {MAX_SETTLE_SECONDS:g}; got {text!r}")
        return json_response(to_side.settle_callbacks(timeout))

    @control.get("/mirrors")
    def mirrors() -> Response:
        return json_response({"mirrors": [m.describe() for m in to_side.mirrors.all()]})

    @control.put("/mirrors/<tenant>")
    def put_mirror(tenant: str) -> Response:
        """Send this tenant's TO moves to a mirror: {"url", "token" or "tokenEnv"} (neither: a minted token)."""
        mirror = Mirror.parse(tenant, parse_json(request.get_data(cache=False), what="the mirror"))
        return json_response(to_side.mirrors.put(mirror).describe())

    @control.delete("/mirrors/<tenant>")
    def delete_mirror(tenant: str) -> Response:
        if not to_side.mirrors.remove(check_tenant(tenant)):
            raise MirrorNotFound(tenant)
        return json_response({"deleted": 1})

    @control.delete("/mirrors")
    def reset_mirrors() -> Response:
        """Forget the mirrors set through this API; the start-up ones (--mirror) stay."""
        check_known(request.args, ())
        removed = to_side.mirrors.reset()
        return json_response({"deleted": removed, "mirrors": [m.describe() for m in to_side.mirrors.all()]})


class MirrorNotFound(ApiError):
    status = 404
    kind = "not_found"

    def __init__(self, tenant: str) -> None:
        super().__init__(f"no mirror for {tenant} (GET /_mock/mirrors lists them)")
