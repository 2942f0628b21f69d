"""The suite is safe to point at a real provider: what it creates, sends and leaves behind."""

from __future__ import annotations

import time

import jwt
import pytest
from flask import Flask, request

from contracts.config import RunConfig
from contracts.results import RunResult
from contracts.runner import run
from contracts.tokens import OAuthClient
from mockserver import MockConfig, create_app
from tests.faults import correct_mock
from tests.serving import served
from tests.support import SECRET, Api, token

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> Flask:
    # A journal long enough to hold every request of a run.
    return create_app(MockConfig(jwt_secret=SECRET, journal_size=100_000))


def run_against(app: Flask, **options: object) -> RunResult:
    settings: dict[str, object] = {"max_examples": 5, "seed": 99, "progress": False, "token_b": token("TU-B")}
    settings.update(options)
    with served(app) as url:
        return run(RunConfig(base_url=url, token=token("TU-A"), **settings))  # type: ignore[arg-type]


def tickets(app: Flask) -> list[dict]:
    return app.extensions["mockserver"].service.history()


def test_read_only_sends_nothing_but_get_to_the_given_tickets(app: Flask) -> None:
    tu = Api(app.test_client(), "TU-A", app.extensions["mockserver"].lifecycle)
    ids = [tu.open_ticket()[0] for _ in range(2)]
    before = tickets(app)
    result = run_against(app, read_only=True, ticket_ids=tuple(ids), to_hook=True)
    journal = app.extensions["mockserver"].journal.newest()
    sent = journal[: len(journal) - 2]  # all but the two creates above
    assert sent and {entry["method"] for entry in sent} <= {"GET", "HEAD"}  # safe methods only
    assert tickets(app) == before
    assert result.conforms, [r.title for r in result.rules if r.status == "failed"]
    assert result.layer("boundaries").count("skipped") == 1


def test_every_created_ticket_carries_the_prefix(app: Flask) -> None:
    result = run_against(app, mirror_key_prefix="QA-", to_hook=True)
    keys = [ticket["mirrorKey"] for ticket in tickets(app)]
    assert keys and all(key.startswith("QA-") for key in keys)
    assert len(result.created) == len(keys)  # and the suite knows every one it made


def test_creations_stay_within_the_budget(app: Flask) -> None:
    result = run_against(app, max_creates=40, to_hook=True)
    assert 0 < len(tickets(app)) <= 40
    reasons = {rule.skip_reason for layer in result.layers for rule in layer.rules if rule.skip_reason}
    assert any("creation budget" in reason for reason in reasons)
    assert result.conforms


def test_tickets_left_open_are_asked_to_cancel(app: Flask) -> None:
    result = run_against(app, layers=("boundaries", "roundtrip"), to_hook=True)
    lifecycle = app.extensions["mockserver"].lifecycle
    left_open = [
        t for t in tickets(app) if t["baseTroubleTicketState"] not in {lifecycle.cancel_request, *lifecycle.terminal}
    ]
    # Only tickets whose mirrorKey is too long for any update (the limit tests made them) stay open.
    assert left_open and all(len(t["mirrorKey"]) > 15 for t in left_open)
    notes = {ticket.ticket_id: ticket.cleanup for ticket in result.created}
    assert all("longer than an update accepts" in notes[t["ticketId"]] for t in left_open)
    assert all(notes.values())


def test_without_the_hook_or_a_second_token_those_rules_are_skipped_not_failed(app: Flask) -> None:
    result = run_against(app, layers=("lifecycle", "auth"), token_b=None, to_hook=False)
    skipped = {rule.rule_id: rule.skip_remedy for rule in result.rules if rule.status == "skipped"}
    assert skipped["TO.*"] == "add --to-hook"
    assert "$TT_TOKEN_B" in skipped["tenancy"]
    assert result.conforms
    assert result.layer("lifecycle").count("passed") > 0


def test_tokens_from_an_oauth2_endpoint_are_obtained_again_before_they_expire() -> None:
    """Client credentials (RFC 6749 §4.4): a run longer than a token's life never sends an expired one."""
    issued: list[str] = []
    endpoint = Flask("token-endpoint")

    @endpoint.post("/oauth/token")
    def issue() -> dict:
        assert request.form["grant_type"] == "client_credentials"
        client = request.authorization.username if request.authorization else "?"
        issued.append(client)
        now = int(time.time())
        # exp counts whole seconds: the token lives 2 to 3 s, and says 2.
        return {"access_token": jwt.encode({"sub": client, "iat": now, "exp": now + 3}, SECRET), "expires_in": 2}

    with served(endpoint) as auth_url, served(correct_mock()) as url:
        clients = {role: OAuthClient(f"{auth_url}/oauth/token", f"TU-{role.upper()}", "s3cret") for role in "ab"}
        config = RunConfig(
            base_url=url,
            token="",
            oauth_clients=clients,
            layers=("boundaries", "lifecycle", "auth"),
            max_examples=5,
            progress=False,
        )
        result = run(config)
    assert result.exit_code == 0, [v.message for rule in result.rules for v in rule.violations][:5]
    assert result.seconds > 2 and issued.count("TU-A") >= 2 and issued.count("TU-B") >= 2
