"""Sync against GitHub's real behaviour (issue 11): a cache reset during a sync, redirects by
repository id, names taken over, late arrivals, `/pulls`-only changes. Each test ends with the
cache equal to the fake's ground truth (`test_sync.assert_converged`)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from pmbot.control_plane import operations, registry
from pmbot.control_plane.github.protocol import GitHubError
from pmbot.control_plane.sync import sync
from tests import test_sync as base
from tests.test_sync import REPO, add_items, assert_converged, cached, events_of, rows_of, run

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


# -- items 1, 2: identity by GitHub's repository id -------------------------------------------


def github_id_of(conn, repo_id) -> int | None:
    return conn.execute("SELECT github_id FROM repos WHERE repo_id = ?", (repo_id,)).fetchone()[0]


def test_the_first_sync_records_the_repos_github_id_and_then_reads_by_id(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 5)
    run(conn, gh, repo_id, cfg)
    github_id = fake.resolve(REPO).id
    assert events_of(conn, "repo.identified") == [
        {"repo_id": repo_id, "github_id": github_id, "full_name": REPO}
    ]
    assert github_id_of(conn, repo_id) == github_id
    before = len(fake.requests)
    clock.advance(10)
    fake.add_issue(REPO, title="later")
    run(conn, gh, repo_id, cfg)
    assert {r.path.split("/")[1] for r in fake.requests[before:]} == {"repositories"}
    assert len(events_of(conn, "repo.identified")) == 1
    assert_converged(conn, fake, repo_id)  # rebuild --check reproduces github_id too


def test_a_name_taken_over_after_a_rename_never_merges_the_other_repos_items(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 12, every=3)  # PRs 1, 4, 7, 10
    run(conn, gh, repo_id, cfg)
    fake.rename_repo(REPO, "acme/gizmos")
    fake.add_repo(REPO)  # someone else's repo, under the old name
    clock.advance(5)
    add_items(fake, clock, 11, every=2)  # same numbers, PRs among them
    clock.advance(5)
    fake.add_issue("acme/gizmos", title="after the rename")
    run(conn, gh, repo_id, cfg)
    assert registry.get_repo(conn, repo_id).full_name == "acme/gizmos"
    assert [e["full_name"] for e in events_of(conn, "repo.renamed")] == ["acme/gizmos"]
    assert_converged(conn, fake, repo_id, "acme/gizmos")


def test_a_repo_renamed_before_its_first_sync_is_identified_under_its_new_name(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 3)
    fake.rename_repo(REPO, "acme/gizmos")
    run(conn, gh, repo_id, cfg)
    [identified] = events_of(conn, "repo.identified")
    assert identified["full_name"] == "acme/gizmos"
    assert registry.get_repo(conn, repo_id).full_name == "acme/gizmos"
    assert_converged(conn, fake, repo_id, "acme/gizmos")


def test_one_github_repo_registered_under_two_names_is_refused_clearly(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 3)
    run(conn, gh, repo_id, cfg)
    fake.rename_repo(REPO, "acme/gizmos")
    second = operations.add_repo(conn, "acme/gizmos").repo_id
    with pytest.raises(GitHubError) as raised:
        run(conn, gh, second, cfg)
    assert raised.value.code == "same_repository"
    assert "already registered here as acme/widgets" in str(raised.value)
    assert rows_of(conn, "github_issues", second) == 0
    assert github_id_of(conn, second) is None


# -- item 3: the whole overlap window, every poll ---------------------------------------------


@pytest.mark.parametrize("burst", [150, 250])
def test_a_late_arrival_behind_a_same_second_burst_is_cached_by_the_next_poll(
    conn, fake, clock, gh, cfg, repo_id, burst
):
    numbers = add_items(fake, clock, 10)
    run(conn, gh, repo_id, cfg)
    clock.advance(30)
    fake.update(REPO, numbers[2], title="listed late")
    fake.list_late(REPO, numbers[2], 60)
    clock.advance(1)
    for index in range(burst):  # a bot's burst, all in one second, newer than the late one
        fake.add_issue(REPO, title=f"burst {index}")
    clock.advance(5)
    run(conn, gh, repo_id, cfg)  # the burst, not the late arrival
    assert cached(conn, repo_id)[numbers[2]]["title"] != "listed late"
    clock.advance(120)  # GitHub's listing caught up; still inside the overlap window
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)


def test_an_idle_poll_revalidates_the_whole_window_for_free(conn, fake, clock, gh, cfg, repo_id):
    add_items(fake, clock, 250, every=0)  # 250 issues inside the 300 s overlap window
    run(conn, gh, repo_id, cfg)
    clock.advance(10)
    used, before = fake.rate_used, len(fake.requests)
    run(conn, gh, repo_id, cfg)
    issues = [r for r in fake.requests[before:] if r.path.endswith("/issues")]
    assert [r.status for r in issues] == [304, 304, 304]
    assert fake.rate_used == used


# -- item 4: changes only /pulls sees -----------------------------------------------------------


def pull_payload_updated(conn, number: int) -> str:
    row = conn.execute(
        "SELECT payload_json FROM github_pull_requests WHERE pr_number = ?", (number,)
    ).fetchone()
    return json.loads(row[0])["updated_at"]


def test_commits_pushed_to_a_pr_reach_the_cache_through_a_conditional_pulls_check(
    conn, fake, clock, gh, cfg, repo_id
):
    numbers = add_items(fake, clock, 30, every=3)
    run(conn, gh, repo_id, cfg)
    clock.advance(600)
    before = len(fake.requests)
    run(conn, gh, repo_id, cfg)  # idle: the issues window and /pulls page 1, all 304
    assert {r.status for r in fake.requests[before:]} == {304}
    assert any(r.path.endswith("/pulls") for r in fake.requests[before:])
    clock.advance(60)
    fake.push_commits(REPO, numbers[3])
    run(conn, gh, repo_id, cfg)
    assert pull_payload_updated(conn, numbers[3]) == fake.item(REPO, numbers[3]).pulls_updated
    assert_converged(conn, fake, repo_id)


# -- item 5: reconciliation keeps what it paid for ----------------------------------------------


def test_reconciliation_repairs_an_open_item_every_listing_missed(
    conn, fake, clock, gh, cfg, repo_id
):
    numbers = add_items(fake, clock, 20)
    run(conn, gh, repo_id, cfg)
    clock.advance(10)
    fake.update(REPO, numbers[4], title="changed, never listed")
    fake.list_late(REPO, numbers[4], 100_000)  # GitHub's listings never catch up
    clock.advance(10)
    run(conn, gh, repo_id, cfg)
    assert cached(conn, repo_id)[numbers[4]]["title"] != "changed, never listed"
    assert sync.reconcile_repo(conn, gh, repo_id, settings=cfg) == 0  # nothing gone
    assert cached(conn, repo_id)[numbers[4]]["title"] == "changed, never listed"


def test_a_deleted_repos_name_taken_by_another_repo_is_said_and_nothing_is_touched(
    conn, fake, clock, gh, cfg, repo_id
):
    add_items(fake, clock, 6)
    run(conn, gh, repo_id, cfg)
    before = cached(conn, repo_id)
    fake.delete_repo(REPO)
    fake.add_repo(REPO)  # someone else's, under the same name
    fake.add_issue(REPO, title="not ours")
    with pytest.raises(GitHubError) as raised:
        run(conn, gh, repo_id, cfg)
    assert raised.value.code == "name_reused"
    assert "now names another GitHub repository" in str(raised.value)
    assert cached(conn, repo_id) == before


def test_one_old_open_pr_does_not_make_the_import_read_every_pulls_page(
    conn, fake, clock, gh, cfg, repo_id
):
    old = clock.now - timedelta(days=200)
    old_pr = fake.add_pr(REPO, title="old open", updated_at=old, created_at=old, head_ref="old")
    closed_at = clock.now - timedelta(days=150)  # outside the 90-day window: not cached
    for index in range(500):
        stamp = closed_at + timedelta(seconds=index)
        fake.add_pr(REPO, title=f"closed {index}", state="closed", updated_at=stamp)
    recent = add_items(fake, clock, 10, every=1)
    run(conn, gh, repo_id, cfg)
    pulls = [r for r in fake.requests if r.path.endswith("/pulls")]
    # Pages 1 and 2 (no stale PR on it), at most 2 more the helper fetched ahead; then one
    # single GET, where listing down to the old PR takes 6 pages.
    assert len(pulls) <= 4
    assert [r.path for r in fake.requests if r.path.endswith(f"/pulls/{old_pr}")]
    truth = fake.truth(REPO)
    assert_converged(conn, fake, repo_id, truth={n: truth[n] for n in (old_pr, *recent)})


def test_a_close_inside_a_backlog_burst_cannot_hide_a_neighbour(
    conn, fake, clock, gh, cfg, repo_id
):
    old = clock.now - timedelta(days=150)
    burst = [
        fake.add_issue(REPO, title=f"old burst {index}", updated_at=old, created_at=old)
        for index in range(260)
    ]
    # After the backlog's second query (page 1 of `since` = the burst's second − 1 s) is
    # served, an item it showed is closed: the next `Link` page shifts by one.
    base.mutate_on(fake, 2, lambda: fake.close(REPO, burst[5]))
    run(conn, gh, repo_id, cfg)
    assert_converged(conn, fake, repo_id)
