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
    # token -> verified claims; a verified signature stays verified, `exp` is re-checked on each use.
    _verified: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def tenant(self, authorization: str | None) -> str:
        """The tenant named by a valid bearer token in the header's value."""
        if not authorization:
            raise Unauthorized(
                "no bearer token: send 'Authorization: Bearer <JWT>'", token_sent=False, rule="auth.no-token"
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            rule = "auth.wrong-scheme" if scheme.lower() != "bearer" else "auth.no-token"
            raise Unauthorized("the Authorization header must be 'Bearer <JWT>'", token_sent=False, rule=rule)
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
        elif "exp" in claims and claims["exp"] <= time.time():
            raise Unauthorized("the token has expired", token_sent=True, rule="auth.expired")
        return claims["sub"]

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", token_sent=True, rule="auth.expired") from None
        except jwt.InvalidAlgorithmError:
            rule = "auth.alg-none" if _algorithm(token) == "none" else "auth.bad-signature"
            raise Unauthorized(f"the token must be signed with {ALGORITHM}", token_sent=True, rule=rule) from None
        except jwt.InvalidSignatureError:
            raise Unauthorized(
                "the token's signature does not match", token_sent=True, rule="auth.bad-signature"
            ) from None
        except jwt.MissingRequiredClaimError:
            raise Unauthorized(
                "the token has no 'sub' claim naming the tenant", token_sent=True, rule="auth.malformed-token"
            ) from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized(
                "the token is not valid yet (its nbf or iat is in the future)",
                token_sent=True,
                rule="auth.not-yet-valid",
            ) from None
        except jwt.DecodeError:
            # PyJWT's own words ("Not enough segments", "Invalid header padding") help nobody.
            raise Unauthorized(
                "the token is malformed: a JWT is three base64url parts separated by dots (header.payload.signature)",
                token_sent=True,
                rule="auth.malformed-token",
            ) from None
        except jwt.InvalidTokenError:
            raise Unauthorized(
                "the token's claims are malformed (exp, nbf and iat must be numbers)",
                token_sent=True,
                rule="auth.malformed-token",
            ) from None
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip():
            raise Unauthorized(
                "the token's 'sub' claim must be a non-empty string", token_sent=True, rule="auth.malformed-token"
            )
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = claims
        return claims


def _algorithm(token: str) -> str | None:
    """The `alg` a token's header names, or None when the header cannot be read."""
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        return None
