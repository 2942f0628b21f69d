"""The app factory: one mock of the provider, built from the spec, a lifecycle and a store."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

import spec
from mockserver import journal
from mockserver.api import api_blueprint
from mockserver.auth import Authenticator, JwksKeys, resolve_secret
from mockserver.config import MockConfig
from mockserver.control import PREFIX as CONTROL_PREFIX
from mockserver.control import control_blueprint
from mockserver.errors import (
    ApiError,
    IllegalArgument,
    MethodNotAllowed,
    PathNotFound,
    PayloadTooLarge,
    StoreUnavailable,
)
from mockserver.guard import Guard, resolve_admin_token, resolve_allowed_hosts
from mockserver.journal import FileJournal, MemoryJournal, open_journal
from mockserver.responses import json_response
from mockserver.store import TicketStore
from mockserver.tickets import TicketService
from spec import lifecycle as lifecycle_module
from spec.contract import Contract
from spec.lifecycle import Lifecycle

log = logging.getLogger("mockserver")


class ExactPathMap(Map):
    """URL rules that match the path as sent: Werkzeug's default answers `//troubleTicket//RED-1`
    with a redirect to the merged path, an HTML answer no client of this API expects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["merge_slashes"] = False
        super().__init__(*args, **kwargs)


class MockFlask(Flask):
    url_map_class = ExactPathMap

    def make_default_options_response(self) -> Response:
        """OPTIONS names the methods a path takes, in `Allow` and as JSON (Flask's default is an empty HTML page)."""
        allowed = sorted(super().make_default_options_response().allow)
        return json_response({"allow": allowed}, headers={"Allow": ", ".join(allowed)})


@dataclass(frozen=True)
class MockParts:
    """The parts one app was built from, for tests and tools that look inside."""

    config: MockConfig
    contract: Contract
    store: TicketStore
    journal: MemoryJournal | FileJournal
    service: TicketService
    authenticator: Authenticator

    @property
    def document(self) -> dict[str, Any]:
        return self.contract.document

    @property
    def lifecycle(self) -> Lifecycle:
        return self.contract.lifecycle


def create_app(
    config: MockConfig | None = None,
    *,
    document: dict[str, Any] | None = None,
    lifecycle: Lifecycle | None = None,
    store: TicketStore | None = None,
    authenticator: Authenticator | None = None,
) -> Flask:
    """Build the mock. Each part defaults to what `config` names; tests may pass their own."""
    config = config or MockConfig()
    contract = Contract.from_document(
        document if document is not None else spec.load_openapi(config.spec_path),
        lifecycle or lifecycle_module.load(config.lifecycle_path),
        spec_path=config.spec_path,
        lifecycle_path=config.lifecycle_path,
    )
    store = store or TicketStore(config.db)
    requests_seen = open_journal(config.db, config.journal_size)
    authenticator = authenticator or Authenticator(
        resolve_secret(config.jwt_secret),
        keys=JwksKeys(config.jwks) if config.jwks else None,
        issuer=config.issuer,
        audience=config.audience,
    )
    service = TicketService.of(contract, store)

    app = MockFlask(__name__)
    # Werkzeug enforces the limit on bodies without a Content-Length too; form fields may use it all.
    app.config.update(MAX_CONTENT_LENGTH=config.max_body_bytes, MAX_FORM_MEMORY_SIZE=config.max_body_bytes)
    app.extensions["mockserver"] = MockParts(config, contract, store, requests_seen, service, authenticator)

    app.register_blueprint(api_blueprint(service, authenticator, max_body_bytes=config.max_body_bytes))
    app.register_blueprint(
        control_blueprint(service, authenticator, requests_seen, max_body_bytes=config.max_body_bytes)
    )
    _serve_spec(app, contract.document, config)
    _register_error_handlers(app, contract)
    _register_journal(app, requests_seen)
    guard = Guard.of(
        CONTROL_PREFIX, resolve_allowed_hosts(config.allowed_hosts), resolve_admin_token(config.admin_token)
    )
    app.before_request(lambda: guard.check(request._get_current_object()))  # after the clock starts, before handlers
    return app


def _serve_spec(app: Flask, document: dict[str, Any], config: MockConfig) -> None:
    spec_yaml = config.spec_path.read_bytes()
    spec_json = json.dumps(document, indent=2)

    @app.get("/openapi.yaml")
    def openapi_yaml() -> Response:
        return Response(spec_yaml, mimetype="application/yaml")

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return Response(spec_json, mimetype="application/json")


def _register_error_handlers(app: Flask, contract: Contract) -> None:
    """Every failure leaves as the contract's JSON error body."""
    served = sorted(contract.methods)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return json_response(error.to_dict(contract), error.status, headers=error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 404:
            return api_error(PathNotFound(request.path, served))
        if error.code == 405:
            allowed = sorted(getattr(error, "valid_methods", None) or [])
            return api_error(MethodNotAllowed(request.method, request.path, allowed))
        if error.code == 413:
            return api_error(PayloadTooLarge("the body is larger than this server accepts"))
        return api_error(IllegalArgument(f"{error.name}: {error.description}", status=error.code or 400))

    @app.errorhandler(sqlite3.Error)
    def store_error(error: sqlite3.Error) -> Response:
        log.warning("ticket store error: %s", error)
        return api_error(StoreUnavailable(f"the ticket store could not serve the request ({error}); retry"))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json_response(
            {contract.errors.remote: f"internal error in the mock ({type(error).__name__}); see its log"}, 500
        )


def _register_journal(app: Flask, requests_seen: MemoryJournal | FileJournal) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        # The journal shows what clients of the API sent, not the mock's own console or spec.
        path = request.path
        if not path.startswith(CONTROL_PREFIX) and not path.startswith("/openapi."):
            try:
                requests_seen.record(journal.entry_for(request.environ, path, g._get_current_object(), response))
            except OSError as error:  # a journal entry must never cost the client its answer
                log.warning("journal entry lost: %s", error)
        return response
