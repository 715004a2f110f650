"""DB initialisation, the migration runner's refusals, and transactions."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.control_plane.db import MigrationError, connect, migrate, open_database, transaction
from pmbot.control_plane.db.migrate import pending_migrations, split_statements
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.shared.resources import migrations_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
EXPECTED_TABLES = {
    "schema_migrations", "audit_events", "workspaces", "repos", "repo_sync_state",
    "repo_counts", "github_issues", "github_pull_requests", "cache_search", "cache_search_repos",
    "http_cache",
    "sync_requests", "repo_schedule", "github_status", "worker_heartbeats", "repo_mirrors",
    "mirror_state",
}  # fmt: skip


@pytest.fixture
def migrations(tmp_path):
    """A private copy of the migration files that a test may tamper with."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    return folder


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return {r[0] for r in rows}


def test_fresh_database_has_every_table_and_one_default_workspace(tmp_path):
    conn = open_database(tmp_path / "cp" / "pm.sqlite3")
    ensure_default_workspace(conn)
    ensure_default_workspace(conn)

    assert _tables(conn) >= EXPECTED_TABLES
    rows = conn.execute("SELECT workspace_id, name FROM workspaces").fetchall()
    assert [tuple(r) for r in rows] == [(1, "default")]
    assert [r[0] for r in conn.execute("SELECT type FROM audit_events")] == ["workspace.created"]
    assert pending_migrations(conn) == []


def test_connection_pragmas(tmp_path):
    conn = connect(tmp_path / "pm.sqlite3")

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_migrate_twice_is_a_no_op(tmp_path, migrations):
    conn = connect(tmp_path / "pm.sqlite3")

    first = migrate(conn, migrations)
    second = migrate(conn, migrations)

    assert [m.path.name for m in first] == sorted(p.name for p in migrations.glob("*.sql"))
    assert second == []
    applied = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    assert [(v, n) for v, n, _ in applied] == [(m.version, m.name) for m in first]
    assert all(len(checksum) == 64 for _, _, checksum in applied)


def test_changed_migration_is_refused_naming_the_file(tmp_path, migrations):
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, migrations)
    first = sorted(migrations.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after release\n")

    with pytest.raises(MigrationError, match=first.name):
        migrate(conn, migrations)


def test_gap_in_numbering_is_refused_naming_the_file(tmp_path, migrations):
    (migrations / "0009_later.sql").write_text("CREATE TABLE later (x);\n")

    with pytest.raises(MigrationError, match=re.escape("0009_later.sql")):
        migrate(connect(tmp_path / "pm.sqlite3"), migrations)


def test_badly_named_file_is_refused(tmp_path, migrations):
    (migrations / "2_Add Stuff.sql").write_text("SELECT 1;\n")

    with pytest.raises(MigrationError, match=re.escape("2_Add Stuff.sql")):
        migrate(connect(tmp_path / "pm.sqlite3"), migrations)


def test_database_from_a_newer_pmbot_is_refused(tmp_path, migrations):
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, migrations)
    conn.execute(
        "INSERT INTO schema_migrations VALUES (999, 'from_the_future', 'x', '2030-01-01T00:00:00Z')"
    )

    with pytest.raises(MigrationError, match=re.escape("0999_from_the_future.sql")):
        migrate(conn, migrations)


def test_failing_migration_applies_nothing_of_itself(tmp_path, migrations):
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, migrations)
    number = len(list(migrations.glob("*.sql"))) + 1
    bad = migrations / f"{number:04d}_half_broken.sql"
    bad.write_text("CREATE TABLE half (x);\nINSERT INTO no_such_table VALUES (1);\n")

    with pytest.raises(MigrationError, match=bad.name):
        migrate(conn, migrations)

    assert "half" not in _tables(conn)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == number - 1


def test_split_statements_keeps_triggers_whole():
    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x);\n"
        "CREATE TRIGGER t_no_update BEFORE UPDATE ON t\nBEGIN\n"
        "    SELECT RAISE(ABORT, 'no; really');\nEND;\n"
    )

    statements = split_statements(sql)

    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_transaction_rolls_back_on_error_and_nests_with_savepoints(tmp_path):
    conn = connect(tmp_path / "pm.sqlite3")
    conn.execute("CREATE TABLE t (x INTEGER)")

    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        with pytest.raises(RuntimeError), transaction(conn):
            conn.execute("INSERT INTO t VALUES (3)")
            raise RuntimeError("inner")
        conn.execute("INSERT INTO t VALUES (4)")

    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [2, 4]
    assert not conn.in_transaction


def test_migrate_command_prints_what_it_did_and_is_idempotent(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)

    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert main(["migrate"]) == 0
    second = capsys.readouterr().out

    assert "applied 0001_init.sql" in first
    assert "nothing to apply" in second and "applied" not in second
    for sub in ("control_plane", "artifacts", "checkpoints", "repos", "cache", "logs"):
        assert (tmp_path / "data" / sub).is_dir()
    assert (tmp_path / "data" / "control_plane" / "pm_bot.sqlite3").is_file()


def test_bad_setting_stops_the_command_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PMBOT_SYNC_POLL_SECONDS", "abc")

    assert main(["migrate"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PMBOT_SYNC_POLL_SECONDS" in err
    assert not (tmp_path / "data").exists()


def test_two_processes_starting_together_create_one_workspace(tmp_path):
    env = {"PMBOT_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO_ROOT), "PATH": ""}
    script = "from pmbot.cli import start; start('race')"
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path) for _ in range(4)
    ]

    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    conn = connect(tmp_path / "data" / "control_plane" / "pm_bot.sqlite3")
    assert conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(
        list(migrations_dir().glob("*.sql"))
    )


def test_refused_commit_rolls_back_and_leaves_no_open_transaction(tmp_path):
    conn = connect(tmp_path / "pm.sqlite3")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id))")

    with pytest.raises(sqlite3.IntegrityError), transaction(conn):
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("INSERT INTO child VALUES (42)")

    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
