"""What surrounds every request, in one place for the Flask app and its fast path (`fastpath.py`):
the contract's answer to any failure, with the rules a refusal broke, and the request's journal entry.

Each request's facts for the journal (tenant, body, warnings, rules, fault...) live in a state
object: Flask's `g` on the Flask path, an `Exchange` on the fast path, with the same names.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from werkzeug.exceptions import HTTPException

from mockserver import journal
from mockserver.control import PREFIX as CONTROL_PREFIX
from mockserver.errors import (
    ApiError,
    IllegalArgument,
    MethodNotAllowed,
    PathNotFound,
    PayloadTooLarge,
    StoreUnavailable,
)
from mockserver.journal import FileJournal, MemoryJournal
from mockserver.pages import is_page
from mockserver.refusals import RefusalRules
from mockserver.responses import Answer, json_answer
from mockserver.store import store_errors
from spec.contract import Contract
from spec.mirror import MirrorContract

log = logging.getLogger("mockserver")


class Exchange:
    """One request's state on the fast path: what Flask keeps in `g`. An attribute never set is
    absent, as in `g`, so that the journal's defaults apply alike."""

    def __init__(self) -> None:
        start(self)


def start(state: Any) -> None:
    """Start a request's clock (its journal entry's `receivedAt` and `durationMs`)."""
    state.started = time.perf_counter()
    state.received_at = journal.clock()


class Failures:
    """Every failure as the contract's JSON error body, and the rules a refusal is about."""

    def __init__(self, contract: Contract | MirrorContract, refusals: RefusalRules) -> None:
        self.contract, self.refusals = contract, refusals
        self.served = sorted(contract.methods)
        self.store_errors = store_errors()  # built after the app opened its store: see store_errors

    def answer(self, error: Exception, state: Any, *, rule: str | None, method: str, path: str) -> Answer:
        """The answer to `error`, raised while serving `method path` (routed to the URL rule
        `rule`, or None); call it where the error is caught, so that a bug is logged with its trace."""
        if isinstance(error, ApiError):
            return self.refusal(error, state, rule=rule, method=method)
        if isinstance(error, HTTPException):
            return self.refusal(self.http_error(error, method, path), state, rule=rule, method=method)
        if isinstance(error, self.store_errors):
            log.warning("ticket store error: %s", error)
            unavailable = StoreUnavailable(f"the ticket store could not serve the request ({error}); retry")
            return self.refusal(unavailable, state, rule=rule, method=method)
        log.exception("unexpected error on %s %s", method, path)
        return json_answer(
            {self.contract.errors.remote: f"internal error in the mock ({type(error).__name__}); see its log"}, 500
        )

    def refusal(self, error: ApiError, state: Any, *, rule: str | None, method: str) -> Answer:
        # The journal keeps which rule the request broke: grading a client needs it.
        state.rules = self.refusals.resolve(error, self.refusals.role(rule, method))
        if error.ticket_id is not None:
            state.ticket_id = error.ticket_id
        return json_answer(error.to_dict(self.contract), error.status, headers=error.headers)

    def http_error(self, error: HTTPException, method: str, path: str) -> ApiError:
        """Werkzeug's errors (routing, sizes, a body cut short) in the contract's words."""
        if error.code == 404:
            return PathNotFound(path, self.served)
        if error.code == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or [])
            return MethodNotAllowed(method, path, allowed)
        if error.code == 413:
            return PayloadTooLarge("the body is larger than this server accepts")
        return IllegalArgument(f"{error.name}: {error.description}", status=error.code or 400)


class JournalWriter:
    """Appends each journaled request's entry, naming the ticket it is about."""

    def __init__(self, requests_seen: MemoryJournal | FileJournal, contract: Contract | MirrorContract) -> None:
        self.requests_seen, self.contract = requests_seen, contract
        self.ticket_field, self.parameter = contract.names.ticket_id, contract.path_parameter

    def record(
        self,
        environ: dict[str, Any],
        path: str,
        state: Any,
        status: int,
        payload: Any,
        view_args: dict[str, Any] | None,
    ) -> None:
        if not journaled(path, self.contract):
            return
        if getattr(state, "ticket_id", None) is None:  # the ticket the request is about, for ?ticketId=
            created = payload.get(self.ticket_field) if isinstance(payload, dict) else None
            state.ticket_id = (view_args or {}).get(self.parameter) or created
        try:
            self.requests_seen.record(journal.entry_for(environ, path, state, status, payload))
        except OSError as error:  # a journal entry must never cost the client its answer
            log.warning("journal entry lost: %s", error)


def journaled(path: str, contract: Contract | MirrorContract) -> bool:
    """What the journal shows: what clients of the API sent, and the other side's moves played
    through the transition hook (a test's or the console's); not the rest of /_mock, the pages or
    the spec. The hook sits under the control prefix at the item's path, for the TO and the mirror."""
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        collection = contract.item_path.rsplit("/", 1)[0]
        return path.startswith(CONTROL_PREFIX + collection + "/") and path.endswith("/transition")
    return not path.startswith("/openapi.") and not is_page(path)
