"""Issue 11 item 8 in a real browser: the repo page says since when closed items are cached
wherever closed counts appear, and widening the window there backfills the older ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.fake_github import FakeGitHub
from tests.ui_support import chromium, serve, watched_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

REPO = "acme/archive"
RECENT, OLDER, OPEN = 12, 30, 5
WAIT_MS = 20_000


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def github():
    with FakeGitHub() as server:
        server.add_repo(REPO)
        now = datetime.now(UTC).replace(microsecond=0)
        for index, days in enumerate([10] * RECENT + [150] * OLDER):
            stamp = now - timedelta(days=days, seconds=index)
            server.add_issue(REPO, title=f"closed {index}", state="closed", updated_at=stamp)
        for index in range(OPEN):
            server.add_issue(REPO, title=f"open {index}", updated_at=now - timedelta(days=1))
        yield server
    assert server.errors == []


@pytest.fixture(scope="module")
def server(github, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("closed-window"), github) as live:
        assert live.api("POST", "/api/repos", {"full_name": REPO})[0] == 201
        yield live


@pytest.fixture
def ui():
    with chromium() as browser, watched_page(browser, WAIT_MS) as watched:
        yield watched


def test_the_repo_page_says_the_window_and_widening_it_backfills(ui, server):
    repo_id = server.repo_id(REPO)
    page = ui.page
    page.goto(f"{server.base_url}/#/repo/{repo_id}")
    issues_tab = page.get_by_role("tab", name=re.compile("^Issues"))
    since_90 = re.compile(rf"{RECENT} closed, updated since {_days_ago(90)}")
    expect(issues_tab).to_contain_text(since_90)
    window = page.locator("form.closed-window")
    expect(window.locator(".closed-window-text")).to_have_text(
        f"Closed items: closed, updated since {_days_ago(90)} (90 days, the default)."
    )
    expect(window.get_by_label("Keep closed items updated in the last")).to_have_value("90")

    window.get_by_label("Keep closed items updated in the last").fill("200")
    window.get_by_role("button", name="Set window").click()
    expect(window.locator(".closed-window-message")).to_contain_text("Window set to 200 days")
    expect(issues_tab).to_contain_text(
        f"{RECENT + OLDER} closed, updated since {_days_ago(200)}", timeout=WAIT_MS
    )
    expect(window.locator(".closed-window-text")).to_contain_text("(200 days, this repo's).")
    expect(window).to_have_attribute("data-backfilling", "false")
    ui.screenshot("closed-window-widened")

    window.get_by_label("Keep closed items updated in the last").fill("30")
    window.get_by_role("button", name="Set window").click()
    expect(issues_tab).to_contain_text(  # narrowing deletes nothing; the start moves
        f"{RECENT + OLDER} closed, updated since {_days_ago(30)}", timeout=WAIT_MS
    )
