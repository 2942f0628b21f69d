"""Bearer JWT authentication: the token's `sub` names the tenant (the Territory User).

By default tokens are HS256, signed with a shared secret the `token` command also uses. A mock
standing in for a real provider can instead verify its identity provider's tokens: RS256, ES256
and their kin, checked against the public keys of a JWKS (a file, or a URL fetched and
refreshed), with the issuer and audience checked when configured.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from mockserver.errors import KeysUnavailable, Unauthorized

SECRET_ENV = "MOCK_JWT_SECRET"
# A development default, printed in the README: anyone can mint tokens for a mock that uses it.
DEFAULT_SECRET = "trouble-ticket-mock-development-secret"
ALGORITHM = "HS256"
# What a JWKS key may sign with: the RSA and EC families identity providers issue. Never HS*:
# a public key must not double as a shared secret.
JWKS_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# Registered claims that are NumericDates (RFC 7519): JSON numbers, never strings.
_NUMERIC_DATES = ("exp", "nbf", "iat")

log = logging.getLogger("mockserver")


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


def _signing_keys(document: dict[str, Any]) -> PyJWKSet:
    """The signature keys of a JWKS document (keys marked for encryption left out)."""
    keys = [key for key in document.get("keys", ()) if isinstance(key, dict) and key.get("use", "sig") == "sig"]
    return PyJWKSet.from_dict({"keys": keys})


class JwksKeys:
    """The public keys of a JWKS: a file read once, or a URL fetched on first use and refreshed.

    A URL's keys are fetched again once they are `lifespan_seconds` old, and when a token names
    a key id not seen yet (the provider rotated its keys), at most once every `refetch_seconds`
    so that tokens with made-up key ids cannot make the mock hammer the provider. When a
    refresh fails the keys already fetched stay in use.
    """

    def __init__(self, source: str, *, lifespan_seconds: float = 300, refetch_seconds: float = 30) -> None:
        self.source = source
        self.lifespan_seconds, self.refetch_seconds = lifespan_seconds, refetch_seconds
        self._client = PyJWKClient(source, cache_jwk_set=False, timeout=5) if is_url(source) else None
        self._lock = threading.Lock()
        self._keys: PyJWKSet | None = None
        self._fetched_at = float("-inf")

    def load(self) -> PyJWKSet:
        """The keys, read now if never read; raise KeysUnavailable naming the source and the cause."""
        with self._lock:
            if self._keys is None:
                self._keys = self._read()
            elif self._client is not None and time.monotonic() - self._fetched_at >= self.lifespan_seconds:
                self._refresh()
            return self._keys

    def candidates(self, kid: str | None) -> list[PyJWK]:
        """The keys that may have signed a token with this key id (every key when it has none)."""
        found = [key for key in self.load().keys if kid is None or key.key_id == kid]
        if not found and self._client is not None:
            with self._lock:
                if time.monotonic() - self._fetched_at >= self.refetch_seconds:
                    self._refresh()
                found = [key for key in self._keys.keys if key.key_id == kid]  # type: ignore[union-attr]
        return found

    def _refresh(self) -> None:
        try:
            self._keys = self._read()
        except KeysUnavailable as error:
            self._fetched_at = time.monotonic()  # retry after refetch_seconds, not on every request
            log.warning("%s; the keys fetched before stay in use", error.message)

    def _read(self) -> PyJWKSet:
        try:
            if self._client is not None:
                self._fetched_at = time.monotonic()
                return _signing_keys(self._client.fetch_data())
            return _signing_keys(json.loads(Path(self.source).read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError, jwt.PyJWKClientError, jwt.PyJWKSetError) as error:
            raise KeysUnavailable(f"cannot read the JWKS at {self.source}: {error}") from None


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@dataclass
class Authenticator:
    """Turns an Authorization header into a tenant, or raises Unauthorized.

    With `keys` (a JWKS) tokens must be signed by one of its keys; otherwise HS256 with `secret`.
    `issuer` and `audience`, when set, must be the token's `iss` and among its `aud`.
    """

    secret: str
    keys: JwksKeys | None = None
    issuer: str | None = None
    audience: str | None = None
    cache_size: int = 4096
    # token -> (tenant, expiry or None); a verified signature stays verified, the expiry is re-checked on each use.
    _verified: dict[str, tuple[str, float | None]] = field(default_factory=dict, repr=False)

    @property
    def algorithms(self) -> tuple[str, ...]:
        return JWKS_ALGORITHMS if self.keys is not None else (ALGORITHM,)

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
        known = self._verified.get(token)
        if known is None:
            return self._verify(token)["sub"]
        tenant, expires = known
        if expires is not None and expires <= time.time():
            raise Unauthorized("the token has expired", token_sent=True, rule="auth.expired")
        return tenant

    def _verify(self, token: str) -> dict[str, Any]:
        """The claims of a token checked in full (remembered, so that its signature is checked once)."""
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired", token_sent=True, rule="auth.expired") from None
        except jwt.InvalidAlgorithmError:
            allowed = ", ".join(self.algorithms)
            rule = "auth.alg-none" if _algorithm(token) == "none" else "auth.bad-signature"
            raise Unauthorized(f"the token must be signed with {allowed}", token_sent=True, rule=rule) from None
        except jwt.InvalidSignatureError:
            raise Unauthorized(
                "the token's signature does not match", token_sent=True, rule="auth.bad-signature"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            what = "naming the tenant" if exc.claim == "sub" else "(this mock requires it)"
            raise Unauthorized(
                f"the token has no {exc.claim!r} claim {what}", token_sent=True, rule="auth.malformed-token"
            ) from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(
                f"the token's 'iss' claim is not {self.issuer!r}", token_sent=True, rule="auth.bad-signature"
            ) from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(
                f"the token's 'aud' claim does not name {self.audience!r}", token_sent=True, rule="auth.bad-signature"
            ) from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized(
                "the token is not valid yet (its nbf or iat is in the future)",
                token_sent=True,
                rule="auth.not-yet-valid",
            ) from None
        except jwt.DecodeError as exc:
            if _algorithm(token) is not None:  # it reads as a JWT: what PyJWT says of its claims helps
                raise Unauthorized(
                    f"the token is not a valid JWT ({exc})", token_sent=True, rule="auth.malformed-token"
                ) from None
            # PyJWT's own words for a token that is no JWT ("Not enough segments") help nobody.
            raise Unauthorized(
                "the token is malformed: a JWT is three base64url parts separated by dots (header.payload.signature)",
                token_sent=True,
                rule="auth.malformed-token",
            ) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(
                f"the token is not a valid JWT ({exc})", token_sent=True, rule="auth.malformed-token"
            ) from None
        for name in _NUMERIC_DATES:
            value = claims.get(name)
            if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
                # PyJWT reads "exp": "1900000000" as a number; RFC 7519 says a NumericDate is a JSON number.
                raise Unauthorized(
                    f"the token's {name!r} claim must be a number of seconds",
                    token_sent=True,
                    rule="auth.malformed-token",
                )
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip():
            raise Unauthorized(
                "the token's 'sub' claim must be a non-empty string", token_sent=True, rule="auth.malformed-token"
            )
        if not _is_unicode(sub):
            raise Unauthorized(
                "the token's 'sub' claim is not Unicode text (it holds a lone surrogate)",
                token_sent=True,
                rule="auth.malformed-token",
            )
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = (sub, float(claims["exp"]) if "exp" in claims else None)
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, times, issuer and audience are checked."""
        required = ["sub"] + ["iss"] * (self.issuer is not None) + ["aud"] * (self.audience is not None)
        options: dict[str, Any] = {"require": required, "verify_aud": self.audience is not None}
        if self.keys is None:
            keys: list[Any] = [self.secret]
            algorithms = [ALGORITHM]
        else:
            keys, algorithms = self._jwks_keys_for(token)
        *others, last = keys
        for key in others:  # a token without a key id: try each key that could have signed it
            try:
                return self._decode_with(token, key, algorithms, options)
            except jwt.InvalidSignatureError:
                continue
        return self._decode_with(token, last, algorithms, options)

    def _decode_with(self, token: str, key: Any, algorithms: list[str], options: dict[str, Any]) -> dict[str, Any]:
        return jwt.decode(
            token, key, algorithms=algorithms, options=options, audience=self.audience, issuer=self.issuer
        )  # type: ignore[arg-type]

    def _jwks_keys_for(self, token: str) -> tuple[list[PyJWK], list[str]]:
        assert self.keys is not None
        header = jwt.get_unverified_header(token)  # raises DecodeError for a malformed token
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in JWKS_ALGORITHMS:
            raise jwt.InvalidAlgorithmError(alg)
        if kid is not None and not isinstance(kid, str):
            raise jwt.InvalidTokenError("its 'kid' header is not a string")
        keys = [key for key in self.keys.candidates(kid) if key.algorithm_name == alg]
        if not keys:
            named = f" under the key id {kid!r}" if kid is not None else ""
            raise jwt.InvalidTokenError(f"no key of the mock's JWKS signs {alg}{named}")
        return keys, [alg]


def _algorithm(token: str) -> str | None:
    """The `alg` a token's header names, or None when the header cannot be read."""
    try:
        return jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
