"""Migration 0017: the Work view's "no assignee" filter read from the unassigned items'
partial indexes. Pages and counts are checked against a brute-force answer from the items
as written, for every sort and with gone items asked for or not."""

from __future__ import annotations

import random

import pytest

from pmbot.control_plane.cache import items as work
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import migrate, transaction
from pmbot.control_plane.operations import add_repo
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, ensure_default_workspace
from pmbot.shared.kind import ISSUES, PRS
from tests.conftest import database_before
from tests.test_work_items import item, put

WS = DEFAULT_WORKSPACE_ID


@pytest.fixture
def made(conn) -> tuple[tuple[int, int], dict]:
    """50 items over two repos; then some lose or gain assignees and some go."""
    repos = add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id
    rng, state = random.Random(9), {}
    for n in range(1, 51):
        repo, kind = repos[n % 2], "pr" if n % 5 == 0 else "issue"
        fields = {"kind": kind, "labels": rng.sample(["bug", "p1"], rng.randrange(0, 3)),
                  "assignees": rng.sample(["ann", "bob"], rng.randrange(0, 3)),
                  "state": rng.choice(["open", "closed"]), "comments": rng.randrange(9),
                  "day": rng.randrange(1, 28)}  # fmt: skip
        put(conn, repo, item(n, **fields))
        state[(repo, kind, n)] = {**fields, "gone": False}
    for key in rng.sample(sorted(state), 15):  # rewritten with other assignees
        repo, kind, n = key
        state[key]["assignees"] = [] if state[key]["assignees"] else ["ann"]
        put(conn, repo, item(n, **{k: v for k, v in state[key].items() if k != "gone"}))
    for key in rng.sample(sorted(state), 6):
        repo, kind, n = key
        with transaction(conn):
            cache.mark_gone(conn, repo, [(PRS if kind == "pr" else ISSUES, n, "deleted", None)])
        state[key]["gone"] = True
    return repos, state


def expected(state: dict, f: work.WorkFilter) -> list[tuple]:
    return sorted(
        key for key, s in state.items()
        if not s["assignees"] and all(label in s["labels"] for label in f.labels)
        and (f.state == "all" or s["state"] == f.state) and (f.include_gone or not s["gone"])
    )  # fmt: skip


@pytest.mark.parametrize("sort", ["updated", "created", "comments"])
@pytest.mark.parametrize("include_gone", [False, True])
@pytest.mark.parametrize("labels", [(), ("bug",)])
@pytest.mark.parametrize("walk", [False, True])
def test_no_assignee_pages_and_counts_equal_a_brute_force_answer(
    conn, made, monkeypatch, sort, include_gone, labels, walk
):
    if walk:
        monkeypatch.setattr(work, "DRIVE_BELOW", -1)
    repos, state = made
    f = work.WorkFilter(no_assignee=True, labels=labels, state="all", sort=sort,
                        include_gone=include_gone)  # fmt: skip
    want = expected(state, f)
    paged, after = [], None
    while True:
        page = work.list_items(conn, f, WS, limit=4, after=after)
        paged += [(i["repo_id"], i["kind"], i["number"]) for i in page.items]
        if page.next is None:
            break
        after = page.next
    assert sorted(paged) == want and len(set(paged)) == len(paged)
    counts = {c["repo_id"]: c["count"] for c in work.count_items(conn, f, WS)}
    assert counts == {r: n for r in repos if (n := sum(key[0] == r for key in want))}
    assert want


def test_the_migration_indexes_items_cached_before_it(tmp_path):
    conn = database_before(tmp_path, "0017")
    ensure_default_workspace(conn)
    repo_id = add_repo(conn, "octo/old").repo_id
    put(conn, repo_id, item(1, assignees=["ann"]), item(2), item(3))  # the write side before
    assert migrate(conn)[0].path.name == "0017_work_unassigned.sql"
    f = work.WorkFilter(no_assignee=True)
    assert [i["number"] for i in work.list_items(conn, f, WS).items] == [3, 2]
    assert work.count_items(conn, f, WS) == [
        {"repo_id": repo_id, "full_name": "octo/old", "count": 2}
    ]
    conn.close()
