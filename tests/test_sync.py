"""The incremental sync against the real fake GitHub: after every scenario the cache equals
the fake's ground truth, counts equal a COUNT over the cache, and the audit log verifies and
rebuilds clean."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pmbot.control_plane import audit, operations, registry
from pmbot.control_plane.audit import rebuild, verify
from pmbot.control_plane.audit.events import CacheReset
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.github.protocol import (
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from pmbot.control_plane.sync import fetch_ahead, sync
from tests.fake_github import FakeGitHub
from tests.test_disk import fill, killed_midway

REPO = "acme/widgets"
TOKEN = "ghp_" + "SyncTestToken0123456789" * 2
COUNT_KEYS = ("issues_open", "issues_closed", "prs_open", "prs_closed")
STREAMS = (("issue", "github_issues", "issue_number"), ("pr", "github_pull_requests", "pr_number"))


@pytest.fixture
def clock_start() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake_options():
    return {"token": TOKEN}  # with the shared clock and FAKE_REPO (== REPO)


@pytest.fixture
def gh(fake) -> GitHubClient:
    return GitHubClient(fake.base_url, TOKEN, sleep=lambda _s: None)


@pytest.fixture
def cfg(settings, fake):
    return replace(settings, github_api_base=fake.base_url, sync_closed_days=90)


@pytest.fixture
def repo_id(conn) -> int:
    return operations.add_repo(conn, REPO).repo_id


class Hooks(sync.SyncContext):
    """A SyncContext from two plain functions, as the tests need them."""

    def __init__(self, on_progress=None, should_stop=None) -> None:
        self.on_progress, self.should_stop = on_progress, should_stop

    def tick(self) -> bool:
        return self.should_stop is None or not self.should_stop()

    def progress(self, progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


def run(conn, gh, repo_id, cfg, *, reconcile=False, **hooks) -> sync.SyncResult:
    context = Hooks(**hooks) if hooks else None
    return sync.sync_repo(conn, gh, repo_id, settings=cfg, reconcile=reconcile, context=context)


def add_items(fake, clock, count, *, every=5, step=1, **fields) -> list[int]:
    """`count` items one `step` second apart; every `every`-th is a PR."""
    numbers = []
    for index in range(count):
        clock.advance(step)
        add = fake.add_pr if every and index % every == 0 else fake.add_issue
        numbers.append(add(REPO, title=f"item {index}", body=f"body {index}", **fields))
    return numbers


# -- the comparison with ground truth ----------------------------------------------------------


def cached(conn, repo_id) -> dict[int, dict]:
    """The cache in the shape of `fake.truth()`: live (not gone) rows only."""
    found = {}
    for kind, table, number in STREAMS:
        extra = "draft, merged_at, head_ref, base_ref" if kind == "pr" else "NULL, NULL, NULL, NULL"
        rows = conn.execute(
            f"SELECT {number}, state, title, updated_at, labels_json, user_login, comments,"
            f" closed_at, {extra} FROM {table} WHERE repo_id = ? AND gone IS NULL",
            (repo_id,),
        )
        for r in rows:
            found[r[0]] = {
                "kind": kind,
                "state": r[1],
                "title": r[2],
                "updated_at": r[3],
                "labels": json.loads(r[4]),
                "user": r[5],
                "comments": r[6],
                "closed_at": r[7],
                "draft": None if r[8] is None else bool(r[8]),
                "merged_at": r[9],
                "head_ref": r[10],
                "base_ref": r[11],
            }
    return found


def assert_converged(conn, fake, repo_id, full_name=REPO, *, truth=None) -> None:
    """Cache == truth, counts == COUNT(*), search rows in step, log verifies and rebuilds."""
    assert cached(conn, repo_id) == (truth if truth is not None else fake.truth(full_name))
    assert_counts_exact(conn, repo_id)
    assert_search_in_step(conn, repo_id)
    assert verify.verify(conn).ok
    assert rebuild.check(conn).differences == []


def assert_counts_exact(conn, repo_id) -> None:
    counted = {}
    for prefix, table in (("issues", "github_issues"), ("prs", "github_pull_requests")):
        for state in ("open", "closed"):
            counted[f"{prefix}_{state}"] = conn.execute(
                f"SELECT count(*) FROM {table} WHERE repo_id = ? AND state = ? AND gone IS NULL",
                (repo_id, state),
            ).fetchone()[0]
    row = conn.execute(
        f"SELECT {', '.join(COUNT_KEYS)} FROM repo_counts WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    assert dict(zip(COUNT_KEYS, row, strict=True)) == counted


def assert_search_in_step(conn, repo_id) -> None:
    rows = conn.execute(
        "SELECT s.kind, s.number, s.title, coalesce(i.title, p.title) FROM cache_search s"
        " LEFT JOIN github_issues i ON s.kind = 'issue' AND i.repo_id = s.repo_id"
        "  AND i.issue_number = s.number"
        " LEFT JOIN github_pull_requests p ON s.kind = 'pr' AND p.repo_id = s.repo_id"
        "  AND p.pr_number = s.number WHERE s.repo_id = ?",
        (repo_id,),
    ).fetchall()
    total = sum(
        conn.execute(f"SELECT count(*) FROM {t} WHERE repo_id = ?", (repo_id,)).fetchone()[0]
        for t in ("github_issues", "github_pull_requests")
    )
    assert len(rows) == total
    assert all(r[2] == r[3] for r in rows)


def events_of(conn, event_type: str) -> list[dict]:
    rows = conn.execute(
        "SELECT payload_json FROM audit_events WHERE type = ? ORDER BY seq", (event_type,)
    )
    return [json.loads(r[0]) for r in rows]


def rows_of(conn, table: str, repo_id: int) -> int:
    return conn.execute(f"SELECT count(*) FROM {table} WHERE repo_id = ?", (repo_id,)).fetchone()[0]


def event_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]


def listing_requests(fake, since: int = 0) -> list:
    return [r for r in fake.requests[since:] if r.path.endswith(("/issues", "/pulls"))]


# -- import -------------------------------------------------------------------------------------


def test_import_pages_through_issues_and_prs_and_equals_truth(conn, fake, clock, gh, cfg, repo_id):
    add_items(fake, clock, 230, every=4)
    result = run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    assert result.changed_items >= 230
    assert result.issues_cursor == max(t["updated_at"] for t in fake.truth(REPO).values())
    # The repo's id (once), the backlog's first page, 230 issue views over 3 pages, the same
    # 3 pages again priming the next poll's chain (all inside the overlap), one /pulls page.
    assert result.requests <= 9
    assert registry.get_repo(conn, repo_id).status == "ok"
    assert len(events_of(conn, "sync.completed")) == 1


def test_pr_details_come_from_pulls(conn, fake, clock, gh, cfg, repo_id):
    clock.advance(1)
    draft = fake.add_pr(REPO, title="wip", draft=True, head_ref="topic", base_ref="dev")
    clock.advance(1)
    merged = fake.add_pr(REPO, title="done", head_ref="fix")
    fake.close(REPO, merged, merged=True)
    issue = fake.add_issue(REPO, title="plain issue")
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    rows = cached(conn, repo_id)
    assert rows[draft]["draft"] is True and rows[draft]["base_ref"] == "dev"
    assert rows[merged]["merged_at"] is not None and rows[merged]["head_ref"] == "fix"
    assert rows[issue]["kind"] == "issue"
    payload = conn.execute(
        "SELECT payload_json FROM github_pull_requests WHERE pr_number = ?", (draft,)
    ).fetchone()[0]
    assert json.loads(payload)["head"]["ref"] == "topic"  # the /pulls object


def test_import_takes_open_items_and_closed_ones_within_the_window(
    conn, fake, clock, gh, cfg, repo_id
):
    old = clock.now - timedelta(days=200)
    old_open = fake.add_issue(REPO, title="old open", updated_at=old, created_at=old)
    fake.add_issue(REPO, title="old closed", state="closed", updated_at=old, created_at=old)
    fake.add_pr(REPO, title="old closed pr", state="closed", updated_at=old, created_at=old)
    recent = clock.now - timedelta(days=10)
    recent_closed = fake.add_issue(REPO, title="recent closed", state="closed", updated_at=recent)
    run(conn, gh, repo_id, cfg)
    truth = fake.truth(REPO)
    expected = {n: t for n, t in truth.items() if n in (old_open, recent_closed)}
    assert_converged(conn, fake, repo_id, truth=expected)


# -- incremental refresh --------------------------------------------------------------------------


def test_refresh_picks_up_edits_closes_and_new_items(conn, fake, clock, gh, cfg, repo_id):
    numbers = add_items(fake, clock, 40)
    run(conn, gh, repo_id, cfg)
    clock.advance(60)
    fake.update(REPO, numbers[3], title="retitled", labels=["bug"])
    fake.close(REPO, numbers[5], merged=True)  # numbers[5] is a PR
    fake.add_comment(REPO, numbers[7])
    fresh = fake.add_issue(REPO, title="brand new")
    before = len(fake.requests)
    result = run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    assert result.changed_items == 4 + 1  # 4 issue-view rows, 1 PR's details
    assert fresh in cached(conn, repo_id)
    assert len(fake.requests) - before <= 3  # issues page, page 1 checked again, /pulls page


def test_pulls_is_read_only_when_a_pr_changed(conn, fake, clock, gh, cfg, repo_id):
    numbers = add_items(fake, clock, 30, every=3)  # numbers[0], [3], … are PRs
    run(conn, gh, repo_id, cfg)
    clock.advance(10)
    fake.add_comment(REPO, numbers[1])
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    pulls = [r.status for r in fake.requests[before:] if r.path.endswith("/pulls")]
    assert pulls == [304]  # page 1, conditionally: free
    clock.advance(10)
    fake.update(REPO, numbers[3], draft=True, base_ref="release")
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert len([r for r in fake.requests[before:] if r.path.endswith("/pulls")]) == 1
    assert_converged(conn, fake, repo_id)


def test_update_in_the_cursor_second_is_not_lost(conn, fake, clock, gh, cfg, repo_id):
    numbers = add_items(fake, clock, 5, every=0)
    run(conn, gh, repo_id, cfg)
    # Same second as the cursor (the newest updated_at): only the overlap re-reads it.
    fake.update(REPO, numbers[0], title="edited in the cursor's second")
    fake.update(REPO, numbers[-1], body="new body, same second", title="last, again")
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


@pytest.mark.parametrize("inclusive", [True, False])
def test_since_inclusive_or_exclusive_both_converge(conn, clock, settings, inclusive):
    with FakeGitHub(TOKEN, clock=clock, since_inclusive=inclusive) as fake:
        fake.add_repo(REPO)
        gh = GitHubClient(fake.base_url, TOKEN, sleep=lambda _s: None)
        cfg = replace(settings, github_api_base=fake.base_url, sync_overlap_seconds=0)
        repo_id = operations.add_repo(conn, REPO).repo_id
        numbers = add_items(fake, clock, 120, every=3)
        run(conn, gh, repo_id, cfg)
        fake.update(REPO, numbers[-1], title="same second as the cursor")
        run(conn, gh, repo_id, cfg)
        clock.advance(1)
        fake.update(REPO, numbers[0], state="closed")
        run(conn, gh, repo_id, cfg)
        assert_converged(conn, fake, repo_id)


def test_no_change_refresh_is_all_304_and_no_event(conn, fake, clock, gh, cfg, repo_id):
    add_items(fake, clock, 150)  # all inside the 300 s overlap window: 2 pages
    run(conn, gh, repo_id, cfg)
    events, used, before = event_count(conn), fake.rate_used, len(fake.requests)
    result = run(conn, gh, repo_id, cfg)
    assert [r.status for r in fake.requests[before:]] == [304, 304, 304]  # + /pulls page 1
    assert fake.rate_used == used
    assert event_count(conn) == events
    assert (result.requests, result.not_modified, result.changed_items) == (3, 3, 0)
    assert result.event_recorded is False
    # The same holds right after a refresh that did change something.
    clock.advance(5)
    fake.add_comment(REPO, 2)
    run(conn, gh, repo_id, cfg)
    used, before = fake.rate_used, len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert [r.status for r in fake.requests[before:]] == [304, 304, 304]
    assert fake.rate_used == used


def test_refresh_after_500_edits_stays_within_12_requests(conn, fake, clock, gh, cfg, repo_id):
    numbers = add_items(fake, clock, 1000, step=5)  # ~60 items inside the 300 s overlap
    run(conn, gh, repo_id, cfg)
    clock.advance(3600)
    for number in numbers[::2]:
        clock.advance(1)
        fake.add_comment(REPO, number)
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert len(fake.requests) - before <= 12  # issue 11's figure
    assert_converged(conn, fake, repo_id)


def test_a_refresh_keeps_the_pages_it_read_as_the_next_windows_chain(
    conn, fake, clock, gh, cfg, repo_id
):
    """bench_sync's case: 500 items in the overlap window, then 500 older ones edited in one
    second. The edits' pages are the new window's chain: it is not read a second time, and
    the next poll finds it all 304."""
    older = add_items(fake, clock, 500, every=0)
    clock.advance(3600)
    add_items(fake, clock, 500, every=0, step=0)  # the window: one second, 5 pages
    run(conn, gh, repo_id, cfg)
    clock.advance(600)  # the old window is below the new one
    for number in older:
        fake.add_comment(REPO, number)
    clock.advance(2)
    before, used = len(fake.requests), fake.rate_used
    run(conn, gh, repo_id, cfg)
    # 5 pages of edits, the old window's 5 (re-validated), page 1 checked once more (304).
    assert [r.status for r in listing_requests(fake, before)] == [200] * 10 + [304]
    assert fake.rate_used - used == 10
    assert_converged(conn, fake, repo_id)
    clock.advance(10)
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert [r.status for r in listing_requests(fake, before)] == [304] * 5


# -- changes while a listing pages ---------------------------------------------------------------


def mutate_on(fake, request_index: int, mutation) -> None:
    """Run `mutation()` once, when the fake serves its `request_index`-th listing page."""
    seen = []

    def callback(record) -> None:
        seen.append(record)
        if len(seen) == request_index:
            mutation()

    fake.on_request(callback)


@pytest.mark.parametrize("during", ["import", "refresh"])
def test_changes_while_a_listing_pages_are_not_missed(conn, fake, clock, gh, cfg, repo_id, during):
    numbers = add_items(fake, clock, 350, every=4)
    old = clock.now - timedelta(days=200)
    backlog = [
        fake.add_issue(REPO, title=f"old {i}", updated_at=old + timedelta(seconds=i))
        for i in range(250)
    ]
    if during == "refresh":
        run(conn, gh, repo_id, cfg)
        clock.advance(600)
        for number in numbers[:250]:
            clock.advance(1)
            fake.add_comment(REPO, number)

    def mutation() -> None:
        clock.advance(1)
        fake.update(REPO, numbers[-1], title="moved to the front")  # read already
        fake.update(REPO, numbers[260], title="edited ahead")
        fake.close(REPO, backlog[10])  # already read in the backlog: shifts the open list
        fake.close(REPO, numbers[1])
        fake.add_issue(REPO, title="created mid-listing")

    mutate_on(fake, 2, mutation)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


def test_same_second_burst_larger_than_a_page(conn, fake, clock, gh, cfg, repo_id):
    old = clock.now - timedelta(days=150)
    for index in range(260):  # an old open burst: the keyset backlog must page through it
        fake.add_issue(REPO, title=f"old burst {index}", updated_at=old, created_at=old)
    clock.advance(1)
    for index in range(230):  # a recent burst, closed and open, PRs too
        add = fake.add_pr if index % 3 == 0 else fake.add_issue
        add(REPO, title=f"burst {index}", state="closed" if index % 2 else "open")
    result = run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    assert result.requests <= 12 + 3  # + the old burst paged through once more (3 pages)
    clock.advance(0)  # a later burst in the cursor's own second
    for number in range(300, 420):
        fake.update(REPO, number, title=f"re-burst {number}")
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


@pytest.mark.parametrize("skew_hours", [3, -3])
def test_local_clock_hours_off_from_github(conn, gh, cfg, repo_id, fake, clock, skew_hours):
    clock.advance(skew_hours * 3600)  # GitHub's clock (data) vs ours (tests, Date header)
    numbers = add_items(fake, clock, 120)
    run(conn, gh, repo_id, cfg)
    clock.advance(2)
    fake.update(REPO, numbers[4], title="after skew")
    fake.close(REPO, numbers[0], merged=True)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    assert run(conn, gh, repo_id, cfg).not_modified == 3  # the window's 2 pages, /pulls


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"), [({"status": 500}, ServerError), ({"malformed": True}, MalformedResponse)]
)
def test_failure_mid_import_keeps_committed_pages_and_resumes(
    conn, fake, clock, gh, cfg, repo_id, fault, error
):
    add_items(fake, clock, 420, every=4)
    old = clock.now - timedelta(days=300)
    for index in range(150):
        fake.add_issue(REPO, title=f"old {index}", updated_at=old + timedelta(seconds=index))
    mutate_on(fake, 4, lambda: fake.inject(**fault, times=5, path="/issues"))
    with pytest.raises(error):
        run(conn, gh, repo_id, cfg)
    state = conn.execute("SELECT issues_cursor FROM repo_sync_state").fetchone()[0]
    assert state is None  # the cursor never passes uncommitted data
    partial = cached(conn, repo_id)
    truth = fake.truth(REPO)
    assert 200 <= len(partial) < len(truth)
    # Committed rows are exact; PR details may still wait for the /pulls pass.
    details = ("draft", "merged_at", "head_ref", "base_ref")
    assert all(truth[n] | {k: row[k] for k in details} == row for n, row in partial.items())
    assert_counts_exact(conn, repo_id)
    assert sync.record_failure(conn, repo_id, error("boom"), attempt=1, next_retry_at=None)
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    first_retry = listing_requests(fake, before)[0]
    assert first_retry.query.get("since") or first_retry.query.get("page")  # not from zero
    assert registry.get_repo(conn, repo_id).status == "ok"


def test_rate_limit_exhaustion_fails_fast_then_resumes_after_reset(conn, clock, settings):
    with FakeGitHub(TOKEN, clock=clock, rate_limit=5) as fake:
        fake.add_repo(REPO)
        for index in range(450):
            clock.advance(1)
            fake.add_issue(REPO, title=f"i{index}")
        gh = GitHubClient(fake.base_url, TOKEN, sleep=lambda _s: None, clock=clock)
        cfg = replace(settings, github_api_base=fake.base_url)
        repo_id = operations.add_repo(conn, REPO).repo_id
        with pytest.raises(RateLimited) as raised:
            run(conn, gh, repo_id, cfg)
        assert raised.value.primary
        reset = datetime.fromtimestamp(fake.rate_reset, UTC)
        assert sync.record_failure(conn, repo_id, raised.value, attempt=1, next_retry_at=None)
        repo = registry.get_repo(conn, repo_id)
        assert (repo.status, repo.last_error_code) == ("error", "rate_limited")
        assert repo.last_error == f"rate limited until {reset:%H:%M} UTC"
        # The repo's id, the backlog page (100 oldest), window pages 1-3 (300 newest).
        assert len(cached(conn, repo_id)) == 400
        clock.now = reset + timedelta(seconds=1)  # the next window: 5 more requests
        with pytest.raises(RateLimited):
            run(conn, gh, repo_id, cfg)
        clock.advance(3601)
        run(conn, gh, repo_id, cfg)  # resumed twice, never from zero
        assert_converged(conn, fake, repo_id)
        assert registry.get_repo(conn, repo_id).status == "ok"
        # The id, backlog page, 5 window pages, and the next poll's chain over the overlap
        # window (~300 items: 4 pages), twice when GitHub's Date lets the cursor step 1 s on.
        assert sum(r.status == 200 for r in fake.requests) <= 1 + 1 + 5 + 2 * 4
        assert sum(r.query.get("state") == "open" for r in fake.requests) == 1


def test_retry_after_is_honoured_or_surfaced(conn, fake, clock, cfg, repo_id):
    add_items(fake, clock, 10)
    slept = []
    gh = GitHubClient(fake.base_url, TOKEN, sleep=slept.append, clock=clock, max_wait_seconds=60)
    fake.inject(429, retry_after=30, path="/issues")
    run(conn, gh, repo_id, cfg)
    assert 30 in slept
    assert_converged(conn, fake, repo_id)
    clock.advance(5)
    fake.add_comment(REPO, 1)
    fake.inject(403, secondary=True, retry_after=600, path="/issues")
    with pytest.raises(RateLimited) as raised:
        run(conn, gh, repo_id, cfg)
    assert raised.value.retry_after == 600
    sync.record_failure(conn, repo_id, raised.value, attempt=1, next_retry_at=None)
    until = clock.now + timedelta(seconds=600)
    assert registry.get_repo(conn, repo_id).last_error == f"rate limited until {until:%H:%M} UTC"


def test_record_failure_appends_only_when_the_error_changes(conn, fake, gh, cfg, repo_id):
    missing = operations.add_repo(conn, "acme/private-thing").repo_id
    with pytest.raises(NotFound) as raised:
        run(conn, gh, missing, cfg)
    assert sync.record_failure(conn, missing, raised.value, attempt=1, next_retry_at="x")
    assert not sync.record_failure(conn, missing, raised.value, attempt=2, next_retry_at="y")
    repo = registry.get_repo(conn, missing)
    assert (repo.status, repo.last_error_code) == ("error", "not_found")
    assert repo.last_error == "repository not found or token lacks access"
    bad = GitHubClient(fake.base_url, "ghp_wrongwrongwrongwrong", sleep=lambda _s: None)
    with pytest.raises(Unauthorized) as raised:
        run(conn, bad, missing, cfg)
    assert sync.record_failure(conn, missing, raised.value, attempt=3, next_retry_at=None)
    assert registry.get_repo(conn, missing).last_error == "token missing or invalid"
    # Recovery: a sync that succeeds records sync.completed even with nothing to change.
    run(conn, gh, repo_id, cfg)
    assert sync.record_failure(conn, repo_id, raised.value, attempt=1, next_retry_at=None)
    run(conn, gh, repo_id, cfg)
    assert registry.get_repo(conn, repo_id).status == "ok"
    stored = conn.execute("SELECT group_concat(payload_json) FROM audit_events").fetchone()[0]
    assert TOKEN not in stored and "ghp_wrong" not in stored


def test_should_stop_returns_what_was_committed_and_the_next_run_resumes(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 350)
    progress = []
    result = run(
        conn, gh, repo_id, cfg, on_progress=progress.append, should_stop=lambda: len(progress) >= 2
    )
    assert (result.pages, result.issues_cursor) == (2, None)
    assert [p.items for p in progress] == [100, 200]
    assert events_of(conn, "sync.completed") == []
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    # The window's 2 remaining pages, the next poll's chain over ~300 items, /pulls.
    assert len(listing_requests(fake, before)) <= 8


def test_should_stop_is_asked_while_a_page_is_slow_to_arrive(
    conn, fake, clock, gh, cfg, repo_id, monkeypatch
):
    monkeypatch.setattr(fetch_ahead, "WAIT_CHECK_SECONDS", 0.02)
    add_items(fake, clock, 150)
    fake.inject(delay=0.5, path="/issues")  # the first page, fetched on the helper thread
    asked = []
    result = run(conn, gh, repo_id, cfg, should_stop=lambda: asked.append(1) or len(asked) > 3)
    assert len(asked) == 4
    assert (result.pages, result.changed_items) == (0, 0)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


def test_a_stored_link_github_refuses_restarts_that_listing(conn, fake, clock, gh, cfg, repo_id):
    add_items(fake, clock, 250)
    run(conn, gh, repo_id, cfg, should_stop=lambda: True)  # stops after the first page
    [state_json] = conn.execute("SELECT state_json FROM sync_resume").fetchone()
    state = json.loads(state_json)
    state["next_url"] = f"{fake.base_url}/repos/{REPO}/issues?per_page=100&after=expired"
    with transaction(conn):
        cache.save_resume(conn, repo_id, "issues", state)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
    assert [r.status for r in fake.requests if "after" in r.query] == [422]


# -- gone items, renames, reset --------------------------------------------------------------


def test_reconcile_marks_deleted_and_transferred_items(conn, fake, clock, gh, cfg, repo_id):
    fake.add_repo("acme/elsewhere")
    numbers = add_items(fake, clock, 30)
    run(conn, gh, repo_id, cfg)
    fake.delete_item(REPO, numbers[1])
    new_number = fake.transfer_item(REPO, numbers[2], "acme/elsewhere")
    before = len(fake.requests)
    marked = sync.reconcile_repo(conn, gh, repo_id, settings=cfg)
    assert marked == 2
    # The open listing, one GET per missing item, and the transferred one's redirect hop.
    assert len(fake.requests) - before == 4
    rows = {
        r[0]: (r[1], r[2])
        for r in conn.execute("SELECT issue_number, gone, moved_to FROM github_issues")
    }
    assert rows[numbers[1]] == ("deleted", None)
    assert rows[numbers[2]] == ("transferred", f"acme/elsewhere#{new_number}")
    [event] = events_of(conn, "sync.reconciled")
    assert event["delta"] == {"issues_open": -2}
    assert_converged(conn, fake, repo_id)
    assert sync.reconcile_repo(conn, gh, repo_id, settings=cfg) == 0


def test_reconcile_marks_an_item_answering_404_not_visible_not_transferred(
    conn, fake, clock, gh, cfg, repo_id
):
    """GitHub's 404 on one issue does not say why (deleted, transferred out of the token's
    sight, access lost): the mark says "not visible", with no new home."""
    numbers = add_items(fake, clock, 10)
    run(conn, gh, repo_id, cfg)
    fake.hide_item(REPO, numbers[3])
    assert sync.reconcile_repo(conn, gh, repo_id, settings=cfg) == 1
    row = conn.execute(
        "SELECT gone, moved_to FROM github_issues WHERE repo_id = ? AND issue_number = ?",
        (repo_id, numbers[3]),
    ).fetchone()
    assert tuple(row) == ("not_visible", None)
    [event] = events_of(conn, "sync.reconciled")
    assert event["gone"] == [
        {"kind": "issue", "number": numbers[3], "gone": "not_visible", "moved_to": None}
    ]
    assert_converged(conn, fake, repo_id)
    assert rebuild.check(conn).differences == []


def test_sync_with_reconcile_and_a_closed_item_is_not_marked_gone(
    conn, fake, clock, gh, cfg, repo_id
):
    numbers = add_items(fake, clock, 10)
    run(conn, gh, repo_id, cfg)
    clock.advance(1)
    fake.close(REPO, numbers[3])
    fake.delete_item(REPO, numbers[4])
    result = run(conn, gh, repo_id, cfg, reconcile=True)
    assert result.changed_items == 2
    assert_converged(conn, fake, repo_id)


def _closed_listing(fake, since: int) -> list:
    """The closed reconciliation's `state=all` ascending listing of the cached closed range."""
    return [
        r for r in listing_requests(fake, since)
        if r.query.get("state") == "all" and r.query.get("direction") == "asc"
    ]  # fmt: skip


def _gone_marks(conn, repo_id) -> dict[int, tuple]:
    return {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT issue_number, gone, moved_to FROM github_issues"
            " WHERE repo_id = ? AND gone IS NOT NULL",
            (repo_id,),
        )
    }


def test_reconcile_finds_cached_closed_items_that_left(conn, fake, clock, gh, cfg, repo_id):
    """The open listing cannot see a closed item leave: a `state=all` listing of the cached
    closed range (an ETag chain, every `reconcile_closed_days`) and a GET for each cached
    closed item it lacks find the deleted, transferred and no longer visible ones."""
    fake.add_repo("acme/elsewhere")
    numbers = add_items(fake, clock, 150)
    for number in numbers[:130]:
        clock.advance(1)
        fake.close(REPO, number)
    run(conn, gh, repo_id, cfg)
    fake.delete_item(REPO, numbers[1])
    new_number = fake.transfer_item(REPO, numbers[2], "acme/elsewhere")
    fake.hide_item(REPO, numbers[3])
    clock.advance(60)
    run(conn, gh, repo_id, cfg, reconcile=True)
    assert _gone_marks(conn, repo_id) == {
        numbers[1]: ("deleted", None),
        numbers[2]: ("transferred", f"acme/elsewhere#{new_number}"),
        numbers[3]: ("not_visible", None),
    }
    assert_converged(conn, fake, repo_id)
    assert cached(conn, repo_id)[numbers[4]]["state"] == "closed"

    # Not due again before `reconcile_closed_days`: the daily reconcile skips the listing.
    before = len(fake.requests)
    clock.advance(86_400)
    run(conn, gh, repo_id, cfg, reconcile=True)
    assert _closed_listing(fake, before) == []

    # Due: an unchanged range is a chain of 304s (0 rate limit) and marks nothing.
    before = len(fake.requests)
    clock.advance(cfg.reconcile_closed_days * 86_400)
    run(conn, gh, repo_id, cfg, reconcile=True)
    pages = _closed_listing(fake, before)
    assert len(pages) == 2 and {r.status for r in pages} == {304}
    assert len(_gone_marks(conn, repo_id)) == 3

    # A change at the range's end only: page 1 answers 304 and is read once more (its items
    # are not stored), so nothing it lists is taken for missing.
    before = len(fake.requests)
    fake.close(REPO, numbers[140])
    clock.advance(cfg.reconcile_closed_days * 86_400)
    run(conn, gh, repo_id, cfg, reconcile=True)
    assert [r.status for r in _closed_listing(fake, before)] == [304, 200, 200]
    assert len(_gone_marks(conn, repo_id)) == 3
    assert_converged(conn, fake, repo_id)

    # A closed item deleted since: found at the next due reconciliation.
    fake.delete_item(REPO, numbers[6])
    clock.advance(cfg.reconcile_closed_days * 86_400)
    run(conn, gh, repo_id, cfg, reconcile=True)
    assert _gone_marks(conn, repo_id)[numbers[6]] == ("deleted", None)
    assert_converged(conn, fake, repo_id)


def test_repo_rename_is_followed_and_recorded(conn, fake, clock, gh, cfg, repo_id):
    add_items(fake, clock, 20)
    run(conn, gh, repo_id, cfg)
    fake.rename_repo(REPO, "acme/gizmos")
    clock.advance(1)
    fake.add_issue("acme/gizmos", title="after the rename")
    run(conn, gh, repo_id, cfg)
    assert registry.get_repo(conn, repo_id).full_name == "acme/gizmos"
    [event] = events_of(conn, "repo.renamed")
    assert event == {"repo_id": repo_id, "full_name": "acme/gizmos", "old_full_name": REPO}
    assert_converged(conn, fake, repo_id, "acme/gizmos")
    run(conn, gh, repo_id, cfg)
    assert len(events_of(conn, "repo.renamed")) == 1


def test_a_reset_killed_between_batches_is_finished_before_the_repo_syncs_again(
    conn, db_path, fake, clock, gh, cfg, repo_id
):
    """The re-import's sync purges first: the new rows are never mixed with the old."""
    add_items(fake, clock, 30)
    run(conn, gh, repo_id, cfg)
    fill(conn, repo_id, 100, first=1000)  # more rows than the fake has
    killed_midway(db_path, "reset_cache", repo_id)
    assert cache.purging(conn, repo_id) and rows_of(conn, "github_issues", repo_id) > 0
    assert verify.verify(conn).ok and rebuild.check(conn).differences == []

    run(conn, gh, repo_id, cfg)

    assert not cache.purging(conn, repo_id)
    assert_converged(conn, fake, repo_id)


def test_reset_cache_wipes_everything_and_the_next_sync_imports_again(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 120)
    other = operations.add_repo(conn, "acme/other").repo_id
    fake.add_repo("acme/other")
    fake.add_issue("acme/other", title="kept")
    run(conn, gh, repo_id, cfg)
    run(conn, gh, other, cfg)
    with transaction(conn):
        cache.save_closed_reconciled(conn, repo_id, "2026-01-01T00:00:00Z")
        cache.reset_cache(conn, [repo_id])
        audit.record(conn, CacheReset(workspace_id=1, repo_ids=[repo_id]))
    cache.purge(conn)
    for table in ("github_issues", "github_pull_requests", "http_cache", "sync_resume",
                  "closed_reconciled"):  # fmt: skip
        assert rows_of(conn, table, repo_id) == 0
    assert rows_of(conn, "cache_search", repo_id) == 0
    assert rows_of(conn, "cache_search", other) == 1
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
