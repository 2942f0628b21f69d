"""Bearer JWT authentication and tenant isolation."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from flask.testing import FlaskClient

from mockserver.auth import Authenticator, mint_token
from mockserver.errors import Unauthorized
from tests.support import SECRET, Api, create_body, token, update_body


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered() -> str:
    """TU-A's token with its payload rewritten to TU-B, under the original signature."""
    header, _, signature = token("TU-A").split(".")
    return f"{header}.{_b64({'sub': 'TU-B'})}.{signature}"


BAD_AUTHORIZATION = {
    "missing": None,
    "empty": "",
    "basic scheme": "Basic dXNlcjpwYXNz",
    "bearer without token": "Bearer ",
    "not a JWT": "Bearer not-a-jwt",
    "two segments": "Bearer a.b",
    "wrong secret": f"Bearer {jwt.encode({'sub': 'TU-A'}, 'another-secret-of-at-least-32-bytes!!', algorithm='HS256')}",
    "tampered payload": f"Bearer {_tampered()}",
    "alg none": f"Bearer {_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'TU-A'})}.",
    "HS512": f"Bearer {jwt.encode({'sub': 'TU-A'}, SECRET + 'x' * 40, algorithm='HS512')}",
    "expired": f"Bearer {token('TU-A', exp_seconds=-10)}",
    "no sub": f"Bearer {jwt.encode({'iat': 1}, SECRET, algorithm='HS256')}",
    "empty sub": f"Bearer {jwt.encode({'sub': ' '}, SECRET, algorithm='HS256')}",
}


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION.keys())
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/troubleTicket/RED-1"), ("POST", "/troubleTicket"), ("PATCH", "/troubleTicket/RED-1")]
)
def test_bad_credentials_get_401_with_a_bearer_challenge(
    client: FlaskClient, tu: Api, authorization: str | None, method: str, path: str
) -> None:
    tu.open_ticket()
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.open(path, method=method, headers=headers, json=create_body())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["illegalArgumentException"].startswith("authentication failed:")


def test_a_token_that_expires_stops_working_even_after_first_use() -> None:
    authenticator = Authenticator(SECRET)
    short = mint_token("TU-A", secret=SECRET, exp_seconds=1)
    assert authenticator.tenant(f"Bearer {short}") == "TU-A"
    time.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        authenticator.tenant(f"Bearer {short}")


def test_the_scheme_is_case_insensitive(client: FlaskClient, tu: Api) -> None:
    ticket_id, _ = tu.open_ticket()
    response = client.get(f"/troubleTicket/{ticket_id}", headers={"Authorization": f"bearer {token('TU-A')}"})
    assert response.status_code == 200


def test_another_tenant_cannot_read_or_update_and_learns_nothing(tu: Api, tu_b: Api) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    unknown = "RED-999"
    read, read_unknown = tu_b.get(ticket_id), tu_b.get(unknown)
    assert (read.status_code, read_unknown.status_code) == (404, 404)
    assert (
        read.get_json()["objectNotFoundException"].replace(ticket_id, unknown)
        == read_unknown.get_json()["objectNotFoundException"]
    )
    update = tu_b.patch(ticket_id, update_body(ticket_id, mirror_key, "DEFERRED.AWAITING-CANCELATION"))
    assert update.status_code == 400
    assert list(update.get_json()) == ["objectNotFoundException"]
    assert tu.get(ticket_id).get_json()["baseTroubleTicketState"] == "OPENACTIVE"


def test_tenants_may_share_a_mirror_key(tu: Api, tu_b: Api) -> None:
    first, _ = tu.open_ticket(mirrorKey="ONV-1024")
    second, _ = tu_b.open_ticket(mirrorKey="ONV-1024")
    assert first != second
    assert tu_b.get(second).get_json()["mirrorKey"] == "ONV-1024"


def test_a_repeated_mirror_key_names_the_existing_ticket(tu: Api) -> None:
    ticket_id, _ = tu.open_ticket(mirrorKey="ONV-7")
    response = tu.create(create_body(mirrorKey="ONV-7"))
    assert response.status_code == 400
    assert ticket_id in response.get_json()["illegalArgumentException"]
    assert tu.get("RED-2").status_code == 404


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "Zm9v.YmFy.YmF6"])
def test_a_garbage_token_is_called_malformed_in_plain_words(client: FlaskClient, garbage: str) -> None:
    response = client.get("/troubleTicket/RED-1", headers={"Authorization": f"Bearer {garbage}"})
    message = response.get_json()["illegalArgumentException"]
    assert response.status_code == 401
    assert message.startswith("authentication failed: the token is malformed")
    # PyJWT's own wording ("Not enough segments", "Invalid header padding", ...) is no help to a person.
    for internal in ("segments", "padding", "Invalid", "decode", "Error"):
        assert internal not in message
