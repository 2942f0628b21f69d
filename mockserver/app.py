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
from mockserver.cors import install_cors
from mockserver.errors import (
    ApiError,
    IllegalArgument,
    MethodNotAllowed,
    PathNotFound,
    PayloadTooLarge,
    StoreUnavailable,
)
from mockserver.faults import FaultInjector
from mockserver.guard import Guard, resolve_admin_token, resolve_allowed_hosts
from mockserver.journal import FileJournal, MemoryJournal, open_journal
from mockserver.pages import is_page, pages_blueprint
from mockserver.refusals import RefusalRules
from mockserver.responses import json_response
from mockserver.seeding import FileSeeding, Seeder
from mockserver.store import TicketStore
from mockserver.tickets import TicketService
from mockserver.toside import ToSide
from spec import lifecycle as lifecycle_module
from spec.contract import Contract
from spec.lifecycle import Lifecycle
from spec.mirror import MirrorContract

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

    app.register_blueprint(api_blueprint(service, authenticator, max_body_bytes=config.max_body_bytes))
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
    if config.cors_origins:  # first registered, so its after_request runs last, on the final answer
        methods = [method for allowed in contract.methods.values() for method in allowed]
        install_cors(app, config.cors_origins, methods, skip=(CONTROL_PREFIX,))
    _serve_spec(app, contract.document, config)
    _register_error_handlers(app, contract, RefusalRules(contract))
    _register_journal(app, requests_seen, contract)
    to_side.install(app, lambda path: journaled(path, contract))
    guard = Guard.of(
        CONTROL_PREFIX, resolve_allowed_hosts(config.allowed_hosts), resolve_admin_token(config.admin_token)
    )
    app.before_request(lambda: guard.check(request._get_current_object()))  # after the clock starts, before handlers
    injector.install(app)  # after the journal's hooks: see FaultInjector.install
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


def _register_error_handlers(app: Flask, contract: Contract, refusals: RefusalRules) -> None:
    """Every failure leaves as the contract's JSON error body."""
    served = sorted(contract.methods)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        # The journal keeps which rule the request broke: grading a client needs it.
        g.rules = refusals.resolve(error, refusals.role(request.url_rule and request.url_rule.rule, request.method))
        if error.ticket_id is not None:
            g.ticket_id = error.ticket_id
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


def _register_journal(app: Flask, requests_seen: MemoryJournal | FileJournal, contract: Contract) -> None:
    ticket_field, parameter = contract.names.ticket_id, contract.path_parameter

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()
        g.received_at = journal.clock()

    @app.after_request
    def record(response: Response) -> Response:
        path = request.path
        if journaled(path, contract):
            if getattr(g, "ticket_id", None) is None:  # the ticket the request is about, for ?ticketId=
                payload = getattr(response, "payload", None)
                created = payload.get(ticket_field) if isinstance(payload, dict) else None
                g.ticket_id = (request.view_args or {}).get(parameter) or created
            try:
                requests_seen.record(journal.entry_for(request.environ, path, g._get_current_object(), response))
            except OSError as error:  # a journal entry must never cost the client its answer
                log.warning("journal entry lost: %s", error)
        return response


def journaled(path: str, contract: Contract | MirrorContract) -> bool:
    """What the journal shows: what clients of the API sent, and the other side's moves played
    through the transition hook (a test's or the console's); not the rest of /_mock, the pages or
    the spec. The hook sits under the control prefix at the item's path, for the TO and the mirror."""
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        collection = contract.item_path.rsplit("/", 1)[0]
        return path.startswith(CONTROL_PREFIX + collection + "/") and path.endswith("/transition")
    return not path.startswith("/openapi.") and not is_page(path)
