"""Checks made before any handler runs, so that web pages cannot use the mock behind its user's back.

- **Host.** A page on `evil.example` whose name the attacker re-points at 127.0.0.1 (DNS
  rebinding) talks to the mock as its own origin, and could read it all. Its requests carry
  `Host: evil.example`, so the mock answers only to the names it is served under: IP literals
  (no rebinding attack can use one), `localhost` and its subdomains, the address it is bound
  to, and the names given with `--allowed-host` (`*` allows any).
- **Origin.** A page on another origin can still send a POST (a form, or `fetch` in no-cors
  mode) that wipes the store. Browsers name the page's origin in `Origin` and, lately, say
  where the request comes from in `Sec-Fetch-Site`: a state-changing control request from any
  origin but the mock's own (its console, its docs) is refused.
- **Content type.** The control API takes JSON bodies or none. A browser sends JSON to another
  origin only after asking it (a CORS preflight the mock never grants), so an old browser that
  sends no `Origin` still cannot reach it with a form.
- **Admin token.** When one is set (`--admin-token`, `$MOCK_ADMIN_TOKEN`), every control
  request but the health probe must carry it: in `X-Mock-Admin-Token`, or as the password of
  HTTP Basic authentication, which a browser asks its user for.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mockserver.errors import AdminTokenRequired, Forbidden, UnsupportedMediaType

if TYPE_CHECKING:  # the command line imports this module: keep Flask out of `token`
    from flask import Request

ADMIN_TOKEN_ENV = "MOCK_ADMIN_TOKEN"
ADMIN_TOKEN_HEADER = "X-Mock-Admin-Token"
ALLOWED_HOSTS_ENV = "MOCK_ALLOWED_HOSTS"
LOCAL_NAMES = ("localhost",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def resolve_admin_token(explicit: str | None = None) -> str | None:
    """The admin token: the explicit value, else $MOCK_ADMIN_TOKEN, else None (the control API is open)."""
    return explicit or os.environ.get(ADMIN_TOKEN_ENV) or None


def resolve_allowed_hosts(explicit: Iterable[str] = ()) -> tuple[str, ...]:
    """Host names to answer to beyond the local ones: the explicit ones and $MOCK_ALLOWED_HOSTS (comma-separated)."""
    from_env = [name.strip() for name in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",")]
    return tuple(name for name in [*explicit, *from_env] if name)


def host_name(host: str) -> str:
    """The name in a Host header's value, lower-case, without port or trailing dot: `[::1]:80` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Guard:
    """The checks above, for one mock: which names it answers to, its control prefix, its admin token."""

    control_prefix: str
    allowed_hosts: frozenset[str] = frozenset()
    admin_token: str | None = None
    health_path: str = "/health"
    _hosts_answered: set[str] = field(default_factory=set, compare=False, repr=False)

    @classmethod
    def of(cls, control_prefix: str, allowed_hosts: Iterable[str], admin_token: str | None) -> Guard:
        names = frozenset(host_name(name) if name != "*" else name for name in allowed_hosts)
        return cls(control_prefix, names, admin_token or None)

    def check(self, request: Request) -> None:
        """Raise the refusal a request has earned, if any."""
        host = request.environ.get("HTTP_HOST") or request.host  # Werkzeug's `host` is rebuilt on every read
        if host not in self._hosts_answered:
            self.check_host(host)
            if len(self._hosts_answered) < 1024:
                self._hosts_answered.add(host)
        path = request.path
        if path != self.control_prefix and not path.startswith(self.control_prefix + "/"):
            return
        if request.method not in SAFE_METHODS:
            self.check_provenance(request)
        if self.admin_token is not None and path != self.control_prefix + self.health_path:
            self.check_admin_token(request)

    def check_host(self, host: str) -> None:
        name = host_name(host)
        if (
            "*" in self.allowed_hosts
            or name in self.allowed_hosts
            or name in LOCAL_NAMES
            or name.endswith(".localhost")
            or _is_ip_literal(name)
        ):
            return
        raise Forbidden(
            f"this mock does not answer to the host {name!r} (a guard against DNS rebinding): "
            f"use its IP address or localhost, or serve it with --allowed-host {name}"
        )

    def check_provenance(self, request: Request) -> None:
        """Refuse a state-changing control request that a page of another origin sent, or could have."""
        origin = request.headers.get("Origin")
        if origin is not None and not self._is_own_origin(origin, request.host):
            raise Forbidden(
                f"a web page of {origin} may not change the mock's state: the control API takes "
                "requests from the mock's own pages and from clients that are not browsers"
            )
        site = request.headers.get("Sec-Fetch-Site", "").lower()
        if site in ("cross-site", "same-site"):
            raise Forbidden(f"a {site} request from a web page may not change the mock's state")
        if request.content_type and request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"{request.content_type} is not accepted by the control API: send application/json, or no body"
            )

    @staticmethod
    def _is_own_origin(origin: str, host: str) -> bool:
        """Whether `origin` (scheme://host[:port]) names the host and port this request was sent to."""
        try:
            page = urlsplit(origin.strip().lower())
            own = urlsplit("//" + host.strip().lower())
            if page.scheme not in DEFAULT_PORTS or not page.hostname:
                return False  # "null" (a sandboxed page, a file), or something that is no web origin
            page_port, own_port = page.port or DEFAULT_PORTS[page.scheme], own.port or DEFAULT_PORTS[page.scheme]
        except ValueError:  # a port that is no number
            return False
        return page.hostname == (own.hostname or "").rstrip(".") and page_port == own_port

    def check_admin_token(self, request: Request) -> None:
        assert self.admin_token is not None
        given = request.headers.get(ADMIN_TOKEN_HEADER)
        if given is None and request.authorization is not None and request.authorization.type == "basic":
            given = request.authorization.password
        if given is None:
            raise AdminTokenRequired(
                f"the control API needs the mock's admin token: send it in {ADMIN_TOKEN_HEADER}, "
                "or as the password of HTTP Basic authentication"
            )
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.admin_token.encode("utf-8")):
            raise AdminTokenRequired("the admin token sent is not this mock's")
