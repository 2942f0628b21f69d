"""`python -m bench.app_profile`: where a request's time goes inside the app, with no network.

Calls the WSGI app directly (as the server would, minus sockets) on a fresh store file: the median
time of each operation, then the functions that cost the most over a mixed run (cProfile). Set
against `make bench`'s server CPU per request, the difference is the server and the kernel.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockserver import MockConfig, create_app
from mockserver.auth import mint_token

SECRET = "profile-only-secret-of-at-least-32-bytes"
CREATE = {
    "baseTroubleTicketState": "OPENACTIVE",
    "mirrorKey": "P-0",
    "dialog": "ONT synced, no browsing",
    "troubleType": "FTTH_PROVISION_RANGED_NO_NAVEGA",
    "troubleDescription": "ONT sincronizado, pero no navega.",
    "troubleDetectionTime": "2025-01-15T10:30:00Z",
    "preferredPriority": 1,
    "troubledObject": "CTO",
    "customerTroubleNum": "O99999999999/M9999999999",
    "wh1Parameter": "red",
    "clearencePerson": "agent-7",
}


def caller(app: Any, token: str) -> Callable[[str, str, Any], str]:
    def call(method: str, path: str, body: Any = None) -> str:
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            "wsgi.input_terminated": True,
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_HOST": "127.0.0.1:8080",
        }
        if body is not None:
            environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)))
        status: list[str] = []
        b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        return status[0]

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per operation")
    parser.add_argument("--top", type=int, default=15, help="functions listed from the profile")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app(MockConfig(db=str(Path(workdir) / "p.db"), jwt_secret=SECRET))
        call = caller(app, mint_token("TU-PROFILE", secret=SECRET))
        assert call("POST", "/troubleTicket", CREATE).startswith("201")
        operations = {
            "GET": lambda n: call("GET", "/troubleTicket/RED-1"),
            "POST": lambda n: call("POST", "/troubleTicket", {**CREATE, "mirrorKey": f"P-{n}"}),
            "PATCH": lambda n: call(
                "PATCH",
                "/troubleTicket/RED-1",
                {"baseTroubleTicketState": "OPENACTIVE", "ticketId": "RED-1", "mirrorKey": "P-0", "dialog": f"d{n}"},
            ),
        }
        serial = iter(range(1, 10**9))
        for name, operation in operations.items():
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                operation(next(serial))
                samples.append(time.perf_counter() - started)
            print(f"{name:5} median {statistics.median(samples) * 1e6:6.0f} us  (in-process, {args.requests} requests)")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests // 5):  # the bench's mix: 3 GET, 1 POST, 1 PATCH
            for name in ("GET", "GET", "GET", "POST", "PATCH"):
                operations[name](next(serial))
        profile.disable()
    stats = io.StringIO()
    pstats.Stats(profile, stream=stats).sort_stats("tottime").print_stats(args.top)
    print(stats.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
