"""The pages' server side: /docs and /_mock/ui with their files, and the control endpoints they read."""

from __future__ import annotations

import posixpath
import re
import time
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver import MockConfig, create_app
from mockserver.app import journaled
from mockserver.auth import DEFAULT_SECRET
from mockserver.pages import MINTED_TOKEN_SECONDS, STATIC, swagger_ui_dir
from spec import lifecycle as lifecycle_module
from spec.contract import Contract
from spec.diagram import lifecycle_svg
from tests.support import Api, create_body


@pytest.fixture
def dev_app() -> Flask:
    """A mock on the development secret, as `make mock` runs with $MOCK_JWT_SECRET unset."""
    return create_app(MockConfig(jwt_secret=DEFAULT_SECRET))


@pytest.fixture
def dev_client(dev_app: Flask) -> FlaskClient:
    return dev_app.test_client()


def _local_references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def _fetch(client: FlaskClient, path: str) -> TestResponse:
    """GET `path` and read it whole (a file answer left unread keeps its file open)."""
    answer = client.get(path)
    answer.get_data()
    answer.close()
    return answer


# -- the pages and their files ---------------------------------------------------------------


def test_docs_page_loads_swagger_ui_from_the_mock_itself(client: FlaskClient) -> None:
    page = _fetch(client, "/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    references = _local_references(page.get_data(as_text=True))
    assert "/docs/swagger-ui/swagger-ui-bundle.js" in references
    for reference in references:
        assert reference.startswith("/"), f"{reference} would leave the mock (the page must work offline)"
        assert _fetch(client, reference).status_code == 200, reference


def test_every_swagger_ui_file_the_page_needs_is_in_the_package() -> None:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert (swagger_ui_dir() / name).is_file(), name


def test_console_page_and_every_module_it_imports_are_served(client: FlaskClient) -> None:
    page = _fetch(client, "/_mock/ui")
    assert page.status_code == 200 and page.mimetype == "text/html"
    for reference in _local_references(page.get_data(as_text=True)):
        assert reference.startswith(("/", "data:")), reference
    # Follow the ES module imports from the entry point: a file missing from the package breaks the page.
    pending, seen = ["/_mock/ui/console.js"], set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = _fetch(client, url)
        assert answer.status_code == 200, url
        assert answer.mimetype == "text/javascript", url
        base = posixpath.dirname(url)
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', answer.get_data(as_text=True)):
            pending.append(posixpath.normpath(posixpath.join(base, target)))
    assert {
        "/_mock/ui/console.js",
        "/_mock/ui/api.js",
        "/_mock/ui/panels/tickets.js",
        "/_mock/ui/panels/toside.js",
    } <= seen
    assert _fetch(client, "/_mock/ui/console.css").status_code == 200


def test_every_shipped_page_file_is_package_data() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    shipped = [path for path in STATIC.rglob("*") if path.is_file()]
    assert shipped
    for path in shipped:
        pattern = f'"static/{path.relative_to(STATIC).parent.as_posix()}/*"'
        assert pattern in pyproject, f"{path.relative_to(STATIC)} is not package data: add {pattern} to pyproject.toml"


@pytest.mark.parametrize("path", ["/docs/", "/_mock/ui/"])
def test_a_trailing_slash_finds_the_page(client: FlaskClient, path: str) -> None:
    answer = _fetch(client, path)
    assert answer.status_code == 308 and answer.headers["Location"] == path.rstrip("/")


@pytest.mark.parametrize("path", ["/docs/nothing.js", "/docs/swagger-ui/nothing.js", "/_mock/ui/../app.py"])
def test_a_missing_file_is_the_contract_404(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "objectNotFoundException" in answer.get_json()


# -- the lifecycle, as the pages read it --------------------------------------------------------


def test_the_lifecycle_endpoint_is_the_lifecycle_file(client: FlaskClient) -> None:
    lifecycle = lifecycle_module.load()
    served = client.get("/_mock/lifecycle").get_json()
    assert served["initial"] == lifecycle.initial
    assert served["cancelRequest"] == lifecycle.cancel_request
    assert [s["name"] for s in served["states"]] == list(lifecycle.states)
    assert {s["name"] for s in served["states"] if s["terminal"]} == lifecycle.terminal
    assert {s["name"]: tuple(s["requiresOnEntry"]) for s in served["states"] if s["requiresOnEntry"]} == dict(
        lifecycle.requires_on_entry
    )
    assert [(t["from"], t["to"], t["side"], t["meaning"]) for t in served["transitions"]] == [
        (t.source, t.target, t.side, t.meaning) for t in lifecycle.transitions
    ]


def test_the_lifecycle_picture_is_drawn_from_the_served_lifecycle(tmp_path: Path) -> None:
    edited = tmp_path / "lifecycle.yaml"
    edited.write_text(
        lifecycle_module.LIFECYCLE_PATH.read_text(encoding="utf-8")
        + "  - {from: DEFERRED.AWAITING-INFORMATION, to: CLEARED, side: TO, meaning: resolved anyway}\n",
        encoding="utf-8",
    )
    client = create_app(MockConfig(lifecycle_path=edited)).test_client()
    answer = client.get("/_mock/lifecycle.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert answer.get_data(as_text=True) == lifecycle_svg(lifecycle_module.load(edited))
    assert ("DEFERRED.AWAITING-INFORMATION", "CLEARED", "TO") in [
        (t["from"], t["to"], t["side"]) for t in client.get("/_mock/lifecycle").get_json()["transitions"]
    ]


# -- tokens for the pages ---------------------------------------------------------------------


def test_on_the_development_secret_a_page_may_mint_tokens(dev_client: FlaskClient, dev_app: Flask) -> None:
    auth = dev_client.get("/_mock/auth").get_json()
    assert auth["developmentSecret"] is True and auth["canMint"] is True
    answer = dev_client.post("/_mock/token", json={"sub": " TU-DOCS "})
    assert answer.status_code == 200
    minted = answer.get_json()
    assert minted["sub"] == "TU-DOCS" and minted["expiresInSeconds"] == MINTED_TOKEN_SECONDS
    claims = jwt.decode(minted["token"], DEFAULT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "TU-DOCS"
    assert abs(claims["exp"] - time.time() - MINTED_TOKEN_SECONDS) < 60
    # The token opens tickets for that tenant, like one from `python -m mockserver token`.
    created = dev_client.post(
        "/troubleTicket", json=create_body(), headers={"Authorization": f"Bearer {minted['token']}"}
    )
    assert created.status_code == 201
    (ticket,) = dev_client.get("/_mock/tickets").get_json()["tickets"]
    assert ticket["tenant"] == "TU-DOCS"


def test_with_a_secret_of_its_own_the_mock_mints_nothing(client: FlaskClient) -> None:
    auth = client.get("/_mock/auth").get_json()
    assert auth["developmentSecret"] is False and auth["canMint"] is False
    assert "MOCK_JWT_SECRET" in auth["message"] and "python -m mockserver token" in auth["message"]
    refused = client.post("/_mock/token", json={"sub": "TU-A"})
    assert refused.status_code == 403
    assert refused.get_json() == {"illegalArgumentException": auth["message"]}


def test_the_environment_secret_turns_minting_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_JWT_SECRET", "a-real-secret-kept-by-the-team-0123456789")
    client = create_app(MockConfig()).test_client()
    assert client.get("/_mock/auth").get_json()["canMint"] is False
    assert client.post("/_mock/token", json={"sub": "TU-A"}).status_code == 403


@pytest.mark.parametrize(
    "body",
    [None, "TU-A", {}, {"sub": ""}, {"sub": "   "}, {"sub": 7}, {"sub": "x" * 65}, {"sub": "TU\nA"}],
    ids=["no body", "not an object", "no sub", "empty", "blank", "not a string", "too long", "control character"],
)
def test_a_bad_tenant_name_is_refused_plainly(dev_client: FlaskClient, body: object) -> None:
    answer = dev_client.post("/_mock/token", json=body) if body is not None else dev_client.post("/_mock/token")
    assert answer.status_code == 400
    assert answer.get_json()["illegalArgumentException"].startswith("sub: ")


def test_token_minting_is_post_only(dev_client: FlaskClient) -> None:
    answer = dev_client.get("/_mock/token")
    assert answer.status_code == 405 and answer.headers["Allow"] == "OPTIONS, POST"


# -- the journal stays about the API ----------------------------------------------------------


def test_the_pages_and_their_reads_stay_out_of_the_journal(dev_client: FlaskClient) -> None:
    for path in ("/docs", "/docs/docs.js", "/docs/swagger-ui/swagger-ui.css", "/_mock/ui", "/_mock/ui/api.js"):
        assert _fetch(dev_client, path).status_code == 200, path
    for path in ("/_mock/lifecycle", "/_mock/lifecycle.svg", "/_mock/auth", "/_mock/tickets", "/_mock/journal"):
        assert dev_client.get(path).status_code == 200, path
    dev_client.post("/_mock/token", json={"sub": "TU-A"})
    assert dev_client.get("/_mock/journal").get_json()["requests"] == []


def test_a_to_move_through_the_hook_is_in_the_journal(client: FlaskClient, tu: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    target = next(t.target for t in tu.lifecycle.transitions if t.source == tu.lifecycle.initial and t.side == "TO")
    assert tu.move(ticket_id, mirror_key, target, "TO").status_code == 200
    newest = client.get("/_mock/journal").get_json()["requests"][0]
    assert (newest["method"], newest["path"], newest["status"], newest["tenant"]) == (
        "POST",
        f"/_mock/troubleTicket/{ticket_id}/transition",
        200,
        "TU-A",
    )
    assert newest["response"]["baseTroubleTicketState"] == target


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/troubleTicket", True),
        ("/troubleTicket/RED-1", True),
        ("/docsy", True),  # a client's wrong path is worth seeing
        ("/_mockery", True),
        ("/_mock/troubleTicket/RED-1/transition", True),
        ("/docs", False),
        ("/docs/swagger-ui/swagger-ui-bundle.js", False),
        ("/openapi.json", False),
        ("/_mock", False),
        ("/_mock/ui", False),
        ("/_mock/journal", False),
        ("/_mock/token", False),
        ("/_mock/troubleTicket/RED-1", False),
    ],
)
def test_what_the_journal_keeps(path: str, kept: bool) -> None:
    assert journaled(path, Contract.load()) is kept
