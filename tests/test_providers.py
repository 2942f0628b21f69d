"""Providers that fail as whole servers: the suite names the request that took them down and stops.

A provider that dies mid-run (the process exits) or breaks (answers 5xx to everything from one
request on) is the most valuable finding of a run: it comes first in the console and in both
reports, with the request's curl and the time, and no cascade of connection errors follows.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from contracts.config import RunConfig
from contracts.report import print_summary
from contracts.results import Status
from contracts.runner import run
from tests.bad_providers import bad_provider
from tests.providers import breaking_mock
from tests.serving import free_port, served
from tests.support import SECRET, token

pytestmark = pytest.mark.slow


def contracts(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "contracts",
        "run",
        "--base-url",
        url,
        "--to-hook",
        "--seed",
        "5",
        "--max-examples",
        "8",
    ]
    command += ["--report", str(tmp_path / "r.md"), "--junit-xml", str(tmp_path / "r.xml"), "--jwt-secret", SECRET]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={"TT_TOKEN": token("TU-A"), "PATH": ""}
    )


@pytest.fixture
def dying_provider() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.providers", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url, timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                raise RuntimeError("the provider did not start") from None
            time.sleep(0.1)
    yield url
    process.kill()
    process.wait()


def test_a_provider_that_dies_is_reported_first_with_the_request_that_killed_it(
    dying_provider: str, tmp_path: Path
) -> None:
    result = contracts(dying_provider, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("FINDING at ") and "took it down" in first
    killer = result.stdout.splitlines()[1]
    assert "-X PATCH" in killer and "multipart/form-data" in killer  # the multipart update, as a curl
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.index("## The provider died or broke") < markdown.index("## Summary")
    assert "-X PATCH" in markdown.split("## Summary")[0]
    # No cascade: nothing after the death is reported as a violation of its own.
    assert "http.answers-every-request" not in result.stdout
    junit = ET.parse(tmp_path / "r.xml").getroot()
    provider = next(suite for suite in junit if suite.get("name") == "provider")
    assert provider.find("testcase/failure").get("type") == "http.server-survives"
    not_checked = [
        case
        for case in junit.iter("testcase")
        if (case.find("skipped") is not None and "not checked" in case.find("skipped").get("message"))
    ]
    assert not_checked


def test_a_provider_that_breaks_is_reported_with_the_request_before_the_change(tmp_path: Path) -> None:
    with served(breaking_mock()) as url:
        result = run(
            RunConfig(
                base_url=url,
                token=token("TU-A"),
                to_hook=True,
                max_examples=8,
                seed=5,
                progress=False,
                jwt_secret=SECRET,
            )
        )
    assert result.exit_code == 1 and result.finding is not None
    assert "broke" in result.finding.message
    before, after = result.finding.exchanges
    assert (
        before.method == "POST"
        and "multipart/form-data" in before.headers.get("Content-Type", "")
        and before.status == 201
    )
    assert after.status == 500
    assert [rule.status for rule in result.layer("provider").rules] == [Status.FAILED]
    later = [
        rule
        for rule in result.rules
        if rule.layer != "provider" and any(v.breaks == "http.no-5xx" for v in rule.violations)
    ]
    assert len(later) <= 1  # at most the request that met the change: no cascade of 5xx
    console = io.StringIO()
    print_summary(result, console)
    assert console.getvalue().startswith("FINDING at ")


@pytest.mark.parametrize(
    ("kind", "exit_code", "says"),
    [
        ("hang", 2, "no answer within 2 s"),
        ("garbage", 2, "did not answer"),
        ("redirect", 2, "redirected"),
        ("huge", 2, "more than 1048576 bytes"),
        ("drip", 2, "no answer within 2 s"),
        ("dropped-writes", (1, 2), "http.answers-every-request"),
    ],
)
def test_the_suite_ends_within_its_deadline_against_a_bad_endpoint(
    kind: str, exit_code: int | tuple[int, ...], says: str, tmp_path: Path
) -> None:
    """Never exit 0, never run on: each misbehaviour ends the run with a message that names it."""
    report = tmp_path / "r.md"
    with bad_provider(kind) as url:
        started = time.monotonic()
        command = [sys.executable, "-m", "contracts", "run", "--base-url", url, "--quiet", "--timeout", "2"]
        command += [
            "--max-time",
            "60",
            "--max-response-bytes",
            "1048576",
            "--max-examples",
            "5",
            "--report",
            str(report),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env={"TT_TOKEN": token("TU-A"), "PATH": ""}
        )
        elapsed = time.monotonic() - started
    assert result.returncode in (exit_code if isinstance(exit_code, tuple) else (exit_code,)), result.stdout[-2000:]
    assert says in result.stdout + result.stderr
    assert elapsed < 60 + 15
