"""The mock's errors, each mapped once to the contract's error body and status code.

An error knows its kind (which of the contract's three error bodies it is) and its message;
the body's key and the `required fields:` wording are the contract's, read from the spec.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from spec.catalogue import field_rule, response_rule
from spec.contract import Contract

ErrorKind = Literal["illegal_argument", "remote", "not_found"]
# Rule ids may hold this placeholder for the operation (create, read, update) that refused the
# request: a body rule raised while reading a body does not know which operation it serves.
ROLE = "{role}"


class ApiError(Exception):
    """An answer the contract documents: a status code and a one-key JSON body."""

    status: int = 400
    kind: ClassVar[ErrorKind] = "illegal_argument"
    # The contract rules (spec.catalogue ids) a refusal of this kind is about, for the journal.
    default_rules: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        rules: tuple[str, ...] | None = None,
        ticket_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        if status is not None:
            self.status = status
        self.rules = self.default_rules if rules is None else rules
        self.ticket_id = ticket_id  # the ticket a refusal names (a repeated create names the existing one)

    def to_dict(self, contract: Contract) -> dict[str, str]:
        """The error body, under the contract's key for this kind of error."""
        return {getattr(contract.errors, self.kind): self.render(contract)}

    def render(self, contract: Contract) -> str:
        return self.message


class IllegalArgument(ApiError):
    """A request the contract forbids (OssjIllegalArgumentException)."""


class RequiredFieldsMissing(IllegalArgument):
    """Required fields absent or null, named in the schema's order."""

    def __init__(self, fields: list[str], *, rules: tuple[str, ...] | None = None) -> None:
        if rules is None:
            rules = tuple(field_rule(ROLE, rule_path(name), "required") for name in fields)
        super().__init__("missing: " + ", ".join(fields), rules=rules)  # answered in the contract's own wording
        self.fields = fields

    def render(self, contract: Contract) -> str:
        return contract.required_message.format(self.fields)


class TicketNotFound(ApiError):
    """No ticket with this id for this tenant (GET answers 404)."""

    status = 404
    kind = "not_found"
    default_rules = (response_rule("read", 404),)

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"trouble ticket {ticket_id} not found", ticket_id=ticket_id)


class TicketNotFoundOnUpdate(TicketNotFound):
    """The same, on PATCH, where the page documents it as a 400."""

    status = 400
    default_rules = ("ids.unknown-ticket-update",)


class StoreUnavailable(ApiError):
    """The ticket store could not serve the request (RemoteException)."""

    kind = "remote"


class InternalError(ApiError):
    """A bug in the mock, answered in the contract's words rather than as an empty 500."""

    kind = "remote"
    status = 500


class KeysUnavailable(ApiError):
    """The JWKS that tokens are checked against could not be read: the fault is the mock's, not the token's."""

    kind = "remote"
    status = 503


class Unauthorized(ApiError):
    """No valid bearer token."""

    status = 401

    def __init__(self, message: str, *, token_sent: bool, rule: str | None = None) -> None:
        challenge = 'Bearer realm="trouble-ticket"'
        if token_sent:
            challenge += ', error="invalid_token"'
        rules = (rule,) if rule else None
        super().__init__(f"authentication failed: {message}", headers={"WWW-Authenticate": challenge}, rules=rules)


class AdminTokenRequired(ApiError):
    """A control request without the mock's admin token; the challenge lets a browser ask its user."""

    status = 401

    def __init__(self, message: str) -> None:
        challenge = 'Basic realm="trouble-ticket mock control API", charset="UTF-8"'
        super().__init__(f"authentication failed: {message}", headers={"WWW-Authenticate": challenge})


class Forbidden(ApiError):
    """A request the mock refuses for where it comes from (another web page, another host name)."""

    status = 403


class PayloadTooLarge(ApiError):
    status = 413
    default_rules = (response_rule(ROLE, 413),)


class UnsupportedMediaType(ApiError):
    status = 415
    default_rules = (response_rule(ROLE, 415),)


class MethodNotAllowed(ApiError):
    status = 405
    default_rules = ("http.method-not-allowed",)

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(
            f"method {method} is not allowed on {path}; allowed: {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )


class PathNotFound(ApiError):
    status = 404
    kind = "not_found"
    default_rules = ("http.unknown-path",)

    def __init__(self, path: str, served: list[str]) -> None:
        super().__init__(f"no such path: {path} (the API serves {' and '.join(served)})")


def rule_path(name: str) -> str:
    """A field path as the catalogue names rules: `attachments[0].name` -> `attachments[].name`."""
    return re.sub(r"\[\d+\]", "[]", name)
