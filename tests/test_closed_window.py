"""The closed-items window per repo (issue 11 item 8), against the real fake GitHub.

Widening it backfills only the closed items it lacks (keyset, resumable); narrowing it
deletes nothing and moves the start the status shows; both survive `audit rebuild`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pmbot.control_plane import operations, registry, repo_status
from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.github.client import GitHubClient, urllib_transport
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339
from tests import test_sync as base
from tests.test_sync import REPO, TOKEN, assert_converged, events_of, rows_of, run

# test_sync's fixtures: the fake on real time, its client, settings (90 days) and repo.
clock_start, fake_options, gh, cfg = base.clock_start, base.fake_options, base.gh, base.cfg
repo_id = base.repo_id


def closed_items(fake, clock, count: int, days_ago: int) -> list[int]:
    """`count` closed issues updated `days_ago` days back, one second apart."""
    start = clock.now - timedelta(days=days_ago)
    numbers = []
    for index in range(count):
        stamp = start + timedelta(seconds=index)
        numbers.append(
            fake.add_issue(
                REPO, title=f"closed {days_ago}d {index}", state="closed", updated_at=stamp,
                created_at=stamp,
            )
        )  # fmt: skip
    return numbers


def closed_listings(fake, since: int = 0) -> list:
    return [
        r
        for r in fake.requests[since:]
        if r.path.endswith("/issues") and r.query.get("state") == "closed"
    ]


def since_of(record) -> str:
    return record.query["since"]


def truth_since(fake, start: str) -> dict:
    """The fake's truth as a cache with a closed window from `start` holds it."""
    return {
        number: item
        for number, item in fake.truth(REPO).items()
        if item["state"] == "open" or item["updated_at"] >= start
    }


@pytest.fixture
def imported(conn, fake, clock, gh, cfg, repo_id):
    """A repo imported with the 90-day window: 30 closed items in it, 250 closed 150 days
    back and 20 closed 300 days back outside it, 5 open ones."""
    closed_items(fake, clock, 20, 300)
    missing = closed_items(fake, clock, 250, 150)
    closed_items(fake, clock, 30, 30)
    for index in range(5):
        clock.advance(1)
        fake.add_issue(REPO, title=f"open {index}")
    run(conn, gh, repo_id, cfg)
    return missing


def test_an_import_records_its_window_start_and_takes_only_that(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    [filled] = events_of(conn, "sync.closed_window_filled")
    status = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert filled["since"] <= status["closed_window_start"]
    assert (status["closed_window_days"], status["closed_window_default"]) == (90, True)
    assert status["closed_window_backfilling"] is False
    assert status["counts"]["issues_closed"] == 30
    assert_converged(conn, fake, repo_id, truth=truth_since(fake, filled["since"]))


def test_widening_backfills_exactly_the_missing_closed_items(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    [filled] = events_of(conn, "sync.closed_window_filled")
    clock.advance(60)
    operations.set_closed_window(conn, repo_id, 200)
    status = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert status["closed_window_start"] == filled["since"]  # not yet: the old start, true
    assert status["closed_window_backfilling"] is True
    before, used = len(fake.requests), fake.rate_used
    progress = []
    result = run(conn, gh, repo_id, cfg, on_progress=progress.append)
    listed = closed_listings(fake, before)
    assert [p.pages for p in progress][-3:] == [1, 2, 3]  # the repo's progress, page by page
    # 250 missing items: 3 keyset pages, the first since the new start; nothing else charged
    # but the repo's refresh (issues page 1, 304) and the closed listing itself.
    assert len(listed) == 3
    new_start = since_of(listed[0])
    assert new_start == to_rfc3339(parse_rfc3339(new_start))
    assert fake.rate_used - used == 3
    assert result.changed_items == 250
    assert events_of(conn, "sync.closed_window_filled")[-1]["since"] == new_start
    status = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert status["closed_window_backfilling"] is False
    assert status["closed_window_start"] >= new_start
    assert (status["closed_window_days"], status["closed_window_default"]) == (200, False)
    assert status["counts"]["issues_closed"] == 280
    assert_converged(conn, fake, repo_id, truth=truth_since(fake, new_start))
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)  # done: the next poll lists no closed items
    assert closed_listings(fake, before) == []


class Killed(Exception):
    """The process died mid-request (not a network error: the client does not retry it)."""


def killed_after(pages: int):
    """A transport that dies at the `pages`+1-th closed listing page."""
    left = [pages]

    def transport(method, url, headers, body, timeout):
        if "state=closed" in url:
            left[0] -= 1
            if left[0] < 0:
                raise Killed(url)
        return urllib_transport(method, url, headers, body, timeout)

    return transport


def test_a_backfill_killed_midway_resumes_without_rereading_done_pages(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    operations.set_closed_window(conn, repo_id, 200)
    before = len(fake.requests)
    dying = GitHubClient(fake.base_url, TOKEN, sleep=lambda _s: None, transport=killed_after(2))
    with pytest.raises(Killed):
        run(conn, dying, repo_id, cfg)
    first_run = closed_listings(fake, before)
    new_start = since_of(first_run[0])
    assert len(first_run) == 2
    stored = json.loads(
        conn.execute("SELECT state_json FROM sync_resume WHERE repo_id = ?", (repo_id,)).fetchone()[
            0
        ]
    )
    assert stored["phase"] == "backfill" and stored["since"] > new_start  # a page is done
    assert events_of(conn, "sync.closed_window_filled")[-1]["since"] != new_start
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    resumed = closed_listings(fake, before)
    # It goes on from the last committed page: no page done is asked again.
    assert since_of(resumed[0]) == stored["since"]
    assert len(first_run) + len(resumed) <= 3 + 1  # at most the page in flight, twice
    assert events_of(conn, "sync.closed_window_filled")[-1]["since"] == new_start
    assert rows_of(conn, "sync_resume", repo_id) == 0
    assert_converged(conn, fake, repo_id, truth=truth_since(fake, new_start))


def test_narrowing_deletes_nothing_and_moves_the_start(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    cached_before = rows_of(conn, "github_issues", repo_id)
    operations.set_closed_window(conn, repo_id, 10)
    status = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    expected = to_rfc3339(clock.now.replace(microsecond=0) - timedelta(days=10))
    assert status["closed_window_start"] == expected
    assert (status["closed_window_days"], status["closed_window_backfilling"]) == (10, False)
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)
    assert closed_listings(fake, before) == []
    assert rows_of(conn, "github_issues", repo_id) == cached_before
    assert repo_status.repo_status(conn, repo_id, settings=cfg)["counts"]["issues_closed"] == 30


def test_the_window_and_what_it_covers_survive_audit_rebuild(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    operations.set_closed_window(conn, repo_id, 200)
    run(conn, gh, repo_id, cfg)
    operations.set_closed_window(conn, repo_id, 120)
    before = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert rebuild.check(conn).differences == []
    rebuild.rebuild(conn)
    after = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert {k: after[k] for k in after if k.startswith("closed_window")} == {
        k: before[k] for k in before if k.startswith("closed_window")
    }
    assert registry.closed_window_days(conn, repo_id) == 120
    assert [e["days"] for e in events_of(conn, "repo.closed_window_set")] == [200, 120]
    assert [e["old_days"] for e in events_of(conn, "repo.closed_window_set")] == [None, 200]


def test_an_import_uses_the_repos_own_window(conn, fake, clock, gh, cfg, repo_id):
    closed_items(fake, clock, 3, 150)
    closed_items(fake, clock, 2, 30)
    operations.set_closed_window(conn, repo_id, 200)
    run(conn, gh, repo_id, cfg)
    assert repo_status.repo_status(conn, repo_id, settings=cfg)["counts"]["issues_closed"] == 5
    assert_converged(conn, fake, repo_id)


def test_a_reset_forgets_what_the_window_covered_but_keeps_the_choice(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    operations.set_closed_window(conn, repo_id, 200)
    operations.reset_cache(conn, [repo_id])
    status = repo_status.repo_status(conn, repo_id, now=clock.now, settings=cfg)
    assert status["closed_window_backfilling"] is False
    assert status["closed_window_days"] == 200
    run(conn, gh, repo_id, cfg)  # a full import, with the repo's window
    assert repo_status.repo_status(conn, repo_id, settings=cfg)["counts"]["issues_closed"] == 280
    start = events_of(conn, "sync.closed_window_filled")[-1]["since"]
    assert_converged(conn, fake, repo_id, truth=truth_since(fake, start))


def test_bad_windows_are_refused_and_nothing_is_recorded(conn, repo_id):
    for bad in (-1, registry.MAX_CLOSED_DAYS + 1, "90", 1.5, True, None):
        with pytest.raises(registry.InvalidClosedWindow):
            operations.set_closed_window(conn, repo_id, bad)
    with pytest.raises(registry.RepoNotFound):
        operations.set_closed_window(conn, repo_id + 1, 30)
    assert events_of(conn, "repo.closed_window_set") == []


def test_a_sync_unaware_cache_gets_its_window_start_recorded_once(
    conn, fake, clock, gh, cfg, repo_id, imported
):
    """A cache imported before migration 0012 has no recorded start: the first sync records
    the setting's (its import used it), then a widening backfills from there."""
    conn.execute("UPDATE repo_sync_state SET closed_since = NULL WHERE repo_id = ?", (repo_id,))
    run(conn, gh, repo_id, cfg)
    filled = events_of(conn, "sync.closed_window_filled")
    assert len(filled) == 2 and filled[1]["since"] >= filled[0]["since"]
    run(conn, gh, repo_id, cfg)
    assert len(events_of(conn, "sync.closed_window_filled")) == 2
