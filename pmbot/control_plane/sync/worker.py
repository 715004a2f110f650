"""The sync worker: one thread that keeps every registered repo's cache fresh.

Policy (the tables and the schedule, lease and backoff rules are in
`schedule.py`; none of it is audited):

- "Sync now": rows in `sync_requests`, written by any process. The loop wakes
  every second and checks them with one small query; they bypass backoff. A
  request is deleted after the sync it triggered, whatever the outcome;
  requests written during that sync stay for the next round.
- Lease: a sync first claims the repo, renews it after every page and
  releases it at the end. A worker that loses its lease stops between pages;
  a crashed worker's lease is taken over once it expires.
- Keep-alive: one path. The sync calls its `SyncContext` (`_JobContext`) on
  the worker's own thread: `tick()` between pages and while a request is on
  its way (a long rate-limit wait included), `progress()` after each page.
  Both renew the lease, save what GitHub last told the client (`on_response`
  only keeps the latest exchange, from whichever thread) and beat. The
  client's `sleep` only waits.
- Errors: per repo, exponential backoff with jitter (`schedule.retry_at`); a
  success resets it. `sync.failed` is appended by `sync.record_failure`,
  which does so only when the error state changes.
- Storage: a sync that fails because the data dir cannot be written records
  that one clear line (`data_dir_not_writable`, from `db.health`) as the
  repo's error, never a traceback. If even that record cannot be written, the
  worker logs one line, holds the repo off for its backoff in memory, and
  logs a failing cycle once until it changes, instead of a traceback a second.
- Disk: every sync ends with a WAL checkpoint (`db.space.checkpoint`), and
  every cycle first finishes any purge a removal or reset left half done.
- Shutdown: `stop()` sets an event. The sync in flight stops between pages
  (each page commits atomically) or at once while waiting to retry.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pmbot.control_plane.db import connect, health, space, transaction
from pmbot.control_plane.github import status
from pmbot.control_plane.github.client import GitHubClient, GitHubError
from pmbot.control_plane.registry import RepoNotFound, finish_purges
from pmbot.control_plane.sync import schedule
from pmbot.control_plane.sync import sync as sync_engine
from pmbot.control_plane.sync.mirrors import MirrorWorker
from pmbot.control_plane.sync.sync import SyncContext, SyncProgress
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

log = logging.getLogger("pmbot.worker")

LOOP_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 60


class WorkerStopping(Exception):
    """Raised from the client's sleep when the worker is asked to stop."""


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync attempt did: synced, failed, busy (leased elsewhere), stopped, removed."""

    repo_id: int
    status: str
    result: Any = None
    error: BaseException | None = None


class _JobContext(SyncContext):
    """One sync's lease, kept alive from the sync's ticks on the worker's thread."""

    def __init__(
        self,
        worker: Worker,
        conn: sqlite3.Connection,
        repo_id: int,
        claimed_at: datetime,
        on_progress: Callable[[SyncProgress], None] | None,
    ) -> None:
        self.worker, self.conn, self.repo_id = worker, conn, repo_id
        self.on_progress = on_progress
        self.claimed_at = self.renewed_at = claimed_at
        self.lease_ok = True

    def tick(self) -> bool:
        if self.worker._stop.is_set():
            return False
        self._keep_alive()
        return self.lease_ok

    def progress(self, progress: SyncProgress) -> None:
        self._keep_alive(force_renew=True)
        schedule.save_progress(
            self.conn, self.repo_id, self.worker.worker_id, progress, self.claimed_at
        )
        if self.on_progress is not None:
            self.on_progress(progress)

    def _keep_alive(self, *, force_renew: bool = False) -> None:
        """Renew the lease (at most every third of its length unless forced), save the
        GitHub status, and beat if this thread runs the loop."""
        worker, now = self.worker, self.worker.clock()
        if force_renew or (now - self.renewed_at).total_seconds() >= worker.lease_seconds / 3:
            self.lease_ok = self.lease_ok and schedule.renew_lease(
                self.conn, self.repo_id, worker.worker_id, now, worker.lease_seconds
            )
            self.renewed_at = now
        worker._flush_status(self.conn)
        if getattr(worker._local, "beat_at", None) is not None:
            worker._beat(self.conn)


# -- the worker ----------------------------------------------------------------------------


@dataclass
class Worker:
    """Runs syncs: in its own daemon thread (`start`/`stop`) or called directly.

    Each thread that uses the worker gets its own connection (`conn`). `engine`
    provides `sync_repo` and `record_failure` (the sync module by default).
    """

    settings: Settings
    client: Any = None
    engine: Any = sync_engine
    clock: Callable[[], datetime] = utc_now
    wait: Callable[[float], bool] | None = None
    rng: Callable[[], float] = random.random
    lease_seconds: int = LEASE_SECONDS
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    last_error: BaseException | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._started_at = self.clock()
        self._last_response: Any = None
        self._held_off: dict[int, datetime] = {}  # repo → retry time, while the DB is unwritable
        self._cycle_problem: str | None = None
        self._mirrors: MirrorWorker | None = None
        if self.wait is None:
            self.wait = self._stop.wait
        if self.client is None:
            self.client = GitHubClient.from_settings(
                self.settings, sleep=self._sleep, clock=self.clock, on_response=self._note_response
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        return cls(settings)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to the product DB, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(Path(self.settings.db_path))
        return conn

    def close(self) -> None:
        """Close the calling thread's connection, dropping its heartbeat row."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                with self._one_line_if_storage_fails(f"drop the heartbeat of {self.worker_id}"):
                    schedule.delete_heartbeat(conn, self.worker_id)
            finally:
                conn.close()
                self._local.conn = None

    # -- thread ----------------------------------------------------------------------------

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self._run, name="pmbot-worker", daemon=True)
        self._thread.start()
        # Git mirrors run on their own thread, so git never delays the metadata sync.
        self._mirrors = MirrorWorker(self.settings, clock=self.clock).start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop (and the mirror thread) to stop and wait; True when it ended in time."""
        if self._mirrors is not None:
            self._mirrors.stop(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        log.info("worker %s started", self.worker_id)
        try:
            self._apply_poll_interval()
            while not self._stop.is_set():
                try:
                    self.run_once()
                    self._cycle_problem = None
                except Exception as exc:
                    self._cycle_failed(exc)
                self._stop.wait(LOOP_SECONDS)
        finally:
            self.close()
            log.info("worker %s stopped", self.worker_id)

    def _apply_poll_interval(self) -> None:
        """A changed `sync_poll_seconds` re-plans every repo now, not after the old plan."""
        try:
            moved = schedule.reschedule(self.conn, self.settings.sync_poll_seconds)
        except Exception as exc:
            self._cycle_failed(exc)
            return
        if moved:
            log.info(
                "poll interval %d s: rescheduled %d repo(s)", self.settings.sync_poll_seconds, moved
            )

    def _unexpected(self, exc: Exception, what: str) -> None:
        self.last_error = exc
        log.exception("%s: %s", what, exc)

    def _storage_error(self, exc: BaseException) -> health.StorageError | None:
        """The operator-facing error when `exc` is the data dir or DB failing, else None."""
        if isinstance(exc, health.StorageError):
            return exc
        if isinstance(exc, sqlite3.DatabaseError):
            return health.classify(exc, self.settings.db_path)
        return None

    @contextlib.contextmanager
    def _one_line_if_storage_fails(self, what: str) -> Iterator[None]:
        """A storage failure inside is logged as one line ("cannot <what>: ..."), not
        raised; any other error propagates."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            storage = self._storage_error(exc)
            if storage is None:
                raise
            log.error("cannot %s: %s", what, storage)

    def _cycle_failed(self, exc: Exception) -> None:
        """A storage failure is one line, logged again only when it changes."""
        storage = self._storage_error(exc)
        if storage is None:
            self._unexpected(exc, "worker cycle failed")
            return
        self.last_error = storage
        if str(storage) != self._cycle_problem:
            self._cycle_problem = str(storage)
            log.error("worker cycle failed: %s", storage)

    # -- one cycle -------------------------------------------------------------------------

    def run_once(self) -> list[SyncOutcome]:
        """Beat, then serve "sync now" requests and due repos until none is left."""
        conn = self.conn
        self._beat(conn)
        if finish_purges(conn):  # what a removal or reset cut short left behind
            space.checkpoint(conn)
        now = self.clock()
        due = [r for r in schedule.due_repo_ids(conn, now) if self._held_off.get(r, now) <= now]
        handled: set[int] = set()
        outcomes = []
        while not self._stop.is_set():
            request = next(
                (r for r in schedule.pending_requests(conn) if r.repo_id not in handled), None
            )
            if request is None and not due:
                break
            if request is not None:
                outcome = self.sync_repo(
                    request.repo_id, reconcile=request.reconcile, requests_upto=request.upto
                )
            else:
                repo_id = due.pop(0)
                if repo_id in handled:
                    continue
                outcome = self.sync_repo(repo_id)
            handled.add(outcome.repo_id)
            outcomes.append(outcome)
        return outcomes

    def sync_repo(
        self,
        repo_id: int,
        *,
        reconcile: bool = False,
        requests_upto: int | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> SyncOutcome:
        """Sync one repo under its lease; `busy` when another worker holds it."""
        conn = self.conn
        now = self.clock()
        if not schedule.claim_lease(conn, repo_id, self.worker_id, now, self.lease_seconds):
            return SyncOutcome(repo_id, "busy")
        job = _JobContext(self, conn, repo_id, now, on_progress)
        try:
            reconcile = reconcile or schedule.reconcile_due(conn, repo_id, now)
            return self._attempt(conn, job, reconcile)
        finally:
            # If this fails, the lease runs out (or a restart on this host takes it over).
            what = f"release the lease of repo {repo_id}"
            with self._one_line_if_storage_fails(what), transaction(conn):
                if requests_upto is not None:
                    schedule.delete_requests(conn, repo_id, requests_upto)
                schedule.release_lease(conn, repo_id, self.worker_id)
                self._flush_status(conn)
            space.checkpoint(conn)

    def _attempt(self, conn: sqlite3.Connection, job: _JobContext, reconcile: bool) -> SyncOutcome:
        try:
            result = self.engine.sync_repo(
                conn,
                self.client,
                job.repo_id,
                settings=self.settings,
                reconcile=reconcile,
                context=job,
            )
        except WorkerStopping:
            return SyncOutcome(job.repo_id, "stopped")
        except RepoNotFound:
            return SyncOutcome(job.repo_id, "removed")
        except GitHubError as exc:
            self._fail(conn, job.repo_id, exc)
            return SyncOutcome(job.repo_id, "failed", error=exc)
        except Exception as exc:
            error = self._storage_error(exc)
            if error is None:
                self._unexpected(exc, f"sync of repo {job.repo_id} failed unexpectedly")
            self._fail(conn, job.repo_id, error or exc)
            return SyncOutcome(job.repo_id, "failed", error=error or exc)
        if self._stop.is_set() or not job.lease_ok:
            return SyncOutcome(job.repo_id, "stopped", result)
        now = self.clock()
        next_sync = schedule.next_slot(job.repo_id, now, self.settings.sync_poll_seconds)
        schedule.mark_success(conn, job.repo_id, now, next_sync, reconcile)
        return SyncOutcome(job.repo_id, "synced", result)

    def _fail(self, conn: sqlite3.Connection, repo_id: int, error: Exception) -> None:
        """Back off and record the error (the sync module appends an event on change only).

        Unexpected errors are recorded too, so a repo that keeps failing shows it.
        """
        failures = schedule.failures(conn, repo_id) + 1
        moment = schedule.retry_at(error, failures, self.clock(), self.rng)
        log.warning(
            "sync of repo %s failed (attempt %d, next try %s): %s",
            repo_id, failures, to_rfc3339(moment), error,
        )  # fmt: skip
        self._held_off[repo_id] = moment  # kept only while no DB row can keep it
        with self._one_line_if_storage_fails(f"record the failure of repo {repo_id}"):
            with transaction(conn):
                schedule.mark_failure(conn, repo_id, failures, moment)
                self.engine.record_failure(
                    conn, repo_id, error, attempt=failures, next_retry_at=to_rfc3339(moment)
                )
            del self._held_off[repo_id]

    # -- hooks for the client ---------------------------------------------------------------

    def _note_response(self, info: Any) -> None:
        """Client hook; may run on a fetch thread, so it only keeps the latest info."""
        self._last_response = info

    def _flush_status(self, conn: sqlite3.Connection) -> None:
        info, self._last_response = self._last_response, None
        if info is not None:
            status.save_response(conn, info)

    def _sleep(self, seconds: float) -> None:
        """Client's sleep: only waits (in heartbeat-sized steps); raises when the worker is
        asked to stop. The lease outlives a long wait through the sync's `tick()`."""
        left = seconds
        while left > 0:
            step = min(left, HEARTBEAT_SECONDS)
            if self.wait(step):
                raise WorkerStopping("the worker is stopping")
            left -= step

    def _beat(self, conn: sqlite3.Connection) -> None:
        now = self.clock()
        last = getattr(self._local, "beat_at", None)
        if last is None or (now - last).total_seconds() >= HEARTBEAT_SECONDS:
            schedule.beat(conn, self.worker_id, self._started_at, now)
            self._local.beat_at = now

    # -- health ----------------------------------------------------------------------------

    @staticmethod
    def check(
        conn: sqlite3.Connection, max_age: float, now: datetime | None = None
    ) -> tuple[bool, str]:
        """Whether some worker beat within `max_age` seconds, and a one-line reason."""
        latest = schedule.latest_beat(conn)
        if latest is None:
            return False, "no worker heartbeat recorded"
        age = ((now or utc_now()) - parse_rfc3339(latest)).total_seconds()
        if age > max_age:
            return False, f"worker heartbeat is stale: last beat {latest} ({age:.0f} s ago)"
        return True, f"worker alive: last beat {latest} ({max(age, 0):.0f} s ago)"
