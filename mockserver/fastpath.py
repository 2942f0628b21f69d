"""The API's three operations without Flask's per-request machinery, doing what the Flask app does.

Half of a GET's time went to Flask and Werkzeug themselves: the request and app contexts, URL
routing, the before and after hooks, the response object. `FastPath` sits in front of the Flask
app (as its `wsgi_app`, so the test client goes through it too) and serves the usual requests of
the three operations by calling the same parts the Flask app calls, in the same order: the
clock, the Host guard, authentication, the operation (`api.Operations`), the contract's answer
to any failure (`exchange.Failures`), the journal entry (`exchange.JournalWriter`) and CORS. No
rule lives here: this module only decides which requests are usual, and hands every other one
to Flask (other paths and methods, HEAD and OPTIONS, bodies that are not plain JSON with a
Content-Length, and every request while faults are stored, as fault injection hooks into Flask).

A hook added to the Flask app would be skipped here: `hooks(app)` lists them, a test holds the
list to those mirrored here, and a fast path finds itself off when the app gained one after it
was installed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.wsgi import get_input_stream, get_path_info

from mockserver.api import Operations, flask_rule
from mockserver.bodies import JsonRequest
from mockserver.cors import Cors
from mockserver.exchange import Exchange, Failures, JournalWriter
from mockserver.guard import Guard
from mockserver.responses import Answer
from mockserver.store import TicketStore
from mockserver.toside import ToSide
from spec import JSON

log = logging.getLogger("mockserver")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_HOOK_REGISTRIES = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs", "url_value_preprocessors")


def hooks(app: Flask) -> list[str]:
    """Every per-request hook of a Flask app, as `registry blueprint qualified name`."""
    return [
        f"{registry} {blueprint} {function.__qualname__}"
        for registry in _HOOK_REGISTRIES
        for blueprint, functions in getattr(app, registry).items()
        for function in functions
    ]


class FastPath:
    """A WSGI app that answers the usual API requests itself and hands the rest to `app`."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        flask: Flask,
        operations: Operations,
        guard: Guard,
        store: TicketStore,
        failures: Failures,
        journal: JournalWriter,
        cors: Cors | None,
        to_side: ToSide | None = None,
    ) -> None:
        self.app, self.operations, self.guard, self.store = app, operations, guard, store
        self.to_side = to_side
        self.flask, self.hooks, self.on = flask, hooks(flask), True
        self.failures, self.journal, self.cors = failures, journal, cors
        contract = operations.service.contract
        self.collection = contract.collection_path
        self.collection_rule, self.item_rule = flask_rule(contract.collection_path), flask_rule(contract.item_path)
        self.parameter = contract.path_parameter
        # An item path that is the collection's and one parameter, as Flask's rule matches it.
        prefix, parameter = contract.item_path.rpartition("/")[::2]
        usable = parameter == "{" + self.parameter + "}" and "{" not in prefix and "{" not in self.collection
        self.item_prefix = prefix + "/" if usable else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        start_response(answer.status_line, answer.headers.items)
        return [answer.body]

    def answer(self, environ: dict[str, Any]) -> Answer | None:
        """The answer to a usual API request, or None for a request Flask must serve."""
        if self.hooks is not None:
            self._check_hooks()
        if not self.on:
            return None
        method = environ["REQUEST_METHOD"]
        path = get_path_info(environ)  # request.path, for a path routed here (no leading slashes to merge)
        ticket_id = None
        if path == self.collection:
            if method != "POST":
                return None
            rule = self.collection_rule
        elif self.item_prefix is not None and path.startswith(self.item_prefix) and method in ("GET", "PATCH"):
            ticket_id = path[len(self.item_prefix) :]
            if not ticket_id or "/" in ticket_id:
                return None
            rule = self.item_rule
        else:
            return None
        host = environ.get("HTTP_HOST")
        if not host or environ.get("SCRIPT_NAME") or self.guard.guards(path):
            return None
        body = None
        if method != "GET":
            body = self._json_request(environ)
            if body is None:
                return None
        state = Exchange()
        operations = self.operations
        try:  # a store's failure, even in the lines before the operation, is answered as Flask answers it
            if self.store.faults():  # fault injection hooks into Flask's request: leave it every request
                return None
            if self.to_side is not None:
                self.to_side.stamp(state)
            self.guard.check_host_header(host)
            operations.authenticate(environ.get("HTTP_AUTHORIZATION"), state)
            if ticket_id is None:
                answer = operations.create(body, state)  # type: ignore[arg-type]
            elif body is None:
                answer = operations.read(ticket_id, state)
            else:
                answer = operations.update(body, ticket_id, state)
        except Exception as error:  # as Flask's error handlers answer it
            answer = self.failures.answer(error, state, rule=rule, method=method, path=path)
        view_args = {self.parameter: ticket_id} if ticket_id is not None else {}
        self.journal.record(environ, path, state, answer.status, answer.payload, view_args)
        if self.to_side is not None:
            self.to_side.answered(method, answer.status)
        if self.cors is not None:
            preflight = "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
            self.cors.apply(answer.headers, environ.get("HTTP_ORIGIN"), path, method, preflight)
        return answer

    def _check_hooks(self) -> None:
        """On the first request: a hook added to the app after the fast path would be skipped by it."""
        added = [hook for hook in hooks(self.flask) if hook not in self.hooks]  # type: ignore[operator]
        if added:
            self.on = False
            log.warning("the fast path is off: the app has hooks it does not mirror (%s)", "; ".join(added))
        self.hooks = None

    def _json_request(self, environ: dict[str, Any]) -> JsonRequest | None:
        """The body as `read_body` reads it, when it is plain JSON with a Content-Length; else None."""
        content_type, length = environ.get("CONTENT_TYPE"), environ.get("CONTENT_LENGTH")
        if content_type != JSON or not length or not length.isascii() or not length.isdigit():
            return None
        if "HTTP_TRANSFER_ENCODING" in environ:
            return None
        max_bytes = self.operations.max_body_bytes

        def read() -> bytes:  # Flask's request.get_data(): the stream Werkzeug makes, read whole
            return get_input_stream(environ, max_content_length=max_bytes).read()

        return JsonRequest(content_type, int(length), read)
