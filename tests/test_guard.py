"""Who may use the mock: Host names (DNS rebinding), web pages of other origins, the admin token."""

from __future__ import annotations

import base64

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from mockserver.guard import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER, ALLOWED_HOSTS_ENV, Guard, host_name
from tests.support import SECRET, Api

ADMIN = "admin-token-for-tests"


def _stored(client: FlaskClient) -> int:
    return len(client.get("/_mock/tickets").get_json()["tickets"])


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080", "10.1.2.3", "[fe80::1]", "console.localhost:9"],
)
def test_ip_addresses_and_localhost_are_answered(client: FlaskClient, host: str) -> None:
    assert client.get("/_mock/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("path", ["/_mock/tickets", "/_mock/health", "/troubleTicket/RED-1", "/openapi.json"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_other_host_names_are_refused_everywhere(client: FlaskClient, tu: Api, host: str, path: str) -> None:
    tu.open_ticket()
    response = client.get(path, headers={"Host": host, **tu.headers})
    assert response.status_code == 403
    message = response.get_json()["illegalArgumentException"]
    assert f"--allowed-host {host_name(host)}" in message and "DNS rebinding" in message


@pytest.mark.parametrize("allowed", [("mock.ci.example",), ("MOCK.ci.example.",), ("*",)])
def test_allowed_hosts_are_answered(allowed: tuple[str, ...]) -> None:
    client = create_app(MockConfig(jwt_secret=SECRET, allowed_hosts=allowed)).test_client()
    assert client.get("/_mock/health", headers={"Host": "mock.ci.example:8080"}).status_code == 200
    refused = client.get("/_mock/health", headers={"Host": "other.example"}).status_code
    assert refused == (200 if allowed == ("*",) else 403)


def test_allowed_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "a.example, b.example")
    client = create_app(MockConfig(jwt_secret=SECRET)).test_client()
    assert client.get("/_mock/health", headers={"Host": "b.example"}).status_code == 200


CROSS_ORIGIN = {
    "another site": {"Origin": "https://evil.example"},
    "another port of localhost": {"Origin": "http://localhost:3000"},
    "a sandboxed page or file": {"Origin": "null"},
    "no web origin": {"Origin": "chrome-extension://abc"},
    "Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
    "Sec-Fetch-Site same-site": {"Sec-Fetch-Site": "same-site"},
}


@pytest.mark.parametrize("headers", CROSS_ORIGIN.values(), ids=CROSS_ORIGIN.keys())
def test_a_page_of_another_origin_cannot_reset_the_store(client: FlaskClient, tu: Api, headers: dict) -> None:
    tu.open_ticket()
    response = client.post("/_mock/reset", headers=headers)
    assert response.status_code == 403
    assert "may not change the mock's state" in response.get_json()["illegalArgumentException"]
    assert _stored(client) == 1


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_form_cannot_reset_the_store_even_without_origin(client: FlaskClient, tu: Api, content_type: str) -> None:
    """What a browser can send cross-origin without asking first; an old one may send no Origin."""
    tu.open_ticket()
    response = client.post("/_mock/reset", data=b"a=1", headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert "send application/json, or no body" in response.get_json()["illegalArgumentException"]
    assert _stored(client) == 1


def test_the_hook_from_another_origin_is_refused_even_with_a_token(client: FlaskClient, tu: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    body = {"baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION", "dialog": "TO asks"}
    response = client.post(
        f"/_mock/troubleTicket/{ticket_id}/transition",
        json=body,
        headers={**tu.headers, "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert tu.get(ticket_id).get_json()["baseTroubleTicketState"] == "OPENACTIVE"


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost", "http://localhost"),
        ("localhost:8080", "http://localhost:8080"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("mock.example", "https://mock.example"),  # behind a TLS proxy on the default port
        ("mock.example:443", "https://mock.example"),
    ],
)
def test_the_mocks_own_pages_and_non_browsers_may_change_state(host: str, origin: str) -> None:
    """The console and docs the mock serves send its own origin; curl and test code send none."""
    client = create_app(MockConfig(jwt_secret=SECRET, allowed_hosts=("mock.example",))).test_client()
    for headers in ({"Origin": origin, "Sec-Fetch-Site": "same-origin"}, {}):
        assert client.post("/_mock/reset", headers={"Host": host, **headers}).status_code == 200
        assert client.post("/_mock/reset", json={}, headers={"Host": host, **headers}).status_code == 200


def test_reads_and_the_api_are_not_origin_checked(client: FlaskClient, tu: Api) -> None:
    """A page of another origin cannot read the answers (no CORS); the API asks for a token anyway."""
    ticket_id, _ = tu.open_ticket()
    foreign = {"Origin": "https://evil.example"}
    assert client.get("/_mock/tickets", headers=foreign).status_code == 200
    assert client.get(f"/troubleTicket/{ticket_id}", headers={**tu.headers, **foreign}).status_code == 200


@pytest.fixture
def guarded() -> Flask:
    return create_app(MockConfig(jwt_secret=SECRET, admin_token=ADMIN))


def _basic(password: str, user: str = "admin") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_mock/tickets"), ("GET", "/_mock/journal"), ("POST", "/_mock/reset"), ("GET", "/_mock/nothing-here")],
)
def test_with_an_admin_token_the_control_api_needs_it(guarded: Flask, method: str, path: str) -> None:
    client = guarded.test_client()
    for headers in ({}, {ADMIN_TOKEN_HEADER: "wrong"}, _basic("wrong")):
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic ")  # a browser asks its user
        assert "admin token" in response.get_json()["illegalArgumentException"]
    for headers in ({ADMIN_TOKEN_HEADER: ADMIN}, _basic(ADMIN), _basic(ADMIN, user="")):
        assert client.open(path, method=method, headers=headers).status_code in (200, 404)


def test_with_an_admin_token_health_and_the_api_stay_as_they_were(guarded: Flask) -> None:
    client = guarded.test_client()
    tu = Api(client, "TU-A", guarded.extensions["mockserver"].lifecycle)
    assert client.get("/_mock/health").status_code == 200  # what a load balancer probes
    ticket_id, _ = tu.open_ticket()
    assert tu.get(ticket_id).status_code == 200
    body = {"baseTroubleTicketState": "DEFERRED.AWAITING-INFORMATION", "dialog": "TO asks"}
    hook = f"/_mock/troubleTicket/{ticket_id}/transition"
    assert client.post(hook, json=body, headers=tu.headers).status_code == 401
    assert client.post(hook, json=body, headers={**tu.headers, ADMIN_TOKEN_HEADER: ADMIN}).status_code == 200


def test_the_admin_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN)
    client = create_app(MockConfig(jwt_secret=SECRET)).test_client()
    assert client.get("/_mock/tickets").status_code == 401
    assert client.get("/_mock/tickets", headers={ADMIN_TOKEN_HEADER: ADMIN}).status_code == 200


def test_an_admin_token_does_not_let_another_origin_in(guarded: Flask) -> None:
    """A browser that holds Basic credentials sends them with a forged cross-origin form too."""
    response = guarded.test_client().post("/_mock/reset", headers={**_basic(ADMIN), "Origin": "https://evil.example"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("value", "name"),
    [("Example.COM:8080", "example.com"), ("[::1]:80", "::1"), ("::1", "::1"), ("host.", "host"), ("[::1", "[::1")],
)
def test_host_names_are_read_as_browsers_send_them(value: str, name: str) -> None:
    assert host_name(value) == name


def test_guard_of_normalises_allowed_names() -> None:
    assert Guard.of("/_mock", ["Mock.Example.", "*"], "").allowed_hosts == frozenset({"mock.example", "*"})
    assert Guard.of("/_mock", [], "").admin_token is None
