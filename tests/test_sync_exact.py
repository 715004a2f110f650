"""Sync against GitHub's real behaviour (issue 11): a cache reset during a sync, redirects by
repository id, names taken over, late arrivals, `/pulls`-only changes. Each test ends with the
cache equal to the fake's ground truth (`test_sync.assert_converged`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pmbot.control_plane import operations
from tests import test_sync as base
from tests.test_sync import REPO, add_items, assert_converged, events_of, rows_of, run

# test_sync's fixtures: the fake on real time, its client, settings and registered repo.
clock_start, fake_options, gh, cfg = base.clock_start, base.fake_options, base.gh, base.cfg
repo_id = base.repo_id


def reset_after_page(conn, repo_id, page: int):
    """`on_progress` that resets the repo's cache once `page` pages are committed."""

    def on_progress(progress) -> None:
        if progress.pages == page:
            operations.reset_cache(conn, [repo_id])

    return on_progress


def assert_cache_empty(conn, repo_id) -> None:
    for table in ("github_issues", "github_pull_requests", "sync_resume", "http_cache"):
        assert rows_of(conn, table, repo_id) == 0, table


# -- item 7: a cache reset during a sync -------------------------------------------------------


@pytest.mark.parametrize("page", [1, 3, 5, 7])  # backlog, backlog end, window, /pulls
def test_a_reset_during_an_import_wins_and_the_next_sync_imports_everything(
    conn, fake, clock, gh, cfg, repo_id, page
):
    old = clock.now - timedelta(days=200)
    for index in range(250):
        stamp = old + timedelta(seconds=index)
        fake.add_issue(REPO, title=f"old {index}", updated_at=stamp, created_at=stamp)
    add_items(fake, clock, 250, every=2)  # the window: 125 PRs, so /pulls has 2 pages
    run(conn, gh, repo_id, cfg, on_progress=reset_after_page(conn, repo_id, page))
    assert_cache_empty(conn, repo_id)  # nothing written after the reset
    assert events_of(conn, "sync.completed") == []
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


@pytest.mark.parametrize("page", [1, 2, 4])  # refresh pass, its last page, /pulls
def test_a_reset_during_a_refresh_wins_and_the_next_sync_imports_everything(
    conn, fake, clock, gh, cfg, repo_id, page
):
    numbers = add_items(fake, clock, 400, every=2)
    run(conn, gh, repo_id, cfg)
    clock.advance(3600)  # the cursor moves on: 150 items fall out of the overlap window
    fake.update(REPO, numbers[-1], title="moved the cursor")
    run(conn, gh, repo_id, cfg)
    clock.advance(60)
    for number in numbers[:250]:
        fake.update(REPO, number, title=f"edited {number}")
    run(conn, gh, repo_id, cfg, on_progress=reset_after_page(conn, repo_id, page))
    assert_cache_empty(conn, repo_id)
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
