from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from tests.support import SECRET, Api


@pytest.fixture
def app() -> Flask:
    return create_app(MockConfig(jwt_secret=SECRET))


@pytest.fixture
def parts(app: Flask) -> MockParts:
    return app.extensions["mockserver"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tu(client: FlaskClient, parts: MockParts) -> Api:
    """Tenant TU-A."""
    return Api(client, "TU-A", parts.lifecycle)


@pytest.fixture
def tu_b(client: FlaskClient, parts: MockParts) -> Api:
    """Tenant TU-B, who must never see TU-A's tickets."""
    return Api(client, "TU-B", parts.lifecycle)
