"""Migration 0010 (issue 11 item 6): the item tables are rebuilt to accept
gone = 'not_visible', keeping every row (rowids included), index and count."""

from __future__ import annotations

import pytest

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.cache import ISSUES, PRS
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import migrate, transaction
from pmbot.control_plane.registry import add_repo, ensure_default_workspace
from tests.conftest import database_before, migrations_before

MIGRATION = "0010_gone_not_visible.sql"
TABLES = ("github_issues", "github_pull_requests")


def _old_database(tmp_path):
    return database_before(tmp_path, MIGRATION[:4])


def _old_item(conn, repo_id: int, number: int, kind: str = "issue", gone: str | None = None):
    """One cached item as the code before the migration wrote it."""
    table, column, extra = (
        ("github_issues", "issue_number", "") if kind == "issue"
        else ("github_pull_requests", "pr_number", ", draft")
    )  # fmt: skip
    values = "?, ?, 'open', ?, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'https://x', ?, ?"
    conn.execute(
        f"INSERT INTO {table} (repo_id, {column}, state, title, created_at, updated_at,"
        f" html_url, payload_json, gone{extra}) VALUES ({values}{', 1' if extra else ''})",
        (repo_id, number, f"Item {number}", f'{{"number": {number}}}', gone),
    )


def _rows(conn, table: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid")]


def _schema(conn, kind: str) -> list[tuple]:
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = ? AND tbl_name IN (?, ?)"
            " ORDER BY name",
            (kind, *TABLES),
        )
    ]


def test_the_item_tables_keep_their_rows_indexes_and_triggers(tmp_path):
    conn = _old_database(tmp_path)
    ensure_default_workspace(conn)
    repo_id = add_repo(conn, "acme/one").repo_id
    for number in range(1, 6):
        _old_item(conn, repo_id, number)
    _old_item(conn, repo_id, 6, gone="deleted")
    _old_item(conn, repo_id, 7, kind="pr")
    _old_item(conn, repo_id, 8, kind="pr", gone="transferred")
    before = {table: _rows(conn, table) for table in TABLES}
    indexes, triggers = _schema(conn, "index"), _schema(conn, "trigger")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("UPDATE github_issues SET gone = 'not_visible' WHERE issue_number = 1")

    # Up to this migration: later ones may add triggers of their own.
    assert [m.name for m in migrate(conn, migrations_before(tmp_path, "0011", "upto"))] == [
        MIGRATION[5:-4]
    ]
    assert {table: _rows(conn, table) for table in TABLES} == before
    assert _schema(conn, "index") == indexes and _schema(conn, "trigger") == triggers
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    migrate(conn)  # the later ones, for the projections the rebuild compares
    assert rebuild.check(conn).differences == []
    with transaction(conn):
        delta = cache.mark_gone(
            conn, repo_id, [(ISSUES, 1, "not_visible", None), (PRS, 7, "not_visible", None)]
        )
    assert delta == {"issues_open": -1, "prs_open": -1}
    assert [tuple(r) for r in conn.execute(
        "SELECT issue_number FROM github_issues WHERE gone = 'not_visible'")] == [(1,)]  # fmt: skip
