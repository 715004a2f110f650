"""Migrations 0016 and 0018: each search row sits in the rowid range of its item's kind,
state and liveness (its group), kept in step by every write, and the text filters, counts
and search that read those ranges.

Rows go in through the real write side (`cache.store`); the expected answers are counted
by brute force over the items' own columns, never through the search index's groups.
"""

from __future__ import annotations

import random
import re

import pytest

from pmbot.control_plane.cache import browse
from pmbot.control_plane.cache import items as work
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import migrate, transaction
from pmbot.control_plane.operations import add_repo, remove_repo, reset_cache
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, ensure_default_workspace
from pmbot.shared.kind import ISSUES, PRS
from tests.conftest import database_before
from tests.test_work_items import item, plans, put  # noqa: F401 (a fixture)

WS = DEFAULT_WORKSPACE_ID
WORDS = ("sprocket", "gear", "widget", "axle")


def groups(conn) -> dict[int, int]:
    """rowid → group of every search row."""
    rows = conn.execute(f"SELECT rowid, rowid >> {cache.GROUP_SHIFT} FROM cache_search")
    return dict(rows.fetchall())


def groups_of_items(conn) -> dict[int, int]:
    """Where every item's search row should be, and its group, from the item tables alone."""
    expected = {}
    for kind in (ISSUES, PRS):
        rows = conn.execute(
            f"SELECT c.slot, t.{kind.number}, t.state, t.gone FROM {kind.table} AS t"
            " JOIN cache_search_repos AS c ON c.repo_id = t.repo_id"
        ).fetchall()
        for slot, number, state, gone in rows:
            group = cache.search_group(kind, state, gone)
            expected[cache.search_rowid(slot, group, number)] = group
    return expected


def old_rowid(slot: int, kind, number: int) -> int:
    """A search row's rowid before migration 0018."""
    return slot << 32 | number << 1 | (kind is PRS)


OPEN_ISSUE, OPEN_PR, CLOSED_ISSUE, CLOSED_PR = 0, 1, 2, 3
GONE = 4


@pytest.fixture
def repos(conn) -> tuple[int, int]:
    return add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id


def test_the_groups_are_the_items_kind_state_and_liveness():
    assert [cache.search_group(ISSUES, "open", None), cache.search_group(PRS, "open", None),
            cache.search_group(ISSUES, "closed", None), cache.search_group(PRS, "closed", None),
            cache.search_group(ISSUES, "open", "deleted"),
            cache.search_group(PRS, "closed", "transferred")] == [0, 1, 2, 3, 4, 7]  # fmt: skip
    # One state of both kinds, or every live item, is one range of all repos; a repo's
    # rows are one range a group.
    assert cache.search_ranges([OPEN_ISSUE, OPEN_PR]) == [(0, (2 << 59) - 1)]
    assert cache.search_ranges(cache.LIVE_GROUPS) == [(0, (4 << 59) - 1)]
    assert cache.search_ranges([OPEN_ISSUE, CLOSED_ISSUE]) == [
        (0, (1 << 59) - 1), (2 << 59, (3 << 59) - 1)
    ]  # fmt: skip
    assert cache.search_ranges([OPEN_PR], slot=3) == [
        ((1 << 59) | (3 << 31), ((1 << 59) | (4 << 31)) - 1)
    ]
    with pytest.raises(ValueError):
        cache.search_rowid(1, OPEN_ISSUE, cache.MAX_NUMBER + 1)
    with pytest.raises(ValueError):
        cache.search_rowid(cache.MAX_SLOT + 1, OPEN_ISSUE, 1)


def test_every_write_keeps_the_search_row_in_its_items_group(conn, repos):
    one, two = repos
    put(conn, one, item(1, title="Sprocket"), item(2, kind="pr", title="Gear"))
    put(conn, two, item(1, title="Sprocket", state="closed"))
    assert groups(conn) == groups_of_items(conn)
    assert sorted(groups(conn).values()) == [OPEN_ISSUE, OPEN_PR, CLOSED_ISSUE]

    put(conn, one, item(1, title="Sprocket", state="closed"))  # closed
    with transaction(conn):
        cache.mark_gone(conn, one, [(PRS, 2, "deleted", None)])
    assert groups(conn) == groups_of_items(conn)
    assert sorted(groups(conn).values()) == [CLOSED_ISSUE, CLOSED_ISSUE, GONE | OPEN_PR]
    # The row moved with its text: the gone PR is found when gone items are asked for.
    gone = work.WorkFilter(text="gear", kind="pr", include_gone=True)
    assert [i["gone"] for i in work.list_items(conn, gone, WS).items] == ["deleted"]

    put(conn, one, item(2, kind="pr", title="Gear", state="closed"))  # back, and closed
    assert groups(conn) == groups_of_items(conn)
    assert CLOSED_PR in groups(conn).values()
    put(conn, one, item(2, kind="pr", title="Gear wheel", state="closed"))  # same group
    assert groups(conn) == groups_of_items(conn) and len(groups(conn)) == 3
    wheel = work.WorkFilter(text="wheel", state="closed")
    assert work.count_items(conn, wheel, WS)[0]["count"] == 1


def test_a_purge_never_leaves_a_search_row_without_its_item(conn, repos, monkeypatch):
    """Removal and reset delete in batches: after each one, every search row left still has
    its item (the text counts read the index alone)."""
    one, two = repos
    put(conn, one, *(item(n, title="Sprocket", kind="pr" if n % 3 else "issue",
                          state="closed" if n % 2 else "open") for n in range(1, 8)))  # fmt: skip
    with transaction(conn):
        cache.mark_gone(conn, one, [(ISSUES, 3, "deleted", None)])
    put(conn, two, item(1, title="Sprocket"))
    real_batch, seen = cache._purge_batch, []

    def checked(conn, repo_id, limit):
        done = real_batch(conn, repo_id, limit)
        assert set(groups(conn)) <= set(groups_of_items(conn))
        seen.append(done)
        return done

    monkeypatch.setattr(cache, "_purge_batch", checked)
    reset_cache(conn, [two], actor="test")
    cache.purge(conn, batch_rows=2)
    remove_repo(conn, one)
    cache.purge(conn, batch_rows=2)
    assert seen and groups(conn) == {} and groups_of_items(conn) == {}


@pytest.fixture
def mixed_cache(conn, repos) -> list[dict]:
    """60 items over two repos: both kinds, both states, some gone, random words."""
    rng = random.Random(5)
    made = []
    for n in range(1, 61):
        repo = repos[n % 2]
        kind = "pr" if n % 4 == 0 else "issue"
        title = " ".join(rng.sample(WORDS, rng.randrange(1, 3))).capitalize()
        body = " ".join(rng.choices((*WORDS, "and", "the"), k=rng.randrange(0, 6)))
        state = rng.choice(["open", "closed"])
        labels = ["x"] if rng.random() < 0.5 else []
        put(conn, repo, item(n, kind=kind, title=title, body=body, state=state, labels=labels,
                             day=rng.randrange(1, 28)))  # fmt: skip
        gone = rng.random() < 0.15
        if gone:
            with transaction(conn):
                cache.mark_gone(conn, repo, [(PRS if kind == "pr" else ISSUES, n, "deleted", None)])
        made.append({"repo_id": repo, "kind": kind, "number": n, "state": state, "gone": gone,
                     "labels": labels, "text": f"{title} {body}".lower()})  # fmt: skip
    return made


def brute_force(made: list[dict], f: work.WorkFilter) -> list[dict]:
    words = f.text.lower().split()
    return [
        m for m in made
        if all(re.search(rf"\b{w}\b", m["text"]) for w in words)
        and (f.state == "all" or m["state"] == f.state)
        and (f.kind is None or m["kind"] == f.kind)
        and (f.include_gone or not m["gone"])
        and (not f.repo_ids or m["repo_id"] in f.repo_ids)
        and set(f.labels) <= set(m["labels"])
    ]  # fmt: skip


TEXT_FILTERS = [
    {"text": "sprocket"},
    {"text": "gear", "state": "closed"},
    {"text": "widget axle", "state": "all"},
    {"text": "sprocket", "kind": "pr", "state": "all"},
    {"text": "gear", "kind": "issue", "include_gone": True, "state": "all"},
    {"text": "axle", "include_gone": True},
    {"text": "axle", "state": "closed", "include_gone": True, "sort": "created"},
    {"text": "gear", "labels": ("x",), "state": "all"},
]


@pytest.mark.usefixtures("plans")
@pytest.mark.parametrize("fields", TEXT_FILTERS)
def test_text_counts_and_pages_equal_a_brute_force_count(conn, repos, mixed_cache, fields):
    f = work.WorkFilter(**fields)
    expected = brute_force(mixed_cache, f)
    counts = {c["repo_id"]: c["count"] for c in work.count_items(conn, f, WS)}
    assert counts == {r: n for r in repos if (n := sum(m["repo_id"] == r for m in expected))}
    assert sum(counts.values()) > 0
    page = work.list_items(conn, f, WS, limit=100)
    assert sorted((i["repo_id"], i["kind"], i["number"]) for i in page.items) == sorted(
        (m["repo_id"], m["kind"], m["number"]) for m in expected
    )
    one = work.WorkFilter(**fields, repo_ids=(repos[0],))
    assert [c["repo_id"] for c in work.count_items(conn, one, WS)] in ([repos[0]], [])


@pytest.mark.parametrize("state", [None, "open", "closed"])
def test_search_finds_what_brute_force_finds_and_never_a_gone_item(conn, repos, mixed_cache, state):
    query = browse.SearchQuery(text="sprocket", state=state, limit=100)
    found = browse.search(conn, query, WS)
    expected = brute_force(mixed_cache, work.WorkFilter(text="sprocket", state=state or "all"))
    assert sorted((r["repo_id"], r["kind"], r["number"]) for r in found) == sorted(
        (m["repo_id"], m["kind"], m["number"]) for m in expected
    )
    assert browse.count_matches(conn, query, WS) == (len(expected), False)


@pytest.mark.parametrize("state", [None, "open", "closed"])
def test_a_repos_search_pages_are_its_rows_of_the_whole_search_in_the_same_order(
    conn, repos, mixed_cache, state
):
    """A repo's rows are one rowid range a group: its search merges the ranges' best rows
    by rank, so it equals the search of all repos with the other repo's rows left out, and
    its pages, of any size, follow one another."""
    everything = browse.search(conn, browse.SearchQuery(text="gear", state=state, limit=100), WS)
    for repo in repos:
        query = browse.SearchQuery(text="gear", repo_id=repo, state=state, limit=100)
        expected = [r for r in everything if r["repo_id"] == repo]
        assert expected and browse.search(conn, query, WS) == expected
        paged = []
        for offset in range(0, len(expected) + 3, 3):
            page = browse.SearchQuery(text="gear", repo_id=repo, state=state, limit=3,
                                      offset=offset)  # fmt: skip
            paged += browse.search(conn, page, WS)
        assert paged == expected
        assert browse.count_matches(conn, query, WS) == (len(expected), False)


def test_migration_0016_then_0018_put_each_search_row_in_its_items_group(tmp_path):
    conn = database_before(tmp_path, "0016")
    ensure_default_workspace(conn)
    one = add_repo(conn, "octo/old").repo_id
    conn.execute("INSERT INTO cache_search_repos (repo_id, slot) VALUES (?, 1)", (one,))
    # Rows as the code before the migration wrote them (no facet column).
    for kind, number, state, gone in (
        (ISSUES, 1, "open", None),
        (ISSUES, 2, "closed", None),
        (PRS, 3, "open", "deleted"),
        (PRS, 4, "closed", None),
    ):
        conn.execute(
            f"INSERT INTO {kind.table} (repo_id, {kind.number}, state, title, created_at,"
            " updated_at, html_url, payload_json, gone) VALUES (?, ?, ?, 'Sprocket jam',"
            " '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'u', '{}', ?)",
            (one, number, state, gone),
        )
        conn.execute(
            "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
            " VALUES (?, 'Sprocket jam', 'in the gear', ?, ?, ?)",
            (old_rowid(1, kind, number), one, kind.search_kind, number),
        )
    # A search row whose item is not cached (a removal cut short): it showed nowhere, and goes.
    conn.execute(
        "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
        " VALUES (?, 'Sprocket orphan', '', ?, 'issue', 9)",
        (old_rowid(1, ISSUES, 9), one),
    )

    applied = migrate(conn)

    assert applied[0].path.name == "0016_search_facets.sql"  # and any later ones
    assert groups(conn) == groups_of_items(conn)
    assert sorted(groups(conn).values()) == [OPEN_ISSUE, CLOSED_ISSUE, CLOSED_PR, GONE | OPEN_PR]
    found = browse.search(conn, browse.SearchQuery(text="sprocket"), WS)
    assert [(r["kind"], r["number"]) for r in found] == [("issue", 1), ("issue", 2), ("pr", 4)]
    counts = work.count_items(conn, work.WorkFilter(text="gear", state="all"), WS)
    assert counts == [{"repo_id": one, "full_name": "octo/old", "count": 3}]
    # Migration 0018 took the facet and its rank setting away: FTS5's default bm25.
    assert conn.execute("SELECT v FROM cache_search_config WHERE k = 'rank'").fetchone() is None
    conn.close()


def test_migration_0018_moves_each_search_row_from_its_facet_to_its_group(tmp_path):
    conn = database_before(tmp_path, "0018")
    ensure_default_workspace(conn)
    one, two = add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id
    conn.executemany(
        "INSERT INTO cache_search_repos (repo_id, slot) VALUES (?, ?)", [(one, 1), (two, 2)]
    )
    rows = [  # (repo, slot, kind, number, state, gone) as 0016's code wrote them
        (one, 1, ISSUES, 1, "open", None), (one, 1, ISSUES, 2, "closed", None),
        (one, 1, PRS, 3, "open", "deleted"), (two, 2, PRS, 4, "closed", None),
        (two, 2, PRS, cache.MAX_NUMBER, "open", None), (two, 2, ISSUES, 6, "closed", "transferred"),
    ]  # fmt: skip
    for repo, slot, kind, number, state, gone in rows:
        conn.execute(
            f"INSERT INTO {kind.table} (repo_id, {kind.number}, state, title, created_at,"
            " updated_at, html_url, payload_json, gone) VALUES (?, ?, ?, 'Sprocket jam',"
            " '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'u', '{}', ?)",
            (repo, number, state, gone),
        )
        conn.execute(
            "INSERT INTO cache_search (rowid, title, body, facet, repo_id, kind, number)"
            " VALUES (?, 'Sprocket jam', 'in the gear', ?, ?, ?, ?)",
            (old_rowid(slot, kind, number), f"{kind.search_kind}{state}{'gone' if gone else ''}",
             repo, kind.search_kind, number),
        )  # fmt: skip

    applied = migrate(conn)

    assert applied[0].path.name == "0018_search_groups.sql"
    assert groups(conn) == groups_of_items(conn) and len(groups(conn)) == 6
    columns = [r[1] for r in conn.execute("PRAGMA table_info(cache_search)")]
    assert columns == ["title", "body", "repo_id", "kind", "number"]
    everything = work.WorkFilter(text="gear", state="all", include_gone=True)
    assert [(i["repo_id"], i["number"]) for i in work.list_items(conn, everything, WS).items] == [
        (two, cache.MAX_NUMBER), (two, 6), (two, 4), (one, 3), (one, 2), (one, 1)
    ]  # fmt: skip
    found = browse.search(conn, browse.SearchQuery(text="sprocket", repo_id=two), WS)
    assert sorted(r["number"] for r in found) == [4, cache.MAX_NUMBER]  # ranked alike
    assert [r["snippet"][0] for r in found] == [{"text": "Sprocket", "hit": True}] * 2
    conn.close()
