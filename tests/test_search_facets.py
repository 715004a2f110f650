"""Migration 0016: each search row's facet token (its item's kind, state and liveness), kept
in step by every write, and the text filters, counts and search that read it.

Rows go in through the real write side (`cache.store`); the expected answers are counted
by brute force over the items' own columns, never through the search index's facets.
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
from tests.test_work_items import item, put

WS = DEFAULT_WORKSPACE_ID
WORDS = ("sprocket", "gear", "widget", "axle")


def facets(conn) -> dict[int, str]:
    return dict(conn.execute("SELECT rowid, facet FROM cache_search").fetchall())


def facets_of_items(conn) -> dict[int, str]:
    """What every search row's facet should be, from the item tables alone."""
    expected = {}
    for kind in (ISSUES, PRS):
        rows = conn.execute(
            f"SELECT c.slot, t.{kind.number}, t.state, t.gone FROM {kind.table} AS t"
            " JOIN cache_search_repos AS c ON c.repo_id = t.repo_id"
        ).fetchall()
        for slot, number, state, gone in rows:
            expected[cache.search_rowid(slot, kind, number)] = cache.search_facet(kind, state, gone)
    return expected


@pytest.fixture
def repos(conn) -> tuple[int, int]:
    return add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id


def test_every_write_keeps_the_facet_in_step_with_its_item(conn, repos):
    one, two = repos
    put(conn, one, item(1, title="Sprocket"), item(2, kind="pr", title="Gear"))
    put(conn, two, item(1, title="Sprocket", state="closed"))
    assert facets(conn) == facets_of_items(conn)
    assert sorted(facets(conn).values()) == ["issueclosed", "issueopen", "propen"]

    put(conn, one, item(1, title="Sprocket", state="closed"))  # closed
    with transaction(conn):
        cache.mark_gone(conn, one, [(PRS, 2, "deleted", None)])
    assert facets(conn) == facets_of_items(conn)
    assert sorted(facets(conn).values()) == ["issueclosed", "issueclosed", "propengone"]

    put(conn, one, item(2, kind="pr", title="Gear", state="closed"))  # back, and closed
    assert facets(conn) == facets_of_items(conn)
    assert "prclosed" in facets(conn).values()


def test_a_purge_never_leaves_a_search_row_without_its_item(conn, repos, monkeypatch):
    """Removal and reset delete in batches: after each one, every search row left still has
    its item (the text counts read the index alone)."""
    one, two = repos
    put(conn, one, *(item(n, title="Sprocket", kind="pr" if n % 3 else "issue")
                     for n in range(1, 8)))  # fmt: skip
    put(conn, two, item(1, title="Sprocket"))
    real_batch, seen = cache._purge_batch, []

    def checked(conn, repo_id, limit):
        done = real_batch(conn, repo_id, limit)
        assert set(facets(conn)) <= set(facets_of_items(conn))
        seen.append(done)
        return done

    monkeypatch.setattr(cache, "_purge_batch", checked)
    reset_cache(conn, [two], actor="test")
    cache.purge(conn, batch_rows=2)
    remove_repo(conn, one)
    cache.purge(conn, batch_rows=2)
    assert seen and facets(conn) == {} and facets_of_items(conn) == {}


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
        put(conn, repo, item(n, kind=kind, title=title, body=body, state=state,
                             day=rng.randrange(1, 28)))  # fmt: skip
        gone = rng.random() < 0.15
        if gone:
            with transaction(conn):
                cache.mark_gone(conn, repo, [(PRS if kind == "pr" else ISSUES, n, "deleted", None)])
        made.append({"repo_id": repo, "kind": kind, "number": n, "state": state, "gone": gone,
                     "text": f"{title} {body}".lower()})  # fmt: skip
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
    ]  # fmt: skip


TEXT_FILTERS = [
    {"text": "sprocket"},
    {"text": "gear", "state": "closed"},
    {"text": "widget axle", "state": "all"},
    {"text": "sprocket", "kind": "pr", "state": "all"},
    {"text": "gear", "kind": "issue", "include_gone": True, "state": "all"},
    {"text": "axle", "include_gone": True},
]


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


def test_the_migration_gives_each_search_row_its_items_facet(tmp_path):
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
            (cache.search_rowid(1, kind, number), one, kind.search_kind, number),
        )
    # A search row whose item is not cached (a removal cut short): it showed nowhere, and goes.
    conn.execute(
        "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
        " VALUES (?, 'Sprocket orphan', '', ?, 'issue', 9)",
        (cache.search_rowid(1, ISSUES, 9), one),
    )

    applied = migrate(conn)

    assert applied[0].path.name == "0016_search_facets.sql"  # and any later ones
    assert facets(conn) == facets_of_items(conn)
    assert sorted(facets_of_items(conn).values()) == [
        "issueclosed", "issueopen", "prclosed", "propengone"
    ]  # fmt: skip
    found = browse.search(conn, browse.SearchQuery(text="sprocket"), WS)
    assert [(r["kind"], r["number"]) for r in found] == [("issue", 1), ("issue", 2), ("pr", 4)]
    counts = work.count_items(conn, work.WorkFilter(text="gear", state="all"), WS)
    assert counts == [{"repo_id": one, "full_name": "octo/old", "count": 3}]
    # The new rank: the facet is weighted 0, so a query naming it ranks as before.
    assert (
        conn.execute("SELECT v FROM cache_search_config WHERE k = 'rank'").fetchone()[0]
        == "bm25(1.0, 1.0, 0.0)"
    )
    conn.close()
