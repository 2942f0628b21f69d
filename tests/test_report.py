"""`tt-mock report`: a grade of the client that used a served mock; exit 1 when it broke the contract."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

from mockserver.auth import mint_token, resolve_secret
from mockserver.testing import ServedMock, free_port
from tests.support import create_body, update_body

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
TT_MOCK = Path(sys.executable).parent / "tt-mock"


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[ServedMock]:
    served = ServedMock(tmp_path / "mock" / "tickets.db", "--journal-size", "5000", threads=4).start()
    yield served
    served.stop()


def _report(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TT_MOCK), "report", "--url", url, *extra], capture_output=True, text=True, timeout=60)


def _sloppy_client(url: str) -> None:
    """A TU client that gets most of the contract wrong, once each."""
    me = {"Authorization": f"Bearer {mint_token('TU-SLOPPY', secret=resolve_secret())}"}

    def post(body: object, **kwargs: object) -> requests.Response:
        return requests.post(f"{url}/troubleTicket", json=body, headers=me, timeout=5, **kwargs)  # type: ignore[arg-type]

    post(create_body(dialog=None, troubledObject=None))  # missing fields
    post(create_body(troubleDescription="d" * 1001))  # over a limit
    post(create_body(preferredPriority="2"))  # wrong type
    body = create_body(mirrorKey="SLOPPY-1")
    ticket_id = post(body).json()["ticketId"]
    post(body)  # a repeated create, though its 201 arrived
    item = f"{url}/troubleTicket/{ticket_id}"
    requests.patch(item, json=update_body(ticket_id, "SLOPPY-1", "CLOSED"), headers=me, timeout=5)  # illegal edge
    requests.patch(
        item,
        json=update_body(
            ticket_id,
            "SLOPPY-1",
            "CLEARED",
            closeOutType="t",
            closeOutNarr="n",
            serviceRestoredTime="2025-01-16T09:00:00Z",
        ),
        headers=me,
        timeout=5,
    )  # TO's
    expired = mint_token("TU-SLOPPY", secret=resolve_secret(), exp_seconds=-60)
    requests.get(item, headers={"Authorization": f"Bearer {expired}"}, timeout=5)  # expired token
    requests.get(item, headers={"Authorization": "Bearer garbage"}, timeout=5)  # malformed token
    requests.post(f"{url}/troubleTicket", data="dialog=x", headers={**me, "Content-Type": "text/plain"}, timeout=5)
    # Left out: a refusal the test wanted, and a request a fault took.
    requests.get(f"{url}/troubleTicket/RED-999", headers={**me, "X-Mock-Expect-Refusal": "yes"}, timeout=5)
    requests.post(f"{url}/_mock/faults", json={"kind": "error", "times": 1}, timeout=5)
    post(create_body(dialog=None))


def test_a_sloppy_client_gets_exit_1_and_a_report_rule_by_rule(mock: ServedMock, tmp_path: Path) -> None:
    _sloppy_client(mock.url)
    markdown, junit = tmp_path / "reports" / "client.md", tmp_path / "reports" / "client.xml"
    result = _report(mock.url, "--report", str(markdown), "--junit-xml", str(junit))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert out.startswith("the client broke the contract: 9 of 12 requests would be refused, under 10 rules")
    for heading in (
        "[missing field] create.dialog.required",
        "[missing field] create.troubledObject.required",
        "[over a limit] create.troubleDescription.maxLength",
        "[wrong type] create.preferredPriority.type",
        "[illegal or wrong-side transition] lifecycle.TU.OPENACTIVE->CLOSED",
        "[illegal or wrong-side transition] lifecycle.TU.OPENACTIVE->CLEARED",
        "[bad, expired or missing token] auth.expired",
        "[bad, expired or missing token] auth.malformed-token",
        "[wrong media type] create.415",
        "[repeated create] ids.repeated-mirror-key",
    ):
        assert heading in out, heading
    assert "left out: 1 refused on purpose" in out and "left out: 1 taken by an injected fault" in out
    assert "## `lifecycle.TU.OPENACTIVE->CLEARED`" in markdown.read_text()
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "10"


def test_a_report_of_one_tenant_only(mock: ServedMock) -> None:
    _sloppy_client(mock.url)
    result = _report(mock.url, "--tenant", "TU-CAREFUL")
    assert result.returncode == 0
    assert result.stdout.startswith("no request the provider would refuse (0 requests graded)")


def test_the_example_client_passes_its_tests_through_the_plugin_and_gets_exit_0(mock: ServedMock) -> None:
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "examples/tu_client",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--tt-mock-url={mock.url}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    result = _report(mock.url)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("no request the provider would refuse")
    # The faults its tests injected, the refusal they wanted, and the creates retried after a lost answer.
    assert "taken by an injected fault" in result.stdout
    assert "left out: 1 refused on purpose" in result.stdout
    assert "repeated create(s) after an answer the client never got" in result.stdout


def test_no_mock_there_is_exit_2_saying_so() -> None:
    result = _report(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "no mock answers at" in result.stderr
