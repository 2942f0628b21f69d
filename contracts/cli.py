"""Command line: `tt-contracts run --base-url URL ...` (also `python -m contracts run`).

Exit codes: 0 the endpoint conforms; 1 it breaks a rule that binds it (or died during the run);
2 the run could not start or finish (a usage or setup mistake, an unreachable endpoint, a
deadline or a size cap); 3 the suite itself failed (a bug to report, with its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from contracts.config import (
    DEFAULT_MAX_CREATES,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_TIME,
    DEFAULT_PREFIX,
    DEFAULT_TIMEOUT,
    LAYERS,
    MIRROR_LAYERS,
    RunConfig,
)
from contracts.tokens import OAuthClient
from contracts.transport import parse_rate
from spec import LIFECYCLE_PATH, MIRROR_PATH, OPENAPI_PATH

EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_CRASH = 0, 1, 2, 3


class Usage(Exception):
    """A command line that cannot run; the message says why."""


class OneDefault(argparse.HelpFormatter):
    """Shows each option's default once: the value, unless there is none or the help names it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, [], argparse.SUPPRESS) or action.option_strings == []:
            return text
        return f"{text} [default: {default}]"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or program_name(),
        description="Check a Trouble Ticket endpoint against spec/openapi.yaml and spec/lifecycle.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run the contract suite against an endpoint",
        description=(
            "Run the six layers (schema, boundaries, roundtrip, lifecycle, auth, protocol) against an "
            "endpoint. Exit 0: it conforms; 1: it breaks a rule of the page, a standard or the contract "
            "(or died during the run); 2: the run could not start or finish (usage, token, base URL, "
            "deadline); 3: the suite itself failed. Rules that only the mock chooses are warnings unless "
            "--strict. Every ticket created has a mirrorKey with the prefix; those left open are asked "
            "to cancel at the end. With --mirror the endpoint is a TU's mirror (spec/mirror.yaml), which the "
            "suite checks playing the TO, with the same reports and exit codes and all layers but schema."
        ),
        formatter_class=OneDefault,
    )
    run.add_argument("--base-url", required=True, help="the endpoint, e.g. http://127.0.0.1:8080")
    run.add_argument("--token", default=None, help="tenant A's bearer token [default: $TT_TOKEN]")
    run.add_argument("--token-b", default=None, help="a second tenant's token, for tenancy [default: $TT_TOKEN_B]")
    run.add_argument(
        "--jwt-secret",
        default=None,
        help="an HS256 secret the endpoint accepts (a test environment's), to mint the tokens that check expiry, "
        "not-before and a second tenant [default: $TT_JWT_SECRET]",
    )
    run.add_argument(
        "--expired-token",
        default=None,
        help="an expired token of tenant A's, to check expiry [default: $TT_EXPIRED_TOKEN]",
    )
    run.add_argument(
        "--token-url",
        default=None,
        help="obtain tokens from this OAuth2 token endpoint (client credentials: $TT_CLIENT_ID and "
        "$TT_CLIENT_SECRET, and $TT_CLIENT_ID_B/$TT_CLIENT_SECRET_B for a second tenant), again before "
        "they expire [default: $TT_TOKEN_URL]",
    )
    run.add_argument("--token-scope", default=None, help="the scope to ask the token endpoint for")
    run.add_argument("--token-audience", default=None, help="the audience to ask the token endpoint for")
    run.add_argument(
        "--strict", action="store_true", help="fail on choices only the mock makes too (this project's own CI)"
    )
    run.add_argument(
        "--to-hook",
        action="store_true",
        help="play the TO through the provider's /_mock transition hook, to check every edge",
    )
    run.add_argument(
        "--mirror",
        action="store_true",
        help="check a TU's mirror endpoint (spec/mirror.yaml) instead of a provider: the suite plays the TO, "
        "whose moves the mirror must take through PATCH /troubleTicket/{mirrorKey}",
    )
    run.add_argument(
        "--tu-hook",
        action="store_true",
        help="with --mirror: open mirror tickets and play the TU's own moves through the mirror's test hook "
        "(POST HOOK/troubleTicket, POST HOOK/troubleTicket/{mirrorKey}/transition), to check every rule",
    )
    run.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help="Schemathesis examples per operation and phase; also sizes the random walks",
    )
    run.add_argument("--seed", type=int, default=None, help="seed for generated data (default: random, reported)")
    run.add_argument("--junit-xml", type=Path, default=None, help="write JUnit XML here (one test case per rule)")
    run.add_argument("--report", type=Path, default=None, help="write the Markdown report here")
    run.add_argument("--html", type=Path, default=None, help="write the HTML report here (one self-contained page)")
    run.add_argument("--hook-prefix", default="/_mock", help="where the provider's TO transition hook lives")
    run.add_argument("--rate-limit", default=None, help="at most this many requests, e.g. 10/s, 600/m")
    run.add_argument("--read-only", action="store_true", help="send GET requests only, on the --ticket-id values")
    run.add_argument(
        "--ticket-id",
        action="append",
        default=[],
        dest="ticket_ids",
        help="an existing ticket of tenant A's (repeat for several); needed by --read-only",
    )
    run.add_argument("--max-creates", type=int, default=DEFAULT_MAX_CREATES, help="create at most this many tickets")
    run.add_argument("--mirror-key-prefix", default=DEFAULT_PREFIX, help="every created ticket's mirrorKey starts so")
    run.add_argument(
        "--layer",
        action="append",
        choices=LAYERS,
        dest="layers",
        help="run only this layer (repeat for several; default: all)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds for one request, all of it (connect to last byte)",
    )
    run.add_argument("--max-time", type=float, default=DEFAULT_MAX_TIME, help="seconds for the whole run (0: no bound)")
    run.add_argument(
        "--max-response-bytes", type=int, default=DEFAULT_MAX_RESPONSE_BYTES, help="the largest answer the suite reads"
    )
    run.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="the OpenAPI document to check against (default: spec/openapi.yaml, or spec/mirror.yaml with --mirror)",
    )
    run.add_argument("--lifecycle", type=Path, default=LIFECYCLE_PATH, help="the lifecycle table to check against")
    run.add_argument("--no-cleanup", action="store_true", help="leave created tickets as they are")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    """Check the arguments and build the run's settings; raise Usage naming the problem."""
    token = args.token or os.environ.get("TT_TOKEN") or ""
    secret = args.jwt_secret or os.environ.get("TT_JWT_SECRET") or None
    clients = oauth_clients(args)
    if not token and not secret and not clients:
        raise Usage(
            "no token: pass --token or set $TT_TOKEN (or give --token-url to obtain one, or --jwt-secret to mint one)"
        )
    if not args.base_url.startswith(("http://", "https://")):
        raise Usage(f"--base-url must start with http:// or https://, not {args.base_url!r}")
    if args.read_only and not args.ticket_ids:
        raise Usage("--read-only needs at least one --ticket-id of an existing ticket")
    if args.max_examples < 1:
        raise Usage("--max-examples must be at least 1")
    if args.timeout <= 0 or args.max_time < 0 or args.max_response_bytes < 1024:
        raise Usage("--timeout must be positive, --max-time 0 or more, --max-response-bytes at least 1024")
    if args.max_creates is not None and args.max_creates < 0:
        raise Usage("--max-creates cannot be negative")
    if not 1 <= len(args.mirror_key_prefix) <= 8:
        raise Usage("--mirror-key-prefix must be 1 to 8 characters, so that keys fit an update's 15")
    if args.rate_limit:
        try:
            parse_rate(args.rate_limit)
        except ValueError as error:
            raise Usage(str(error)) from None
    spec_path = args.spec or (MIRROR_PATH if args.mirror else OPENAPI_PATH)
    for path in (spec_path, args.lifecycle):
        if not path.is_file():
            raise Usage(f"no such file: {path}")
    layers = tuple(dict.fromkeys(args.layers)) if args.layers else (MIRROR_LAYERS if args.mirror else LAYERS)
    if args.mirror:
        wrong = [flag for flag, given in (("--to-hook", args.to_hook), ("--read-only", args.read_only)) if given]
        if wrong:
            hint = " (the mirror's own is --tu-hook)" if args.to_hook else ""
            raise Usage(f"{', '.join(wrong)} cannot go with --mirror{hint}")
        other = [layer for layer in layers if layer not in MIRROR_LAYERS]
        if other:
            raise Usage(f"the mirror suite has no {', '.join(other)} layer (it has {', '.join(MIRROR_LAYERS)})")
    elif args.tu_hook:
        raise Usage("--tu-hook goes with --mirror (a provider's TO hook is --to-hook)")
    return RunConfig(
        base_url=args.base_url.rstrip("/"),
        token=token,
        token_b=args.token_b or os.environ.get("TT_TOKEN_B") or None,
        to_hook=args.to_hook,
        max_examples=args.max_examples,
        seed=args.seed,
        junit_xml=args.junit_xml,
        report=args.report,
        html=args.html,
        rate_limit=args.rate_limit,
        read_only=args.read_only,
        ticket_ids=tuple(args.ticket_ids),
        max_creates=args.max_creates,
        mirror_key_prefix=args.mirror_key_prefix,
        layers=layers,
        timeout=args.timeout,
        max_time=args.max_time or None,
        max_response_bytes=args.max_response_bytes,
        strict=args.strict,
        jwt_secret=secret,
        expired_token=args.expired_token or os.environ.get("TT_EXPIRED_TOKEN") or None,
        hook_prefix=args.hook_prefix.rstrip("/"),
        oauth_clients=clients,
        spec_path=spec_path,
        lifecycle_path=args.lifecycle,
        cleanup=not args.no_cleanup,
        progress=not args.quiet,
        mirror=args.mirror,
        tu_hook=args.tu_hook,
    )


def oauth_clients(args: argparse.Namespace) -> dict[str, OAuthClient]:
    """The client-credentials grants of a run, by role; secrets only ever from the environment."""
    url = args.token_url or os.environ.get("TT_TOKEN_URL")
    if not url:
        return {}
    found = {}
    for role, suffix in (("a", ""), ("b", "_B")):
        client_id, secret = os.environ.get(f"TT_CLIENT_ID{suffix}"), os.environ.get(f"TT_CLIENT_SECRET{suffix}")
        if client_id and secret:
            found[role] = OAuthClient(url, client_id, secret, args.token_scope, args.token_audience)
    if "a" not in found:
        raise Usage("--token-url needs $TT_CLIENT_ID and $TT_CLIENT_SECRET (the client-credentials grant)")
    return found


def program_name() -> str:
    """The name the user ran the suite by: `tt-contracts`, or `python -m contracts`."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv else ""
    return "python -m contracts" if invoked in ("__main__.py", "-m", "") else invoked


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
        from spec.contract import Contract
        from spec.mirror import MirrorContract

        # A contract that does not read is a usage error.
        reader = MirrorContract if config.mirror else Contract
        contract = reader.load(config.spec_path, config.lifecycle_path)
    except (Usage, ValueError, OSError) as problem:
        parser.exit(EXIT_USAGE, f"usage error: {problem}\n")
    from contracts import report
    from contracts.runner import SetupError, run
    from contracts.tokens import TokenError
    from contracts.transport import RunHalted

    try:
        result = run(config)
    except (SetupError, TokenError) as problem:
        print(f"setup problem (not a provider bug): {problem}", file=sys.stderr)
        return EXIT_USAGE
    except RunHalted as problem:  # before any rule: nothing answers, or a bound was hit at once
        print(f"the run could not start: {problem.reason}", file=sys.stderr)
        return problem.exit_code
    except Exception:  # a bug of the suite's own: say so, with the traceback to report
        traceback.print_exc()
        print(
            "internal error: the contract suite itself failed (exit 3); please report the traceback above",
            file=sys.stderr,
        )
        return EXIT_CRASH
    report.print_summary(result, sys.stdout)
    from contracts.html import write_html

    for name, path, write in (
        ("JUnit XML", config.junit_xml, report.write_junit),
        ("report", config.report, report.write_markdown),
        ("HTML report", config.html, lambda result, path: write_html(result, path, contract.lifecycle)),
    ):
        if path:
            write(result, path)
            print(f"{name}: {path}")
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
