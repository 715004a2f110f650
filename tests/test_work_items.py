"""cache/items.py and migrations 0014-0015: the Work view's side tables, filters and keyset paging.

Rows go in through the real write side (`cache.store`), which keeps the side tables
(a random mix of writes checks them against what the item rows say).
"""

from __future__ import annotations

import json
import random

import pytest

from pmbot.control_plane.cache import items as work
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import migrate, transaction
from pmbot.control_plane.operations import add_repo, remove_repo
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, ensure_default_workspace
from pmbot.shared.kind import ISSUES, PRS
from tests.conftest import database_before

WS = DEFAULT_WORKSPACE_ID


def item(number: int, *, kind: str = "issue", **fields) -> dict:
    """A GitHub-shaped item of the issues listing (`assignees` as logins)."""
    day = fields.pop("day", number)
    assignees = fields.pop("assignees", ())
    value = {
        "number": number, "title": f"Item {number}", "body": "", "state": "open",
        "labels": [], "user": {"login": "octocat"}, "comments": 0,
        "created_at": f"2026-01-01T00:{number % 60:02d}:00Z",
        "updated_at": f"2026-01-{day:02d}T00:00:00Z", "closed_at": None,
        "html_url": f"https://github.com/o/r/issues/{number}",
        "assignees": [{"login": login, "id": 1} for login in assignees],
    }  # fmt: skip
    value.update(fields)
    value["labels"] = [{"name": n} for n in value["labels"]]
    if kind == "pr":
        value["pull_request"] = {"url": value["html_url"]}
    return value


def put(conn, repo_id: int, *items: dict) -> None:
    with transaction(conn):
        cache.upsert_issue_page(conn, repo_id, list(items))


def side_rows(conn, table: str, column: str) -> list[tuple]:
    return conn.execute(
        f"SELECT repo_id, kind, number, {column} FROM {table} ORDER BY 1, 2, 3, 4"
    ).fetchall()


def numbers(page: work.Page) -> list[tuple[str, int]]:
    return [(i["kind"], i["number"]) for i in page.items]


@pytest.fixture(params=["start from few matches", "walk the sort's index"])
def plans(request, monkeypatch) -> None:
    """Both query plans: starting from a filter with few matches, or walking the index."""
    if request.param == "walk the sort's index":
        monkeypatch.setattr(work, "DRIVE_BELOW", -1)


@pytest.fixture
def repos(conn) -> tuple[int, int]:
    return add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id


def test_the_write_side_keeps_labels_and_assignees_through_upsert_gone_and_removal(conn, repos):
    one, two = repos
    put(conn, one, item(1, labels=["bug", "p1"], assignees=["ann"]), item(2, kind="pr"))
    put(conn, two, item(1, labels=["bug"], assignees=["bob", "ann"]))
    assert [tuple(r) for r in side_rows(conn, "item_labels", "label")] == [
        (one, "issue", 1, "bug"), (one, "issue", 1, "p1"), (two, "issue", 1, "bug"),
    ]  # fmt: skip
    put(conn, one, item(1, labels=["docs"], assignees=[], day=9))
    assert [tuple(r) for r in side_rows(conn, "item_assignees", "login")] == [
        (two, "issue", 1, "ann"), (two, "issue", 1, "bob"),
    ]  # fmt: skip
    assert [r[3] for r in side_rows(conn, "item_labels", "label") if r[0] == one] == ["docs"]
    # Each side row follows its item's state and liveness (a label's open items: one range).
    put(conn, two, item(1, labels=["bug"], assignees=["bob"], state="closed", day=10))
    cache.mark_gone(conn, one, [(ISSUES, 1, "deleted", None)])
    labels = conn.execute("SELECT repo_id, label, state, live FROM item_labels ORDER BY 1")
    assert [tuple(r) for r in labels] == [(one, "docs", "open", 0), (two, "bug", "closed", 1)]
    assignees = conn.execute("SELECT login, state, live FROM item_assignees")
    assert [tuple(r) for r in assignees] == [("bob", "closed", 1)]
    remove_repo(conn, two)
    assert side_rows(conn, "item_assignees", "login") == []
    assert {(r[0], r[1], r[2]) for r in side_rows(conn, "item_versions", "version")} == {
        (one, "issue", 1), (one, "pr", 2),
    }  # fmt: skip


def test_a_pulls_payload_and_a_plain_delete_keep_the_side_rows(conn, repos):
    """/pulls details refresh the assignees; a delete by any path drops the side rows (the
    delete triggers stay, migration 0015)."""
    one, _ = repos
    put(conn, one, item(3, kind="pr", labels=["bug"], assignees=["ann"]))
    pull = {**item(3, kind="pr", assignees=["cy"]), "draft": True, "head": {}, "base": {}}
    before = conn.execute("SELECT version FROM item_versions").fetchone()[0]
    cache.apply_pull_details(conn, one, [{**pull, "updated_at": "2026-02-01T00:00:00Z"}])
    assert [r[3] for r in side_rows(conn, "item_assignees", "login")] == ["cy"]
    assert conn.execute("SELECT version FROM item_versions").fetchone()[0] > before
    # A /pulls page that lists the PR twice (GitHub's pages can overlap) is written once.
    twice = {**pull, "updated_at": "2026-03-01T00:00:00Z", "draft": False}
    with transaction(conn):
        assert cache.apply_pull_details(conn, one, [twice, twice]) == 2
    assert stored_side_rows(conn) == derived_side_rows(conn)
    conn.execute("DELETE FROM github_pull_requests WHERE pr_number = 3")
    for table, column in (("item_labels", "label"), ("item_assignees", "login"),
                          ("item_versions", "version")):  # fmt: skip
        assert side_rows(conn, table, column) == []


def derived_side_rows(conn) -> tuple[list, list, list]:
    """What the side tables must hold, derived from the item rows alone."""
    parts = [
        ("github_issues", "issue_number", "issue"),
        ("github_pull_requests", "pr_number", "pr"),
    ]
    labels, assignees, versions = [], [], []
    for table, number, kind in parts:
        for column, into in (("labels_json", labels), ("assignees_json", assignees)):
            into += conn.execute(
                f"SELECT DISTINCT t.repo_id, '{kind}', t.{number}, j.value, t.state,"
                f" t.gone IS NULL FROM {table} AS t, json_each(t.{column}) AS j"
            ).fetchall()
        versions += conn.execute(f"SELECT repo_id, '{kind}', {number} FROM {table}").fetchall()
    return sorted(map(tuple, labels)), sorted(map(tuple, assignees)), sorted(map(tuple, versions))


def stored_side_rows(conn) -> tuple[list, list, list]:
    return tuple(
        sorted(map(tuple, conn.execute(f"SELECT {columns} FROM {table}")))
        for table, columns in (
            ("item_labels", "repo_id, kind, number, label, state, live"),
            ("item_assignees", "repo_id, kind, number, login, state, live"),
            ("item_versions", "repo_id, kind, number"),
        )
    )


def test_side_rows_equal_what_the_items_say_after_any_mix_of_writes(conn, repos):
    """Pages, /pulls details, gone marks, resets and removals in a random order: the side
    rows the write side keeps always equal those derived from the items, and every write
    of an item gives it a newer version."""
    rng = random.Random(15)
    names, logins = ["bug", "p1", "docs", "ui"], ["ann", "bob", "cy"]
    live = list(repos)
    for step in range(120):
        repo_id = rng.choice(live)
        action = rng.random()
        if action < 0.6:
            page = [
                item(n, kind="pr" if n % 3 == 0 else "issue", day=1 + step % 28,
                     state=rng.choice(["open", "closed"]),
                     labels=rng.sample(names, rng.randint(0, 3)),
                     assignees=rng.sample(logins, rng.randint(0, 2)))
                for n in rng.sample(range(1, 40), rng.randint(1, 12))
            ]  # fmt: skip
            put(conn, repo_id, *page)
        elif action < 0.75:
            pulls = [{**item(n, kind="pr", assignees=rng.sample(logins, rng.randint(0, 2))),
                      "updated_at": f"2026-03-{1 + step % 28:02d}T00:00:00Z",
                      "draft": rng.random() < 0.5, "head": {}, "base": {}}
                     for n in range(3, 40, 3)]  # fmt: skip
            with transaction(conn):
                cache.apply_pull_details(conn, repo_id, pulls)
        elif action < 0.9:
            marks = [(rng.choice([ISSUES, PRS]), rng.randint(1, 39), "deleted", None)
                     for _ in range(4)]  # fmt: skip
            with transaction(conn):
                cache.mark_gone(conn, repo_id, marks)
        elif action < 0.97:
            with transaction(conn):
                cache.reset_cache(conn, [repo_id])
            cache.purge(conn, repo_id, batch_rows=5)
        elif len(live) > 1:
            remove_repo(conn, repo_id)
            live.remove(repo_id)
        assert stored_side_rows(conn) == derived_side_rows(conn), f"step {step}"
    assert derived_side_rows(conn)[0], "the mix left labelled items to check"


def test_the_write_side_refreshes_side_rows_after_the_triggers_went(tmp_path):
    """Migration 0015 drops the insert and update triggers: rows cached before it keep
    their side rows, and writes after it keep them through the write side."""
    conn = database_before(tmp_path, "0015")
    ensure_default_workspace(conn)
    repo_id = add_repo(conn, "octo/old").repo_id
    # Rows as the code before wrote them; its triggers made their side rows.
    for table, column, number, labels, assignees in (
        ("github_issues", "issue_number", 1, '["bug"]', '["ann"]'),
        ("github_pull_requests", "pr_number", 2, "[]", "[]"),
    ):
        conn.execute(
            f"INSERT INTO {table} (repo_id, {column}, state, title, labels_json, assignees_json,"
            " created_at, updated_at, html_url, payload_json) VALUES (?, ?, 'open', 't', ?, ?,"
            " '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'u', '{}')",
            (repo_id, number, labels, assignees),
        )
    assert len(stored_side_rows(conn)[2]) == 2
    migrate(conn)
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert not {t for t in triggers if t.endswith(("_work_insert", "_work_update"))}
    assert stored_side_rows(conn) == derived_side_rows(conn)
    put(conn, repo_id, item(1, labels=["docs"], assignees=["bob"], day=20), item(3, kind="pr"))
    assert stored_side_rows(conn) == derived_side_rows(conn)
    assert [r[3] for r in side_rows(conn, "item_labels", "label")] == ["docs"]
    conn.close()


def test_the_migration_backfills_a_database_cached_before_it(tmp_path):
    conn = database_before(tmp_path, "0014")
    ensure_default_workspace(conn)
    repo_id = add_repo(conn, "octo/old").repo_id
    # Rows as the code before the migration wrote them: assignees only in the payload.
    for table, column, number, labels, value in (
        ("github_issues", "issue_number", 1, '["bug"]', item(1, assignees=["ann"])),
        ("github_pull_requests", "pr_number", 2, "[]", item(2, kind="pr")),
    ):
        conn.execute(
            f"INSERT INTO {table} (repo_id, {column}, state, title, labels_json, created_at,"
            " updated_at, html_url, payload_json) VALUES (?, ?, 'open', 't', ?, ?, ?, 'u', ?)",
            (repo_id, number, labels, value["created_at"], value["updated_at"], json.dumps(value)),
        )
    migrate(conn)
    assert [tuple(r) for r in side_rows(conn, "item_labels", "label")] == [
        (repo_id, "issue", 1, "bug")
    ]
    assert [tuple(r) for r in side_rows(conn, "item_assignees", "login")] == [
        (repo_id, "issue", 1, "ann")
    ]
    assert len(side_rows(conn, "item_versions", "version")) == 2
    conn.close()


def test_the_text_filter_finds_an_item_at_the_search_rowid_the_write_side_gave_it(
    conn, repos, plans
):
    """items.py spells store.search_rowid's layout in SQL; this holds the two together."""
    one, two = repos
    put(conn, two, item(7, kind="pr", title="Sprocket jam"))
    put(conn, one, item(7, title="Sprocket jam too"))
    put(conn, two, item(8, kind="pr", title="Sprocket shut", state="closed"))
    put(conn, one, item(9, title="Sprocket lost", state="closed"))
    with transaction(conn):
        cache.mark_gone(conn, one, [(ISSUES, 9, "deleted", None)])
    slot = conn.execute("SELECT slot FROM cache_search_repos WHERE repo_id = ?", (two,))
    rowid = cache.search_rowid(slot.fetchone()[0], cache.search_group(PRS, "open", None), 7)
    assert conn.execute("SELECT title FROM cache_search WHERE rowid = ?", (rowid,)).fetchone()[0]
    page = work.list_items(conn, work.WorkFilter(text="sprocket"), WS)
    assert [(i["repo_id"], i["kind"]) for i in page.items] == [(two, "pr"), (one, "issue")]
    assert (
        work.list_items(conn, work.WorkFilter(text="jam", kind="issue"), WS).items[0]["repo_id"]
        == one
    )
    everything = work.WorkFilter(text="sprocket", state="all", include_gone=True, sort="created")
    found = {(i["repo_id"], i["number"]) for i in work.list_items(conn, everything, WS).items}
    assert found == {(two, 7), (two, 8), (one, 7), (one, 9)}
    closed = work.WorkFilter(text="sprocket", state="closed", sort="created")
    assert [i["number"] for i in work.list_items(conn, closed, WS).items] == [8]


@pytest.fixture
def mixed(conn, repos) -> tuple[int, int]:
    one, two = repos
    put(conn, one,
        item(1, labels=["bug"], assignees=["ann"], comments=5),
        item(2, labels=["bug", "p1"], comments=1, user={"login": "bob"}),
        item(3, kind="pr", labels=["bug"], state="closed", closed_at="2026-01-03T00:00:00Z"),
        item(4, kind="pr", title="Draft widget", body="the sprocket"),
        item(5, title="Gone one"))  # fmt: skip
    put(conn, two, item(1, labels=["p1"], assignees=["ann", "bob"], comments=9, day=20))
    cache.apply_pull_details(conn, one, [{**item(4, kind="pr"), "draft": True}])
    cache.mark_gone(conn, one, [(ISSUES, 5, "deleted", None)])
    return repos


@pytest.mark.parametrize(
    ("work_filter", "expected"),
    [
        (work.WorkFilter(), [("issue", 1, 2), ("pr", 4, 1), ("issue", 2, 1), ("issue", 1, 1)]),
        (work.WorkFilter(kind="pr", state="all"), [("pr", 4, 1), ("pr", 3, 1)]),
        (work.WorkFilter(labels=("bug", "p1")), [("issue", 2, 1)]),
        (work.WorkFilter(labels=("bug",), no_assignee=True), [("issue", 2, 1)]),
        (work.WorkFilter(assignee="bob"), [("issue", 1, 2)]),
        (work.WorkFilter(author="bob"), [("issue", 2, 1)]),
        (work.WorkFilter(labels=("bug",), author="bob"), [("issue", 2, 1)]),
        (
            work.WorkFilter(assignee="ann", state="all", text="item"),
            [("issue", 1, 2), ("issue", 1, 1)],
        ),
        (work.WorkFilter(draft=True), [("pr", 4, 1)]),
        (work.WorkFilter(draft=False, state="all"), [("pr", 3, 1)]),
        (work.WorkFilter(updated_since="2026-01-04T00:00:00Z"), [("issue", 1, 2), ("pr", 4, 1)]),
        (work.WorkFilter(text="sprocket"), [("pr", 4, 1)]),
        (work.WorkFilter(state="closed"), [("pr", 3, 1)]),
        (work.WorkFilter(include_gone=True, kind="issue", labels=()), None),
        (work.WorkFilter(labels=("nothing",)), []),
    ],
)
def test_each_filter_narrows_the_view(conn, mixed, plans, work_filter, expected):
    one, two = mixed
    page = work.list_items(conn, work_filter, WS)
    found = [(i["kind"], i["number"], 1 if i["repo_id"] == one else 2) for i in page.items]
    if expected is None:  # include_gone: the gone issue comes back, with its reason
        assert ("issue", 5, 1) in found
        gone = next(i for i in page.items if i["number"] == 5)
        assert gone["gone"] == "deleted" and gone["gone_reason"].startswith("deleted")
        return
    assert found == expected
    counts = {c["repo_id"]: c["count"] for c in work.count_items(conn, work_filter, WS)}
    assert counts == {
        repo: n
        for repo, n in (
            (one, sum(r == 1 for *_, r in found)),
            (two, sum(r == 2 for *_, r in found)),
        )
        if n
    }


def test_a_row_shows_what_the_work_page_needs(conn, mixed):
    _, two = mixed
    first = work.list_items(conn, work.WorkFilter(), WS).items[0]
    assert first == {
        "repo_id": two, "full_name": "octo/two", "kind": "issue", "number": 1,
        "title": "Item 1", "state": "open", "labels": ["p1"], "user": "octocat",
        "assignees": ["ann", "bob"], "comments": 9, "created_at": "2026-01-01T00:01:00Z",
        "updated_at": "2026-01-20T00:00:00Z", "closed_at": None,
        "html_url": "https://github.com/o/r/issues/1", "draft": None, "gone": None,
        "gone_reason": None, "moved_to": None,
    }  # fmt: skip


@pytest.mark.parametrize("sort", ["updated", "created", "comments"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_pages_follow_the_sort_in_either_direction(conn, mixed, sort, direction):
    f = work.WorkFilter(state="all", sort=sort, direction=direction, include_gone=True)
    whole = work.list_items(conn, f, WS, limit=50).items
    keys = [(i[work.SORTS[sort]], i["repo_id"], i["number"], i["kind"]) for i in whole]
    assert keys == sorted(keys, reverse=direction == "desc") and len(keys) == 6
    paged, after = [], None
    while True:
        page = work.list_items(conn, f, WS, limit=2, after=after)
        paged += page.items
        if page.next is None:
            break
        after = page.next
    assert paged == whole


def test_paging_while_a_writer_updates_shows_no_item_twice_and_skips_none_unchanged(
    conn, repos, plans
):
    """Between pages a writer changes random items (new updated_at, comments, state) and adds
    new ones; every item not written during paging is seen exactly once, none twice."""
    rng = random.Random(17)
    for repo in repos:
        put(conn, repo, *(item(n, comments=rng.randrange(9), day=rng.randrange(1, 28))
                          for n in range(1, 41)))  # fmt: skip
    for sort in ("updated", "comments"):
        for direction in ("desc", "asc"):
            f = work.WorkFilter(state="all", sort=sort, direction=direction)
            touched: set[tuple[int, int]] = set()
            seen: list[tuple[int, int]] = []
            before = {(i["repo_id"], i["number"]) for i in work.list_items(conn, f, WS, 500).items}
            page = work.list_items(conn, f, WS, limit=7)
            while True:
                seen += [(i["repo_id"], i["number"]) for i in page.items]
                if page.next is None:
                    break
                for _ in range(4):
                    repo, n = rng.choice(repos), rng.randrange(1, 45)
                    state = rng.choice(["open", "closed"])
                    put(conn, repo, item(n, comments=rng.randrange(9), day=28, state=state))
                    touched.add((repo, n))
                page = work.list_items(conn, f, WS, limit=7, after=page.next)
            assert len(seen) == len(set(seen)), (sort, direction)
            assert before - touched <= set(seen), (sort, direction)


def test_only_tracked_repos_are_accepted(conn, repos):
    with pytest.raises(work.WorkFilterError) as raised:
        work.check_repos(conn, work.WorkFilter(repo_ids=(repos[0], 999)), WS)
    assert raised.value.problem_fields() == {"field": "repo_id"}
    assert "999" in str(raised.value)
