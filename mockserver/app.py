"""The app factory: one mock of the provider, built from the spec, a lifecycle and a store."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

import spec
from mockserver import exchange
from mockserver.api import Operations, api_blueprint
from mockserver.auth import Authenticator, JwksKeys, resolve_secret
from mockserver.config import MockConfig
from mockserver.control import PREFIX as CONTROL_PREFIX
from mockserver.control import control_blueprint
from mockserver.cors import install_cors
from mockserver.errors import ApiError
from mockserver.exchange import Failures, JournalWriter
from mockserver.exchange import journaled as journaled  # where tests and tools have always found it
from mockserver.fastpath import FastPath
from mockserver.faults import FaultInjector
from mockserver.guard import Guard, resolve_admin_token, resolve_allowed_hosts
from mockserver.journal import FileJournal, MemoryJournal, open_journal
from mockserver.pages import pages_blueprint
from mockserver.refusals import RefusalRules
from mockserver.responses import as_response, json_response
from mockserver.seeding import FileSeeding, Seeder
from mockserver.store import TicketStore, open_store, store_errors
from mockserver.tickets import TicketService
from mockserver.toside import ToSide
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
    seeding: FileSeeding | None = None  # what the --seed file made at start-up
    to_side: ToSide | None = None  # the TO's clock, scenarios and callbacks (start() in a served worker)

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
    store = store or open_store(config.db)
    requests_seen = open_journal(config.db, config.journal_size, config.journal_path)
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

    operations = Operations(service, authenticator, max_body_bytes=config.max_body_bytes)
    app.register_blueprint(api_blueprint(operations))
    # Before any seed: the store records events on the mock's clock, and seeded tickets start scenarios.
    to_side = ToSide(service, config, authenticator, requests_seen)
    seeder = Seeder(service)
    # Tickets the store has already are left as they are (a second worker, a restart).
    seeding = seeder.apply_file(config.seed_path) if config.seed_path is not None else None
    app.extensions["mockserver"] = MockParts(
        config, contract, store, requests_seen, service, authenticator, seeding, to_side
    )
    injector = FaultInjector(store, contract, authenticator, skip=(CONTROL_PREFIX, "/openapi."))
    if config.faults_path is not None:
        injector.load_file(config.faults_path)  # once per store: the first worker to start does it
    app.register_blueprint(
        control_blueprint(
            service,
            authenticator,
            requests_seen,
            max_body_bytes=config.max_body_bytes,
            seeder=seeder,
            seed_path=config.seed_path,
            injector=injector,
            to_side=to_side,
        )
    )
    app.register_blueprint(pages_blueprint(contract.lifecycle, authenticator))
    cors = None
    if config.cors_origins:  # first registered, so its after_request runs last, on the final answer
        methods = [method for allowed in contract.methods.values() for method in allowed]
        cors = install_cors(app, config.cors_origins, methods, skip=(CONTROL_PREFIX,))
    _serve_spec(app, contract.document, config)
    failures = Failures(contract, RefusalRules(contract))
    _register_error_handlers(app, failures)
    journal_writer = JournalWriter(requests_seen, contract)
    _register_journal(app, journal_writer)
    to_side.install(app, lambda path: journaled(path, contract))
    guard = Guard.of(
        CONTROL_PREFIX, resolve_allowed_hosts(config.allowed_hosts), resolve_admin_token(config.admin_token)
    )

    def guard_request() -> None:  # after the clock starts, before handlers
        guard.check(request._get_current_object())

    app.before_request(guard_request)
    injector.install(app)  # after the journal's hooks: see FaultInjector.install
    # Last: the usual requests of the API skip Flask's machinery, through the same parts.
    app.wsgi_app = FastPath(  # type: ignore[method-assign]
        app.wsgi_app,
        flask=app,
        operations=operations,
        guard=guard,
        store=store,
        failures=failures,
        journal=journal_writer,
        cors=cors,
        to_side=to_side,
    )
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


def _register_error_handlers(app: Flask, failures: Failures) -> None:
    """Every failure leaves as the contract's JSON error body."""

    def contract_error(error: Exception) -> Response:
        rule = request.url_rule.rule if request.url_rule else None
        return as_response(failures.answer(error, g, rule=rule, method=request.method, path=request.path))

    for kind in (ApiError, HTTPException, *store_errors(), Exception):  # store errors: SQLite's or PostgreSQL's
        app.register_error_handler(kind, contract_error)


def _register_journal(app: Flask, writer: JournalWriter) -> None:
    @app.before_request
    def start_clock() -> None:
        exchange.start(g)

    @app.after_request
    def record(response: Response) -> Response:
        payload = getattr(response, "payload", None)
        writer.record(request.environ, request.path, g, response.status_code, payload, request.view_args)
        return response
