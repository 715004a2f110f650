"""cache/store.py: the write side (idempotent upserts, count deltas, gone marks, resume rows,
reset); the sync's use of it is in test_sync.py, the read side in test_browse.py."""

from __future__ import annotations

import json

import pytest

from pmbot.control_plane import operations
from pmbot.control_plane.cache import ISSUES, PRS, store
from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.protocol import parse_json_texts
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


# -- payloads cut from the page's text -------------------------------------------------------


def _odd_page() -> list[dict]:
    """Items as GitHub may send them: escaped unicode, a missing and a null body, labels as
    strings, a 1 MiB body, a number twice (the later one wins) and both kinds mixed."""
    unicode = _item(1, title='é 😀 \u2028 "quoted" \\ tab\t', pr=True)
    unicode["labels"] = [{"name": "bug 🐛"}, "plain", {"name": "ü"}]
    unicode["body"] = "line\nzero\u0000width\u200b"
    no_body = _item(2)
    del no_body["body"]
    null_body = {**_item(3, "closed"), "body": None}
    huge = {**_item(4), "body": "word " * (1 << 18)}
    first, second = _item(5, title="first"), _item(5, "closed", title="second")
    return [unicode, no_body, null_body, huge, first, _item(6, pr=True), second]


def _cached(conn, repo_id: int) -> list[tuple]:
    """Every cached column of a repo (payloads parsed) and its search rows."""
    rows = []
    for kind in (ISSUES, PRS):
        for row in conn.execute(
            f"SELECT * FROM {kind.table} WHERE repo_id = ? ORDER BY {kind.number}", (repo_id,)
        ):
            values = dict(row)
            values.pop("repo_id")
            values["payload_json"] = json.loads(values["payload_json"])
            rows.append(tuple(values.items()))
    search = [
        row
        for lo, hi in store.repo_search_ranges(conn, repo_id, store.ALL_GROUPS)
        for row in conn.execute(
            f"SELECT rowid >> {store.GROUP_SHIFT}, title, body, kind, number FROM cache_search"
            " WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (lo, hi),
        )
    ]
    return rows + [tuple(r) for r in search]


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_page_written_from_its_texts_equals_the_page_written_from_its_items(conn, ensure_ascii):
    one, two = (operations.add_repo(conn, f"octo/{n}").repo_id for n in ("one", "two"))
    page = _odd_page()
    # The texts as the client cuts them from a page (pretty-printed: whitespace inside stays).
    _, texts = parse_json_texts(json.dumps(page, ensure_ascii=ensure_ascii, indent=1))

    from_text = store.upsert_issue_page(conn, one, page, texts)
    from_items = store.upsert_issue_page(conn, two, page)

    assert (from_text.changed, from_text.delta) == (from_items.changed, from_items.delta)
    assert _cached(conn, one) == _cached(conn, two)
    assert store.upsert_issue_page(conn, one, page, texts).changed == 0
    pulls = [{**page[0], "draft": True, "merged_at": None, "head": {"ref": "ü"}, "base": None}]
    _, pulls_texts = parse_json_texts(json.dumps(pulls, ensure_ascii=ensure_ascii))
    assert store.apply_pull_details(conn, one, pulls, pulls_texts) == 1
    assert store.apply_pull_details(conn, two, pulls) == 1
    assert _cached(conn, one) == _cached(conn, two)


def test_texts_that_are_not_the_pages_items_are_refused(conn):
    repo_id = operations.add_repo(conn, "octo/one").repo_id
    with pytest.raises(ValueError, match="do not match its items"):
        store.upsert_issue_page(conn, repo_id, [_item(1), _item(2)], ["{}"])
