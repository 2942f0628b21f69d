"""The pages in a real browser: Playwright driving Debian's Chromium against a served mock.

Each test writes screenshots under reports/pages/ for a person to look at; with
TT_README_SCREENSHOTS=1 (`make screenshots`) the README's images in docs/img/ too.
Chromium comes from Debian (`apt-get install -y chromium`, which .ci/run does): Playwright's own
browser downloads cannot be fetched here. About 20 s for the module on a 2-core machine
(Chromium starts once; each test is bounded by its timeout and Playwright's 5 s expectations).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from contracts.config import RunConfig
from contracts.html import write_html
from contracts.runner import run
from mockserver import MockConfig, create_app
from mockserver.auth import DEFAULT_SECRET
from spec import lifecycle as lifecycle_module
from spec.lifecycle import Transition
from tests.faults import FAULTS
from tests.serving import served
from tests.support import CLOSE_OUT, SECRET, create_body, token

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: make venv")
BrowserContext, Page, expect = sync_api.BrowserContext, sync_api.Page, sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

CHROMIUM = os.environ.get("TT_CHROMIUM", "/usr/bin/chromium")
# Headless, and nothing that reaches for the network on its own: the pages must work offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}  # a laptop screen
ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports" / "pages"
README_IMAGES = ROOT / "docs" / "img"
LIFECYCLE = lifecycle_module.load()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not Path(CHROMIUM).is_file():
        message = f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh profile for every run
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def dev_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mock on the development secret with a file store, as `make mock` serves it."""
    db = tmp_path_factory.mktemp("dev-mock") / "tickets.db"
    with served(create_app(MockConfig(db=str(db), jwt_secret=DEFAULT_SECRET))) as url:
        yield url


@dataclass
class Watch:
    """What went wrong in a page: console errors, uncaught exceptions, failed or foreign requests."""

    base: str
    problems: list[str] = field(default_factory=list)
    refusals: set[str] = field(default_factory=set)  # URLs the test makes the mock refuse on purpose

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("request", self._request)
        page.on("response", lambda r: r.status >= 500 and self.problems.append(f"{r.status} from {r.url}"))
        return page

    def _console(self, message: sync_api.ConsoleMessage) -> None:
        if message.type != "error":
            return
        # The browser logs every 4xx answer to fetch(); the ones the test asked for are expected.
        if message.text.startswith("Failed to load resource") and message.location.get("url") in self.refusals:
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def _request(self, request: sync_api.Request) -> None:
        if not request.url.startswith((self.base + "/", "data:", "blob:")):
            self.problems.append(f"left the mock (the page must work offline): {request.url}")


OpenPage = Callable[[str], tuple[Page, Watch]]


@pytest.fixture
def open_page(browser: BrowserContext) -> Iterator[OpenPage]:
    """A new tab watched for problems; closed after the test, so no connection outlives its mock."""
    opened: list[Page] = []

    def new(base: str) -> tuple[Page, Watch]:
        watch = Watch(base)
        opened.append(watch.attach(browser.new_page()))
        return opened[-1], watch

    yield new
    for page in opened:
        page.close()


def snapshot(page: Page, name: str, *, readme: bool = True) -> None:
    """A screenshot under reports/pages/, and in docs/img/ for the README when asked."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(REPORTS / f"{name}.png"))
    if readme and os.environ.get("TT_README_SCREENSHOTS"):
        page.screenshot(path=str(README_IMAGES / f"{name}.png"))


def mint(base: str, tenant: str) -> dict[str, str]:
    answer = requests.post(f"{base}/_mock/token", json={"sub": tenant}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def open_ticket(base: str, headers: dict[str, str], mirror_key: str) -> str:
    attachment = {"name": "ont-led.txt", "mimeType": "text/plain", "content": base64.b64encode(b"LOS red").decode()}
    body = create_body(mirrorKey=mirror_key, dialog="ONT synced, no browsing", attachments=[attachment])
    answer = requests.post(f"{base}/troubleTicket", json=body, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["ticketId"]


def stored(base: str, ticket_id: str) -> dict:
    tickets = requests.get(f"{base}/_mock/tickets", timeout=10).json()["tickets"]
    return next(t for t in tickets if t["ticketId"] == ticket_id)


def edges_from(state: str, side: str) -> list[Transition]:
    return [t for t in LIFECYCLE.transitions if t.source == state and t.side == side]


# -- /docs ---------------------------------------------------------------------------------------


def test_the_docs_page_mints_a_token_and_try_it_out_creates_a_ticket(open_page: OpenPage, dev_mock: str) -> None:
    page, watch = open_page(dev_mock)
    page.goto(f"{dev_mock}/docs")
    expect(page.locator("#token-status")).to_contain_text("development secret")
    page.get_by_label("Tenant").fill("TU-DOCS")
    page.get_by_role("button", name="Mint a development token and authorize").click()
    expect(page.locator("#token-said")).to_contain_text("Authorized as TU-DOCS")

    operation = page.locator("#operations-Trouble_Ticket-createTroubleTicket")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    body = create_body(mirrorKey="DOCS-1")  # the spec's own example, with a key of this test
    operation.locator("textarea.body-param__text").fill(json.dumps(body, indent=2))
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tbody tr.response")
    expect(answer.locator(".response-col_status")).to_have_text("201")
    expect(answer.locator(".response-col_description")).to_contain_text('"DOCS-1"')

    tickets = requests.get(f"{dev_mock}/_mock/tickets?tenant=TU-DOCS", timeout=10).json()["tickets"]
    assert [(t["mirrorKey"], t["baseTroubleTicketState"]) for t in tickets] == [("DOCS-1", LIFECYCLE.initial)]
    operation.locator(".responses-wrapper").screenshot(path=str(REPORTS / "docs-try-it-out.png"))
    page.evaluate("window.scrollTo(0, 0)")
    snapshot(page, "docs")
    assert watch.problems == []


# -- /_mock/ui -----------------------------------------------------------------------------------


def test_the_console_shows_a_ticket_and_a_to_button_moves_it(open_page: OpenPage, dev_mock: str) -> None:
    headers = mint(dev_mock, "TU-CONSOLE")
    ticket_id = open_ticket(dev_mock, headers, "CONSOLE-1")
    state = LIFECYCLE.initial
    page, watch = open_page(dev_mock)
    page.goto(f"{dev_mock}/_mock/ui")

    link = page.locator(f".tenant[data-tenant='TU-CONSOLE'] a.ticket-link[data-ticket='{ticket_id}']")
    expect(link).to_contain_text(state)
    link.click()
    expect(page.locator(".ticket-head h2")).to_have_text(ticket_id)
    expect(page.locator(".timeline li.event")).to_have_count(1)
    expect(page.locator(".timeline .attachments")).to_contain_text("ont-led.txt")

    # Buttons and lists follow the lifecycle file: one button per TO edge from the state.
    to_edges, tu_edges = edges_from(state, "TO"), edges_from(state, "TU")
    assert to_edges, "the initial state should have TO edges to play"
    buttons = page.locator(".actions button.move")
    expect(buttons).to_have_count(len(to_edges))
    assert buttons.evaluate_all("bs => bs.map(b => b.dataset.to)") == [t.target for t in to_edges]
    assert page.locator(".moves-TU li").evaluate_all("ls => ls.map(l => l.dataset.to)") == [t.target for t in tu_edges]
    # The drawing marks the state and exactly the edges that leave it.
    assert page.locator(".diagram .state.current").get_attribute("data-state") == state
    drawn = page.locator(".diagram .edge.available").evaluate_all(
        "es => es.map(e => [e.dataset.from, e.dataset.to, e.dataset.side])"
    )
    assert {tuple(e) for e in drawn} == {(t.source, t.target, t.side) for t in to_edges + tu_edges}

    # A move the mock refuses is shown with the mock's own words, and changes nothing. The edge
    # that asks most of the form (fields required on entry) is the one tried, then made.
    edge = max(to_edges, key=lambda t: len(LIFECYCLE.entry_requirements(state, t.target)))
    needed = LIFECYCLE.entry_requirements(state, edge.target)
    if needed:
        for name in needed:
            page.locator(f".entry-fields input[name='{name}']").fill("")
        watch.refusals.add(f"{dev_mock}/_mock/troubleTicket/{ticket_id}/transition")
        page.locator(f"button.move[data-to='{edge.target}']").click()
        expect(page.locator(".outcome.error")).to_contain_text(f"The mock refused: required fields: {','.join(needed)}")
        assert stored(dev_mock, ticket_id)["baseTroubleTicketState"] == state
        for name in needed:
            page.locator(f".entry-fields input[name='{name}']").fill(CLOSE_OUT.get(name, "set by the console test"))

    page.locator(".actions textarea.dialog").fill("splitter replaced (played from the console)")
    page.locator(f"button.move[data-to='{edge.target}']").click()
    expect(page.locator(".outcome.ok")).to_have_text(f"Moved to {edge.target}.")
    expect(page.locator(".ticket-head .state-badge")).to_have_text(edge.target)
    moved = page.locator(f".timeline li.event.side-TO[data-from='{state}'][data-to='{edge.target}']")
    expect(moved).to_contain_text("splitter replaced (played from the console)")
    for name in needed:
        expect(moved.locator(".changes")).to_contain_text(name)
    expect(page.locator(".diagram .state.current")).to_have_attribute("data-state", edge.target)
    after = page.locator(".actions button.move")
    expect(after).to_have_count(len(edges_from(edge.target, "TO")))
    assert after.evaluate_all("bs => bs.map(b => b.dataset.to)") == [t.target for t in edges_from(edge.target, "TO")]
    expect(page.locator(".actions")).not_to_contain_text("null")  # no missing part printed as text
    last = stored(dev_mock, ticket_id)["history"][-1]
    assert (last["side"], last["from"], last["to"]) == ("TO", state, edge.target)
    snapshot(page, "console-tickets")

    # The journal shows the move, live, and filters.
    page.locator(".tabs a[data-panel='journal']").click()
    hook = f"/_mock/troubleTicket/{ticket_id}/transition"
    newest = page.locator("tr.entry").first
    expect(newest).to_have_attribute("data-path", hook)
    expect(newest.locator(".status")).to_have_text("200")
    requests.get(f"{dev_mock}/troubleTicket/{ticket_id}", headers=headers, timeout=10)
    expect(page.locator("tr.entry").first).to_have_attribute("data-path", f"/troubleTicket/{ticket_id}")
    if needed:  # the refused attempt: the one POST answered 4xx
        page.get_by_label("Method").select_option("POST")
        page.get_by_label("Status").select_option("s4xx")
        expect(page.locator("tr.entry")).to_have_count(1)
        expect(page.locator("tr.entry").first).to_have_attribute("data-status", "400")
        page.get_by_label("Status").select_option("")
    page.get_by_label("Text").fill(edge.target)
    expect(page.locator("tr.entry").first).to_have_attribute("data-path", hook)
    page.get_by_label("Method").select_option("")
    page.get_by_label("Text").fill("")
    page.locator(f"tr.entry[data-path='{hook}'][data-status='200']").click()
    expect(page.locator("tr.exchange")).to_contain_text(f'"baseTroubleTicketState": "{edge.target}"')
    snapshot(page, "console-journal")

    # The console's own requests never reach the journal.
    paths = [e["path"] for e in requests.get(f"{dev_mock}/_mock/journal", timeout=10).json()["requests"]]
    assert hook in paths
    assert not [p for p in paths if p.startswith(("/docs", "/_mock/")) and p != hook]
    assert watch.problems == []


def test_the_to_side_panel_advances_the_clock_and_shows_the_steps_and_callbacks(
    open_page: OpenPage, tmp_path: Path
) -> None:
    from mockserver.testing import TTMirror
    from mockserver.tu_mirror import create_mirror_app

    mirror_app = create_mirror_app(
        MockConfig(db=str(tmp_path / "mirror.db"), jwt_secret=DEFAULT_SECRET, role="tu-mirror")
    )
    app = create_app(MockConfig(db=str(tmp_path / "tickets.db"), jwt_secret=DEFAULT_SECRET))
    with served(mirror_app) as mirror_url, served(app) as base:
        mirror = TTMirror(mirror_url, secret=DEFAULT_SECRET)
        scenarios = requests.get(f"{base}/_mock/scenarios", timeout=10).json()["scenarios"]
        ask = next(s for s in scenarios if s["name"] == "ask-for-information")
        headers = mint(base, "TU-SIDE")
        ticket_id = open_ticket(base, headers, "INFO-SIDE")
        mirror.open("INFO-SIDE", ticket_id)
        page, watch = open_page(base)
        page.goto(f"{base}/_mock/ui#to-side")
        expect(page.locator(".clock-now")).to_contain_text("on the wall clock")
        rows = page.locator(".panel-to-side tr[data-scenario]")
        expect(rows).to_have_count(len(scenarios))
        step = page.locator(f"tr.step[data-ticket='{ticket_id}']")
        expect(step).to_have_attribute("data-status", "pending")
        expect(step).to_contain_text(ask["name"])

        # The mirror, set through the form; the callbacks of the TO's moves are then listed.
        page.get_by_label("Mirror tenant").fill("TU-SIDE")
        page.get_by_label("Mirror URL").fill(mirror_url)
        page.get_by_role("button", name="Set mirror").click()
        expect(page.locator("ul.mirrors li[data-tenant='TU-SIDE']")).to_contain_text(mirror_url)
        page.locator(f"button.advance[data-advance='{ask['after']}']").click()
        expect(page.locator(".clock .outcome.ok")).to_contain_text(f"{ticket_id} {ask['name']} (fired)")
        expect(page.locator(".clock-now")).to_contain_text("ahead of the wall clock")
        expect(step).to_have_attribute("data-status", "fired")
        callback = page.locator(f"tr.callback[data-ticket='{ticket_id}']")
        expect(callback).to_have_attribute("data-status", "pending")
        page.get_by_role("button", name="Deliver due now").click()
        expect(callback).to_have_attribute("data-status", "delivered")
        callback.click()
        expect(page.locator(".panel-to-side tr.exchange")).to_contain_text(ask["then"]["dialog"])
        expect(page.locator(".panel-to-side ol.attempts")).to_contain_text("200")
        snapshot(page, "console-to-side")
        assert mirror.ticket("INFO-SIDE")["baseTroubleTicketState"] == ask["then"]["to"]
        assert watch.problems == []


def test_with_a_secret_of_its_own_the_pages_say_what_they_cannot_do(open_page: OpenPage, tmp_path: Path) -> None:
    app = create_app(MockConfig(db=str(tmp_path / "tickets.db"), jwt_secret=SECRET))
    with served(app) as base:
        headers = {"Authorization": f"Bearer {token('TU-OWN')}"}
        ticket_id = open_ticket(base, headers, "OWN-1")
        page, watch = open_page(base)

        page.goto(f"{base}/docs")
        expect(page.locator("#token-status.cannot")).to_contain_text("MOCK_JWT_SECRET")
        expect(page.locator("#mint-form")).to_be_hidden()

        page.goto(f"{base}/_mock/ui#tickets/{ticket_id}")
        expect(page.locator(".auth-mode")).to_contain_text("own secret")
        expect(page.locator(".moves-TO .cannot")).to_contain_text("cannot play the TO")
        buttons = page.locator(".actions button.move")
        expect(buttons).to_have_count(len(edges_from(LIFECYCLE.initial, "TO")))
        for button in buttons.all():
            expect(button).to_be_disabled()
        snapshot(page, "console-own-secret", readme=False)

        # With the owner's token pasted, the TO can be played.
        page.locator(".token-form input").fill(token("TU-OWN"))
        page.get_by_role("button", name="Use this token").click()
        plain = [t for t in edges_from(LIFECYCLE.initial, "TO") if not LIFECYCLE.entry_requirements(t.source, t.target)]
        edge = plain[0]
        page.locator(f"button.move[data-to='{edge.target}']").click()
        expect(page.locator(".outcome.ok")).to_have_text(f"Moved to {edge.target}.")
        assert stored(base, ticket_id)["baseTroubleTicketState"] == edge.target
        assert watch.problems == []
        page.close()  # before its mock stops


def test_the_html_report_of_a_failing_run_shows_the_failures_and_the_diagram(
    open_page: OpenPage, tmp_path: Path
) -> None:
    """A provider that lets the TU close a ticket straight away: the report's first screen says so."""
    fault = next(f for f in FAULTS if f.name == "tu-may-close-directly")
    with served(fault.build()) as url:
        config = RunConfig(
            base_url=url,
            token=token("TU-A"),
            to_hook=True,
            layers=("lifecycle", "auth"),
            max_examples=5,
            progress=False,
        )
        result = run(config)
    report = tmp_path / "contract.html"
    write_html(result, report, LIFECYCLE)
    page, watch = open_page("file://")
    page.goto(report.as_uri())
    expect(page.locator("#verdict")).to_contain_text("DOES NOT CONFORM")
    expect(page.locator("#failures")).to_be_visible()
    expect(page.get_by_text("TU: OPENACTIVE -> CLOSED is refused").first).to_be_visible()
    assert "curl -i -X PATCH" in page.locator("#failures ~ div.violation pre").first.inner_text()
    # The diagram draws the breach, in red, beside the file's own edges in green.
    breach = page.locator('g.edge[data-side="TU"][data-from="OPENACTIVE"][data-to="CLOSED"] path').first
    expect(breach).to_have_css("stroke", "rgb(207, 34, 46)")
    kept = page.locator('g.edge[data-side="TU"][data-from="OPENACTIVE"][data-to="DEFERRED.AWAITING-CANCELATION"] path')
    expect(kept.first).to_have_css("stroke", "rgb(26, 127, 55)")
    assert not watch.problems, watch.problems
    snapshot(page, "contract-report")
    page.locator(".diagram").scroll_into_view_if_needed()
    snapshot(page, "contract-report-lifecycle")
