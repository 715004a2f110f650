"""Migration 0012 (issue 11 item 8): a database at 0011 gains the per-repo closed window
and its covered start, with its repos following the setting and the log still rebuilding."""

from __future__ import annotations

from pmbot.control_plane import audit, operations, registry, repo_status
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.db import migrate, transaction
from pmbot.control_plane.registry import ensure_default_workspace
from tests.conftest import database_before

MIGRATION = "0012_closed_window.sql"


def _database_at_0011(tmp_path):
    return database_before(tmp_path, MIGRATION[:4])


def _columns(conn, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_an_0011_database_upgrades_and_its_repos_follow_the_setting(tmp_path):
    conn = _database_at_0011(tmp_path)
    ensure_default_workspace(conn)
    repo_id = operations.add_repo(conn, "acme/one").repo_id
    with transaction(conn):
        audit.record(
            conn,
            ev.SyncPageCommitted(
                repo_id=repo_id, stream="issues", cursor="2026-01-01T00:00:00Z", items=1,
                changed=1, delta={"issues_closed": 1},
            ),
        )  # fmt: skip
    assert "closed_window_days" not in _columns(conn, "repos")

    assert migrate(conn)[0].name == MIGRATION[5:-4]  # and any later ones
    assert "closed_window_days" in _columns(conn, "repos")
    assert "closed_since" in _columns(conn, "repo_sync_state")
    assert registry.closed_window_days(conn, repo_id) is None
    status = repo_status.repo_status(conn, repo_id)
    assert (status["closed_window_days"], status["closed_window_default"]) == (90, True)
    assert status["closed_window_backfilling"] is False  # nothing recorded: its first sync
    assert status["counts"]["issues_closed"] == 1
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert rebuild.check(conn).differences == []

    operations.set_closed_window(conn, repo_id, 365)
    assert registry.closed_window_days(conn, repo_id) == 365
    assert rebuild.check(conn).differences == []
