"""The command line as a new user meets it: names, help, banner, files, CORS."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from contracts.cli import build_parser as contracts_parser
from mockserver import MockConfig, create_app
from mockserver.cli import _OneDefault, build_parser
from tests.serving import free_port
from tests.support import SECRET, auth, create_body

CONSOLE_SCRIPT = Path(sys.executable).parent / "tt-mock"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


@pytest.mark.parametrize(
    ("command", "shown"),
    [([str(CONSOLE_SCRIPT)], "tt-mock"), ([sys.executable, "-m", "mockserver"], "python -m mockserver")],
)
@pytest.mark.parametrize("sub", [[], ["serve"], ["token"], ["report"]])
def test_help_names_the_program_as_it_was_run(command: list[str], shown: str, sub: list[str]) -> None:
    result = subprocess.run([*command, *sub, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {shown} {' '.join(sub)}".rstrip())


@pytest.mark.parametrize("name", ["serve", "token", "report"])
def test_each_option_shows_one_default_and_no_machine_path(name: str) -> None:
    parser = _subparsers(build_parser())[name]
    formatter = _OneDefault(parser.prog)
    for action in parser._actions:
        if action.help:
            text = formatter._expand_help(action)
            assert text.count("default") <= 1, text
    help_text = parser.format_help()
    assert os.getcwd() not in help_text and str(Path.home()) not in help_text


@pytest.mark.parametrize("cli", ["tt-mock", "tt-contracts"])
def test_every_command_and_option_says_what_it_does(cli: str) -> None:
    parser = build_parser() if cli == "tt-mock" else contracts_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    listed = {choice.dest: choice.help for choice in commands._choices_actions}
    assert set(listed) == set(commands.choices) and all(listed.values()), listed
    for name, sub in commands.choices.items():
        assert sub.description, f"{cli} {name} has no description"
        unexplained = [a.option_strings for a in sub._actions if a.option_strings and not a.help]
        assert not unexplained, f"{cli} {name}: options without help: {unexplained}"


@pytest.mark.server
def test_the_banner_shows_commands_that_work_from_a_fresh_shell(tmp_path: Path) -> None:
    data = tmp_path / "work" / ".tt-mock"
    port = free_port()
    log = tmp_path / "mock.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "serve", "--port", str(port), "--data-dir", str(data), "--workers", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOCK_JWT_SECRET": ""},
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}")
        banner = log.read_text()
        (mint,) = re.findall(r"TOKEN=\$\((.+) token --sub TU-A\)", banner)
        assert mint.endswith("tt-mock") and "python -m" not in banner
        assert f"POST http://127.0.0.1:{port}/_mock/reset" in banner
        # A fresh shell: no venv on PATH, no secret exported; the printed command still mints a token.
        fresh = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")}
        token = subprocess.run(
            ["bash", "-c", f"{mint} token --sub TU-A"], capture_output=True, text=True, env=fresh, check=True
        ).stdout.strip()
        created = requests.post(
            f"http://127.0.0.1:{port}/troubleTicket",
            json=create_body(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert created.status_code == 201
        # Every file of the mock is in its one folder, which git is told to ignore.
        assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [".tt-mock"]
        names = {p.name for p in data.iterdir()}
        assert {"tickets.db", "tickets.db.journal", ".gitignore"} <= names
        assert all(name.startswith(("tickets.db", ".gitignore")) for name in names), names
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_for(url: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_mock/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"no mock at {url}")


ORIGIN = "http://localhost:3000"


@pytest.fixture
def cors_client() -> FlaskClient:
    return create_app(MockConfig(jwt_secret=SECRET, cors_origins=(ORIGIN,))).test_client()


def test_cors_answers_a_browsers_preflight_for_the_api(cors_client: FlaskClient) -> None:
    preflight = cors_client.options(
        "/troubleTicket",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    created = cors_client.post("/troubleTicket", json=create_body(), headers={**auth("TU-A"), "Origin": ORIGIN})
    assert created.status_code == 201 and created.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Mock-Warning" in created.headers["Access-Control-Expose-Headers"]


def test_cors_answers_no_other_origin_and_not_the_control_api(cors_client: FlaskClient) -> None:
    other = cors_client.get("/troubleTicket/RED-1", headers={**auth("TU-A"), "Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    control = cors_client.get("/_mock/journal", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in control.headers


def test_cors_is_off_unless_asked_for(client: FlaskClient) -> None:
    answer = client.get("/troubleTicket/RED-1", headers={**auth("TU-A"), "Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_for_any_origin() -> None:
    client = create_app(MockConfig(jwt_secret=SECRET, cors_origins=("*",))).test_client()
    answer = client.get("/troubleTicket/RED-1", headers={**auth("TU-A"), "Origin": "http://anywhere.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
