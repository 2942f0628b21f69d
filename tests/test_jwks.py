"""Real providers' tokens: RS256 and ES256 checked against a JWKS (file or URL), issuer and audience."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, Response
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from mockserver import MockConfig, create_app
from mockserver.auth import DEFAULT_SECRET, Authenticator, JwksKeys
from mockserver.errors import KeysUnavailable, Unauthorized
from tests.serving import served
from tests.support import SECRET, create_body

ISSUER, AUDIENCE = "https://idp.example/realms/ftth", "trouble-ticket-api"


class Signer:
    """A key pair of an identity provider: signs tokens, and publishes its public half as a JWK."""

    def __init__(self, algorithm: str, kid: str | None) -> None:
        self.algorithm, self.kid = algorithm, kid
        if algorithm.startswith("RS"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk: dict[str, Any] = {**public, "alg": algorithm, "use": "sig", **({"kid": kid} if kid else {})}

    def token(self, sub: str = "TU-A", *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        claims = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, **claims}
        headers = {"kid": self.kid} if self.kid else {}
        return jwt.encode(claims, self.private, algorithm=self.algorithm, headers={**headers, **(header or {})})

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return Signer("RS256", "rsa-1")


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer("ES256", "ec-1")


def _jwks_file(tmp_path: Path, *signers: Signer, extra: list[dict] = ()) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [*(s.jwk for s in signers), *extra]}))
    return path


@pytest.fixture
def provider_app(tmp_path: Path, rsa_signer: Signer, ec_signer: Signer) -> Flask:
    # An encryption key in the set must be left out, not break it.
    encryption = {**Signer("RS256", "enc-1").jwk, "use": "enc"}
    jwks = _jwks_file(tmp_path, rsa_signer, ec_signer, extra=[encryption])
    return create_app(MockConfig(jwt_secret=SECRET, jwks=str(jwks), issuer=ISSUER, audience=AUDIENCE))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_tokens_signed_by_a_key_of_the_jwks_are_accepted(
    provider_app: Flask, rsa_signer: Signer, ec_signer: Signer, algorithm: str
) -> None:
    signer = rsa_signer if algorithm == "RS256" else ec_signer
    client = provider_app.test_client()
    created = client.post("/troubleTicket", json=create_body(), headers=_bearer(signer.token("TU-A")))
    assert created.status_code == 201
    ticket_id = created.get_json()["ticketId"]
    assert client.get(f"/troubleTicket/{ticket_id}", headers=_bearer(signer.token("TU-A"))).status_code == 200
    assert client.get(f"/troubleTicket/{ticket_id}", headers=_bearer(signer.token("TU-B"))).status_code == 404


def _hs256_keyed_with(key: bytes) -> str:
    """A token signed HS256 with the provider's public key as the secret: the algorithm confusion attack."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps({"sub": "TU-A", "iss": ISSUER, "aud": AUDIENCE}).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _refused(client: FlaskClient, token: str) -> str:
    response = client.get("/troubleTicket/RED-1", headers=_bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return response.get_json()["illegalArgumentException"]


def test_tokens_the_provider_did_not_sign_are_refused(provider_app: Flask, rsa_signer: Signer) -> None:
    client = provider_app.test_client()
    stranger = Signer("RS256", "rsa-1")  # the provider's key id, another key
    assert "signature does not match" in _refused(client, stranger.token())
    assert "no key of the mock's JWKS signs RS256 under the key id 'rsa-9'" in _refused(
        client, Signer("RS256", "rsa-9").token()
    )
    # The mock's own development tokens and the classic confusion attack: HS256 keyed with the public key.
    own = jwt.encode({"sub": "TU-A", "iss": ISSUER, "aud": AUDIENCE}, DEFAULT_SECRET, algorithm="HS256")
    assert "must be signed with RS256" in _refused(client, own)
    assert "must be signed with RS256" in _refused(client, _hs256_keyed_with(rsa_signer.public_pem()))
    none = jwt.encode({"sub": "TU-A", "iss": ISSUER, "aud": AUDIENCE}, None, algorithm="none")
    assert "must be signed with" in _refused(client, none)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://other.example"}, f"'iss' claim is not {ISSUER!r}"),
        ({"aud": "another-api"}, f"'aud' claim does not name {AUDIENCE!r}"),
        ({"aud": ["another-api", AUDIENCE]}, None),
        ({"exp": -10}, "expired"),  # times in seconds from when the test runs, not from collection
        ({"nbf": 600}, "not valid yet"),
    ],
)
def test_issuer_audience_and_times_are_checked(
    provider_app: Flask, ec_signer: Signer, claims: dict, message: str | None
) -> None:
    client = provider_app.test_client()
    now = int(time.time())
    token = ec_signer.token(**{k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()})
    if message is None:
        assert client.get("/troubleTicket/RED-1", headers=_bearer(token)).status_code == 404
    else:
        assert message in _refused(client, token)


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_a_configured_issuer_or_audience_must_be_present(provider_app: Flask, ec_signer: Signer, claim: str) -> None:
    token = jwt.encode(
        {k: v for k, v in {"sub": "TU-A", "iss": ISSUER, "aud": AUDIENCE}.items() if k != claim},
        ec_signer.private,
        algorithm="ES256",
        headers={"kid": "ec-1"},
    )
    assert f"no '{claim}' claim" in _refused(provider_app.test_client(), token)


def test_without_a_key_id_each_key_of_the_algorithm_is_tried(tmp_path: Path) -> None:
    first, second = Signer("RS256", None), Signer("RS256", None)
    authenticator = Authenticator("unused", keys=JwksKeys(str(_jwks_file(tmp_path, first, second))))
    assert authenticator.tenant(f"Bearer {second.token('TU-B')}") == "TU-B"
    with pytest.raises(Unauthorized, match="signature does not match"):
        authenticator.tenant(f"Bearer {Signer('RS256', None).token()}")


def test_issuer_and_audience_apply_to_hs256_tokens_too() -> None:
    app = create_app(MockConfig(jwt_secret=SECRET, issuer=ISSUER, audience=AUDIENCE))
    client = app.test_client()
    good = jwt.encode({"sub": "TU-A", "iss": ISSUER, "aud": AUDIENCE}, SECRET, algorithm="HS256")
    assert client.get("/troubleTicket/RED-1", headers=_bearer(good)).status_code == 404
    bare = jwt.encode({"sub": "TU-A"}, SECRET, algorithm="HS256")
    assert "no 'iss' claim" in _refused(client, bare)


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A JWKS served over HTTP on loopback; change `document` to rotate keys. Counts fetches."""
    document: dict[str, Any] = {"keys": [], "fetches": 0}
    idp = Flask("idp")

    @idp.get("/jwks")
    def jwks() -> Response:
        document["fetches"] += 1
        return Response(json.dumps({"keys": document["keys"]}), mimetype="application/json")

    with served(idp) as url:
        yield f"{url}/jwks", document


def test_keys_from_a_url_are_fetched_and_refetched_when_rotated(jwks_server: tuple[str, dict]) -> None:
    url, document = jwks_server
    old, new = Signer("ES256", "2024"), Signer("ES256", "2025")
    document["keys"] = [old.jwk]
    keys = JwksKeys(url, refetch_seconds=0)
    authenticator = Authenticator("unused", keys=keys)
    assert authenticator.tenant(f"Bearer {old.token('TU-A')}") == "TU-A"
    assert authenticator.tenant(f"Bearer {old.token('TU-B')}") == "TU-B"
    assert document["fetches"] == 1  # kept between tokens
    document["keys"] = [old.jwk, new.jwk]  # the provider rotates its keys
    assert authenticator.tenant(f"Bearer {new.token('TU-C')}") == "TU-C"
    assert document["fetches"] == 2


def test_made_up_key_ids_do_not_make_the_mock_hammer_the_provider(jwks_server: tuple[str, dict]) -> None:
    url, document = jwks_server
    document["keys"] = [Signer("ES256", "real").jwk]
    authenticator = Authenticator("unused", keys=JwksKeys(url, refetch_seconds=60))
    for n in range(5):
        with pytest.raises(Unauthorized, match="no key of the mock's JWKS"):
            authenticator.tenant(f"Bearer {Signer('ES256', f'made-up-{n}').token()}")
    assert document["fetches"] == 1  # unknown key ids refetch at most once a minute


def test_an_unreachable_jwks_is_the_mocks_fault_not_the_tokens(ec_signer: Signer) -> None:
    app = create_app(MockConfig(jwt_secret=SECRET, jwks="http://127.0.0.1:9/jwks"))
    response = app.test_client().get("/troubleTicket/RED-1", headers=_bearer(ec_signer.token()))
    assert response.status_code == 503
    assert "cannot read the JWKS at http://127.0.0.1:9/jwks" in response.get_json()["remoteException"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file"), ("not json", "cannot read the JWKS"), ('{"keys": []}', "did not contain any keys")],
)
def test_a_bad_jwks_file_stops_the_mock_at_start(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeysUnavailable, match=message):
        JwksKeys(str(path)).load()
    command = [sys.executable, "-m", "mockserver", "serve", "--db", str(tmp_path / "t.db"), "--jwks", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"cannot start the mock: cannot read the JWKS at {path}" in result.stderr
