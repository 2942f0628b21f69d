"""Fixtures of the example's tests: the client under test, pointed at the plugin's mock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tu_client import TroubleTicketClient

from mockserver.testing import TTMock


@pytest.fixture
def tenant() -> str:
    """The TU these tests speak for (a token's sub)."""
    return "TU-ACME"


@pytest.fixture
def waits() -> list[float]:
    """The waits the client chose between tries (the tests do not sleep through them)."""
    return []


@pytest.fixture
def client(tt_mock: TTMock, tenant: str, waits: list[float]) -> TroubleTicketClient:
    return TroubleTicketClient(tt_mock.url, tt_mock.token(tenant), timeout=2.0, sleep=waits.append)


@pytest.fixture(autouse=True)
def _nothing_the_provider_would_refuse(tt_mock: TTMock) -> Iterator[None]:
    """After every test: the client sent nothing the provider would refuse (unless the test said so)."""
    yield
    tt_mock.assert_no_violations()
