"""The pytest plugin as a TU's project meets it: installed, found by its entry point, configurable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.testing import ServedMock, free_port

pytest_plugins = ["pytester"]

INNER = """
import requests

def test_uses_the_mock(tt_mock, tt_mock_in_process):
    for mock in (tt_mock, tt_mock_in_process):
        assert requests.get(mock.url + "/_mock/health", timeout=5).ok
        assert mock.tickets() == []
        mock.seed("TU-A")
    print("TT_MOCK_URL=" + tt_mock.url)
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path_factory.mktemp("ci-mock") / "tickets.db").start()
    yield mock
    mock.stop()


@pytest.mark.server
def test_a_project_that_installs_the_package_gets_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(INNER)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.server
def test_tt_mock_url_uses_a_mock_already_running(pytester: pytest.Pytester, running: ServedMock) -> None:
    pytester.makepyfile(INNER)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", f"--tt-mock-url={running.url}/")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*TT_MOCK_URL={running.url}"])


@pytest.mark.server
def test_tt_mock_url_with_no_mock_there_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(INNER)
    url = f"http://127.0.0.1:{free_port()}"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--tt-mock-url={url}")
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*--tt-mock-url {url}: no mock answers there*"])


def test_the_kits_mirror_lists_the_tickets_the_tu_opened() -> None:
    from mockserver import MockConfig
    from mockserver.testing import TTMirror, served
    from mockserver.tu_mirror import create_mirror_app
    from tests.support import SECRET

    with served(create_mirror_app(MockConfig(role="tu-mirror", jwt_secret=SECRET))) as url:
        mirror = TTMirror(url + "/", secret=SECRET)
        assert mirror.tickets() == []
        mirror.open("ONV-1", "RED-1")
        mirror.open("ONV-2", "RED-2")
        names = mirror.contract.names
        assert sorted((t[names.mirror_key], t[names.ticket_id]) for t in mirror.tickets()) == [
            ("ONV-1", "RED-1"),
            ("ONV-2", "RED-2"),
        ]
