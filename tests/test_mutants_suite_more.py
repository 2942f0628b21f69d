"""More of the suite's edges that mutation testing (make mutation) found no test holding.

What a user of `tt-contracts` sees: the variable a pre-flight refusal tells them to fix, the
options the reports list, the replay command of a mirror run, the mirror tickets it names, and
the clean-up of every ticket a run opened even after one would not cancel.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request

from contracts.config import RunConfig
from contracts.preflight import SetupError
from contracts.report import write_markdown
from contracts.results import RunResult
from contracts.runner import run
from tests.faults import correct_mock
from tests.mirror_faults import correct_mirror
from tests.serving import served
from tests.support import token

# -- the pre-flight names the variable to fix, as a user types it ----------------------------------


def _env_var_named(message: str, name: str) -> bool:
    """`name` ($TT_TOKEN) as a whole word of `message`, in its own case: what the user sets."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?!\w)", message) is not None


def _refusing_everything() -> Flask:
    app = Flask("refuses-every-token")

    @app.route("/<path:anything>", methods=["GET", "POST", "PATCH"])
    def refuse(anything: str) -> Response:
        return Response('{"illegalArgumentException": "bad token"}', 401, mimetype="application/json")

    return app


def _setup_error(app: Flask, **options: Any) -> str:
    settings: dict[str, Any] = {"max_examples": 3, "seed": 7, "progress": False, "layers": ()}
    settings.update(options)
    with served(app) as url, pytest.raises(SetupError) as refused:
        run(RunConfig(base_url=url, token=token("TU-A"), **settings))
    return str(refused.value)


def test_a_refused_token_a_names_tt_token_to_fix() -> None:
    message = _setup_error(_refusing_everything())
    assert "401" in message
    assert _env_var_named(message, "$TT_TOKEN"), message


def test_a_refused_token_b_names_tt_token_b_to_fix() -> None:
    """Token A works, B is signed with another secret: the fix is in $TT_TOKEN_B, not $TT_TOKEN."""
    message = _setup_error(correct_mock(), token_b=token("TU-B").rsplit(".", 1)[0] + ".bm90LXRoZS1zaWduYXR1cmU")
    assert "401" in message
    assert _env_var_named(message, "$TT_TOKEN_B"), message
    assert not _env_var_named(message, "$TT_TOKEN"), message


# -- the options the reports list, and the clean-up of every ticket --------------------------------


TOKEN_A = token("TU-A")


def _run(app: Flask, **options: Any) -> RunResult:
    settings: dict[str, Any] = {"max_examples": 3, "seed": 7, "progress": False}
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=TOKEN_A, **settings))


def _options_line(result: RunResult, tmp_path: Path) -> str:
    path = tmp_path / "report.md"
    write_markdown(result, path)
    return next(line for line in path.read_text().splitlines() if line.startswith("- Options: "))


@pytest.mark.slow
@pytest.mark.mutation
def test_a_second_token_given_shows_in_the_options_as_a_second_tenant(tmp_path: Path) -> None:
    """Given with --token-b, not minted: the reports still say the run had a second tenant."""
    result = _run(correct_mock(), token_b=token("TU-B"), layers=())
    assert result.exit_code == 0
    assert result.options["second tenant"] is True and result.options["tokens minted with --jwt-secret"] is False
    assert "second tenant: True" in _options_line(result, tmp_path)


def _cancel_refused_once(app: Flask) -> Flask:
    """Tenant A's first request for the cancel state is answered 409; every later one goes through."""
    cancel = app.extensions["mockserver"].lifecycle.cancel_request
    refused: list[str] = []

    def refuse_first_cancel() -> Response | None:
        body = request.get_json(silent=True) if request.method == "PATCH" else None
        tenant_a = request.headers.get("Authorization") == f"Bearer {TOKEN_A}"
        if tenant_a and isinstance(body, dict) and body.get("baseTroubleTicketState") == cancel and not refused:
            refused.append(body["ticketId"])
            return Response('{"illegalArgumentException": "not now"}', 409, mimetype="application/json")
        return None

    app.before_request(refuse_first_cancel)
    return app


@pytest.mark.slow
@pytest.mark.mutation
def test_a_ticket_that_would_not_cancel_leaves_the_clean_up_of_the_others_going() -> None:
    result = _run(_cancel_refused_once(correct_mock()), token_b=token("TU-B"), layers=("auth",))
    assert result.exit_code == 0
    notes = [ticket.cleanup for ticket in result.created]
    assert len(notes) > 2, notes
    left = [note for note in notes if "got 409" in note]
    assert len(left) == 1 and left[0].startswith("left in OPENACTIVE"), notes
    cancelled = [note for note in notes if note.startswith("asked to cancel")]
    assert len(cancelled) == len(notes) - 1, notes  # every other ticket, those after it too


# -- a mirror run: its replay command, options and tickets -----------------------------------------


@pytest.fixture(scope="module")
def mirror_run() -> RunResult:
    options = {"max_creates": 50, "max_response_bytes": 100_000, "rate_limit": "500/s"}
    config: dict[str, Any] = {"max_examples": 3, "seed": 7, "progress": False, "mirror": True, "tu_hook": True}
    with served(correct_mirror()) as url:
        return run(
            RunConfig(
                base_url=url, token=token("TO"), timeout=7.0, mirror_key_prefix="QA-", layers=(), **config, **options
            )
        )


def _replay_flags(command: str) -> dict[str, str]:
    """The replay command's `--flag value` pairs, as a shell reads the part before the comment."""
    words = shlex.split(command.split("  #", 1)[0])
    return {word: value for word, value in zip(words, [*words[1:], ""], strict=True) if word.startswith("--")}


@pytest.mark.slow
@pytest.mark.mutation
def test_a_mirror_run_s_replay_carries_each_option_that_differs_from_its_default(mirror_run: RunResult) -> None:
    assert mirror_run.exit_code == 0
    flags = _replay_flags(mirror_run.replay[""])
    assert flags["--timeout"] == "7.0"
    assert flags["--max-creates"] == "50"
    assert flags["--max-response-bytes"] == "100000"
    assert flags["--rate-limit"] == "500/s"
    assert "--hook-prefix" not in flags and "--tu-hook" in flags  # left at its default: not repeated


@pytest.mark.slow
@pytest.mark.mutation
def test_a_mirror_run_s_options_say_it_was_a_mirror_run(mirror_run: RunResult, tmp_path: Path) -> None:
    assert mirror_run.options["mirror"] is True
    assert "mirror: True" in _options_line(mirror_run, tmp_path)


@pytest.mark.slow
@pytest.mark.mutation
def test_a_mirror_run_names_the_mirror_key_of_each_ticket_it_opened(mirror_run: RunResult, tmp_path: Path) -> None:
    keys = [ticket.mirror_key for ticket in mirror_run.created]
    assert keys and all(key.startswith("QA-") for key in keys), keys
    path = tmp_path / "report.md"
    write_markdown(mirror_run, path)
    assert all(f"`{key}`" in path.read_text() for key in keys)
