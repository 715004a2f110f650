"""The search-ids migration (issue 16 item 2): an existing DB's search rows, stored at the
old packed rowids `repo_id << 33 | number << 1 | is_pr`, are rebuilt from the cached
titles and payloads under per-repo slots that no repo id can overflow."""

from __future__ import annotations

import json

from pmbot.control_plane.cache import browse
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import migrate
from pmbot.control_plane.registry import add_repo, ensure_default_workspace
from tests.conftest import database_before, insert_cached_item

MIGRATION = "0004_search_ids_and_lease_holder.sql"


def _old_database(tmp_path):
    return database_before(tmp_path, MIGRATION[:4])


def _old_item(conn, repo_id: int, kind: str, number: int, title: str, body: str | None):
    """One cached item as the code before the migration wrote it."""
    table, column = ("github_issues", "issue_number") if kind == "issue" else (
        "github_pull_requests", "pr_number")  # fmt: skip
    payload = json.dumps({"number": number, "title": title, "body": body})
    conn.execute(
        f"INSERT INTO {table} (repo_id, {column}, state, title, created_at, updated_at,"
        " html_url, payload_json) VALUES (?, ?, 'open', ?, '2026-01-01T00:00:00Z',"
        " '2026-01-02T00:00:00Z', 'https://github.com/o/r', ?)",
        (repo_id, number, title, payload),
    )
    conn.execute(
        "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        ((repo_id << 33) | (number << 1) | (kind == "pr"), title, body or "", repo_id, kind,
         number),
    )  # fmt: skip


def _search(conn, text: str, repo_id: int | None = None) -> list[tuple]:
    query = browse.SearchQuery(text=text, repo_id=repo_id)
    return sorted((r["repo_id"], r["kind"], r["number"]) for r in browse.search(conn, query, 1))


def test_an_existing_database_keeps_its_search_under_the_new_ids(tmp_path):
    conn = _old_database(tmp_path)
    ensure_default_workspace(conn)
    one, two = add_repo(conn, "acme/one").repo_id, add_repo(conn, "acme/two").repo_id
    _old_item(conn, one, "issue", 1, "Parser crash", "stack overflow in the parser")
    _old_item(conn, one, "pr", 2, "Fix the parser", None)
    _old_item(conn, two, "issue", 1, "Login page", "crash after login")

    applied = migrate(conn)

    assert applied[0].path.name == MIGRATION  # and any later ones
    assert _search(conn, "crash") == [(one, "issue", 1), (two, "issue", 1)]
    assert _search(conn, "parser", repo_id=one) == [(one, "issue", 1), (one, "pr", 2)]
    assert _search(conn, "parser", repo_id=two) == []
    slots = conn.execute("SELECT repo_id, slot FROM cache_search_repos").fetchall()
    assert sorted(tuple(r) for r in slots) == [(one, 1), (two, 2)]
    # The write side finds the migrated rows: an update replaces the search row.
    insert_cached_item(conn, one, 1, title="Parser crash", body="now a segfault")
    assert _search(conn, "overflow") == []
    assert _search(conn, "segfault") == [(one, "issue", 1)]
    assert conn.execute("SELECT count(*) FROM cache_search").fetchone()[0] == 3
    cache.reset_cache(conn, [one])
    assert _search(conn, "crash") == [(two, "issue", 1)]  # skipped at once
    cache.purge(conn)
    assert conn.execute("SELECT count(*) FROM cache_search").fetchone()[0] == 1
    conn.close()
