"""Input a fuzz of the mock found 500s or non-JSON answers for: each now gets the contract's JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from flask.testing import FlaskClient

from mockserver.auth import Authenticator
from mockserver.errors import Unauthorized
from tests.support import SECRET, Api, create_body, update_body

ERROR_KEYS = ("illegalArgumentException", "remoteException", "objectNotFoundException")
# Raw bytes no UTF-8 decoder may accept; the first three are surrogates, which Python's json
# module lets through when it decodes bytes itself.
NOT_UTF8 = {
    "high surrogate": b"\xed\xa0\x80",
    "low surrogate": b"\xed\xbf\xbf",
    "surrogate pair as CESU-8": b"\xed\xa0\xbd\xed\xb8\x80",
    "overlong NUL": b"\xc0\x80",
    "cut-off sequence": b"\xe2\x82",
}


def contract_error(response) -> str:  # noqa: ANN001 - a werkzeug TestResponse
    """The message of a contract error body; fails the test for anything else."""
    assert response.content_type == "application/json", response.data[:200]
    body = response.get_json()
    assert isinstance(body, dict) and len(body) == 1 and next(iter(body)) in ERROR_KEYS, body
    return next(iter(body.values()))


def _with_bytes_in(body: dict, field: str, raw: bytes) -> bytes:
    marker = "@@MARK@@"
    return json.dumps({**body, field: marker}).encode().replace(marker.encode(), b"x" + raw)


@pytest.mark.parametrize("raw", NOT_UTF8.values(), ids=NOT_UTF8.keys())
@pytest.mark.parametrize("operation", ["create", "update", "hook", "multipart create"])
def test_json_strings_holding_bytes_that_are_not_utf8_get_400(
    client: FlaskClient, tu: Api, operation: str, raw: bytes
) -> None:
    ticket_id, mirror_key = tu.open_ticket()
    json_type = {**tu.headers, "Content-Type": "application/json"}
    if operation == "create":
        response = client.post("/troubleTicket", data=_with_bytes_in(create_body(), "dialog", raw), headers=json_type)
    elif operation == "update":
        data = _with_bytes_in(update_body(ticket_id, mirror_key), "dialog", raw)
        response = client.patch(f"/troubleTicket/{ticket_id}", data=data, headers=json_type)
    elif operation == "hook":
        data = _with_bytes_in({"baseTroubleTicketState": "OPENACTIVE"}, "dialog", raw)
        response = client.post(f"/_mock/troubleTicket/{ticket_id}/transition", data=data, headers=json_type)
    else:
        boundary = "b0undary"
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="d.json"\r\n'
                "Content-Type: application/json\r\n\r\n"
            ).encode()
            + _with_bytes_in(create_body(), "dialog", raw)
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {**tu.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        response = client.post("/troubleTicket", data=data, headers=headers)
    assert response.status_code == 400
    assert "not UTF-8 text" in contract_error(response)
    assert len(client.get("/_mock/tickets").get_json()["tickets"]) == 1


def test_a_byte_order_mark_is_still_accepted(client: FlaskClient, tu: Api) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(create_body()).encode()
    response = client.post("/troubleTicket", data=data, headers={**tu.headers, "Content-Type": "application/json"})
    assert response.status_code == 201


HS256_HEADER = b'{"alg": "HS256", "typ": "JWT"}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: bytes) -> str:
    """An HS256 token over exactly these payload bytes."""
    signing_input = f"{_b64(HS256_HEADER)}.{_b64(payload)}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


ODD_CLAIMS = {
    "sub with a raw surrogate": (b'{"sub": "TU-\xed\xa0\x80"}', "'sub' claim is not Unicode text"),
    "sub with a surrogate escape": (b'{"sub": "TU-\\ud800"}', "'sub' claim is not Unicode text"),
    "exp as a string of digits": (b'{"sub": "TU-A", "exp": "99999999999"}', "'exp' claim must be a number"),
    "nbf as a string of digits": (b'{"sub": "TU-A", "nbf": "1"}', "'nbf' claim must be a number"),
    "iat as a string of digits": (b'{"sub": "TU-A", "iat": "1"}', "'iat' claim must be a number"),
    "exp as a list": (b'{"sub": "TU-A", "exp": []}', "not a valid JWT"),
    "exp too large for any clock": (b'{"sub": "TU-A", "exp": 1e400}', "not a valid JWT"),
}


@pytest.mark.parametrize(("payload", "message"), ODD_CLAIMS.values(), ids=ODD_CLAIMS.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_tokens_with_odd_claims_get_401_every_time(
    client: FlaskClient, tu: Api, payload: bytes, message: str, method: str
) -> None:
    ticket_id, _ = tu.open_ticket()
    headers = {"Authorization": f"Bearer {_signed(payload)}"}
    path = "/troubleTicket" if method == "POST" else f"/troubleTicket/{ticket_id}"
    for _ in range(2):  # the second time too: a token once accepted was cached
        response = client.open(path, method=method, headers=headers, json=create_body())
        assert response.status_code == 401
        assert message in contract_error(response)


def test_a_numeric_exp_is_honoured_from_the_cache() -> None:
    authenticator = Authenticator(SECRET)
    live, dead = _signed(b'{"sub": "TU-A", "exp": 99999999999.5}'), _signed(b'{"sub": "TU-A", "exp": 1}')
    assert [authenticator.tenant(f"Bearer {live}") for _ in range(2)] == ["TU-A", "TU-A"]
    for _ in range(2):
        with pytest.raises(Unauthorized, match="expired"):
            authenticator.tenant(f"Bearer {dead}")


@pytest.mark.parametrize("attachment_id", [2**63, 2**64, 10**40, 0])
def test_attachment_ids_beyond_any_store_are_not_found(client: FlaskClient, tu: Api, attachment_id: int) -> None:
    ticket_id, _ = tu.open_ticket()
    response = client.get(f"/_mock/tickets/{ticket_id}/attachments/{attachment_id}")
    assert response.status_code == 404
    assert str(attachment_id) in contract_error(response)


@pytest.mark.parametrize("ticket_id", [f"RED-{2**63}", f"RED-{10**11}"])
def test_ticket_ids_beyond_any_store_are_not_found(client: FlaskClient, tu: Api, ticket_id: str) -> None:
    assert tu.get(ticket_id).status_code == 404
    response = tu.transition(ticket_id, {"baseTroubleTicketState": "OPENACTIVE", "dialog": "TO"})
    assert response.status_code == 404 and "not found" in contract_error(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("//troubleTicket//RED-1", 404),
        ("/troubleTicket//RED-1", 404),
        ("/_mock//health", 404),
        ("//troubleTicket", 405),  # Werkzeug reads leading slashes as one: the path takes POST only
    ],
)
def test_doubled_slashes_get_json_not_a_redirect(client: FlaskClient, tu: Api, path: str, status: int) -> None:
    tu.open_ticket()
    # PATH_INFO set directly: the test client would read `//troubleTicket` as a host name.
    response = client.get("/", environ_overrides={"PATH_INFO": path}, headers=tu.headers)
    assert response.status_code == status
    assert "no such path" in contract_error(response) or "not allowed" in contract_error(response)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/troubleTicket", ["OPTIONS", "POST"]), ("/troubleTicket/RED-1", ["GET", "HEAD", "OPTIONS", "PATCH"])],
)
def test_options_answers_json_with_allow(client: FlaskClient, path: str, allowed: list[str]) -> None:
    response = client.options(path)
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.get_json() == {"allow": allowed}
    assert response.headers["Allow"] == ", ".join(allowed)


def test_a_multipart_body_of_too_many_parts_is_refused_for_that(client: FlaskClient, tu: Api) -> None:
    parts = {f"note{n}": "x" for n in range(1000)}
    parts["data"] = json.dumps(create_body())
    response = client.post("/troubleTicket", data=parts, headers=tu.headers, content_type="multipart/form-data")
    assert response.status_code == 413
    assert contract_error(response) == "the multipart body has more than 1000 parts; this server accepts at most 1000"
    assert len(client.get("/_mock/tickets").get_json()["tickets"]) == 0
