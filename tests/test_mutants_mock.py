"""Edges that mutation testing (make mutation) found no test holding: limits at exactly their value.

Each test fails on a mutant that survived: the body size limit taken as `>=`, a cached token
still accepted at exactly its `exp`, the lifecycle's route taking edges of the wrong side.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from spec import lifecycle as lifecycle_module
from tests.support import SECRET, auth, create_body, token

LIMIT = 4096


def body_of_exactly(size: int) -> bytes:
    """A valid create whose JSON is `size` bytes long (the dialog pads it)."""
    body = create_body(dialog="")
    bare = len(json.dumps(body).encode())
    body["dialog"] = "x" * (size - bare)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


@pytest.fixture
def limited() -> FlaskClient:
    return create_app(MockConfig(jwt_secret=SECRET, max_body_bytes=LIMIT)).test_client()


def post(client: FlaskClient, data: bytes, chunked: bool) -> int:
    headers = {**auth("TU-A"), "Content-Type": "application/json"}
    if not chunked:
        return client.post("/troubleTicket", data=data, headers=headers).status_code
    # No Content-Length: the body is read to its end, as a server hands over a chunked one.
    headers["Transfer-Encoding"] = "chunked"
    response = client.post(
        "/troubleTicket",
        input_stream=io.BytesIO(data),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    return response.status_code


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 201), (LIMIT + 1, 413)], ids=["at-the-limit", "one-over"])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not(
    limited: FlaskClient, size: int, status: int, chunked: bool
) -> None:
    assert post(limited, body_of_exactly(size), chunked) == status


@pytest.mark.parametrize(("offset", "status"), [(-0.5, 404), (0.0, 401), (0.5, 401)], ids=["before", "at", "after"])
def test_a_token_already_used_stops_working_at_exactly_its_exp(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, offset: float, status: int
) -> None:
    """RFC 7519: the time must be before `exp`. The first use verifies and remembers the token; later uses re-check."""
    issued = int(time.time())
    headers = {"Authorization": f"Bearer {token('TU-A', exp_seconds=60, now=issued)}"}
    assert client.get("/troubleTicket/RED-1", headers=headers).status_code == 404  # accepted: no such ticket
    monkeypatch.setattr("mockserver.auth.time.time", lambda: issued + 60 + offset)
    response = client.get("/troubleTicket/RED-1", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert "expired" in response.get_json()["illegalArgumentException"]


LIFECYCLE = lifecycle_module.load()
SIDE_SETS = [("TU",), ("TO",), ("TU", "TO")]


@pytest.mark.parametrize("sides", SIDE_SETS, ids=["+".join(s) for s in SIDE_SETS])
@pytest.mark.parametrize("target", LIFECYCLE.states)
@pytest.mark.parametrize("source", LIFECYCLE.states)
def test_a_route_for_some_sides_takes_only_their_edges(source: str, target: str, sides: tuple[str, ...]) -> None:
    """What the suite's clean-up and seeding walk: a route for the TU alone never asks the TO to move."""
    reachable = {source}
    frontier = [source]
    while frontier:  # the states these sides reach, from the file's edges
        state = frontier.pop()
        for edge in LIFECYCLE.transitions:
            if edge.source == state and edge.side in sides and edge.target not in reachable:
                reachable.add(edge.target)
                frontier.append(edge.target)
    if target not in reachable:
        with pytest.raises(ValueError, match="no chain of transitions"):
            LIFECYCLE.route(target, source, sides=sides)  # type: ignore[arg-type]
        return
    route = LIFECYCLE.route(target, source, sides=sides)  # type: ignore[arg-type]
    assert all(edge.side in sides for edge in route)
    assert [edge.source for edge in route[:1]] in ([], [source]) and (not route or route[-1].target == target)
    assert all(a.target == b.source for a, b in zip(route, route[1:], strict=False))
