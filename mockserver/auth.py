"""Bearer JWT authentication: the token's `sub` names the tenant (the Territory User)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from mockserver.errors import Unauthorized

SECRET_ENV = "MOCK_JWT_SECRET"
# A development default, printed in the README: anyone can mint tokens for a mock that uses it.
DEFAULT_SECRET = "trouble-ticket-mock-development-secret"
ALGORITHM = "HS256"
# Registered claims that are NumericDates (RFC 7519): JSON numbers, never strings.
_NUMERIC_DATES = ("exp", "nbf", "iat")


def resolve_secret(explicit: str | None = None) -> str:
    """The signing secret: the explicit value, else $MOCK_JWT_SECRET, else the development default."""
    return explicit or os.environ.get(SECRET_ENV) or DEFAULT_SECRET


def mint_token(sub: str, *, secret: str, exp_seconds: int | None = None, now: float | None = None) -> str:
    """A token the mock accepts for tenant `sub`, expiring after `exp_seconds` when given."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": issued}
    if exp_seconds is not None:
        claims["exp"] = issued + exp_seconds
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass
class Authenticator:
    """Turns an Authorization header into a tenant, or raises Unauthorized."""

    secret: str
    cache_size: int = 4096
    # token -> (tenant, expiry or None); a verified signature stays verified, the expiry is re-checked on each use.
    _verified: dict[str, tuple[str, float | None]] = field(default_factory=dict, repr=False)

    def tenant(self, authorization: str | None) -> str:
        """The tenant named by a valid bearer token in the header's value."""
        if not authorization:
            raise Unauthorized("no bearer token: send 'Authorization: Bearer <JWT>'", token_sent=False)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be 'Bearer <JWT>'", token_sent=False)
        known = self._verified.get(token)
        if known is None:
            return self._verify(token)["sub"]
        tenant, expires = known
        if expires is not None and expires <= time.time():
            raise Unauthorized("the token has expired", token_sent=True)
        return tenant

    def _verify(self, token: str) -> dict[str, Any]:
        """The claims of a token checked in full (remembered, so that its signature is checked once)."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", token_sent=True) from None
        except jwt.InvalidAlgorithmError:
            raise Unauthorized(f"the token must be signed with {ALGORITHM}", token_sent=True) from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("the token's signature does not match", token_sent=True) from None
        except jwt.MissingRequiredClaimError:
            raise Unauthorized("the token has no 'sub' claim naming the tenant", token_sent=True) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not a valid JWT ({exc})", token_sent=True) from None
        for name in _NUMERIC_DATES:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                # PyJWT reads "exp": "1900000000" as a number; RFC 7519 says a NumericDate is a JSON number.
                raise Unauthorized(f"the token's {name!r} claim must be a number of seconds", token_sent=True)
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip():
            raise Unauthorized("the token's 'sub' claim must be a non-empty string", token_sent=True)
        if not _is_unicode(sub):
            raise Unauthorized(
                "the token's 'sub' claim is not Unicode text (it holds a lone surrogate)", token_sent=True
            )
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = (sub, float(claims["exp"]) if "exp" in claims else None)
        return claims


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
