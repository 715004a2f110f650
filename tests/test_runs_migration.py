"""Migration 0003 (runs): a fresh DB has the run tables; a v7 DB from before upgrades in place."""

from __future__ import annotations

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.db import migrate, open_database
from pmbot.control_plane.registry import add_repo, ensure_default_workspace, find_repo
from tests.conftest import database_before

RUN_TABLES = {"runs", "run_interrupts", "run_artifacts", "context_packs"}


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_fresh_database_has_the_run_tables(tmp_path):
    conn = open_database(tmp_path / "pm.sqlite3")
    assert _tables(conn) >= RUN_TABLES
    conn.close()


def test_a_database_from_before_runs_upgrades_and_keeps_its_data(tmp_path):
    conn = database_before(tmp_path, "0003")
    ensure_default_workspace(conn)
    add_repo(conn, "acme/widgets")
    assert not (_tables(conn) & RUN_TABLES)

    applied = migrate(conn)

    assert applied[0].path.name == "0003_runs.sql"  # then any later ones, in order
    assert _tables(conn) >= RUN_TABLES
    assert find_repo(conn, "acme/widgets") is not None
    assert rebuild.check(conn).differences == []
    conn.close()
