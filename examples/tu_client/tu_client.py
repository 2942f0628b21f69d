"""A small Territory User client of the Trouble Ticket API: the kind of code the mock is for.

It opens tickets, reads them, and updates them with attachments, and it copes with a provider that
is slow or fails: it retries 5xx answers (after their Retry-After, else with exponential backoff),
dropped connections, truncated answers and timeouts. A create is idempotent by mirrorKey: when a
retried create is refused because the mirrorKey already opened a ticket, that ticket is the one the
lost answer would have named (the contract: "a 400 that names the existing ticketId").

Its own tests (test_tu_client.py) run it against the mock, faults included, through the pytest
plugin; nothing here knows about the mock.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

# Answers worth another try: the provider failed or was unavailable, not the request.
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
# A connection dropped, an answer cut short, no answer in time: the request may or may not have been done.
RETRIED_ERRORS = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout)
# The provider's ticket ids (RED-84); a refused repeat of a create names the ticket the first one made.
TICKET_ID = re.compile(r"\bRED-[0-9]+\b")


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    media_type: str = "application/octet-stream"


class ProviderRefused(Exception):
    """The provider refused the request (4xx): retrying would not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class ProviderUnavailable(Exception):
    """Every try failed: the provider is down, slow or failing."""


class TroubleTicketClient:
    """One TU's client of a provider's Trouble Ticket API."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff, self.max_wait = timeout, retries, backoff, max_wait
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", **(headers or {})})
        self._opened: dict[str, str] = {}  # mirrorKey -> ticketId, so that a key opens one ticket

    # -- the API ---------------------------------------------------------------------------------

    def open_ticket(self, ticket: dict[str, Any], attachments: Sequence[Attachment] = ()) -> str:
        """Open a ticket (its state OPENACTIVE is set here); return its ticketId. The same mirrorKey
        always gives the same ticket, even when an answer was lost and the create was sent again."""
        key = ticket["mirrorKey"]
        if key in self._opened:
            return self._opened[key]
        body = {**ticket, "baseTroubleTicketState": "OPENACTIVE"}

        def lost_answer(answer: requests.Response, retried: bool) -> str | None:
            # The create was done, but its answer never reached us: the refused repeat names the ticket.
            message = _message(answer)
            if retried and answer.status_code == 400 and key in message and TICKET_ID.search(message):
                return TICKET_ID.search(message).group(0)  # type: ignore[union-attr]
            return None

        answer = self._send("POST", "/troubleTicket", body, attachments, "attachment", recover=lost_answer)
        ticket_id = answer if isinstance(answer, str) else answer.json()["ticketId"]
        self._opened[key] = ticket_id
        return ticket_id

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        """The ticket as the provider shows it (note its spelling `troubleDectectionTime`)."""
        return self._send("GET", f"/troubleTicket/{ticket_id}").json()

    def update(
        self,
        ticket_id: str,
        mirror_key: str,
        state: str,
        dialog: str,
        *,
        attachments: Sequence[Attachment] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        """Add a dialog (and files), moving the ticket to `state` (its current state to stay)."""
        body = {"baseTroubleTicketState": state, "ticketId": ticket_id, "mirrorKey": mirror_key, "dialog": dialog}
        body.update(fields)
        return self._send("PATCH", f"/troubleTicket/{ticket_id}", body, attachments, "attachments").json()

    def cancel(self, ticket_id: str, mirror_key: str, reason: str) -> dict[str, Any]:
        return self.update(ticket_id, mirror_key, "DEFERRED.AWAITING-CANCELATION", reason)

    def accept_resolution(self, ticket_id: str, mirror_key: str, dialog: str = "resolution accepted") -> dict[str, Any]:
        return self.update(ticket_id, mirror_key, "CLOSED", dialog)

    # -- sending, with retries -------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        attachments: Sequence[Attachment] = (),
        file_part: str = "",
        recover: Callable[[requests.Response, bool], str | None] | None = None,
    ) -> Any:
        failure, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self._wait(attempt, retry_after))
            try:
                # The whole body is read before this returns: a truncated one raises here too.
                answer = self.session.request(
                    method, self.base_url + path, timeout=self.timeout, **_body(body, attachments, file_part)
                )
            except RETRIED_ERRORS as error:
                failure, retry_after = type(error).__name__, None
                continue
            if answer.status_code in RETRIED_STATUSES:
                failure, retry_after = str(answer.status_code), _seconds(answer.headers.get("Retry-After"))
                continue
            if recover is not None and (found := recover(answer, attempt > 0)):
                return found
            if answer.status_code >= 400:
                raise ProviderRefused(answer.status_code, _message(answer))
            return answer
        raise ProviderUnavailable(f"{method} {path}: {self.retries + 1} tries failed, the last with {failure}")

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before try number `attempt`: the provider's Retry-After, else exponential backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait)


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After in seconds (the HTTP-date form is left to the backoff)."""
    return float(retry_after) if retry_after and retry_after.strip().isdigit() else None


def _body(body: dict[str, Any] | None, attachments: Sequence[Attachment], file_part: str) -> dict[str, Any]:
    """JSON, or multipart with the JSON in part `data` and each file's raw bytes in `file_part` parts."""
    if body is None:
        return {}
    if not attachments:
        return {"json": body}
    files: list[tuple[str, Any]] = [("data", (None, json.dumps(body), "application/json"))]
    files += [(file_part, (a.name, a.content, a.media_type)) for a in attachments]
    return {"files": files}


def _message(answer: requests.Response) -> str:
    """The message of the provider's error body ({"illegalArgumentException": "..."}), or the text."""
    try:
        payload = answer.json()
    except ValueError:
        return answer.text
    if isinstance(payload, dict) and len(payload) == 1:
        return str(next(iter(payload.values())))
    return answer.text
