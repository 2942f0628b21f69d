"""Command line: `serve` the mock, or mint a `token` it accepts."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mockserver.auth import SECRET_ENV, mint_token, resolve_secret
from mockserver.config import DEFAULT_DB, DEFAULT_MAX_BODY_BYTES, SERVERS, MockConfig
from mockserver.errors import KeysUnavailable
from mockserver.guard import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER, ALLOWED_HOSTS_ENV, resolve_admin_token
from spec import LIFECYCLE_PATH, OPENAPI_PATH


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mockserver",
        description="A stateful mock of the Trouble Ticket provider API, enforcing spec/openapi.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the mock with granian",
        description=(
            "Serve the mock. Tokens are HS256 JWTs signed with $MOCK_JWT_SECRET (a development "
            "default when unset); their 'sub' names the tenant. The control API is under /_mock."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument("--db", default=DEFAULT_DB, help="SQLite file holding the tickets (':memory:' for none)")
    serve.add_argument("--workers", type=_positive_int, default=2, help="worker processes")
    serve.add_argument("--threads", type=_positive_int, default=1, help="threads per worker running the app")
    serve.add_argument("--journal-size", type=int, default=200, help="requests kept in the journal (0: none)")
    serve.add_argument(
        "--max-body-bytes", type=_positive_int, default=DEFAULT_MAX_BODY_BYTES, help="larger bodies get 413"
    )
    serve.add_argument("--spec", type=Path, default=OPENAPI_PATH, help="OpenAPI document to enforce")
    serve.add_argument("--lifecycle", type=Path, default=LIFECYCLE_PATH, help="lifecycle table to enforce")
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a host name the mock answers to besides IP addresses, localhost and --host (repeatable; '*': any; "
        f"also ${ALLOWED_HOSTS_ENV}, comma-separated). Other names get 403: a guard against DNS rebinding",
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        help=f"a secret every /_mock request but /_mock/health must carry, in {ADMIN_TOKEN_HEADER} or as the HTTP "
        f"Basic password (default: ${ADMIN_TOKEN_ENV}; unset: the control API takes no credentials)",
    )
    serve.add_argument(
        "--jwks",
        default=None,
        metavar="FILE|URL",
        help="check tokens against the keys of this JWKS (RS256, ES256 and kin) instead of the HS256 secret",
    )
    serve.add_argument("--issuer", default=None, help="require this 'iss' in every token")
    serve.add_argument("--audience", default=None, help="require this among every token's 'aud'")
    serve.add_argument(
        "--interface",
        choices=("rsgi", "wsgi"),
        default="rsgi",
        help="granian's interface to the app. rsgi: request bodies are awaited on the event loop, so a slow "
        "client holds no thread; wsgi: each request holds one of --threads threads until its body is in",
    )
    serve.add_argument(
        "--body-timeout",
        type=_positive_float,
        default=30,
        metavar="SECONDS",
        help="answer 408 when a request body does not come: a body up to 256 KiB within this many seconds, a "
        "larger one with no gap this long between its bytes (rsgi)",
    )
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default="granian",
        help="the HTTP server (gunicorn: for comparison, from the dev extra)",
    )

    token = commands.add_parser(
        "token",
        help="print a token the mock accepts",
        description=f"Print a JWT signed like the mock expects (${SECRET_ENV}, else the development default).",
    )
    token.add_argument("--sub", required=True, help="the tenant (Territory User) the token speaks for")
    token.add_argument("--exp-seconds", type=int, default=None, help="expire after this many seconds (default: never)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token":
        print(mint_token(args.sub, secret=resolve_secret(), exp_seconds=args.exp_seconds))
        return 0
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from mockserver.app import create_app
    from mockserver.server import ServeOptions, serve

    if args.db == ":memory:" and args.workers > 1:
        print("error: --db :memory: keeps tickets inside one process; use --workers 1 or a file", file=sys.stderr)
        return 2
    config = MockConfig(
        db=args.db,
        journal_size=args.journal_size,
        max_body_bytes=args.max_body_bytes,
        spec_path=args.spec,
        lifecycle_path=args.lifecycle,
        allowed_hosts=(args.host, *args.allowed_host),
        admin_token=args.admin_token,
        jwks=args.jwks,
        issuer=args.issuer,
        audience=args.audience,
    )
    try:
        checked = create_app(config)  # fail here, with one clear message, rather than in every worker
        keys = checked.extensions["mockserver"].authenticator.keys
        if keys is not None:
            keys.load()
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: cannot start the mock: {error}", file=sys.stderr)
        return 2
    except KeysUnavailable as error:
        print(f"error: cannot start the mock: {error.message}", file=sys.stderr)
        return 2
    # Closed before the workers fork: a connection left to the garbage collector would be closed
    # inside a worker, where SQLite's locks and WAL are shared with the others.
    checked.extensions["mockserver"].store.close()
    del checked
    if args.jwks:
        tokens_note = f"tokens checked against the JWKS at {args.jwks}"
    else:
        secret = "the development default secret" if not os.environ.get(SECRET_ENV) else f"${SECRET_ENV}"
        tokens_note = f"tokens signed with {secret}"
    control_note = "needs the admin token" if resolve_admin_token(args.admin_token) else "open: no --admin-token"
    print(
        f"Trouble Ticket mock on http://{args.host}:{args.port} (store {args.db}, {args.workers} workers, "
        f"{tokens_note}; control API {control_note}).",
        flush=True,
    )
    if not args.jwks:
        print("Mint a token: python -m mockserver token --sub TU-A", flush=True)
    serve(
        config,
        ServeOptions(
            args.host,
            args.port,
            args.workers,
            args.threads,
            args.access_log,
            args.server,
            interface=args.interface,
            body_timeout=args.body_timeout,
        ),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
