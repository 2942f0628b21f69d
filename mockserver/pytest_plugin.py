"""pytest plugin (the `tt_mock` entry point): the Trouble Ticket mock as a fixture of a TU's tests.

Fixtures (each test starts with no tickets and no faults; the journal is kept for `tt-mock report`):

    tt_mock             the real server (`tt-mock serve`, granian) on a free port, one per session;
                        with `--tt-mock-url URL`, the mock already serving there (e.g. started by CI)
    tt_mock_in_process  the same API from a thread of the test process: starts in milliseconds

Both are `mockserver.testing.TTMock`: `.url`, `.token(tenant)`, `.headers(tenant)`, `.seed(...)`,
`.play_to(...)`, `.history(ticket_id)`, `.fault(kind, ...)`, `.requests(method=, path=, status=,
tenant=)` and `.assert_no_violations()`; the TO's own side: `.advance("72h")`, `.clock()`,
`.steps(ticket_id)`, `.set_mirror(tenant, url)`, `.callbacks(ticket_id)`. A request a test sends to be
refused on purpose carries the `X-Mock-Expect-Refusal` header (`tt_mock.headers(tenant,
expect_refusal="why")`).

    tt_mirror           a reference TU mirror (`tt-mock serve --role tu-mirror`'s app) from a thread of
                        the test process, with no tickets: `mockserver.testing.TTMirror`
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockserver.config import MockConfig
from mockserver.control import PREFIX
from mockserver.testing import ServedMock, TTMirror, TTMock, TTMockError, served

JOURNAL_SIZE = 5000  # requests kept: a test session's worth, so that tt-mock report sees them all
THREADS = 4  # per worker: a request a fault delays must not hold up the test's next one


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tt-mock", "Trouble Ticket mock (tt_mock fixtures)")
    group.addoption(
        "--tt-mock-url",
        metavar="URL",
        help="use the mock already serving at URL (e.g. started by CI) instead of starting one",
    )
    parser.addini("tt_mock_args", type="args", help="more `tt-mock serve` options for the mock tt_mock starts")


@pytest.fixture(scope="session")
def tt_mock_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the session's served mock (started on first use, stopped at the end)."""
    given = request.config.getoption("--tt-mock-url")
    if given:
        url = given.rstrip("/")
        try:
            requests.get(f"{url}{PREFIX}/health", timeout=5).raise_for_status()
        except requests.RequestException as error:
            raise pytest.UsageError(f"--tt-mock-url {url}: no mock answers there ({error})") from None
        yield url
        return
    extra = [str(arg) for arg in request.config.getini("tt_mock_args")]
    folder = tmp_path_factory.mktemp("tt-mock")
    mock = ServedMock(folder / "tickets.db", "--journal-size", str(JOURNAL_SIZE), *extra, threads=THREADS)
    try:
        mock.start()
    except RuntimeError as error:
        raise pytest.UsageError(f"tt_mock: the mock did not start: {error}") from None
    try:
        yield mock.url
    finally:
        mock.stop()


@pytest.fixture
def tt_mock(tt_mock_url: str) -> TTMock:
    """The served mock, with no tickets and no faults, seeing only this test's requests."""
    mock = TTMock(tt_mock_url)
    mock.reset()
    return mock


@pytest.fixture(scope="session")
def tt_mock_in_process_url() -> Iterator[str]:
    """The base URL of the session's in-process mock (a thread server; tickets kept in memory)."""
    from mockserver.app import create_app

    app = create_app(MockConfig(db=":memory:", journal_size=JOURNAL_SIZE))
    to_side = app.extensions["mockserver"].to_side
    to_side.start()  # scenario steps and callbacks, outside requests, as in a served worker
    try:
        with served(app) as url:
            yield url
    finally:
        to_side.stop()


@pytest.fixture
def tt_mock_in_process(tt_mock_in_process_url: str) -> TTMock:
    """The in-process mock, with no tickets and no faults, seeing only this test's requests."""
    mock = TTMock(tt_mock_in_process_url)
    mock.reset()
    return mock


@pytest.fixture(scope="session")
def tt_mirror_url() -> Iterator[str]:
    """The base URL of the session's reference TU mirror (a thread server; tickets kept in memory)."""
    from mockserver.tu_mirror import create_mirror_app

    with served(create_mirror_app(MockConfig(db=":memory:", journal_size=JOURNAL_SIZE, role="tu-mirror"))) as url:
        yield url


@pytest.fixture
def tt_mirror(tt_mirror_url: str) -> TTMirror:
    """A reference TU mirror with no tickets: point a mock's tenant at it (tt_mock.set_mirror)."""
    mirror = TTMirror(tt_mirror_url)
    mirror.reset()
    return mirror


__all__ = ["TTMirror", "TTMock", "TTMockError", "tt_mirror", "tt_mock", "tt_mock_in_process"]
