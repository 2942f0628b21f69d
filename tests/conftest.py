from __future__ import annotations

import os

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Verbosity, settings

from mockserver import MockConfig, create_app
from mockserver.app import MockParts
from tests.support import SECRET, Api

# Hypothesis profiles for the model-based tests: HYPOTHESIS_PROFILE=dev|ci|debug (ci by default).
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("debug", max_examples=10, deadline=None, verbosity=Verbosity.debug)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
