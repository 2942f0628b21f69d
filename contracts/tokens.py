"""The run's bearer tokens: the ones given, and the ones the suite mints when given the means.

Expiry, not-before and a second tenant can only be checked with tokens made for the purpose. A
test environment that shares its HS256 secret (`--jwt-secret`, from $TT_JWT_SECRET) lets the
suite mint them; an expired token can also be given as it is (`--expired-token`).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt

from contracts.config import RunConfig

ALGORITHM = "HS256"


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the suite only reads what it was given); {} when not a JWT."""
    try:
        segment = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        return decoded if isinstance(decoded, dict) else {}
    except (IndexError, ValueError):
        return {}


@dataclass
class Tokens:
    a: str
    b: str | None = None
    expired: str | None = None
    secret: str | None = None
    minted_roles: tuple[str, ...] = ()  # the roles ("a", "b") whose token the suite minted

    @property
    def minted(self) -> bool:
        return bool(self.minted_roles)

    def by_role(self) -> dict[str, str]:
        return {"a": self.a, **({"b": self.b} if self.b else {})}

    def role_labels(self) -> dict[str, str]:
        """How reports show each role's token: the variable it was given in, or how it was made."""
        given = {"a": "$TT_TOKEN", "b": "$TT_TOKEN_B"}
        return {
            role: f"<a token minted with $TT_JWT_SECRET for sub {claims_of(token).get('sub')}>"
            if role in self.minted_roles
            else given[role]
            for role, token in self.by_role().items()
        }

    def labels(self) -> dict[str, str]:
        """label -> token, for every token of the run."""
        found = {label: self.by_role()[role] for role, label in self.role_labels().items()}
        if self.expired:
            found["$TT_EXPIRED_TOKEN"] = self.expired
        return found

    @property
    def sub(self) -> str:
        return str(claims_of(self.a).get("sub") or "contract-suite")

    def mint(self, **claims: Any) -> str | None:
        """A token of tenant A's with these claims changed, or None without a secret."""
        if not self.secret:
            return None
        payload = {**claims_of(self.a), "sub": self.sub, "iat": int(time.time()), **claims}
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, self.secret, algorithm=ALGORITHM)


def resolve_tokens(config: RunConfig) -> Tokens:
    """The tokens of a run: given ones first; with a secret, what is missing is minted."""
    tokens = Tokens(a=config.token, b=config.token_b, expired=config.expired_token, secret=config.jwt_secret)
    if config.jwt_secret:
        if not tokens.a:
            tokens.a = jwt.encode({"sub": "contract-suite-a", "iat": int(time.time())}, config.jwt_secret, ALGORITHM)
            tokens.minted_roles += ("a",)
        if not tokens.b:
            tokens.b = tokens.mint(sub=f"{tokens.sub}-other-tenant")
            tokens.minted_roles += ("b",)
    return tokens
