"""`pmbot doctor` and `pmbot backup` on real SQLite files, against the fake GitHub."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.control_plane import audit
from pmbot.control_plane.audit.events import SyncPageCommitted
from pmbot.control_plane.audit.log import head
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.backup import BackupError, backup_database
from pmbot.control_plane.db import connect
from pmbot.control_plane.operations import add_repo
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import utc_now
from tests.fake_github import FakeGitHub

TOKEN = "ghp_" + "DoctorTokenValue987654321" * 2
SETTINGS_VARS = (
    "GITHUB_TOKEN",
    "GITHUB_API_BASE",
    "PMBOT_DATA_DIR",
    "PMBOT_DB_URL",
    "PMBOT_ALLOWED_HOSTS",
    "PMBOT_PORT",
    "PMBOT_HOST",
)


@pytest.fixture
def fake_options():
    return {"token": TOKEN, "login": "operator-login", "clock": utc_now, "seed": lambda _s: None}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub) -> dict[str, str]:
    """The process environment of a configured install (cwd has no .env)."""
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    values = {
        "PMBOT_DATA_DIR": str(tmp_path / "data"),
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_BASE": fake.base_url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def installed(env: dict[str, str], capsys: pytest.CaptureFixture) -> Path:
    """`pmbot migrate` has run; returns the DB path."""
    assert main(["migrate"]) == 0
    capsys.readouterr()
    return Settings.from_env(env_file=None).db_path


def doctor(capsys: pytest.CaptureFixture) -> tuple[int, dict[str, str], str]:
    """Run `pmbot doctor`; returns the exit code, {check name: PASS/FAIL line}, all output."""
    code = main(["doctor"])
    out = capsys.readouterr()
    lines = {}
    for line in out.out.splitlines():
        if line.startswith(("PASS", "FAIL")):
            lines[line[6:].split(":", 1)[0]] = line
    return code, lines, out.out + out.err


def test_a_healthy_install_passes_every_check(installed, capsys, fake) -> None:
    code, lines, output = doctor(capsys)
    assert code == 0, output
    assert set(lines) == {
        "data dir",
        "database integrity",
        "migrations",
        "audit chain",
        "repo counts",
        "auto-vacuum",
        "artifact files",
        "git mirrors",
        "GitHub token",
        "rate limit",
    }
    assert all(line.startswith("PASS") for line in lines.values()), output
    assert "operator-login" in lines["GitHub token"]
    assert f"of {5000} requests left" in lines["rate limit"]
    assert output.rstrip().endswith("doctor: all passed")
    assert [r.path for r in fake.requests] == ["/user"]


def test_a_fresh_data_dir_fails_with_what_to_run(env, capsys) -> None:
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["data dir"].startswith("FAIL") and "pmbot migrate" in lines["data dir"]
    assert lines["database"].startswith("FAIL") and "does not exist" in lines["database"]
    assert not Path(env["PMBOT_DATA_DIR"]).exists(), "doctor must not create anything"
    assert lines["GitHub token"].startswith("PASS")


def test_a_missing_subfolder_fails_the_layout_check(installed, env, capsys) -> None:
    (Path(env["PMBOT_DATA_DIR"]) / "artifacts").rmdir()
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["data dir"].startswith("FAIL") and "artifacts is missing" in lines["data dir"]


def test_an_unwritable_subfolder_fails_the_layout_check(installed, env, capsys, mocker) -> None:
    # CI runs as root, for whom chmod changes nothing: deny access at the os.access seam.
    logs = Path(env["PMBOT_DATA_DIR"]) / "logs"
    real_access = os.access
    mocker.patch(
        "pmbot.shared.datadir.os.access",
        side_effect=lambda path, mode: Path(path) != logs and real_access(path, mode),
    )
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert "logs is not writable" in lines["data dir"]


def test_no_token_fails_without_asking_github(installed, monkeypatch, capsys, fake) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "")
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert (
        lines["GitHub token"] == "FAIL  GitHub token: GITHUB_TOKEN is not set; put a token in .env"
    )
    assert fake.requests == []


def test_a_rejected_token_fails_and_is_never_printed(installed, monkeypatch, capsys) -> None:
    wrong = "github_pat_" + "WrongTokenValue_0123456789" * 2
    monkeypatch.setenv("GITHUB_TOKEN", wrong)
    code, lines, output = doctor(capsys)
    assert code == 1
    assert lines["GitHub token"].startswith("FAIL") and "(401)" in lines["GitHub token"]
    assert wrong not in output and TOKEN not in output


def test_github_unreachable_fails_the_token_check(installed, capsys, fake) -> None:
    fake.go_down(refuse=True)
    code, lines, output = doctor(capsys)
    assert code == 1
    assert lines["GitHub token"].startswith("FAIL") and "did not answer" in lines["GitHub token"]
    assert TOKEN not in output


def test_a_spent_rate_limit_fails(installed, monkeypatch, capsys) -> None:
    with FakeGitHub(token=TOKEN, rate_limit=1) as almost_spent:
        monkeypatch.setenv("GITHUB_API_BASE", almost_spent.base_url)
        code, lines, _ = doctor(capsys)
        assert code == 1
        assert lines["GitHub token"].startswith("PASS")
        assert lines["rate limit"].startswith("FAIL  rate limit: 0 of 1 requests left")
        code, lines, _ = doctor(capsys)
        assert lines["GitHub token"].startswith("FAIL  GitHub token: not checked: rate limited")
        assert lines["rate limit"].startswith("FAIL  rate limit: rate limited until")


def test_pending_migrations_fail(installed, capsys) -> None:
    conn = connect(installed)
    conn.execute("DELETE FROM schema_migrations WHERE version = 1")
    conn.close()
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["migrations"] == "FAIL  migrations: pending: 0001_init.sql (run `pmbot migrate`)"


def test_a_tampered_audit_event_fails_the_chain(installed, capsys) -> None:
    conn = connect(installed)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET payload_json = '{}' WHERE seq = 1")
    conn.close()
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["audit chain"].startswith("FAIL  audit chain: broken at event seq 1")


def _cache_issue(conn: sqlite3.Connection, repo_id: int, number: int) -> None:
    conn.execute(
        "INSERT INTO github_issues (repo_id, issue_number, state, title, created_at, updated_at,"
        " html_url, payload_json) VALUES (?, ?, 'open', 't', '2024-01-01T00:00:00Z',"
        " '2024-01-01T00:00:00Z', 'https://github.test/x', '{}')",
        (repo_id, number),
    )


def test_counts_that_disagree_with_the_cache_fail(installed, capsys) -> None:
    conn = connect(installed)
    repo = add_repo(conn, "acme/widgets")
    _cache_issue(conn, repo.repo_id, 1)
    delta = {"issues_open": 1, "issues_closed": 0, "prs_open": 0, "prs_closed": 0}
    audit.record(conn, SyncPageCommitted(repo_id=repo.repo_id, stream="issues", delta=delta))
    code, lines, output = doctor(capsys)
    assert code == 0, output
    assert lines["repo counts"] == "PASS  repo counts: 1 repos, counts match the cache"

    _cache_issue(conn, repo.repo_id, 2)
    conn.close()
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["repo counts"].startswith(f"FAIL  repo counts: repo {repo.repo_id}: projected")
    assert "'issues_open': 2" in lines["repo counts"]


def test_after_a_real_sync_the_counts_match_and_everything_passes(installed, capsys, fake):
    fake.add_repo("acme/widgets")
    for title in ("one", "two", "three"):
        fake.add_issue("acme/widgets", title=title)
    fake.close("acme/widgets", 1)
    fake.add_pr("acme/widgets", title="change")
    assert main(["repos", "add", "acme/widgets"]) == 0
    assert main(["sync", "acme/widgets"]) == 0
    code, lines, output = doctor(capsys)
    assert code == 0, output
    assert lines["repo counts"] == "PASS  repo counts: 1 repos, counts match the cache"
    conn = connect(installed)
    row = conn.execute("SELECT issues_open, issues_closed, prs_open FROM repo_counts").fetchone()
    conn.close()
    assert tuple(row) == (2, 1, 1)


def test_a_file_that_is_not_a_database_fails(installed, capsys) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{installed}{suffix}").unlink(missing_ok=True)
    installed.write_bytes(b"this is not an SQLite file" * 200)
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["database"].startswith("FAIL") and "not a database" in lines["database"]


# -- backup ------------------------------------------------------------------------------


def test_backup_copies_the_database_and_prints_its_head(installed, tmp_path, capsys) -> None:
    conn = connect(installed)
    add_repo(conn, "acme/widgets")
    seq, digest = head(conn)
    conn.close()
    target = tmp_path / "copy.sqlite3"
    assert main(["backup", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"backup: {target} ({target.stat().st_size:,} bytes)" in out
    assert f"audit head of the copy: {seq}:{digest}" in out
    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("SELECT full_name FROM repos").fetchall() == [("acme/widgets",)]
    copy.close()


def test_backup_refuses_to_overwrite_without_force(installed, tmp_path, capsys) -> None:
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"keep me")
    assert main(["backup", str(target)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert main(["backup", "--force", str(target)]) == 0
    assert target.read_bytes().startswith(b"SQLite format 3\x00")
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_backup_refuses_the_live_file_and_a_missing_database(installed, tmp_path) -> None:
    with pytest.raises(BackupError, match="is the live database"):
        backup_database(installed, installed, force=True)
    with pytest.raises(BackupError, match="nothing to back up"):
        backup_database(tmp_path / "absent.sqlite3", tmp_path / "copy.sqlite3")
    with pytest.raises(BackupError, match="does not exist"):
        backup_database(installed, tmp_path / "no-such-folder" / "copy.sqlite3")


def test_backup_while_a_writer_commits_is_a_consistent_copy(installed, tmp_path) -> None:
    stop = threading.Event()

    def keep_writing() -> None:
        writer = connect(installed)
        number = 0
        while not stop.is_set():
            number += 1
            add_repo(writer, f"acme/repo-{number}")
        writer.close()

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        results = [backup_database(installed, tmp_path / f"copy-{i}.sqlite3") for i in range(5)]
    finally:
        stop.set()
        thread.join()
    for result in results:
        copy = sqlite3.connect(result.path)
        assert verify(copy).ok
        assert head(copy) == (result.head_seq, result.head_hash)
        repos = copy.execute("SELECT count(*) FROM repos").fetchone()[0]
        added = copy.execute("SELECT count(*) FROM audit_events WHERE type = 'repo.added'")
        assert repos == added.fetchone()[0]
        copy.close()


def test_an_artifact_file_whose_content_changed_fails(installed, capsys) -> None:
    from pmbot.control_plane.context import packs

    settings = Settings.from_env(env_file=None)
    conn = connect(installed)
    repo = add_repo(conn, "acme/widgets")
    pack = packs.take_pack(conn, settings.data_dir, repo.repo_id)
    conn.close()
    code, lines, output = doctor(capsys)
    assert lines["artifact files"] == "PASS  artifact files: 1 files match their sha256", output

    (settings.data_dir / pack["uri"]).write_bytes(b"tampered")
    code, lines, _ = doctor(capsys)
    assert code == 1
    assert lines["artifact files"] == (
        f"FAIL  artifact files: {pack['uri']}: content no longer matches its sha256"
    )
