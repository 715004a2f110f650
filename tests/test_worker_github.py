"""The worker with the real sync against the fake GitHub (a real HTTP server on 127.0.0.1).

In-process scenarios use an injected clock and a no-wait sleep; the process
scenarios (SIGKILL mid-import, SIGTERM mid-import) run `python -m pmbot worker`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.cli.sync import ProgressLine
from pmbot.control_plane import operations, registry
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.github import status
from pmbot.control_plane.sync import sync as real_sync
from pmbot.control_plane.sync.schedule import read_schedule
from pmbot.control_plane.sync.worker import Worker
from pmbot.shared.settings import Secret
from pmbot.shared.timeutil import utc_now
from tests.fake_github import FakeGitHub
from tests.fake_github.clock import T0

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/widgets"
PAGE = 10  # the fake's page size here, so a few dozen items make several pages


def _ago(minutes: int) -> datetime:
    """Item times spread over the last days, so later edits land in a newer second."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def add_issues(server: FakeGitHub, count: int, prefix: str = "issue", repo: str = REPO) -> None:
    for i in range(count):
        moment = _ago(3000 - i * 7 - len(prefix))
        server.add_issue(repo, title=f"{prefix} {i}", created_at=moment, updated_at=moment)


def _seed(server: FakeGitHub) -> None:
    server.add_repo(REPO)
    add_issues(server, 35)
    for i in range(8):
        moment = _ago(100 + i)
        server.add_pr(REPO, title=f"pr {i}", created_at=moment, updated_at=moment)


@pytest.fixture
def fake_options():
    # The items are stamped in real time, so GitHub's clock is the real one here.
    return {"per_page_max": PAGE, "clock": utc_now, "seed": _seed}


@pytest.fixture
def github_settings(settings, fake):
    return dataclasses.replace(
        settings, github_api_base=fake.base_url, github_token=Secret(fake.token)
    )


@pytest.fixture
def make_worker(github_settings, conn, clock):
    made = []

    def make(**options):
        worker = Worker(github_settings, clock=clock, wait=lambda s: False, **options)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()


def cached(conn) -> dict[int, tuple]:
    """number → (kind, state, title, updated_at) for every cached item not marked gone."""
    rows = conn.execute(
        "SELECT issue_number, 'issue', state, title, updated_at FROM github_issues"
        " WHERE gone IS NULL UNION ALL"
        " SELECT pr_number, 'pr', state, title, updated_at FROM github_pull_requests"
        " WHERE gone IS NULL"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def truth(fake) -> dict[int, tuple]:
    return {
        n: (t["kind"], t["state"], t["title"], t["updated_at"]) for n, t in fake.truth(REPO).items()
    }


def counts_match(conn, repo_id: int) -> bool:
    """repo_counts (projected from events) equals a COUNT over the cache."""
    counted = conn.execute(
        "SELECT"
        " (SELECT count(*) FROM github_issues WHERE repo_id = :r AND gone IS NULL"
        "  AND state = 'open'),"
        " (SELECT count(*) FROM github_issues WHERE repo_id = :r AND gone IS NULL"
        "  AND state = 'closed'),"
        " (SELECT count(*) FROM github_pull_requests WHERE repo_id = :r AND gone IS NULL"
        "  AND state = 'open'),"
        " (SELECT count(*) FROM github_pull_requests WHERE repo_id = :r AND gone IS NULL"
        "  AND state = 'closed')",
        {"r": repo_id},
    ).fetchone()
    projected = conn.execute(
        "SELECT issues_open, issues_closed, prs_open, prs_closed FROM repo_counts"
        " WHERE repo_id = ?",
        (repo_id,),
    ).fetchone()
    return tuple(counted) == tuple(projected)


def events(conn, type_: str) -> int:
    return conn.execute("SELECT count(*) FROM audit_events WHERE type = ?", (type_,)).fetchone()[0]


def test_a_requested_repo_is_imported_to_the_fakes_truth(conn, fake, make_worker, clock):
    repo_id = operations.add_repo(conn, REPO).repo_id
    worker = make_worker()
    outcomes = worker.run_once()
    assert [(o.repo_id, o.status) for o in outcomes] == [(repo_id, "synced")]
    assert cached(conn) == truth(fake)
    assert counts_match(conn, repo_id)
    assert registry.get_repo(conn, repo_id).status == "ok"
    assert read_schedule(conn, repo_id)["last_checked_at"] == "2026-03-01T12:00:00Z"
    seen = status.read_status(conn)
    assert seen["reachable"] is True and seen["last_error"] is None
    assert seen["rate_limit"]["remaining"] == fake.rate_remaining
    assert worker.last_error is None


def test_a_due_no_change_refresh_marks_the_check_and_appends_nothing(
    conn, fake, make_worker, clock
):
    repo_id = operations.add_repo(conn, REPO).repo_id
    worker = make_worker()
    worker.run_once()
    seq_before = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
    used_before = fake.rate_used
    clock.now = T0 + timedelta(seconds=450)
    assert [o.status for o in worker.run_once()] == ["synced"]
    assert conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0] == seq_before
    assert fake.rate_used == used_before
    assert read_schedule(conn, repo_id)["last_checked_at"] == "2026-03-01T12:07:30Z"


def test_an_incremental_change_is_picked_up_by_a_sync_now(conn, fake, make_worker, clock):
    repo_id = operations.add_repo(conn, REPO).repo_id
    worker = make_worker()
    worker.run_once()
    fake.update(REPO, 3, title="renamed issue")
    fake.close(REPO, 5)
    operations.request_sync(conn, repo_id)
    worker.run_once()
    assert cached(conn) == truth(fake)
    assert counts_match(conn, repo_id)


def test_sync_failed_is_appended_once_per_error_state_not_per_retry(conn, fake, make_worker, clock):
    repo_id = operations.add_repo(conn, REPO).repo_id
    worker = make_worker()
    fake.inject(502, times=1000)
    for attempt in range(1, 4):
        operations.request_sync(conn, repo_id)
        assert [o.status for o in worker.run_once()] == ["failed"]
        assert read_schedule(conn, repo_id)["failures"] == attempt
    assert events(conn, "sync.failed") == 1
    repo = registry.get_repo(conn, repo_id)
    assert (repo.status, repo.last_error_code) == ("error", "server_error")
    fake.clear_faults()
    operations.request_sync(conn, repo_id)
    assert [o.status for o in worker.run_once()] == ["synced"]
    assert read_schedule(conn, repo_id)["failures"] == 0
    assert registry.get_repo(conn, repo_id).status == "ok"
    assert cached(conn) == truth(fake)


def test_a_missing_repo_reads_not_found_or_no_access(conn, fake, make_worker):
    repo_id = operations.add_repo(conn, "acme/nope").repo_id
    make_worker().run_once()
    repo = registry.get_repo(conn, repo_id)
    assert repo.last_error == "repository not found or token lacks access"


def test_rate_limited_waits_for_the_reset_then_converges(conn, github_settings, make_worker, clock):
    with FakeGitHub(per_page_max=PAGE, rate_limit=2) as small:
        small.add_repo(REPO)
        add_issues(small, 45)
        settings = dataclasses.replace(github_settings, github_api_base=small.base_url)
        worker = Worker(settings, clock=clock, wait=lambda s: False)
        try:
            repo_id = operations.add_repo(conn, REPO).repo_id
            assert [o.status for o in worker.run_once()] == ["failed"]
            reset_at = datetime.fromtimestamp(small.rate_reset, UTC)
            row = read_schedule(conn, repo_id)
            assert row["next_sync_at"] == reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert registry.get_repo(conn, repo_id).last_error_code == "rate_limited"
            assert status.read_status(conn)["rate_limit"]["remaining"] == 0
            clock.now = reset_at - timedelta(seconds=1)
            assert worker.run_once() == []  # not before the reset
            for _ in range(30):  # each window allows 2 requests; every run keeps its pages
                small.reset_rate_limit()
                clock.now = datetime.fromisoformat(
                    read_schedule(conn, repo_id)["next_sync_at"].replace("Z", "+00:00")
                )
                if [o.status for o in worker.run_once()] == ["synced"]:
                    break
            assert registry.get_repo(conn, repo_id).status == "ok"
            assert cached(conn) == {
                n: (t["kind"], t["state"], t["title"], t["updated_at"])
                for n, t in small.truth(REPO).items()
            }
        finally:
            worker.close()


def test_two_workers_one_repo_never_overlap_and_converge(conn, fake, github_settings):
    repo_id = operations.add_repo(conn, REPO).repo_id
    fake.inject(delay=0.02, times=10_000)
    active: list[str] = []
    overlaps: list[str] = []
    lock = threading.Lock()

    class Watched:
        """The real sync, watched for two workers inside it at once."""

        record_failure = staticmethod(real_sync.record_failure)

        def __init__(self, name: str) -> None:
            self.name = name

        def sync_repo(self, *args, **kwargs):
            with lock:
                active.append(self.name)
                if len(active) > 1:
                    overlaps.append(self.name)
            try:
                return real_sync.sync_repo(*args, **kwargs)
            finally:
                with lock:
                    active.remove(self.name)

    workers = [Worker(github_settings, engine=Watched(n)) for n in ("a", "b")]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run(worker: Worker) -> None:
        barrier.wait()
        for _ in range(3):
            operations.request_sync(worker.conn, repo_id)
            outcomes.extend(o.status for o in worker.run_once())
        worker.close()

    threads = [threading.Thread(target=run, args=(x,)) for x in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []
    assert "busy" in outcomes and "synced" in outcomes
    assert [w.last_error for w in workers] == [None, None]
    assert cached(conn) == truth(fake)
    assert counts_match(conn, repo_id)
    assert verify(conn).ok


# -- pmbot sync ----------------------------------------------------------------------------


@pytest.fixture
def env(github_settings, monkeypatch, tmp_path):
    values = {
        "PMBOT_DATA_DIR": str(github_settings.data_dir),
        "GITHUB_TOKEN": github_settings.github_token.reveal(),
        "GITHUB_API_BASE": github_settings.github_api_base,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return values


def test_pmbot_sync_prints_a_summary(env, conn, fake, capsys):
    operations.add_repo(conn, REPO)
    assert main(["sync", REPO]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"{REPO}: synced — \d+ items changed, \d+ pages, \d+ requests \(0 not modified\),"
        r" rate limit left \d+/5000\n",
        out,
    )
    assert cached(conn) == truth(fake)


def test_pmbot_sync_reconcile_marks_deleted_and_transferred_items(env, conn, fake, capsys):
    fake.add_repo("acme/other")
    operations.add_repo(conn, REPO)
    assert main(["sync", REPO]) == 0
    fake.delete_item(REPO, 2)
    fake.transfer_item(REPO, 4, "acme/other")
    assert main(["sync", "--reconcile", REPO]) == 0
    assert cached(conn) == truth(fake)
    gone = conn.execute(
        "SELECT issue_number, gone, moved_to FROM github_issues WHERE gone IS NOT NULL"
        " ORDER BY issue_number"
    ).fetchall()
    assert [tuple(r)[:2] for r in gone] == [(2, "deleted"), (4, "transferred")]
    assert "acme/other" in gone[1][2]


def test_pmbot_sync_fails_with_one_line(env, conn, fake, capsys):
    operations.add_repo(conn, "acme/nope")
    assert main(["sync", "acme/nope"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "acme/nope: failed — repository not found or token lacks access"
    assert fake.token not in err


def test_pmbot_sync_does_not_collide_with_a_worker_holding_the_lease(env, conn, fake, capsys):
    from pmbot.control_plane.sync.schedule import claim_lease

    repo_id = operations.add_repo(conn, REPO).repo_id
    assert claim_lease(conn, repo_id, "other-host:1:abc", datetime.now(UTC), 60)
    assert main(["sync", REPO]) == 1
    assert "busy" in capsys.readouterr().err
    assert cached(conn) == {}


def test_pmbot_sync_unknown_repo(env, conn, capsys):
    assert main(["sync", "acme/unknown"]) == 2
    assert "not tracked" in capsys.readouterr().err


# -- worker processes ----------------------------------------------------------------------


def _spawn(env: dict, cwd: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pmbot", "worker", *extra],
        cwd=cwd,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read(db_path: Path, sql: str, params=()):
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _pages_done(db_path: Path, repo_id: int) -> int:
    row = _read(db_path, "SELECT progress_pages FROM repo_schedule WHERE repo_id = ?", (repo_id,))
    return (row and row[0]) or 0


def _synced(db_path: Path, repo_id: int) -> bool:
    row = _read(db_path, "SELECT status FROM repos WHERE repo_id = ?", (repo_id,))
    return row[0] == "ok"


@pytest.fixture
def big_fake(fake):
    """Enough pages, served slowly enough, for a signal to land mid-import."""
    add_issues(fake, 60, prefix="more")
    fake.inject(delay=0.1, times=10_000)
    return fake


@pytest.mark.slow
def test_sigkill_mid_import_then_restart_converges(env, conn, big_fake, tmp_path):
    db_path = Path(env["PMBOT_DATA_DIR"]) / "control_plane" / "pm_bot.sqlite3"
    repo_id = operations.add_repo(conn, REPO).repo_id
    proc = _spawn(env, tmp_path, "--lease-seconds", "2")
    try:
        _wait_for(lambda: _pages_done(db_path, repo_id) >= 3)
        proc.kill()
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not _synced(db_path, repo_id)
    committed = len(cached(conn))
    assert 0 < committed < len(truth(big_fake))
    assert counts_match(conn, repo_id)
    big_fake.update(REPO, 1, title="changed while the worker was down")
    first_run_requests = len(big_fake.requests)
    proc = _spawn(env, tmp_path, "--lease-seconds", "2")
    try:
        _wait_for(lambda: _synced(db_path, repo_id), timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert cached(conn) == truth(big_fake)
    assert counts_match(conn, repo_id)
    assert verify(conn).ok
    # It resumed after the committed pages instead of starting the import again.
    first, resumed = big_fake.requests[0], big_fake.requests[first_run_requests]
    assert (resumed.path, resumed.query) != (first.path, first.query)


@pytest.mark.slow
def test_a_worker_restarted_after_sigkill_takes_over_the_lease_at_once(
    env, conn, big_fake, tmp_path
):
    """Issue 16 item 9: with the default 60 s lease, the restarted worker on this host sees
    that the holder's process is gone and resumes at once, not after the lease runs out."""
    db_path = Path(env["PMBOT_DATA_DIR"]) / "control_plane" / "pm_bot.sqlite3"
    repo_id = operations.add_repo(conn, REPO).repo_id
    proc = _spawn(env, tmp_path)
    try:
        _wait_for(lambda: _pages_done(db_path, repo_id) >= 2)
        proc.kill()
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    held = read_schedule(conn, repo_id)
    assert held["lease_owner"] is not None and held["lease_expires_at"] is not None
    killed_at = time.monotonic()
    proc = _spawn(env, tmp_path)
    try:
        # Well inside the 60 s lease (the import itself takes a few seconds).
        _wait_for(lambda: _synced(db_path, repo_id), timeout=40)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert time.monotonic() - killed_at < 40
    assert cached(conn) == truth(big_fake)
    assert counts_match(conn, repo_id)


@pytest.mark.slow
def test_sigterm_mid_import_stops_within_5s_leaving_nothing_half_done(
    env, conn, big_fake, tmp_path
):
    db_path = Path(env["PMBOT_DATA_DIR"]) / "control_plane" / "pm_bot.sqlite3"
    repo_id = operations.add_repo(conn, REPO).repo_id
    proc = _spawn(env, tmp_path)
    try:
        _wait_for(lambda: _pages_done(db_path, repo_id) >= 2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    row = read_schedule(conn, repo_id)
    assert row["lease_owner"] is None and row["progress_pages"] is None
    assert counts_match(conn, repo_id)
    assert _read(db_path, "SELECT count(*) FROM worker_heartbeats")[0] == 0
    assert len(cached(conn)) < len(truth(big_fake))
    proc = _spawn(env, tmp_path)
    try:
        _wait_for(lambda: _synced(db_path, repo_id), timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert cached(conn) == truth(big_fake)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_shows_items_pages_requests_and_rate_limit(
    conn, fake, make_worker
):
    repo_id = operations.add_repo(conn, REPO).repo_id
    worker = make_worker()
    stream = Tty()
    line = ProgressLine(worker, REPO, stream)
    assert worker.sync_repo(repo_id, on_progress=line.update).status == "synced"
    line.finish()
    updates = stream.getvalue().split("\r")
    assert re.fullmatch(
        rf"{REPO}: 10 items, 1 pages, 2 requests, rate limit left 4998\x1b\[K", updates[1]
    )
    assert updates[-1] == "\x1b[K"  # the line is cleared before the summary


def test_progress_line_is_silent_when_not_a_terminal(conn, fake, make_worker):
    repo_id = operations.add_repo(conn, REPO).repo_id
    stream = io.StringIO()
    worker = make_worker()
    line = ProgressLine(worker, REPO, stream)
    worker.sync_repo(repo_id, on_progress=line.update)
    line.finish()
    assert stream.getvalue() == ""
