"""Disk (issue 15 item 4): the WAL kept short, space given back after a removal or a
reset, removal in bounded transactions that a crash cannot leave half done, data size
per repo, and the one-off compaction of a database made before auto-vacuum."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.control_plane import doctor, operations, registry, repo_status
from pmbot.control_plane.audit import rebuild, verify
from pmbot.control_plane.cache import ISSUES, PRS, browse, store
from pmbot.control_plane.db import connect, migrate, open_database, space, transaction
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.control_plane.sync.worker import Worker
from tests.conftest import database_before, insert_cached_item

ROOT = Path(__file__).resolve().parent.parent
BODY = "lorem ipsum dolor sit amet " * 400  # ~10 KB: every row spills to overflow pages


def fill(conn, repo_id: int, count: int, *, first: int = 1) -> None:
    with transaction(conn):
        for number in range(first, first + count):
            kind = "pr" if number % 5 == 0 else "issue"
            insert_cached_item(conn, repo_id, number, kind=kind, title=f"item {number}", body=BODY)


def _rows(conn, repo_id: int) -> int:
    tables = (ISSUES.table, PRS.table)
    items = sum(
        conn.execute(f"SELECT count(*) FROM {t} WHERE repo_id = ?", (repo_id,)).fetchone()[0]
        for t in tables
    )
    search = conn.execute(
        "SELECT count(*) FROM cache_search WHERE repo_id = ?", (repo_id,)
    ).fetchone()[0]
    return items + search


def _wal_bytes(db_path: Path) -> int:
    wal = Path(f"{db_path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def _log_is_clean(conn) -> None:
    assert verify.verify(conn).ok
    assert rebuild.check(conn).differences == []


def test_a_new_database_has_incremental_auto_vacuum_a_wal_cap_and_checkpoints_below_it(conn):
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == space.INCREMENTAL
    assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == space.WAL_LIMIT_BYTES
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    checkpoint_at = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert (
        checkpoint_at == space.WAL_CHECKPOINT_PAGES and checkpoint_at * page < space.WAL_LIMIT_BYTES
    )
    assert doctor.check_auto_vacuum(conn).ok


def test_removal_goes_in_bounded_batches_gives_the_space_back_and_truncates_the_wal(
    conn, db_path, monkeypatch
):
    big = operations.add_repo(conn, "acme/big").repo_id
    kept = operations.add_repo(conn, "acme/kept").repo_id
    fill(conn, big, 300)
    fill(conn, kept, 5)
    kept_size = store.data_sizes(conn)[kept]
    space.checkpoint(conn)
    full = db_path.stat().st_size
    batches = []
    real_batch = store._purge_batch

    def counted(conn, repo_id, limit):
        batches.append(real_batch(conn, repo_id, limit))
        return batches[-1]

    monkeypatch.setattr(store, "PURGE_BATCH_ROWS", 50)
    monkeypatch.setattr(store, "_purge_batch", counted)

    operations.remove_repo(conn, big)

    # 300 search rows (first: none outlives its item), 240 issues and 60 PRs, 50 a
    # transaction at most, then the batch that finds nothing left.
    assert batches == [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 40, 50, 10, 0]
    assert _rows(conn, big) == 0 and _rows(conn, kept) == 10
    with pytest.raises(registry.RepoNotFound):
        registry.get_repo(conn, big)
    assert store.data_sizes(conn) == {kept: kept_size}
    assert conn.execute("SELECT count(*) FROM cache_purge").fetchone()[0] == 0
    assert _wal_bytes(db_path) == 0
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert db_path.stat().st_size < full / 4  # the 3 MB of the removed repo went back
    _log_is_clean(conn)


def test_a_reset_gives_the_space_back_and_the_next_sync_starts_from_an_empty_cache(conn, db_path):
    repo_id = operations.add_repo(conn, "acme/big").repo_id
    fill(conn, repo_id, 200)
    space.checkpoint(conn)
    full = db_path.stat().st_size

    operations.reset_cache(conn, [repo_id])

    assert _rows(conn, repo_id) == 0
    assert not store.purging(conn, repo_id)
    assert registry.get_repo(conn, repo_id).status == "new"
    assert store.data_sizes(conn) == {}
    assert _wal_bytes(db_path) == 0
    assert db_path.stat().st_size < full / 4
    _log_is_clean(conn)


_DIE_AFTER_TWO_BATCHES = """
import os, sys
from pmbot.control_plane import operations
from pmbot.control_plane.cache import store
from pmbot.control_plane.db import open_database

conn = open_database(sys.argv[1])
real, done = store._purge_batch, []

def dying(conn, repo_id, limit):
    if len(done) == 2:
        os._exit(9)  # killed between two committed batches
    done.append(real(conn, repo_id, 40))
    return done[-1]

store._purge_batch = dying
getattr(operations, sys.argv[2])(conn, [int(sys.argv[3])] if sys.argv[2] == "reset_cache"
                                  else int(sys.argv[3]))
"""


def killed_midway(db_path: Path, operation: str, repo_id: int) -> None:
    process = subprocess.run(
        [sys.executable, "-c", _DIE_AFTER_TWO_BATCHES, str(db_path), operation, str(repo_id)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=60,
    )  # fmt: skip
    assert process.returncode == 9, process.stderr.decode()


class _NoGitHub:
    """The worker's sync engine, minus GitHub: this test is about what comes before."""

    def sync_repo(self, conn, client, repo_id, **options):
        return None


def test_a_removal_killed_between_batches_is_hidden_and_finished_by_the_next_worker_tick(
    conn, db_path, settings
):
    gone = operations.add_repo(conn, "acme/gone").repo_id
    kept = operations.add_repo(conn, "acme/kept").repo_id
    fill(conn, gone, 100)
    fill(conn, kept, 3)

    killed_midway(db_path, "remove_repo", gone)

    assert 0 < _rows(conn, gone) < 200  # two batches of 40 went, the rest is left
    assert store.purging(conn, gone)
    # Nothing of it is shown meanwhile, and the checks hold.
    assert browse.list_page(conn, gone, ISSUES, browse.ListQuery(state="all"))[0] == "[]"
    hits = browse.search(conn, browse.SearchQuery(text="lorem", limit=50), 1)
    assert {hit["repo_id"] for hit in hits} == {kept}
    with pytest.raises(browse.ItemNotFound):
        browse.get_item_payload(conn, gone, ISSUES, 1)
    _log_is_clean(conn)

    worker = Worker(settings, engine=_NoGitHub())
    try:
        outcomes = worker.run_once()
    finally:
        worker.close()

    assert [(o.repo_id, o.status) for o in outcomes] == [(kept, "synced")]
    assert _rows(conn, gone) == 0 and _rows(conn, kept) == 6
    with pytest.raises(registry.RepoNotFound):
        registry.get_repo(conn, gone)
    assert conn.execute("SELECT count(*) FROM cache_purge").fetchone()[0] == 0
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    _log_is_clean(conn)


def test_data_size_is_kept_per_write_and_served_in_the_status(conn):
    repo_id = operations.add_repo(conn, "acme/one").repo_id
    insert_cached_item(conn, repo_id, 1, title="Crash", body="stack trace é")
    insert_cached_item(conn, repo_id, 2, kind="pr", title="Fix", body="", draft=False)
    insert_cached_item(conn, repo_id, 1, title="Crash on start", body="longer stack trace é")

    payloads = sum(
        len(row[0].encode())
        for table in (ISSUES.table, PRS.table)
        for row in conn.execute(f"SELECT payload_json FROM {table}")
    )
    text = len(b"Crash on start" + "longer stack trace é".encode() + b"Fix")
    assert store.data_sizes(conn) == {repo_id: payloads + text}
    assert repo_status.repo_status(conn, repo_id)["data_bytes"] == payloads + text
    other = operations.add_repo(conn, "acme/empty").repo_id
    assert repo_status.repo_status(conn, other)["data_bytes"] == 0


def test_the_migration_sizes_what_an_existing_database_holds(tmp_path):
    conn = database_before(tmp_path, "0013")
    ensure_default_workspace(conn)
    repo_id = registry.add_repo(conn, "acme/old").repo_id
    for number in (1, 2):
        payload = json.dumps({"number": number, "body": "é" * number})
        conn.execute(
            "INSERT INTO github_issues (repo_id, issue_number, state, title, created_at,"
            " updated_at, html_url, payload_json) VALUES (?, ?, 'open', 'Tïtle',"
            " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'https://x', ?)",
            (repo_id, number, payload),
        )
        conn.execute(
            "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
            " VALUES (?, 'Tïtle', ?, ?, 'issue', ?)",
            (number * 2, "é" * number, repo_id, number),
        )

    migrate(conn)

    payloads = sum(len(json.dumps({"number": n, "body": "é" * n}).encode()) for n in (1, 2))
    text = 2 * len("Tïtle".encode()) + len("é".encode()) * 3
    assert store.data_sizes(conn) == {repo_id: payloads + text}
    conn.close()


def _database_without_auto_vacuum(db_path: Path) -> sqlite3.Connection:
    """A database as pmbot made it before auto-vacuum: the WAL switch came first."""
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.close()
    conn = open_database(db_path)
    ensure_default_workspace(conn)
    return conn


def test_compact_refuses_without_twice_the_size_free_then_turns_auto_vacuum_on(tmp_path, db_path):
    conn = _database_without_auto_vacuum(db_path)
    assert not space.auto_vacuum_on(conn)
    assert "run `pmbot compact` to enable" in doctor.check_auto_vacuum(conn).detail
    repo_id = operations.add_repo(conn, "acme/big").repo_id
    fill(conn, repo_id, 150)
    operations.remove_repo(conn, repo_id)  # the pages are free, but stay in the file
    kept = db_path.stat().st_size
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] > 300

    with pytest.raises(space.SpaceError, match=r"needs up to .* free .* has 1\.0 MiB"):
        space.compact(conn, db_path, free_bytes=lambda path: 2**20)
    assert not space.auto_vacuum_on(conn)

    result = space.compact(conn, db_path, free_bytes=lambda path: 2 * kept)

    assert space.auto_vacuum_on(conn) and doctor.check_auto_vacuum(conn).ok
    assert result.before_bytes == kept and result.after_bytes < kept / 4
    assert _wal_bytes(db_path) == 0
    _log_is_clean(conn)
    conn.close()


def test_the_compact_command(settings, db_path, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    _database_without_auto_vacuum(db_path).close()

    assert main(["compact"]) == 0

    out = capsys.readouterr().out
    assert "auto-vacuum is on" in out and str(settings.db_path) in out
    conn = connect(settings.db_path)
    assert space.auto_vacuum_on(conn)
    conn.close()


def test_a_busy_checkpoint_falls_back_and_never_fails(conn, db_path):
    repo_id = operations.add_repo(conn, "acme/one").repo_id
    reader = connect(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM repos").fetchone()  # holds a snapshot
    fill(conn, repo_id, 3)
    try:
        assert space.checkpoint(conn) is False  # at once, not after the busy timeout
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert space.checkpoint(conn) is True
    assert _wal_bytes(db_path) == 0
