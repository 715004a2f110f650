"""The operator UI in a real browser (Debian chromium via Playwright) against a real
`pmbot serve` (with its worker thread) synced from the fake GitHub on 127.0.0.1.

The tests share one server, fake and browser (each test gets a fresh page) and
run in file order: the repo added through the UI in the first test is the one
the later tests sync, break, browse and reset. Every page is screenshotted into
`test-artifacts/screenshots/`, and any console or page error fails the test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pmbot.control_plane.db import connect
from tests.conftest import insert_cached_item
from tests.fake_github import FakeGitHub
from tests.ui_support import chromium, open_route, serve, watched_page

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.slow

REPO = "acme/widgets"
ISSUES_OPEN, ISSUES_CLOSED, PRS_OPEN, PRS_CLOSED = 110, 30, 12, 4
WAIT_MS = 15_000


def _seed(fake: FakeGitHub) -> None:
    """acme/widgets: 140 issues and 16 PRs (two pages of issues), all changed in the last days."""
    fake.add_repo(REPO)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    for index in range(ISSUES_OPEN + ISSUES_CLOSED):
        state = "closed" if index < ISSUES_CLOSED else "open"
        fake.add_issue(
            REPO,
            title=f"Widget issue {index} <b>not bold</b>",
            body=f"Steps to reproduce the sprocket fault number {index}",
            labels=["bug"] if index % 3 == 0 else ["ui"],
            state=state,
            updated_at=start + timedelta(minutes=index),
        )
    for index in range(PRS_OPEN + PRS_CLOSED):
        fake.add_pr(
            REPO,
            title=f"Widget change {index}",
            state="closed" if index < PRS_CLOSED else "open",
            merged_at=(start + timedelta(minutes=index)) if index < 2 else None,
            updated_at=start + timedelta(minutes=index),
        )
    fake.add_repo("acme/gadgets")


@pytest.fixture(scope="module")
def github():
    """One seeded fake for the module's shared server (the shared `fake` is per test)."""
    with FakeGitHub() as server:
        _seed(server)
        yield server
    assert server.errors == []


@pytest.fixture(scope="module")
def server(github, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("ui-serve"), github) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def ui(browser, server):
    """A fresh 1280×800 page; fails the test on any console or page error it did not allow."""
    with watched_page(browser, WAIT_MS) as watched:
        yield watched


def _card(page, full_name: str):
    return page.locator(".repo-card").filter(
        has=page.locator(f'a.repo-name:text-is("{full_name}")')
    )


def _wait_idle_with_counts(card, issues_open, issues_closed, prs_open, prs_closed):
    expect(card.locator(".status-badge")).to_have_text("Idle", timeout=WAIT_MS)
    # Closed items are cached only inside the window: the count says which.
    window = r"closed, updated since \d{4}-\d\d-\d\d"
    expect(card.locator(".issues-counts")).to_have_text(
        re.compile(rf"^{issues_open} open · {issues_closed} {window}$"), timeout=WAIT_MS
    )
    expect(card.locator(".prs-counts")).to_have_text(
        re.compile(rf"^{prs_open} open · {prs_closed} {window}$"), timeout=WAIT_MS
    )


def test_format_helpers_in_the_browser(ui, server):
    page = open_route(ui, server, "#/repos")
    results = page.evaluate(
        """async () => {
            const f = await import('/static/format.js');
            const now = Date.parse('2025-01-01T12:00:00Z');
            return {
                number: f.formatNumber(1234567),
                missing: f.formatNumber(null),
                ago: f.formatRelative('2025-01-01T11:55:00Z', now),
                ahead: f.formatRelative('2025-01-01T14:00:00Z', now),
                now: f.formatRelative('2025-01-01T11:59:55Z', now),
                soon: f.formatRelative('2025-01-01T12:00:20Z', now),
                never: f.formatRelative(null, now),
                bytes: f.formatBytes(1536),
                counts: [f.formatCount(1, 'page'), f.formatCount(2500, 'page')],
                local: f.formatLocalTime('2025-01-01T12:00:00Z')
                    === new Date('2025-01-01T12:00:00Z').toLocaleString(undefined,
                        {dateStyle: 'medium', timeStyle: 'medium'}),
                url: f.checkRepoName(' https://github.com/Acme/Widgets.git '),
                bad: f.checkRepoName('acme/widgets/extra'),
            };
        }"""
    )
    assert results == {
        "number": "1,234,567",
        "missing": "—",
        "ago": "5 minutes ago",
        "ahead": "in 2 hours",
        "now": "now",
        "soon": "in 20 seconds",
        "never": "never",
        "bytes": "1.5 KB",
        "counts": ["1 page", "2,500 pages"],
        "local": True,
        "url": {"ok": True, "value": "Acme/Widgets"},
        "bad": {"ok": False, "message": "Use the form owner/name."},
    }


def test_empty_state_and_add_repo_imports_with_progress(ui, server, github):
    page = open_route(ui, server, "#/repos")
    expect(page.locator(".empty-state")).to_have_text("No repos yet — add owner/name above.")
    ui.screenshot("01-repos-empty")
    # Slow the first listing pages down so the import is visible while it runs.
    github.inject(delay=1.0, times=3, path="/issues")  # the sync reads the repo by its id
    page.get_by_label("Repository (owner/name or a github.com URL)").fill(REPO)
    page.get_by_role("button", name="Add repo").click()
    expect(page.locator(".add-repo-form .form-status")).to_contain_text(f"Added {REPO}")
    card = _card(page, REPO)
    expect(card.locator(".repo-progress")).to_be_visible(timeout=WAIT_MS)
    expect(card.locator(".progress-text")).to_have_text(re.compile(r"items? · \d+ pages?"))
    ui.screenshot("02-repos-importing")
    _wait_idle_with_counts(card, ISSUES_OPEN, ISSUES_CLOSED, PRS_OPEN, PRS_CLOSED)
    expect(card.locator(".repo-progress")).to_be_hidden()
    last_sync = card.locator(".last-sync")
    expect(last_sync).not_to_have_text("never")
    assert last_sync.get_attribute("title")  # the exact local time on hover
    expect(card.locator(".data-size")).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB)$"))
    ui.screenshot("03-repos-imported")


def test_invalid_name_shows_the_servers_message(ui, server):
    bad_name = "acme/widgets/extra"
    status, problem = server.api("POST", "/api/repos", {"full_name": bad_name})
    assert status == 422
    ui.allow_console_error("status of 422")
    page = open_route(ui, server, "#/repos")
    field = page.get_by_label("Repository (owner/name or a github.com URL)")
    field.fill(bad_name)
    expect(page.locator("#repo-name-error")).to_have_text("Use the form owner/name.")
    page.get_by_role("button", name="Add repo").click()
    expect(page.locator("#repo-name-error")).to_have_text(problem["detail"])
    expect(field).to_have_attribute("aria-invalid", "true")
    ui.screenshot("04-repos-invalid-name")


def test_sync_now_shows_a_new_item(ui, server, github):
    number = github.add_issue(REPO, title="Fresh <script>alert(1)</script> gizmo", labels=["p1"])
    page = open_route(ui, server, "#/repos")
    card = _card(page, REPO)
    card.get_by_role("button", name="Sync now").click()
    expect(card.locator(".action-message")).to_have_text("Sync requested.")
    _wait_idle_with_counts(card, ISSUES_OPEN + 1, ISSUES_CLOSED, PRS_OPEN, PRS_CLOSED)
    card.locator("a.repo-name").click()
    row = page.locator(f'tr[data-number="{number}"]')
    expect(row.locator("td.title a")).to_have_text("Fresh <script>alert(1)</script> gizmo")
    expect(row.locator(".label-chip")).to_have_text("p1")
    assert row.locator("td.title a").get_attribute("href").endswith(f"/issues/{number}")
    ui.screenshot("05-repo-issues")
    top_search = page.locator("#top-search")
    top_search.get_by_label("Search cached issues and PRs").fill("gizmo")
    top_search.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(".search-result").first
    expect(result.locator("mark").first).to_have_text(re.compile("gizmo", re.IGNORECASE))
    expect(page.locator(".search-result script")).to_have_count(0)
    ui.screenshot("06-repo-search")


def test_the_mirror_toggle_turns_a_repos_git_mirror_on_and_off(ui, server):
    page = open_route(ui, server, "#/repos")
    card = _card(page, REPO)
    expect(card.locator(".mirror-state")).to_have_text("Off")
    card.locator("button.mirror-toggle", has_text="Mirror code").click()
    expect(card.locator(".action-message")).to_have_text("Mirror turned on.")
    # The fake's clone URL is on github.com, not the configured API host: refused, no request.
    expect(card.locator(".mirror-state")).to_have_text(
        re.compile(
            r"^(On · not cloned yet|Failing: clone URL .* is not on the configured GitHub host .*)$"
        )
    )
    card.locator("button.mirror-toggle", has_text="Stop mirror").click()
    expect(card.locator(".mirror-state")).to_have_text("Off")
    ui.screenshot("05b-repos-mirror")


def test_add_from_org_marks_tracked_repos(ui, server):
    page = open_route(ui, server, "#/repos")
    page.get_by_text("Add from org").click()
    page.get_by_label("Organisation or user").fill("acme")
    page.get_by_role("button", name="List repos").click()
    tracked = page.locator('.org-repo[data-full-name="acme/widgets"]')
    expect(tracked.locator(".badge")).to_have_text("tracked")
    expect(tracked.locator("input")).to_be_disabled()
    # GitHub's open_issues_count includes open PRs; the text must not call them all issues.
    expect(tracked.locator(".muted")).to_have_text(re.compile(r"^ [\d,]+ open issues and PRs$"))
    page.locator('.org-repo[data-full-name="acme/gadgets"] input').check()
    ui.screenshot("07-repos-add-from-org")
    page.get_by_role("button", name="Add selected").click()
    expect(page.locator(".org-picker .form-status")).to_have_text("Added 1 repo.")
    _wait_idle_with_counts(_card(page, "acme/gadgets"), 0, 0, 0, 0)


def test_repo_page_tabs_filters_and_load_more(ui, server):
    repo_id = server.repo_id(REPO)
    page = open_route(ui, server, f"#/repo/{repo_id}")
    rows = page.locator("table.items tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(100)
    page.get_by_label("Label").fill("bug")
    page.get_by_label("State").select_option("closed")
    expect(rows).to_have_count(ISSUES_CLOSED // 3)
    page.get_by_role("tab", name=re.compile("Pull requests")).click()
    page.get_by_label("Label").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(PRS_CLOSED)
    expect(page.locator("table.items .tag[data-state=merged]")).to_have_count(2)
    ui.screenshot("08-repo-prs-closed")


def test_repo_page_says_why_an_item_is_no_longer_on_github(ui, server):
    repo_id = server.repo_id(REPO)
    conn = connect(server.data_dir / "control_plane" / "pm_bot.sqlite3")
    try:
        insert_cached_item(conn, repo_id, 9_999, title="Vanished", gone="not_visible",
                           updated_at="2099-01-01T00:00:00Z")  # fmt: skip
    finally:
        conn.close()
    page = open_route(ui, server, f"#/repo/{repo_id}")
    rows = page.locator("table.items tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator('tr[data-number="9999"]')).to_have_count(0)
    page.get_by_label("Include items no longer on GitHub").check()
    expect(page.locator('tr[data-number="9999"] .gone-note')).to_have_text(
        "no longer visible (deleted, transferred to a repo the token cannot see, or access lost)"
    )


def test_outage_shows_the_error_and_the_cache_still_browses(ui, server, github):
    github.go_down()
    try:
        page = open_route(ui, server, "#/repos")
        card = _card(page, REPO)
        card.get_by_role("button", name="Sync now").click()
        expect(page.locator("#setup-banner")).to_contain_text("unreachable", timeout=WAIT_MS)
        card.locator("a.repo-name").click()
        expect(page.locator("table.items tbody tr")).to_have_count(50)
        ui.screenshot("09-repo-browse-while-down")
        page.get_by_role("link", name="← All repos").click()
        # The client retries 5xx with backoff (about 8–15 s in all) before the sync fails.
        card = _card(page, REPO)
        expect(card.locator(".status-badge")).to_have_text("Error", timeout=30_000)
        expect(card.locator(".repo-error")).to_contain_text("Last error:")
        ui.screenshot("10-repos-github-down")
    finally:
        github.come_up()


def test_reset_cache_needs_the_typed_confirmation(ui, server):
    page = open_route(ui, server, "#/settings")
    zone = page.locator(".danger-zone")
    expect(zone).to_contain_text("cached issue and pull request")
    expect(zone).to_contain_text("the list of repos and the audit log")
    button = zone.get_by_role("button", name="Reset local cache")
    expect(button).to_be_disabled()
    field = zone.get_by_label("Type reset to confirm")
    field.fill("rese")
    expect(button).to_be_disabled()
    field.fill("reset")
    expect(button).to_be_enabled()
    ui.screenshot("11-settings-danger-zone")
    button.click()
    expect(zone.locator(".form-status")).to_have_text(
        "Local cache reset for all repos. The next sync re-imports it."
    )
    _, events = server.api("GET", "/api/audit?type=cache.reset")
    assert [e["type"] for e in events["items"]] == ["cache.reset"]
    page = open_route(ui, server, "#/repos")
    card = _card(page, REPO)
    card.get_by_role("button", name="Sync now").click()
    _wait_idle_with_counts(card, ISSUES_OPEN + 1, ISSUES_CLOSED, PRS_OPEN, PRS_CLOSED)


def test_audit_page_lists_events_and_verify_is_intact(ui, server):
    page = open_route(ui, server, "#/audit")
    expect(page.locator(".verify-result")).to_have_text(
        re.compile(r"^Chain intact — [\d,]+ events")
    )
    _, head = server.api("GET", "/api/audit/head")
    expect(page.locator(".head-value")).to_have_text(f"{head['seq']}:{head['hash']}")
    events = page.locator(".timeline .event")
    expect(events.first).to_have_attribute("data-seq", str(head["seq"]))
    types = set(events.evaluate_all("nodes => nodes.map(n => n.dataset.type)"))
    assert {"repo.added", "sync.page_committed", "sync.failed", "cache.reset"} <= types
    page.get_by_label("Event type").select_option("repo.added")
    expect(events).to_have_count(2)
    page.get_by_label("Repo", exact=True).select_option(label=REPO)
    expect(events).to_have_count(1)
    events.first.locator("summary").click()
    expect(events.first.locator(".payload")).to_contain_text(REPO)
    ui.screenshot("12-audit")


def test_narrow_window_and_keyboard_navigation(ui, server):
    page = ui.page
    page.set_viewport_size({"width": 390, "height": 844})
    open_route(ui, server, "#/repos")
    expect(_card(page, REPO)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "pmbot"
    ui.screenshot("13-repos-narrow")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Work"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Audit"
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Audit log")
