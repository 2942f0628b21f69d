"""Which contract rule a refusal is about, named as `spec.catalogue` names it.

An error raised while reading a body does not know which operation it serves, so its rule ids
may hold `{role}` (`{role}.dialog.maxLength`); the operation is known once the request is routed.
The journal keeps the resolved ids, which is what grading a client needs.
"""

from __future__ import annotations

import spec
from mockserver.api import flask_rule
from mockserver.errors import ROLE, ApiError
from spec.catalogue import Catalogue, field_rule, multipart_rule
from spec.contract import Contract

# When no rule of the catalogue names a refusal, the closest catalogue rule for its status.
FALLBACK_BY_STATUS = {401: "auth.malformed-token", 404: "http.unknown-path"}
FALLBACK = "body.other-invalid-data"


class RefusalRules:
    """Resolves an error's rule ids for the operation that refused the request."""

    def __init__(self, contract: Contract, catalogue: Catalogue | None = None) -> None:
        self.contract = contract
        self.catalogue = catalogue or Catalogue.build(contract)
        self._roles: dict[tuple[str, str], str] = {}
        for role, operation_id in contract.operations.items():
            path, method, _ = spec.operation(contract.document, operation_id)
            self._roles[(flask_rule(path), method)] = role
            if method == "GET":
                self._roles[(flask_rule(path), "HEAD")] = role

    def role(self, url_rule: str | None, method: str) -> str | None:
        """The operation (create, read, update) a routed request is, or None."""
        return self._roles.get((url_rule, method)) if url_rule else None

    def resolve(self, error: ApiError, role: str | None) -> list[str]:
        """The catalogue ids of the rules `error` refuses a request for ([] for a failure of the server's)."""
        if error.status >= 500:
            return []
        found = [rule for rule in (self._one(rule, role) for rule in error.rules) if rule]
        if not found:
            found = [FALLBACK_BY_STATUS.get(error.status, FALLBACK)]
        return list(dict.fromkeys(found))

    def _one(self, rule: str, role: str | None) -> str | None:
        if ROLE in rule:
            if role not in ("create", "update"):
                return None
            if rule == field_rule(ROLE, self.contract.body(role).data_part, "required"):
                return multipart_rule(role)  # the multipart body lacks its JSON part
            rule = rule.replace(ROLE, role)
        return rule if rule in self.catalogue else None
