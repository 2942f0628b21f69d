"""`python -m contracts run` as a CI pipeline uses it: exit codes, reports, and the real served mock."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.config import LAYERS
from tests.faults import FAULTS, correct_mock
from tests.serving import ServedMock, free_port, mint, served
from tests.support import token

pytestmark = pytest.mark.slow


def contracts(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TT_TOKEN")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "contracts", *args], capture_output=True, text=True, env=environment, timeout=timeout
    )


def tokens() -> dict[str, str]:
    """Tokens for a mock built by a test (signed with the tests' secret)."""
    return {"TT_TOKEN": token("TU-A"), "TT_TOKEN_B": token("TU-B")}


@pytest.mark.parametrize("command", [[], ["run"]])
def test_help(command: list[str]) -> None:
    result = contracts(*command, "--help")
    assert result.returncode == 0
    assert "usage:" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--base-url", "http://127.0.0.1:9"], {}, "no token"),
        (["--base-url", "127.0.0.1:8080", "--token", "t"], {}, "must start with http"),
        (["--base-url", "http://127.0.0.1:9", "--token", "t", "--read-only"], {}, "needs at least one --ticket-id"),
        (["--base-url", "http://127.0.0.1:9", "--token", "t", "--rate-limit", "fast"], {}, "rate limit must look"),
        (
            ["--base-url", "http://127.0.0.1:9", "--token", "t", "--mirror-key-prefix", "TOO-LONG-PREFIX"],
            {},
            "1 to 8 characters",
        ),
        (["--base-url", "http://127.0.0.1:9", "--token", "t", "--layer", "nonsense"], {}, "invalid choice"),
        (["--base-url", "http://127.0.0.1:9", "--token", "t", "--tu-hook"], {}, "--tu-hook goes with --mirror"),
        (
            ["--base-url", "http://127.0.0.1:9", "--token", "t", "--mirror", "--to-hook"],
            {},
            "--to-hook cannot go with --mirror (the mirror's own is --tu-hook)",
        ),
        (
            ["--base-url", "http://127.0.0.1:9", "--token", "t", "--mirror", "--layer", "schema"],
            {},
            "the mirror suite has no schema layer",
        ),
    ],
)
def test_usage_errors_exit_2_and_say_why(args: list[str], env: dict[str, str], message: str) -> None:
    result = contracts("run", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unreachable_endpoint_exits_2_and_says_so() -> None:
    result = contracts("run", "--base-url", f"http://127.0.0.1:{free_port()}", env=tokens())
    assert result.returncode == 2
    assert "the run could not start" in result.stderr and "did not answer" in result.stderr


@pytest.fixture
def served_mock(tmp_path: Path) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path / "tickets.db").start()
    yield mock
    mock.stop()


def test_the_served_mock_conforms_end_to_end(served_mock: ServedMock, tmp_path: Path) -> None:
    """What CI does: the real server, a default run with every option a pipeline would set."""
    junit, report = tmp_path / "contract.xml", tmp_path / "contract.md"
    env = {"TT_TOKEN": mint("TU-A"), "TT_TOKEN_B": mint("TU-B")}
    result = contracts(
        "run", "--base-url", served_mock.url, "--to-hook", "--junit-xml", str(junit), "--report", str(report), env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMS" in result.stdout
    assert "[schema] done" in result.stderr  # progress while it runs
    suites = ET.parse(junit).getroot()
    assert {suite.get("name") for suite in suites} == {"provider", *LAYERS, "contract-coverage"}
    assert int(suites.get("tests")) > 200 and suites.get("failures") == "0"
    text = report.read_text()
    assert text.splitlines()[2].startswith("**CONFORMS:")
    assert env["TT_TOKEN"] not in text and env["TT_TOKEN"] not in junit.read_text()


def test_a_faulty_endpoint_exits_1_with_a_replayable_report(tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.name == "trouble-type-limit-one-long")
    report, junit = tmp_path / "contract.md", tmp_path / "contract.xml"
    with served(fault.build()) as url:
        result = contracts(
            "run",
            "--base-url",
            url,
            "--report",
            str(report),
            "--junit-xml",
            str(junit),
            "--seed",
            "7",
            "--max-examples",
            "5",
            "--quiet",
            env=tokens(),
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DOES NOT CONFORM" in result.stdout
    text = report.read_text()
    assert "troubleType over maxLength 35 is refused" in text
    assert "Breaks `create.troubleType.maxLength` (page)" in text
    assert '-H "Authorization: Bearer $TT_TOKEN"' in text  # the curl reads the token from the environment
    assert tokens()["TT_TOKEN"] not in text
    assert "--layer boundaries --seed 7 --max-examples 5" in text  # how to replay it
    failures = [case for case in ET.parse(junit).iter("testcase") if case.find("failure") is not None]
    assert any("troubleType" in case.get("name") for case in failures)


@pytest.mark.parametrize(
    ("token_value", "path", "message"),
    [
        ("not-a-jwt", "", "refuses the token in $TT_TOKEN"),
        (None, "/api/v2", "the base URL has no /troubleTicket"),
    ],
)
def test_setup_mistakes_exit_2_with_a_plain_message(token_value: str | None, path: str, message: str) -> None:
    """A refused token or a wrong base path is the user's to fix, not a provider bug."""
    env = tokens()
    if token_value is not None:
        env["TT_TOKEN"] = token_value
    with served(correct_mock()) as url:
        result = contracts("run", "--base-url", url + path, "--quiet", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "setup problem" in result.stderr and message in result.stderr
    assert "DOES NOT CONFORM" not in result.stdout


def test_a_replayed_run_keeps_every_option_that_changes_the_outcome(tmp_path: Path) -> None:
    """The replay command carries --spec, --lifecycle, --to-hook and --strict: replaying gives the same verdict."""
    lifecycle = tmp_path / "lifecycle.yaml"
    lifecycle.write_text(Path("spec/lifecycle.yaml").read_text().replace("CLOSED:\n    terminal: true", "CLOSED: {}"))
    report = tmp_path / "contract.md"
    with served(correct_mock()) as url:
        args = ["run", "--base-url", url, "--lifecycle", str(lifecycle), "--to-hook", "--strict", "--seed", "3"]
        first = contracts(
            *args, "--layer", "lifecycle", "--max-examples", "5", "--quiet", "--report", str(report), env=tokens()
        )
        replay = next(line for line in report.read_text().splitlines() if line.startswith("- Replay: "))
        assert f"--lifecycle {lifecycle}" in replay and "--to-hook" in replay and "--strict" in replay
        command = replay.split("`")[1].split("  #")[0].split()
        again = contracts(*command[1:], "--quiet", env=tokens())
        default_lifecycle = contracts(
            *[arg for arg in command[1:] if arg not in ("--lifecycle", str(lifecycle))], "--quiet", env=tokens()
        )
    assert first.returncode == again.returncode == 1, first.stdout + again.stdout
    assert default_lifecycle.returncode == 0, default_lifecycle.stdout  # so --lifecycle is what fails it


def test_plain_schemathesis_with_the_shipped_configuration_is_green(served_mock: ServedMock) -> None:
    """What a team running Schemathesis (or its CI action) on the spec does, against the real server."""
    env = {**os.environ, "TT_TOKEN": mint("TU-A")}
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        "spec/openapi.yaml",
        "--url",
        served_mock.url,
    ]
    result = subprocess.run([*command, "--seed", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "failed" not in result.stdout.split("Test cases:")[-1]
