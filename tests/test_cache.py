"""cache/store.py: the write side (idempotent upserts, count deltas, gone marks, resume rows,
reset); the sync's use of it is in test_sync.py, the read side in test_browse.py."""

from __future__ import annotations

from pmbot.control_plane import operations
from pmbot.control_plane.cache import ISSUES, PRS, store
from pmbot.control_plane.db import transaction
from tests.conftest import insert_cached_item


def _item(number: int, state: str = "open", title: str = "t", *, pr: bool = False) -> dict:
    item = {
        "number": number, "title": title, "body": "b", "state": state, "labels": [],
        "user": {"login": "u"}, "comments": 0, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z", "closed_at": None,
        "html_url": f"https://github.com/o/r/issues/{number}",
    }  # fmt: skip
    if pr:
        item["pull_request"] = {"url": item["html_url"]}
    return item


def test_an_upsert_writes_only_changed_rows_and_returns_the_count_delta(conn):
    repo_id = operations.add_repo(conn, "octo/one").repo_id
    page = [_item(1), _item(2, "closed"), _item(3, pr=True)]

    first = store.upsert_issue_page(conn, repo_id, page)
    again = store.upsert_issue_page(conn, repo_id, page)
    closed = store.upsert_issue_page(conn, repo_id, [_item(1, "closed")])

    assert (first.changed, first.prs_changed) == (3, 1)
    assert first.delta == {"issues_open": 1, "issues_closed": 1, "prs_open": 1}
    assert (again.changed, again.delta) == (0, {})
    assert closed.delta == {"issues_open": -1, "issues_closed": 1}


def test_gone_marks_leave_the_counts_once(conn):
    repo_id = operations.add_repo(conn, "octo/one").repo_id
    insert_cached_item(conn, repo_id, 1)
    insert_cached_item(conn, repo_id, 2, kind="pr")

    delta = store.mark_gone(
        conn, repo_id, [(ISSUES, 1, "deleted", None), (PRS, 2, "transferred", "a/b#2")]
    )

    assert delta == {"issues_open": -1, "prs_open": -1}
    assert store.mark_gone(conn, repo_id, [(ISSUES, 1, "deleted", None)]) == {}
    assert store.open_numbers(conn, repo_id) == {}


def test_resume_rows_round_trip_and_clear(conn):
    repo_id = operations.add_repo(conn, "octo/one").repo_id
    state = {"phase": "pass", "basis": "2026-01-01T00:00:00Z", "next_url": "https://x/y"}

    store.save_resume(conn, repo_id, "issues", state)
    assert store.load_resume(conn, repo_id, "issues") == state
    store.save_resume(conn, repo_id, "issues", None)
    assert store.load_resume(conn, repo_id, "issues") is None


def test_reset_drops_only_the_given_repos_rows(conn):
    one, two = (operations.add_repo(conn, f"octo/{n}").repo_id for n in ("one", "two"))
    for repo_id in (one, two):
        insert_cached_item(conn, repo_id, 1)
        store.save_validator(conn, repo_id, f"/repositories/{repo_id}/issues?a=1", '"e"', None)

    with transaction(conn):
        store.reset_cache(conn, [one])
    assert store.purging(conn, one) and not store.purging(conn, two)
    assert store.purge(conn, batch_rows=1) == 2  # the item, then its search row

    assert not store.purging(conn, one)
    for table in ("github_issues", "http_cache", "cache_search"):
        rows = conn.execute(f"SELECT DISTINCT repo_id FROM {table}").fetchall()
        assert [r[0] for r in rows] == [two]
