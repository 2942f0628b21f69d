"""Command line: `serve` the mock, mint a `token` it accepts, `report` a grade of the client that used it."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from mockserver.auth import SECRET_ENV, mint_token, resolve_secret
from mockserver.config import DEFAULT_DATA_DIR, DEFAULT_MAX_BODY_BYTES, ROLES, SERVERS, MockConfig
from mockserver.errors import KeysUnavailable
from mockserver.guard import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER, ALLOWED_HOSTS_ENV, resolve_admin_token
from spec import LIFECYCLE_PATH, OPENAPI_PATH, SCENARIOS_PATH

DB_NAME = "tickets.db"  # inside --data-dir, beside its journal and lock files
MIRROR_DB_NAME = "mirror.db"  # --role tu-mirror's, so that both can share a --data-dir
TO_ONLY = (  # options of --role to
    "seed",
    "scenario",
    "time_scale",
    "mirror",
    "mirror_token",
    "spec",
    "cors",
    "jwks",
    "issuer",
    "audience",
    "admin_token",
    "allowed_host",
)
EXIT_CLEAN, EXIT_BROKE_CONTRACT, EXIT_USAGE = 0, 1, 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class _OneDefault(argparse.HelpFormatter):
    """Shows each option's default once: appended, unless the help text already gives it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def program() -> str:
    """The program as the user ran it: `tt-mock`, or `python -m mockserver`."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv else ""
    return "python -m mockserver" if invoked in ("__main__.py", "-m", "") else invoked


def shell_command() -> str:
    """A command that runs this program from a fresh shell in this directory (no venv activated)."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) in ("__main__.py", "-m", ""):
        return f"{_runnable(sys.executable)} -m mockserver"
    return _runnable(invoked)


def _runnable(path: str) -> str:
    """`path` as a fresh shell finds it: its bare name when on PATH outside a venv, else a path to it."""
    full = os.path.abspath(path)
    name = os.path.basename(full)
    venv = os.environ.get("VIRTUAL_ENV")
    in_venv = bool(venv) and full.startswith(os.path.abspath(venv) + os.sep)
    found = shutil.which(name)
    if found and os.path.realpath(found) == os.path.realpath(full) and not in_venv:
        return name
    relative = os.path.relpath(full)
    return relative if not relative.startswith("..") else full


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    prog = program()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A stateful mock of the Trouble Ticket provider API, enforcing spec/openapi.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the mock",
        formatter_class=_OneDefault,
        description=(
            "Serve the mock. Tokens are HS256 JWTs signed with $MOCK_JWT_SECRET (a development "
            f"default when unset): '{prog} token --sub TU-A' mints one, and its 'sub' names the tenant. "
            "The control API is under /_mock (POST /_mock/reset starts over)."
        ),
    )
    serve.add_argument(
        "--role",
        choices=ROLES,
        default=ROLES[0],
        help="to: the provider's API (the TO); tu-mirror: a reference TU mirror endpoint (spec/mirror.yaml), "
        "on which a TO reports its moves",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        metavar="DIR",
        help="folder of the mock's files: tickets, journal, locks",
    )
    serve.add_argument(
        "--db",
        metavar="FILE",
        help=f"the SQLite file instead (default: DIR/{DB_NAME}, DIR/{MIRROR_DB_NAME} for a tu-mirror; "
        "':memory:' keeps nothing)",
    )
    serve.add_argument("--workers", type=_positive_int, default=2, metavar="N", help="worker processes")
    serve.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        metavar="N",
        help="threads per worker (more when tests delay several requests)",
    )
    serve.add_argument("--journal-size", type=int, default=200, help="requests kept in the journal (0: none)")
    serve.add_argument(
        "--max-body-bytes", type=_positive_int, default=DEFAULT_MAX_BODY_BYTES, help="larger bodies get 413"
    )
    serve.add_argument(
        "--spec", type=Path, metavar="FILE", help="OpenAPI document to enforce (default: the shipped spec/openapi.yaml)"
    )
    serve.add_argument(
        "--lifecycle", type=Path, metavar="FILE", help="lifecycle table to enforce (default: the shipped one)"
    )
    serve.add_argument(
        "--seed", type=Path, metavar="FILE", help="YAML file of tickets made at start-up and by each reset"
    )
    serve.add_argument(
        "--faults", type=Path, metavar="FILE", help="YAML file of faults injected from start-up until cleared"
    )
    serve.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help=f"YAML file of what the TO does on its own, and when (default: the shipped "
        f"spec/{SCENARIOS_PATH.name}; one with 'scenarios: []' for a TO that never moves by itself)",
    )
    serve.add_argument(
        "--time-scale",
        type=float,
        metavar="N",
        help="run the mock's clock N times faster than the wall clock (60: an hour a minute); "
        "POST /_mock/clock advances it at once (default: 1, or the scale the store has)",
    )
    serve.add_argument(
        "--mirror",
        action="append",
        metavar="TENANT=URL",
        help="deliver the TO's moves on TENANT's tickets to TENANT's mirror endpoint at URL "
        "(PATCH URL/troubleTicket/{mirrorKey}); repeat for several tenants (default: none)",
    )
    serve.add_argument(
        "--mirror-token",
        action="append",
        metavar="TENANT=ENV_VAR",
        help="the environment variable holding the bearer token TENANT's mirror expects (default: a token "
        "the mock mints with its own secret, sub TO)",
    )
    serve.add_argument(
        "--cors",
        action="append",
        metavar="ORIGIN",
        help="answer browser clients from ORIGIN ('*': any); repeat for several (default: none)",
    )
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
        formatter_class=_OneDefault,
        description=f"Print a JWT signed as the mock expects (${SECRET_ENV}, else the development default).",
    )
    token.add_argument("--sub", required=True, help="the tenant (Territory User) the token speaks for")
    token.add_argument("--exp-seconds", type=int, help="expire after this many seconds (default: never)")

    report = commands.add_parser(
        "report",
        help="grade the client that used a served mock",
        formatter_class=_OneDefault,
        description=(
            "Read a served mock's journal and grade the client that used it: every request the provider "
            "would refuse, grouped by the contract rule it broke, with the request and the answer. Requests "
            "marked X-Mock-Expect-Refusal and requests an injected fault took are left out. Exit 0: no such "
            "request; 1: the client broke the contract; 2: usage error or mock unreachable."
        ),
    )
    report.add_argument("--url", default="http://127.0.0.1:8080", help="the served mock")
    report.add_argument("--junit-xml", type=Path, metavar="FILE", help="also write JUnit XML, a test case per rule")
    report.add_argument("--report", type=Path, metavar="FILE", help="also write a Markdown report")
    report.add_argument("--tenant", help="grade one tenant's requests only (default: all)")
    report.add_argument("--since", help="grade requests received from this RFC 3339 time on (default: all)")
    report.add_argument(
        "--spec", type=Path, metavar="FILE", help="the spec the mock enforces (default: the shipped one)"
    )
    report.add_argument(
        "--lifecycle", type=Path, metavar="FILE", help="its lifecycle table (default: the one the spec names)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token":
        print(mint_token(args.sub, secret=resolve_secret(), exp_seconds=args.exp_seconds))
        return 0
    if args.command == "report":
        return _report(args)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from mockserver.app import create_app
    from mockserver.mirrors import parse_option
    from mockserver.server import ServeOptions, serve
    from mockserver.store import TicketStore
    from mockserver.tu_mirror import create_mirror_app

    mirror_role = args.role == "tu-mirror"
    if mirror_role:
        given = [f"--{name.replace('_', '-')}" for name in TO_ONLY if getattr(args, name)]
        if given:
            print(f"error: {', '.join(given)} serve the TO (--role to), not a tu-mirror", file=sys.stderr)
            return EXIT_USAGE
    db = args.db or str(args.data_dir / (MIRROR_DB_NAME if mirror_role else DB_NAME))
    if db == ":memory:" and args.workers > 1:
        print("error: --db :memory: keeps tickets inside one process; use --workers 1 or a file", file=sys.stderr)
        return EXIT_USAGE
    try:
        mirrors = tuple(parse_option(text, "--mirror") for text in args.mirror or ())
        mirror_tokens = tuple(parse_option(text, "--mirror-token") for text in args.mirror_token or ())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    config = MockConfig(
        db=db,
        journal_size=args.journal_size,
        max_body_bytes=args.max_body_bytes,
        spec_path=args.spec or OPENAPI_PATH,
        lifecycle_path=args.lifecycle or LIFECYCLE_PATH,
        seed_path=args.seed,
        faults_path=args.faults,
        cors_origins=tuple(args.cors or ()),
        allowed_hosts=(args.host, *args.allowed_host),
        admin_token=args.admin_token,
        jwks=args.jwks,
        issuer=args.issuer,
        audience=args.audience,
        scenario_path=args.scenario or SCENARIOS_PATH,
        time_scale=args.time_scale if args.time_scale is not None else (None if mirror_role else 1.0),
        mirrors=mirrors,
        mirror_tokens=mirror_tokens,
        role=args.role,
    )
    try:
        if db != ":memory:":
            _make_data_dir(Path(db).parent)
            store = TicketStore(db)
            store.remove_faults()  # faults are this run's: a restart starts without the last run's
            store.close()
        # Fail here, with one clear message, rather than in every worker.
        checked = create_mirror_app(config) if mirror_role else create_app(config)
        keys = checked.extensions["mockserver"].authenticator.keys
        if keys is not None:
            keys.load()
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: cannot start the mock: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeysUnavailable as error:
        print(f"error: cannot start the mock: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    parts = checked.extensions["mockserver"]
    # Closed before the workers fork: left to the garbage collector (the app sits in reference
    # cycles), the connection closed after the fork, and SQLite, seeing this process's last
    # connection go, deleted the -wal and -shm files the workers were using.
    parts.store.close()
    print(_banner(args, config, parts), flush=True)
    del checked, parts
    gc.collect()
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


def _make_data_dir(folder: Path) -> None:
    """The mock's folder, with a .gitignore so that a project never commits its tickets by accident."""
    if not folder.exists():
        folder.mkdir(parents=True)
        (folder / ".gitignore").write_text("# the Trouble Ticket mock's files (tt-mock serve --data-dir)\n*\n")


def _banner(args: argparse.Namespace, config: MockConfig, parts: object) -> str:
    contract = parts.contract  # type: ignore[attr-defined]
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    url = f"http://{host}:{args.port}"
    where = "nothing kept" if config.db == ":memory:" else f"files in {_shown(Path(config.db).parent)}/"
    secret = f"${SECRET_ENV}" if os.environ.get(SECRET_ENV) else "the development default secret"
    tokens = f"tokens checked against the JWKS at {args.jwks}" if args.jwks else f"tokens signed with {secret}"
    workers = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    control = "control API needs the admin token" if resolve_admin_token(args.admin_token) else "control API open"
    if config.role == "tu-mirror":
        return _mirror_banner(url, workers, where, secret)
    lines = [f"Trouble Ticket mock on {url} ({workers}; {where}; {tokens}; {control})."]
    book = getattr(getattr(parts, "to_side", None), "book", None)
    scale = (
        f", its clock {config.time_scale:g} times faster than the wall clock"
        if config.time_scale not in (None, 1.0)
        else ""
    )
    if book is not None:
        lines.append(
            f"The TO moves on its own as {_shown_file(config.scenario_path)} says ({len(book)} scenarios{scale}): "
            f"GET {url}/_mock/scenarios lists them, POST {url}/_mock/clock advances the clock."
        )
    for tenant, mirror_url in config.mirrors:
        lines.append(f"{tenant}'s TO moves are delivered to its mirror at {mirror_url} (GET {url}/_mock/callbacks).")
    seeding = getattr(parts, "seeding", None)
    created, kept = getattr(seeding, "created", []), getattr(seeding, "kept", [])
    if args.seed:
        lines.append(f"Seeded {len(created)} tickets from {args.seed} ({len(kept)} already in the store).")
    if args.faults:
        lines.append(f"Faults from {args.faults}: GET {url}/_mock/faults lists them.")
    if config.cors_origins:
        lines.append(f"Browser clients from {', '.join(config.cors_origins)} may call the API.")
    export = f"export {SECRET_ENV}=...   # the same secret as the mock's\n  " if os.environ.get(SECRET_ENV) else ""
    mint = (
        "TOKEN=...   # a token your JWKS's issuer signed"
        if args.jwks
        else f"TOKEN=$({shell_command()} token --sub TU-A)"
    )
    lines += [
        "Try it from another shell:",
        f"  {export}{mint}",
        f'  curl -s {url}{contract.ticket_path(contract.ticket_ids.of(1))} -H "Authorization: Bearer $TOKEN"',
        f"  curl -s -X POST {url}/_mock/reset    # start over: forget every ticket and the journal",
        "Stop it with Ctrl-C.",
    ]
    return "\n".join(lines)


def _mirror_banner(url: str, workers: str, where: str, secret: str) -> str:
    return "\n".join(
        [
            f"Reference TU mirror on {url} ({workers}; {where}; tokens checked with {secret}).",
            "A TO reports its moves with PATCH /troubleTicket/{mirrorKey} (spec/mirror.yaml). The TU's own side:",
            f"  curl -s -X POST {url}/_mock/troubleTicket -H 'Content-Type: application/json' \\",
            '       -d \'{"mirrorKey": "ONV-1024", "ticketId": "RED-1"}\'    # a ticket the TU opened',
            f"  curl -s {url}/_mock/tickets    # every ticket with what the TO sent",
            "Stop it with Ctrl-C.",
        ]
    )


def _shown_file(path: Path | None) -> str:
    if path is None:
        return "no scenario file"
    return path.name if path.resolve() == SCENARIOS_PATH else str(path)


def _shown(folder: Path) -> str:
    relative = os.path.relpath(folder)
    return relative if not relative.startswith("..") else str(folder.resolve())


def _report(args: argparse.Namespace) -> int:
    import requests

    from mockserver.grading import grade
    from spec.catalogue import Catalogue
    from spec.contract import Contract

    try:
        contract = Contract.load(args.spec or OPENAPI_PATH, args.lifecycle)
    except (OSError, ValueError) as error:
        print(f"error: cannot read the contract: {error}", file=sys.stderr)
        return EXIT_USAGE
    query = {"order": "oldest"}
    if args.tenant:
        query["tenant"] = args.tenant
    if args.since:
        query["since"] = args.since
    url = args.url.rstrip("/")
    try:
        answer = requests.get(f"{url}/_mock/journal", params=query, timeout=30)
    except requests.RequestException as error:
        print(f"error: no mock answers at {url} ({type(error).__name__}); is it running?", file=sys.stderr)
        return EXIT_USAGE
    if answer.status_code != 200:
        print(f"error: {url}/_mock/journal answered {answer.status_code}: {answer.text[:300]}", file=sys.stderr)
        return EXIT_USAGE
    journal = answer.json()
    result = grade(journal["requests"], contract, Catalogue.build(contract), capacity=journal.get("capacity"))
    print(result.text())
    for path, text in ((args.report, result.markdown), (args.junit_xml, result.junit_xml)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text(), encoding="utf-8")
    return EXIT_BROKE_CONTRACT if result.broke_contract else EXIT_CLEAN


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
