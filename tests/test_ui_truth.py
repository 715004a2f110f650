"""Issue 13 items 1-6 ("truth at a glance") in a real browser (Debian chromium via
Playwright) against real `pmbot serve` processes synced from the fake GitHub.

The banner says the token's state as GitHub last judged it (missing, not yet
checked, accepted, rejected) and when GitHub is down; an import shows a
determinate bar that never passes 100 %; the repo page follows the repo live
and offers "Sync now"; search lives in the top navigation, says the total and
pages. Each test fails on the UI before issue 13.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.fake_github import FakeGitHub
from tests.ui_support import chromium, serve, watched_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

BIG = "acme/big"
BIG_OPEN, BIG_CLOSED, LOGGING = 420, 40, 45
WAIT_MS = 20_000


def _seed(fake: FakeGitHub) -> None:
    """acme/big: 460 issues (five pages of 100), 45 of them about logging, all recent."""
    fake.add_repo(BIG)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    for index in range(BIG_OPEN + BIG_CLOSED):
        topic = "logging" if index < LOGGING else "widget"
        fake.add_issue(
            BIG,
            title=f"Big {topic} issue {index}",
            body=f"Body of the {topic} issue {index}",
            state="closed" if index >= BIG_OPEN else "open",
            updated_at=start + timedelta(minutes=index),
        )


@pytest.fixture(scope="module")
def github():
    # Past page 2 the fake pages by cursor and drops rel="last", as GitHub does past
    # its large-dataset threshold: the estimate must hold without it.
    with FakeGitHub(cursor_after_page=2) as server:
        _seed(server)
        yield server
    assert server.errors == []


@pytest.fixture(scope="module")
def server(github, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("truth-serve"), github, github.token) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def ui(browser):
    with watched_page(browser, WAIT_MS) as watched:
        yield watched


def _token_item(page):
    return page.locator("#setup-banner .banner-item").filter(has_text="Token:")


# -- item 1: the token's state, and GitHub down ------------------------------------------------


def test_banner_says_when_the_token_is_missing(ui, github, tmp_path):
    with serve(tmp_path, github, "") as live:
        ui.page.goto(f"{live.base_url}/#/repos")
        item = _token_item(ui.page)
        expect(item).to_have_text("Token: missing. Set GITHUB_TOKEN in .env and restart pmbot.")
        expect(item).to_have_attribute("data-kind", "warn")
        ui.page.get_by_role("link", name="Settings").click()
        expect(ui.page.locator(".setup-facts")).to_contain_text("missing. Set GITHUB_TOKEN")
        ui.screenshot("truth-01-token-missing")


def test_banner_says_not_yet_checked_then_accepted_as_which_login(ui, github, tmp_path):
    with serve(tmp_path, github, github.token) as live:
        ui.page.goto(f"{live.base_url}/#/repos")
        item = _token_item(ui.page)
        expect(item).to_contain_text(
            "Token: set, not yet checked by GitHub (the first sync checks it)."
        )
        expect(ui.page.locator("#setup-banner")).to_contain_text("Rate limit: shown once")
        ui.screenshot("truth-02-token-unchecked")
        item.get_by_role("button", name="Check now").click()
        expect(item).to_have_text("Token: accepted by GitHub as octocat (scopes: repo).")
        expect(item).to_have_attribute("data-kind", "ok")
        expect(ui.page.locator("#setup-banner")).to_contain_text(
            re.compile(r"Rate limit: [\d,]+ of 5,000 left")
        )
        ui.page.get_by_role("link", name="Settings").click()
        expect(ui.page.locator(".setup-facts")).to_contain_text("accepted by GitHub as octocat")
        ui.screenshot("truth-03-token-accepted")


def test_banner_turns_red_when_github_rejects_the_token(ui, github, tmp_path):
    with serve(tmp_path, github, "ghp_" + "Revoked0" * 5) as live:
        ui.allow_console_error("status of 401")
        ui.page.goto(f"{live.base_url}/#/repos")
        item = _token_item(ui.page)
        item.get_by_role("button", name="Check now").click()
        expect(item).to_contain_text(
            "Token: rejected by GitHub (401 Bad credentials). Create a new token,"
            " put it in GITHUB_TOKEN in .env and restart pmbot."
        )
        expect(item).to_have_attribute("data-kind", "error")
        # The 401 carried the anonymous caller's limit: never shown as the token's.
        expect(ui.page.locator("#setup-banner")).not_to_contain_text("of 60 left")
        ui.screenshot("truth-04-token-rejected")


def test_banner_says_when_github_is_down(ui, github, tmp_path):
    with serve(tmp_path, github, github.token) as live:
        ui.page.goto(f"{live.base_url}/#/repos")
        ui.allow_console_error("status of 502")
        github.go_down()
        try:
            _token_item(ui.page).get_by_role("button", name="Check now").click()
            expect(ui.page.locator("#setup-banner")).to_contain_text(
                "GitHub: unreachable", timeout=30_000
            )
            expect(_token_item(ui.page)).to_contain_text("not yet checked")
            ui.screenshot("truth-05-github-down")
        finally:
            github.come_up()


# -- items 2, 4, 5: queued, the closed window, a determinate import bar ------------------------

_WATCH_BAR = """() => {
  window.__bars = [];
  const seen = (bar) => window.__bars.push({
    value: bar.getAttribute("value"), max: bar.getAttribute("max"),
    text: bar.parentElement.querySelector(".progress-text").textContent });
  new MutationObserver((records) => {
    for (const r of records) {
      const bars = r.target.querySelectorAll ? r.target.querySelectorAll("progress") : [];
      for (const bar of bars) seen(bar);
      if (r.target.tagName === "PROGRESS") seen(r.target);
    }
  }).observe(document.body, { subtree: true, attributes: true, childList: true,
                              characterData: true });
}"""


def test_import_shows_items_against_an_estimate_and_the_bar_never_passes_100(ui, server, github):
    page = ui.page
    page.goto(f"{server.base_url}/#/repos")
    page.evaluate(_WATCH_BAR)
    github.inject(delay=0.8, times=6, path="/issues")
    status, added = server.api("POST", "/api/repos", {"full_name": BIG})
    assert (status, added["status"]) == (201, "queued")
    card = page.locator(".repo-card").filter(has=page.locator(f'a:text-is("{BIG}")'))
    bar = card.locator(".repo-progress progress")
    expect(bar).to_have_attribute("value", re.compile(r"^\d+$"), timeout=WAIT_MS)
    expect(card.locator(".progress-text")).to_contain_text(
        re.compile(r"of ≈[\d,]+ items · \d+ page")
    )
    ui.screenshot("truth-06-import-determinate")
    expect(card.locator(".status-badge")).to_have_text("Idle", timeout=60_000)
    expect(card.locator(".issues-counts")).to_have_text(
        re.compile(rf"^{BIG_OPEN} open · {BIG_CLOSED} closed, updated since \d{{4}}-\d\d-\d\d$")
    )
    samples = [s for s in page.evaluate("window.__bars") if s["value"] is not None]
    assert samples, "the bar was never determinate"
    for sample in samples:
        assert int(sample["value"]) <= int(sample["max"]), sample
        assert "≈" in sample["text"]
    assert max(int(s["value"]) for s in samples) <= BIG_OPEN + BIG_CLOSED
    ui.screenshot("truth-07-imported-closed-window")


# -- item 3: the repo page follows the repo live and offers Sync now ---------------------------


def test_repo_page_updates_live_and_offers_sync_now(ui, server, github):
    repo_id = server.repo_id(BIG)
    page = ui.page
    page.goto(f"{server.base_url}/#/repo/{repo_id}")
    issues_tab = page.get_by_role("tab", name=re.compile("^Issues"))
    expect(issues_tab).to_contain_text(f"{BIG_OPEN} open, {BIG_CLOSED} closed, updated since")
    expect(page.locator(".repo-header .status-badge")).to_have_text("Idle")

    first = github.add_issue(BIG, title="Arrived while the page was open")
    assert server.api("POST", f"/api/repos/{repo_id}/sync")[0] == 202  # another client asks
    expect(issues_tab).to_contain_text(f"{BIG_OPEN + 1} open", timeout=WAIT_MS)
    expect(page.locator(f'tr[data-number="{first}"]')).to_be_visible()

    second = github.add_issue(BIG, title="Fetched by the page's own Sync now")
    page.locator(".repo-header").get_by_role("button", name="Sync now").click()
    expect(page.locator(".repo-header .action-message")).to_have_text("Sync requested.")
    expect(issues_tab).to_contain_text(f"{BIG_OPEN + 2} open", timeout=WAIT_MS)
    expect(page.locator(f'tr[data-number="{second}"]')).to_be_visible()
    ui.screenshot("truth-08-repo-page-live")

    # Hidden, the page stops polling.
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/status" in r.url else None)
    page.evaluate("""() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    }""")
    page.wait_for_timeout(300)
    asked.clear()
    page.wait_for_timeout(4500)
    assert asked == []


# -- item 6: search from the top navigation, with the total and pages --------------------------


def test_search_from_the_top_navigation_says_the_total_and_pages(ui, server):
    page = ui.page
    page.goto(f"{server.base_url}/#/repos")
    top = page.locator("#top-search")
    top.get_by_label("Search cached issues and PRs").fill("logging")
    top.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"#/search\?q=logging$"))
    expect(page.locator(".search-total")).to_have_text(f"{LOGGING} results.")
    results = page.locator(".search-result")
    expect(results).to_have_count(20)
    expect(page.locator(".search-range")).to_have_text("Showing 1–20.")
    ui.screenshot("truth-09-search-page-1")
    page.get_by_role("button", name="Next page").click()
    expect(page.locator(".search-range")).to_have_text("Showing 21–40.")
    page.get_by_role("button", name="Next page").click()
    expect(page.locator(".search-range")).to_have_text("Showing 41–45.")
    expect(results).to_have_count(5)
    expect(page.get_by_role("button", name="Next page")).to_be_hidden()
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator(".search-range")).to_have_text("Showing 21–40.")
    numbers = results.locator(".muted").first
    expect(numbers).to_contain_text(BIG)
    ui.screenshot("truth-10-search-page-2")
