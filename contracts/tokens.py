"""The run's bearer tokens: the ones given, obtained, or minted by the suite when given the means.

A token can be given (`$TT_TOKEN`), or obtained from the provider's OAuth2 token endpoint by the
client-credentials grant (`--token-url`, client id and secret from the environment), in which
case it is obtained again before it expires, however long the run. Expiry, not-before and a
second tenant can only be checked with tokens made for the purpose: a test environment that
shares its HS256 secret (`--jwt-secret`) lets the suite mint them; an expired token can also be
given as it is (`--expired-token`).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

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


class TokenError(Exception):
    """The token endpoint would not give a token; the message says what it answered."""


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth2 client-credentials grant (RFC 6749 §4.4) at a provider's token endpoint."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None

    def fetch(self) -> tuple[str, float]:
        """A new access token and when it expires (time.monotonic(); an hour when not said)."""
        form = {"grant_type": "client_credentials", "scope": self.scope, "audience": self.audience}
        try:
            answer = requests.post(
                self.token_url,
                data={k: v for k, v in form.items() if v},
                auth=(self.client_id, self.client_secret),
                timeout=15,
            )
        except requests.RequestException as error:
            raise TokenError(f"the token endpoint {self.token_url} did not answer: {error}") from None
        try:
            body = answer.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise TokenError(
                f"the token endpoint {self.token_url} gave no access_token: {answer.status_code} {answer.text[:200]}"
            ) from None
        lifetime = body.get("expires_in") if isinstance(body.get("expires_in"), int | float) else 3600
        return str(token), time.monotonic() + float(lifetime)


@dataclass
class Tokens:
    a: str
    b: str | None = None
    expired: str | None = None
    secret: str | None = None
    minted_roles: tuple[str, ...] = ()  # the roles ("a", "b") whose token the suite minted
    clients: dict[str, OAuthClient] = field(default_factory=dict)  # roles whose token is obtained
    expires: dict[str, float] = field(default_factory=dict)
    retired: dict[str, str] = field(default_factory=dict)  # a token replaced -> its role
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    REFRESH_MARGIN = 30.0  # seconds before expiry at which a token is obtained again

    def obtain(self, role: str) -> None:
        token, expires = self.clients[role].fetch()
        old = getattr(self, role)
        if old:
            self.retired[old] = role
        setattr(self, role, token)
        # Obtained again a quarter of its life (at most 30 s) before it expires.
        self.expires[role] = expires - min(self.REFRESH_MARGIN, (expires - time.monotonic()) / 4)

    def refresh(self) -> None:
        """Obtain again every token that is about to expire."""
        if not self.clients:
            return
        with self._lock:
            for role in self.clients:
                if time.monotonic() > self.expires[role]:
                    self.obtain(role)

    def current_header(self, authorization: str | None) -> str | None:
        """An Authorization header with a replaced token swapped for its role's current one."""
        if not authorization or not self.retired:
            return authorization
        scheme, _, token = authorization.partition(" ")
        role = self.retired.get(token)
        return f"{scheme} {getattr(self, role)}" if role else authorization

    def of(self, authorization: str | None) -> str | None:
        """How reports show an Authorization header: never the token, always where it comes from."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        for label, known in self.labels().items():
            if token == known:
                return f"{scheme} {label}"
        role = self.retired.get(token)
        if role:
            return f"{scheme} {self.role_labels()[role]}"
        return f"{scheme} <a token made by the suite>"

    @property
    def minted(self) -> bool:
        return bool(self.minted_roles)

    def by_role(self) -> dict[str, str]:
        return {"a": self.a, **({"b": self.b} if self.b else {})}

    def role_labels(self) -> dict[str, str]:
        """How reports show each role's token: the variable it was given in, or how it was made."""
        given = {"a": "$TT_TOKEN", "b": "$TT_TOKEN_B"}
        labels = {}
        for role, token in self.by_role().items():
            if role in self.minted_roles:
                labels[role] = f"<a token minted with $TT_JWT_SECRET for sub {claims_of(token).get('sub')}>"
            elif role in self.clients:
                labels[role] = (
                    f"<a token from {self.clients[role].token_url} for client {self.clients[role].client_id}>"
                )
            else:
                labels[role] = given[role]
        return labels

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
    for role, client in config.oauth_clients.items():
        tokens.clients[role] = client
        tokens.obtain(role)
    if config.jwt_secret:
        if not tokens.a:
            tokens.a = jwt.encode({"sub": "contract-suite-a", "iat": int(time.time())}, config.jwt_secret, ALGORITHM)
            tokens.minted_roles += ("a",)
        if not tokens.b:
            tokens.b = tokens.mint(sub=f"{tokens.sub}-other-tenant")
            tokens.minted_roles += ("b",)
    return tokens
