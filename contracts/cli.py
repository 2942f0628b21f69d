"""Command line: `python -m contracts run --base-url URL --token TOKEN ...`.

Exit codes: 0 the endpoint conforms, 1 violations found, 2 usage error or endpoint unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.client import parse_rate
from contracts.config import DEFAULT_MAX_CREATES, DEFAULT_MAX_EXAMPLES, DEFAULT_PREFIX, LAYERS, RunConfig
from spec import LIFECYCLE_PATH, OPENAPI_PATH

EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


class Usage(Exception):
    """A command line that cannot run; the message says why."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m contracts",
        description="Check a Trouble Ticket endpoint against spec/openapi.yaml and spec/lifecycle.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run the contract suite against an endpoint",
        description=(
            "Run the six layers (schema, boundaries, roundtrip, lifecycle, auth, protocol) against an "
            "endpoint. Exit 0: it conforms; 1: violations found; 2: usage error or endpoint unreachable. "
            "Every ticket created has a mirrorKey with the prefix, and those left open are asked to cancel "
            "at the end."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    run.add_argument("--base-url", required=True, help="the endpoint, e.g. http://127.0.0.1:8080")
    run.add_argument("--token", default=None, help="tenant A's bearer token (default: $TT_TOKEN)")
    run.add_argument("--token-b", default=None, help="a second tenant's token, for tenancy (default: $TT_TOKEN_B)")
    run.add_argument(
        "--to-hook",
        action="store_true",
        help="play the TO through the provider's /_mock transition hook, to check every edge",
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
    run.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each answer")
    run.add_argument("--spec", type=Path, default=OPENAPI_PATH, help="the OpenAPI document to check against")
    run.add_argument("--lifecycle", type=Path, default=LIFECYCLE_PATH, help="the lifecycle table to check against")
    run.add_argument("--no-cleanup", action="store_true", help="leave created tickets as they are")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    """Check the arguments and build the run's settings; raise Usage naming the problem."""
    token = args.token or os.environ.get("TT_TOKEN")
    if not token:
        raise Usage("no token: pass --token or set $TT_TOKEN")
    if not args.base_url.startswith(("http://", "https://")):
        raise Usage(f"--base-url must start with http:// or https://, not {args.base_url!r}")
    if args.read_only and not args.ticket_ids:
        raise Usage("--read-only needs at least one --ticket-id of an existing ticket")
    if args.max_examples < 1:
        raise Usage("--max-examples must be at least 1")
    if args.max_creates is not None and args.max_creates < 0:
        raise Usage("--max-creates cannot be negative")
    if not 1 <= len(args.mirror_key_prefix) <= 8:
        raise Usage("--mirror-key-prefix must be 1 to 8 characters, so that keys fit an update's 15")
    if args.rate_limit:
        try:
            parse_rate(args.rate_limit)
        except ValueError as error:
            raise Usage(str(error)) from None
    for path in (args.spec, args.lifecycle):
        if not path.is_file():
            raise Usage(f"no such file: {path}")
    return RunConfig(
        base_url=args.base_url.rstrip("/"),
        token=token,
        token_b=args.token_b or os.environ.get("TT_TOKEN_B") or None,
        to_hook=args.to_hook,
        max_examples=args.max_examples,
        seed=args.seed,
        junit_xml=args.junit_xml,
        report=args.report,
        rate_limit=args.rate_limit,
        read_only=args.read_only,
        ticket_ids=tuple(args.ticket_ids),
        max_creates=args.max_creates,
        mirror_key_prefix=args.mirror_key_prefix,
        layers=tuple(dict.fromkeys(args.layers)) if args.layers else LAYERS,
        timeout=args.timeout,
        spec_path=args.spec,
        lifecycle_path=args.lifecycle,
        cleanup=not args.no_cleanup,
        progress=not args.quiet,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
    except Usage as problem:
        parser.exit(EXIT_USAGE, f"usage error: {problem}\n")
    from contracts import report
    from contracts.runner import Unreachable, run

    try:
        result = run(config)
    except Unreachable as problem:
        print(f"endpoint unreachable: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as problem:  # a spec or lifecycle file that does not read
        print(f"usage error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    report.print_summary(result, sys.stdout)
    for name, path in (("JUnit XML", config.junit_xml), ("report", config.report)):
        if path:
            print(f"{name}: {path}")
    return EXIT_CONFORMS if result.conforms else EXIT_VIOLATIONS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
