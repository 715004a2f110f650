"""The Work page in a real browser (Debian chromium via Playwright) against a real `pmbot
serve` synced from the fake GitHub: filters, paging, a bookmarked URL, the remembered last
filter and a saved view. Any console or page error fails the test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.fake_github import FakeGitHub
from tests.ui_support import LiveServer, chromium, open_route, serve, watched_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

WAIT_MS = 15_000
ALPHA, BETA = "acme/alpha", "acme/beta"
ALPHA_ISSUES, BETA_ISSUES, BETA_PRS = 70, 12, 6  # open; alpha's bug issues are every 5th


def _seed(fake: FakeGitHub) -> None:
    """alpha: 70 open issues (every 5th `bug`, unassigned) and 4 closed `bug` ones; beta:
    12 open issues assigned to ann, 6 open PRs (the first two drafts, `bug`, unassigned)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    fake.add_repo(ALPHA)
    fake.add_repo(BETA)
    for index in range(ALPHA_ISSUES):
        bug = index % 5 == 0
        fake.add_issue(
            ALPHA,
            title=f"Alpha issue {index} <i>plain</i>",
            labels=["bug"] if bug else [],
            assignees=[] if bug else ["bob"],
            updated_at=start + timedelta(minutes=index),
        )
    for index in range(4):
        fake.add_issue(ALPHA, title=f"Alpha closed {index}", labels=["bug"], state="closed",
                       updated_at=start + timedelta(minutes=index))  # fmt: skip
    for index in range(BETA_ISSUES):
        fake.add_issue(BETA, title=f"Beta issue {index}", assignees=["ann"],
                       updated_at=start + timedelta(minutes=200 + index))  # fmt: skip
    for index in range(BETA_PRS):
        fake.add_pr(BETA, title=f"Beta change {index}", draft=index < 2, assignees=[],
                    labels=["bug"], updated_at=start + timedelta(minutes=300 + index))  # fmt: skip


@pytest.fixture(scope="module")
def github():
    with FakeGitHub() as server:
        _seed(server)
        yield server
    assert server.errors == []


@pytest.fixture(scope="module")
def server(github, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("ui-work"), github) as live:
        for name in (ALPHA, BETA):
            assert live.api("POST", "/api/repos", {"full_name": name})[0] == 201
        _wait_cached(live, ALPHA_ISSUES + BETA_ISSUES + BETA_PRS)
        yield live


def _wait_cached(live: LiveServer, expected: int) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = live.api("GET", "/api/items?limit=1")
        if status == 200 and body["total"] == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"the cache did not fill: {body}")


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def ui(browser, server):
    with watched_page(browser, WAIT_MS) as watched:
        yield watched


def _rows(page):
    return page.locator("table.work-items tbody tr")


def test_filters_go_to_the_url_and_counts_follow(ui, server):
    page = open_route(ui, server, "#/work")
    expect(page.get_by_role("link", name="Work")).to_have_attribute("aria-current", "page")
    expect(_rows(page)).to_have_count(50)
    expect(page.locator(".work-total")).to_have_text("88 items in 2 repos")
    page.get_by_role("button", name="Load more").click()
    expect(_rows(page)).to_have_count(ALPHA_ISSUES + BETA_ISSUES + BETA_PRS)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    # GitHub text is text: the title's markup shows as typed.
    expect(page.get_by_role("link", name="Alpha issue 3 <i>plain</i>")).to_be_visible()

    page.get_by_label("Labels (all of, comma-separated)").fill("bug")
    page.get_by_label("No assignee").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"#/work\?label=bug&no_assignee=1$"))
    expect(_rows(page)).to_have_count(ALPHA_ISSUES // 5 + BETA_PRS)
    counts = page.locator(".work-counts li")
    expect(counts).to_have_text([re.compile(rf"{ALPHA}\s*14"), re.compile(rf"{BETA}\s*6")])

    page.get_by_label("Kind").select_option("pr")
    page.get_by_label("Draft PRs").select_option("1")
    page.get_by_role("button", name="Apply").click()
    expect(_rows(page)).to_have_count(2)
    row = _rows(page).first
    expect(row.locator(".tag")).to_have_text("draft")
    expect(row.get_by_role("link", name=BETA)).to_have_attribute("href", re.compile(r"#/repo/\d+"))
    expect(row.get_by_role("link", name="Beta change 1")).to_have_attribute(
        "href", re.compile(rf"{BETA}/pull/\d+$")
    )
    ui.screenshot("work-01-draft-prs")
    row.locator("a.cached-link").click()  # pmbot's own view of the item, from the cache
    expect(page).to_have_url(re.compile(r"#/repo/\d+/prs/\d+$"))
    expect(page.get_by_role("heading", name=re.compile(r"^PR #\d+ Beta change 1$"))).to_be_visible()
    expect(page.locator(".cached-item .assignees")).to_have_text("—")
    expect(page.get_by_role("link", name="Open on GitHub")).to_have_attribute(
        "href", re.compile(rf"{BETA}/pull/\d+$")
    )


def test_a_bookmarked_url_opens_its_filter_and_is_remembered(ui, server):
    page = open_route(ui, server, "#/work?state=closed&label=bug")
    expect(_rows(page)).to_have_count(4)
    expect(page.get_by_label("State")).to_have_value("closed")
    expect(page.get_by_label("Labels (all of, comma-separated)")).to_have_value("bug")
    page.goto(f"{server.base_url}/#/repos")
    page.get_by_role("link", name="Work").click()
    expect(page).to_have_url(re.compile(r"#/work\?state=closed&label=bug$"))
    expect(_rows(page)).to_have_count(4)


def test_a_saved_view_is_listed_opened_and_deleted(ui, server):
    page = open_route(ui, server, "#/work?assignee=ann")
    expect(_rows(page)).to_have_count(BETA_ISSUES)
    page.get_by_label("Save this filter as").fill("Ann's issues")
    page.get_by_role("button", name="Save view").click()
    saved = page.locator(".saved-views li").filter(has_text="Ann's issues")
    expect(saved).to_have_count(1)
    page.goto(f"{server.base_url}/#/work?state=all")
    expect(_rows(page)).to_have_count(50)
    saved.get_by_role("link", name="Ann's issues").click()
    expect(page).to_have_url(re.compile(r"#/work\?assignee=ann$"))
    expect(_rows(page)).to_have_count(BETA_ISSUES)
    _, views = server.api("GET", "/api/work/views")
    assert [v["filter"] for v in views["items"]] == [{"assignee": "ann"}]
    ui.screenshot("work-02-saved-view")
    saved.get_by_role("button", name="Delete").click()
    expect(page.locator(".saved-views li")).to_have_text(["None yet."])
    assert server.api("GET", "/api/work/views")[1]["items"] == []
