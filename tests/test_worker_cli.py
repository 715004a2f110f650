"""`pmbot worker --check` in-process, and `pmbot worker` as a real process (slow)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.control_plane.sync import schedule as w
from pmbot.shared.timeutil import utc_now

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(settings, monkeypatch, tmp_path):
    """The process environment for `settings` (no .env file in the working directory)."""
    values = {
        "PMBOT_DATA_DIR": str(settings.data_dir),
        "GITHUB_TOKEN": settings.github_token.reveal(),
        "GITHUB_API_BASE": settings.github_api_base,
        "PMBOT_LOG_LEVEL": "INFO",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return values


def test_check_without_a_database_is_unhealthy(env, capsys):
    assert main(["worker", "--check"]) == 1
    assert "unhealthy: no database" in capsys.readouterr().err


def test_check_fresh_stale_and_missing_heartbeat(env, conn, capsys):
    assert main(["worker", "--check"]) == 1
    assert capsys.readouterr().err.strip() == "no worker heartbeat recorded"
    w.beat(conn, "host:1:abc", utc_now(), utc_now() - timedelta(seconds=5))
    assert main(["worker", "--check", "--max-age", "30"]) == 0
    assert capsys.readouterr().out.startswith("worker alive: last beat")
    assert main(["worker", "--check", "--max-age", "2"]) == 1
    assert capsys.readouterr().err.startswith("worker heartbeat is stale")


def _spawn_worker(env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pmbot", "worker", *extra],
        cwd=Path(env["PMBOT_DATA_DIR"]).parent,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _heartbeats(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM worker_heartbeats").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@pytest.mark.slow
def test_worker_process_beats_and_stops_on_sigterm(env, settings):
    proc = _spawn_worker(env)
    try:
        _wait_for(lambda: _heartbeats(settings.db_path) == 1)
        check = subprocess.run(
            [sys.executable, "-m", "pmbot", "worker", "--check"],
            cwd=Path(env["PMBOT_DATA_DIR"]).parent,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert _heartbeats(settings.db_path) == 0
