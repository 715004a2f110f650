"""The worker loop: requests, scheduling, backoff, leases, heartbeats, shutdown.

These tests drive `Worker.run_once` / `Worker.sync_repo` directly with an
injected clock and a small stand-in sync engine, on a real SQLite file. The
scenarios against the real sync and the fake GitHub server are in
tests/test_worker_github.py.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from pmbot.control_plane import operations, registry
from pmbot.control_plane.github import status
from pmbot.control_plane.github.client import ExchangeInfo, RateLimit, RateLimited, ServerError
from pmbot.control_plane.sync import schedule as w
from pmbot.control_plane.sync import sync as real_sync
from pmbot.control_plane.sync.schedule import read_schedule
from pmbot.control_plane.sync.worker import Worker, WorkerStopping
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339
from tests.fake_github.clock import T0


@dataclass
class Progress:
    items: int
    pages: int
    requests: int
    stream: str = "issues"
    estimate: int | None = None


@dataclass
class Result:
    changed_items: int = 0
    pages: int = 1
    requests: int = 1
    not_modified: int = 0
    issues_cursor: str | None = None
    prs_cursor: str | None = None
    event_recorded: bool = False


@dataclass
class FakeEngine:
    """Stands in for sync/sync.py: records calls, fails on demand."""

    calls: list[tuple[int, bool]] = field(default_factory=list)
    failures: list[tuple[int, str, int, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    pages: int = 1
    during_page: object = None

    context: object = None

    def sync_repo(self, conn, client, repo_id, *, settings, reconcile, context):
        self.calls.append((repo_id, reconcile))
        self.context = context
        if self.errors:
            raise self.errors.pop(0)
        for page in range(1, self.pages + 1):
            if self.during_page:
                self.during_page(page)
            context.progress(Progress(items=page * 100, pages=page, requests=page))
            if not context.tick():
                break
        return Result(changed_items=self.pages * 100, pages=self.pages)

    def record_failure(self, conn, repo_id, error, *, attempt, next_retry_at):
        self.failures.append((repo_id, getattr(error, "code", "error"), attempt, next_retry_at))
        return True


@pytest.fixture
def engine():
    return FakeEngine()


@pytest.fixture
def make_worker(settings, conn, clock, engine):
    made = []

    def make(**options):
        options = {"engine": engine, "clock": clock, "rng": lambda: 1.0, **options}
        worker = Worker(settings, **options)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()


def _add(conn, *names):
    return [operations.add_repo(conn, name).repo_id for name in names]


def _pending(conn):
    return conn.execute("SELECT repo_id, reconcile FROM sync_requests").fetchall()


def test_sync_now_request_is_served_and_consumed(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    outcomes = make_worker().run_once()
    assert [(o.repo_id, o.status) for o in outcomes] == [(repo_id, "synced")]
    assert engine.calls == [(repo_id, False)]
    assert _pending(conn) == []
    row = read_schedule(conn, repo_id)
    assert row["last_checked_at"] == "2026-03-01T12:00:00Z"
    assert row["failures"] == 0
    assert row["lease_owner"] is None and row["progress_items"] is None
    next_sync = datetime.fromisoformat(row["next_sync_at"].replace("Z", "+00:00"))
    assert T0 + timedelta(seconds=150) <= next_sync <= T0 + timedelta(seconds=450)


def test_nothing_runs_again_until_the_repo_is_due(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    worker = make_worker()
    worker.run_once()
    due_at = datetime.fromisoformat(read_schedule(conn, repo_id)["next_sync_at"][:-1] + "+00:00")
    clock.now = due_at - timedelta(seconds=1)
    assert worker.run_once() == []
    clock.now = due_at
    assert [o.status for o in worker.run_once()] == ["synced"]
    assert len(engine.calls) == 2


def test_a_request_bypasses_the_schedule_and_reconcile_is_passed_on(
    conn, make_worker, engine, clock
):
    (repo_id,) = _add(conn, "acme/widgets")
    worker = make_worker()
    worker.run_once()
    clock.advance(5)
    operations.request_sync(conn, repo_id, reconcile=True)
    worker.run_once()
    assert engine.calls == [(repo_id, False), (repo_id, True)]
    assert _pending(conn) == []


def test_a_request_written_during_a_sync_is_kept_for_the_next_round(
    conn, make_worker, engine, clock
):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.during_page = lambda page: operations.request_sync(conn, repo_id) if page == 1 else None
    worker = make_worker()
    worker.run_once()
    assert len(engine.calls) == 1
    assert len(_pending(conn)) == 1
    engine.during_page = None
    worker.run_once()
    assert len(engine.calls) == 2 and _pending(conn) == []


def test_repos_are_spread_over_the_poll_interval(conn, make_worker, settings):
    ids = _add(conn, *(f"acme/repo{i}" for i in range(12)))
    make_worker().run_once()
    poll = settings.sync_poll_seconds
    offsets = sorted(
        datetime.fromisoformat(read_schedule(conn, i)["next_sync_at"][:-1] + "+00:00").timestamp()
        % poll
        for i in ids
    )
    gaps = [b - a for a, b in zip(offsets, [*offsets[1:], offsets[0] + poll], strict=True)]
    assert len(set(offsets)) == 12
    assert min(gaps) >= poll / 12 / 3  # no bunching: each gap ≥ a third of the even share


def test_daily_reconciliation(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    worker = make_worker()
    worker.run_once()
    assert read_schedule(conn, repo_id)["next_reconcile_at"] == "2026-03-02T12:00:00Z"
    clock.advance(24 * 3600)
    worker.run_once()
    assert engine.calls[-1] == (repo_id, True)
    assert read_schedule(conn, repo_id)["next_reconcile_at"] == "2026-03-03T12:00:00Z"


def _delay(conn, repo_id, clock):
    next_sync = read_schedule(conn, repo_id)["next_sync_at"]
    return (datetime.fromisoformat(next_sync[:-1] + "+00:00") - clock.now).total_seconds()


def test_backoff_grows_is_capped_and_resets_on_success(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    worker = make_worker()
    delays = []
    for _ in range(9):
        engine.errors.append(ServerError("GitHub answered 502 (GET /repos/acme/widgets/issues)"))
        operations.request_sync(conn, repo_id)
        outcomes = worker.run_once()
        assert [o.status for o in outcomes] == ["failed"]
        delays.append(_delay(conn, repo_id, clock))
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert read_schedule(conn, repo_id)["failures"] == 9
    assert [f[2] for f in engine.failures] == list(range(1, 10))
    assert engine.failures[0][3] == "2026-03-01T12:00:30Z"
    operations.request_sync(conn, repo_id)
    assert [o.status for o in worker.run_once()] == ["synced"]
    assert read_schedule(conn, repo_id)["failures"] == 0


def test_backoff_has_jitter_below_the_nominal_delay(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.errors.append(ServerError("boom"))
    make_worker(rng=lambda: 0.0).run_once()
    assert _delay(conn, repo_id, clock) == 22  # 30 s × 0.75, whole seconds


def test_rate_limited_retries_no_sooner_than_the_reset(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.errors.append(RateLimited(T0 + timedelta(minutes=40), status=403))
    make_worker().run_once()
    assert _delay(conn, repo_id, clock) == 40 * 60
    assert engine.failures[0][1] == "rate_limited"


def test_an_unexpected_error_is_kept_and_does_not_stop_other_repos(
    conn, make_worker, engine, clock
):
    first, second = _add(conn, "acme/one", "acme/two")
    engine.errors.append(RuntimeError("bug in sync"))
    worker = make_worker()
    outcomes = worker.run_once()
    assert [(o.repo_id, o.status) for o in outcomes] == [(first, "failed"), (second, "synced")]
    assert isinstance(worker.last_error, RuntimeError)
    assert read_schedule(conn, first)["failures"] == 1
    assert [f[:2] for f in engine.failures] == [(first, "error")]


def test_a_leased_repo_is_busy_until_the_lease_expires(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    assert w.claim_lease(conn, repo_id, "other:1:dead", clock(), 60)
    worker = make_worker()
    assert [o.status for o in worker.run_once()] == ["busy"]
    assert engine.calls == [] and len(_pending(conn)) == 1
    clock.advance(60)
    assert [o.status for o in worker.run_once()] == ["synced"]
    assert read_schedule(conn, repo_id)["lease_owner"] is None


def test_a_worker_that_loses_its_lease_stops_between_pages(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.pages = 5

    def steal(page):
        if page == 2:
            conn.execute(
                "UPDATE repo_schedule SET lease_owner = 'thief', lease_expires_at = '2099-01-01'"
            )

    engine.during_page = steal
    outcome = make_worker().sync_repo(repo_id)
    assert outcome.status == "stopped"
    assert read_schedule(conn, repo_id)["lease_owner"] == "thief"
    assert read_schedule(conn, repo_id)["last_checked_at"] is None


def test_progress_is_live_during_a_sync_and_cleared_after(conn, make_worker, engine):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.pages = 3
    seen = []

    def look(page):
        row = read_schedule(conn, repo_id)
        seen.append((row["progress_pages"], row["lease_owner"]))

    engine.during_page = look
    worker = make_worker()
    worker.run_once()
    assert seen == [(None, worker.worker_id), (1, worker.worker_id), (2, worker.worker_id)]
    assert read_schedule(conn, repo_id)["progress_pages"] is None


def test_github_status_is_saved_from_client_responses(conn, make_worker, engine, clock):
    _add(conn, "acme/widgets")
    worker = make_worker()
    rate = RateLimit(limit=5000, remaining=4990, used=10, reset_at=T0, resource="core")
    info = ExchangeInfo(T0, "GET", "https://x/y", 200, rate, None, None, 0.1)
    engine.during_page = lambda page: worker._note_response(info)
    worker.run_once()
    assert status.read_status(conn) == {
        "reachable": True,
        "last_request_at": "2026-03-01T12:00:00Z",
        "last_error": None,
        "rate_limit": {
            "remaining": 4990,
            "limit": 5000,
            "reset_at": "2026-03-01T12:00:00Z",
            "resource": "core",
        },
    }


def test_heartbeat_check_fresh_stale_and_missing(conn, make_worker, clock):
    assert Worker.check(conn, 30, now=T0) == (False, "no worker heartbeat recorded")
    worker = make_worker()
    worker.run_once()
    ok, reason = Worker.check(conn, 30, now=T0 + timedelta(seconds=10))
    assert ok and "10 s ago" in reason
    ok, reason = Worker.check(conn, 30, now=T0 + timedelta(seconds=31))
    assert not ok and reason.startswith("worker heartbeat is stale")


def test_client_sleep_raises_when_the_worker_stops(make_worker):
    waits = []
    worker = make_worker(wait=lambda s: waits.append(s) or len(waits) == 3)
    with pytest.raises(WorkerStopping):
        worker._sleep(60)
    assert waits == [5.0, 5.0, 5.0]
    worker = make_worker(wait=lambda s: False)
    worker._sleep(12)  # returns after 5 + 5 + 2


def test_thread_picks_up_a_request_within_a_second_and_stops_cleanly(settings, conn, engine):
    worker = Worker(settings, engine=engine).start()
    try:
        time.sleep(0.2)  # the first (empty) cycle has run; the loop now waits
        (repo_id,) = _add(conn, "acme/widgets")
        deadline = time.monotonic() + 3
        while not engine.calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.calls == [(repo_id, False)]
    finally:
        started = time.monotonic()
        assert worker.stop(timeout=5)
        assert time.monotonic() - started < 2
    assert worker.last_error is None
    assert conn.execute("SELECT count(*) FROM worker_heartbeats").fetchone()[0] == 0


def test_stop_during_a_sync_returns_between_pages(conn, make_worker, engine):
    (repo_id,) = _add(conn, "acme/widgets")
    engine.pages = 5
    worker = make_worker()
    engine.during_page = lambda page: worker.stop() if page == 2 else None
    outcome = worker.sync_repo(repo_id)
    assert outcome.status == "stopped"
    assert read_schedule(conn, repo_id)["lease_owner"] is None
    assert read_schedule(conn, repo_id)["next_sync_at"] is None  # not counted as a refresh


def test_two_threads_never_sync_one_repo_at_once(settings, conn, engine):
    (repo_id,) = _add(conn, "acme/widgets")
    active, overlaps = [], []
    lock = threading.Lock()

    def during(page):
        with lock:
            active.append(threading.get_ident())
            if len(set(active)) > 1:
                overlaps.append(page)
        time.sleep(0.01)
        with lock:
            active.remove(threading.get_ident())

    engine.pages = 5
    engine.during_page = during
    workers = [Worker(settings, engine=engine) for _ in range(2)]
    outcomes = []
    barrier = threading.Barrier(2)

    def run(worker):
        barrier.wait()
        for _ in range(5):
            outcomes.append(worker.sync_repo(repo_id).status)
        worker.close()

    threads = [threading.Thread(target=run, args=(x,)) for x in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert overlaps == []
    assert "busy" in outcomes and "synced" in outcomes


def test_the_lease_outlives_a_long_rate_limit_wait(conn, make_worker, engine, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    stolen = []

    def wait(seconds):
        clock.advance(seconds)
        stolen.append(w.claim_lease(conn, repo_id, "other", clock(), 60))
        return False

    worker = make_worker(wait=wait)

    def long_wait(page):
        """A 300 s rate-limit wait as the real sync has it: the client sleeps (on its helper
        thread) while the sync ticks its context on the worker's thread."""
        for _ in range(60):
            worker._sleep(5)
            engine.context.tick()

    engine.during_page = long_wait
    assert worker.sync_repo(repo_id).status == "synced"
    assert len(stolen) == 60 and not any(stolen)


def test_a_one_off_sync_writes_no_heartbeat(conn, make_worker):
    (repo_id,) = _add(conn, "acme/widgets")
    make_worker().sync_repo(repo_id)
    assert conn.execute("SELECT count(*) FROM worker_heartbeats").fetchone()[0] == 0


def test_a_changed_poll_interval_reschedules_every_repo_at_start(settings, conn, clock):
    """Issue 16 item 8: a shorter PMBOT_SYNC_POLL_SECONDS applies at the worker's start,
    not after the refreshes planned under the old interval (up to an hour away)."""
    hourly = dataclasses.replace(settings, sync_poll_seconds=3600)
    engine = FakeEngine()
    repo_ids = _add(conn, "acme/one", "acme/two")
    failing = _add(conn, "acme/failing")[0]
    first = Worker(hourly, engine=engine, clock=clock, rng=lambda: 1.0)
    first.run_once()  # serves the add requests: all three synced, next in 30–90 min
    engine.errors.append(RateLimited(clock() + timedelta(minutes=40), status=403))
    first.sync_repo(failing)
    first.close()
    planned = {r: read_schedule(conn, r)["next_sync_at"] for r in [*repo_ids, failing]}
    assert all(at > to_rfc3339(clock() + timedelta(minutes=29)) for at in planned.values())

    clock.advance(90)
    engine.calls.clear()
    restarted = Worker(
        dataclasses.replace(settings, sync_poll_seconds=60), engine=engine, clock=clock
    ).start()
    try:
        deadline = time.monotonic() + 5
        while len(engine.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        assert restarted.stop(timeout=5)
    assert sorted(repo_id for repo_id, _ in engine.calls) == repo_ids
    assert read_schedule(conn, failing)["next_sync_at"] == planned[failing]  # still backing off
    for repo_id in repo_ids:
        next_sync = parse_rfc3339(read_schedule(conn, repo_id)["next_sync_at"])
        assert timedelta(seconds=30) <= next_sync - clock() <= timedelta(seconds=90)


# -- a failing data dir (issue 16 item 5, the sync's part) -----------------------------------


def _read_only(db_path):
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)


def test_a_sync_whose_writes_fail_records_one_clear_error_on_the_repo(
    settings, conn, db_path, make_worker, engine, caplog
):
    (repo_id,) = _add(conn, "acme/widgets")
    read_only = _read_only(db_path)

    def write_a_page(page):  # a real refused write, as a read-only or failing disk gives
        read_only.execute("INSERT INTO sync_requests (repo_id, requested_at) VALUES (1, 'x')")

    engine.during_page = write_a_page
    engine.record_failure = real_sync.record_failure
    worker = make_worker()
    [outcome] = worker.run_once()

    repo = registry.get_repo(conn, repo_id)
    assert outcome.status == "failed"
    assert (repo.status, repo.last_error_code) == ("error", "data_dir_not_writable")
    assert repo.last_error.startswith(f"the data dir {db_path.parent} is not writable")
    assert all(r.exc_info is None for r in caplog.records)
    assert read_schedule(conn, repo_id)["lease_owner"] is None
    read_only.close()


def test_a_data_dir_that_cannot_be_written_at_all_is_one_line_not_a_traceback_loop(
    settings, conn, db_path, make_worker, engine, clock, caplog, monkeypatch
):
    _add(conn, "acme/widgets")
    monkeypatch.setattr("pmbot.control_plane.sync.worker.connect", _read_only)
    worker = make_worker()

    worker.start()
    try:
        time.sleep(2.5)  # two or three cycles
    finally:
        assert worker.stop(timeout=5)

    lines = [r for r in caplog.records if r.name.startswith("pmbot") and r.levelname == "ERROR"]
    cycles = [r for r in lines if r.getMessage().startswith("worker cycle failed")]
    assert len(cycles) == 1, [r.getMessage() for r in lines]  # once, not once a second
    assert all("not writable" in r.getMessage() and r.exc_info is None for r in lines)
    assert worker.last_error.code == "data_dir_not_writable"
    assert engine.calls == []
