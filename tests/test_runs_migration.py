"""Migration 0003 (runs): a fresh DB has the run tables; a v7 DB from before upgrades in place."""

from __future__ import annotations

import shutil

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.db import connect, migrate, open_database
from pmbot.control_plane.registry import add_repo, ensure_default_workspace, find_repo
from pmbot.shared.resources import migrations_dir

RUN_TABLES = {"runs", "run_interrupts", "run_artifacts", "context_packs"}


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_fresh_database_has_the_run_tables(tmp_path):
    conn = open_database(tmp_path / "pm.sqlite3")
    assert _tables(conn) >= RUN_TABLES
    conn.close()


def test_a_database_from_before_runs_upgrades_and_keeps_its_data(tmp_path):
    older = tmp_path / "older"
    older.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name < "0003":
            shutil.copy(path, older / path.name)
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, older)
    ensure_default_workspace(conn)
    add_repo(conn, "acme/widgets")
    assert not (_tables(conn) & RUN_TABLES)

    applied = migrate(conn)

    assert applied[0].path.name == "0003_runs.sql"  # then the later ones
    assert _tables(conn) >= RUN_TABLES
    assert find_repo(conn, "acme/widgets") is not None
    assert rebuild.check(conn).differences == []
    conn.close()
