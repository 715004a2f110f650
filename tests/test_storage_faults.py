"""A corrupt, unwritable, deleted or replaced database: one clear line, a 503, never a 500.

The files are real SQLite files broken the way disks and operators break them:
a header that is not SQLite's, a zeroed b-tree page, a read-only connection,
the file unlinked or swapped for another under the running server.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.control_plane import doctor
from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.registry import add_repo
from tests.conftest import WsgiClient, insert_cached_item

PAGE_SIZE = 4096


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Move everything from the WAL into the main file, so breaking the file breaks the data."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _zero_page(db_path: Path, pageno: int) -> None:
    with open(db_path, "r+b") as file:
        file.seek((pageno - 1) * PAGE_SIZE)
        file.write(bytes(PAGE_SIZE))


def _root_page(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]


def _not_a_database(db_path: Path, conn: sqlite3.Connection) -> None:
    with open(db_path, "r+b") as file:
        file.write(b"this is not SQLite at all".ljust(100, b"!"))


def _zeroed_issue_page(db_path: Path, conn: sqlite3.Connection) -> None:
    _zero_page(db_path, _root_page(conn, "github_issues"))


@pytest.fixture
def filled(conn, db_path):
    """A DB with one repo and a few cached issues, checkpointed into the main file."""
    repo = add_repo(conn, "octo/hello")
    for number in range(1, 4):
        insert_cached_item(conn, repo.repo_id, number, body="words " * 50)
    _checkpoint(conn)
    return repo


@pytest.fixture
def cli_env(settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    return settings


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [(_not_a_database, "file is not a database"), (_zeroed_issue_page, "malformed")],
)
def test_a_corrupt_database_stops_the_start_with_one_line_and_exit_2(
    cli_env, conn, db_path, filled, capsys, breakage, reason
):
    breakage(db_path, conn)
    conn.close()

    assert main(["migrate"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(db_path) in err and "corrupt" in err and reason in err
    assert "pmbot doctor" in err and "backup" in err


def test_doctor_names_each_corruption(cli_env, conn, db_path, filled, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(db_path, copy)
    _not_a_database(copy, conn)
    _zeroed_issue_page(db_path, conn)
    conn.close()

    zeroed = doctor.database_checks(db_path)
    garbage = doctor.database_checks(copy)

    assert not zeroed[0].ok and zeroed[0].name == "database integrity"
    assert not garbage[0].ok and "file is not a database" in garbage[0].detail
    for check in (zeroed[0], garbage[0]):
        assert "corrupt" in check.detail and "backup" in check.detail


def test_a_corrupt_page_read_during_a_request_is_a_503_naming_the_problem(
    settings, conn, db_path, filled, caplog
):
    _zeroed_issue_page(db_path, conn)
    app = create_app(settings, db_path=db_path)
    try:
        reply = WsgiClient(app).get(f"/api/repos/{filled.repo_id}/issues?state=all")
    finally:
        app.close()

    assert reply.status == 503 and reply.content_type == "application/problem+json"
    body = reply.json()
    assert body["code"] == "database_corrupt"
    assert str(db_path) in body["detail"] and "pmbot doctor" in body["detail"]
    records = [r for r in caplog.records if r.name.startswith("pmbot")]
    assert len(records) == 1 and records[0].exc_info is None


# -- an unwritable data dir ------------------------------------------------------------------


def _read_only_connections(app, db_path: Path) -> None:
    """Every handler thread's connection opened read-only, as on a read-only mount."""
    db = app.config["pmbot.db"]
    db.close()
    db.connect = lambda: sqlite3.connect(
        f"file:{db_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )


def test_a_write_on_an_unwritable_data_dir_is_a_503_saying_so(settings, conn, db_path, caplog):
    app = create_app(settings, db_path=db_path)
    _read_only_connections(app, db_path)
    try:
        reply = WsgiClient(app).post("/api/repos", json_body={"full_name": "octo/new"})
        healthy = WsgiClient(app).get("/healthz")
    finally:
        app.close()

    assert reply.status == 503 and reply.content_type == "application/problem+json"
    body = reply.json()
    assert body["code"] == "data_dir_not_writable"
    assert "not writable" in body["detail"] and str(db_path.parent) in body["detail"]
    assert healthy.status == 200  # reads still work
    records = [r for r in caplog.records if r.name.startswith("pmbot")]
    assert len(records) == 1 and "not writable" in records[0].getMessage()
    assert records[0].exc_info is None


def test_a_log_file_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, capfd):
    from pmbot.shared.logs import setup_logging

    setup_logging("api", tmp_path, "INFO")
    file_handler = next(
        h for h in logging.getLogger("pmbot").handlers if isinstance(h, logging.FileHandler)
    )

    class Broken(io.StringIO):
        def write(self, _text):
            raise OSError(30, "Read-only file system")

    file_handler.stream = Broken()
    logging.getLogger("pmbot.api").warning("something happened")

    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err
    lines = [line for line in err.splitlines() if "cannot write" in line]
    assert len(lines) == 1 and "Read-only file system" in lines[0]
    assert str(tmp_path / "api.log") in lines[0]


# -- the file deleted or replaced under the running server --------------------------------


@pytest.mark.parametrize("change", ["delete", "replace"])
def test_a_deleted_or_replaced_database_fails_healthz_and_refuses_writes(
    settings, conn, db_path, change, caplog
):
    app = create_app(settings, db_path=db_path)
    client = WsgiClient(app)
    try:
        assert client.get("/healthz").status == 200
        conn.close()
        if change == "delete":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        else:
            replacement = db_path.with_name("other.sqlite3")
            sqlite3.connect(replacement).close()
            os.replace(replacement, db_path)
        health = client.get("/healthz")
        write = client.post("/api/repos", json_body={"full_name": "octo/lost"})
    finally:
        app.close()

    assert health.status == 503 and health.json()["code"] == "database_file_changed"
    assert write.status == 503 and write.json()["code"] == "database_file_changed"
    word = "deleted" if change == "delete" else "replaced"
    assert word in write.json()["detail"] and str(db_path) in write.json()["detail"]
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("pmbot")]
    assert any(word in m and str(db_path) in m for m in messages)


def test_every_write_transaction_checks_the_file_even_between_two_stats(
    settings, conn, db_path, caplog
):
    """A write that got past the request's check still refuses the replaced file."""
    from pmbot.control_plane.api.connections import ThreadConnections
    from pmbot.control_plane.db import health, transaction

    db = ThreadConnections(db_path)
    api_conn = db.get()
    try:
        replacement = db_path.with_name("other.sqlite3")
        sqlite3.connect(replacement).close()
        os.replace(replacement, db_path)
        with pytest.raises(health.DatabaseReplaced), transaction(api_conn):
            api_conn.execute("INSERT INTO sync_requests (repo_id, requested_at) VALUES (1, 'now')")
        assert not api_conn.in_transaction
    finally:
        db.close()
