"""Migration 0010 (issue 11 item 6): the item tables are rebuilt to accept
gone = 'not_visible', keeping every row (rowids included), index and count."""

from __future__ import annotations

import shutil

import pytest

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.cache import ISSUES, PRS
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import connect, migrate, transaction
from pmbot.control_plane.registry import add_repo, ensure_default_workspace
from pmbot.shared.resources import migrations_dir
from tests.conftest import insert_cached_item

MIGRATION = "0010_gone_not_visible.sql"
TABLES = ("github_issues", "github_pull_requests")


def _old_database(tmp_path):
    older = tmp_path / "older"
    older.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name < MIGRATION[:4]:
            shutil.copy(path, older / path.name)
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, older)
    return conn


def _through_this_migration(tmp_path):
    """The migrations up to this one: later ones add their own indexes and triggers."""
    folder = tmp_path / "through"
    folder.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name <= MIGRATION:
            shutil.copy(path, folder / path.name)
    return folder


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
        insert_cached_item(conn, repo_id, number, title=f"Issue {number}")
    insert_cached_item(conn, repo_id, 6, gone="deleted", state="closed")
    insert_cached_item(conn, repo_id, 7, kind="pr", draft=True)
    insert_cached_item(conn, repo_id, 8, kind="pr", gone="transferred")
    before = {table: _rows(conn, table) for table in TABLES}
    indexes, triggers = _schema(conn, "index"), _schema(conn, "trigger")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("UPDATE github_issues SET gone = 'not_visible' WHERE issue_number = 1")

    assert migrate(conn, _through_this_migration(tmp_path))[0].name == MIGRATION[5:-4]
    assert {table: _rows(conn, table) for table in TABLES} == before
    assert _schema(conn, "index") == indexes and _schema(conn, "trigger") == triggers
    migrate(conn)  # the later ones too: the rebuild below replays into a fully migrated DB
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert rebuild.check(conn).differences == []
    with transaction(conn):
        delta = cache.mark_gone(
            conn, repo_id, [(ISSUES, 1, "not_visible", None), (PRS, 7, "not_visible", None)]
        )
    assert delta == {"issues_open": -1, "prs_open": -1}
    assert [tuple(r) for r in conn.execute(
        "SELECT issue_number FROM github_issues WHERE gone = 'not_visible'")] == [(1,)]  # fmt: skip
