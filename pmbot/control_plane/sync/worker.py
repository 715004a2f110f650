"""The sync worker: one thread that keeps every registered repo's cache fresh.

Policy (all state here is operational, in `repo_schedule`, `sync_requests` and
`worker_heartbeats`; none of it is audited):

- Schedule: each repo is refreshed every `sync_poll_seconds`, in a slot at a
  stable offset inside the interval derived from its repo_id, so many repos
  are spread over the interval instead of firing together. A repo with no
  schedule row is due now. Each repo's open set is reconciled daily.
- "Sync now": rows in `sync_requests`, written by any process. The loop wakes
  every second and checks them with one small query; they bypass backoff. A
  request is deleted after the sync it triggered, whatever the outcome;
  requests written during that sync stay for the next round.
- Lease: a sync first claims the repo with one conditional UPDATE inside
  `BEGIN IMMEDIATE` (free, expired or already ours), renews it after every
  page and releases it at the end. A worker that loses its lease stops
  between pages; a crashed worker's lease is taken over once it expires.
- Errors: per repo, exponential backoff with jitter, capped, never before a
  rate-limit reset; a success resets it. `sync.failed` is appended by
  `sync.record_failure`, which does so only when the error state changes.
- Shutdown: `stop()` sets an event. The sync in flight stops between pages
  (each page commits atomically) or at once while waiting to retry.

Times stored here are whole-second RFC 3339 (`...SSZ`), so they compare as text.
"""

from __future__ import annotations

import logging
import math
import os
import random
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pmbot.control_plane.db import connect, transaction
from pmbot.control_plane.github import status
from pmbot.control_plane.github import sync as sync_engine
from pmbot.control_plane.github.client import GitHubClient, GitHubError, RateLimited
from pmbot.control_plane.registry import RepoNotFound
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

log = logging.getLogger("pmbot.worker")

LOOP_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 60
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
RECONCILE_SECONDS = 24 * 3600
_GOLDEN_FRACTION = (math.sqrt(5) - 1) / 2  # spreads consecutive ids evenly


class WorkerStopping(Exception):
    """Raised from the client's sleep when the worker is asked to stop."""


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync attempt did: synced, failed, busy (leased elsewhere), stopped, removed."""

    repo_id: int
    status: str
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Job:
    """The lease held for one sync, renewed from the progress callbacks."""

    repo_id: int
    renewed_at: datetime
    lease_ok: bool = True
    on_progress: Callable[[Any], None] | None = None


@dataclass
class _Request:
    repo_id: int
    upto: int
    reconcile: bool


# -- times and policies ------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """Whole-second RFC 3339, the form every time in these tables uses."""
    return to_rfc3339(moment.replace(microsecond=0))


def next_slot(repo_id: int, now: datetime, poll_seconds: int) -> datetime:
    """The repo's next refresh: its fixed slot in the interval, at least half an interval away."""
    offset = (repo_id * _GOLDEN_FRACTION) % 1.0 * poll_seconds
    k = math.ceil((now.timestamp() + poll_seconds / 2 - offset) / poll_seconds)
    return datetime.fromtimestamp(k * poll_seconds + offset, UTC)


def retry_at(error: BaseException, failures: int, now: datetime, rng: Callable[[], float]):
    """Exponential backoff with jitter, capped; never before a rate limit lifts."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(failures - 1, 20))
    moment = now + timedelta(seconds=delay * (0.75 + 0.25 * rng()))
    if isinstance(error, RateLimited) and error.reset_at is not None:
        moment = max(moment, error.reset_at)
    return moment


# -- repo_schedule -------------------------------------------------------------------------


def claim_lease(
    conn: sqlite3.Connection, repo_id: int, owner: str, now: datetime, seconds: int
) -> bool:
    """Take the repo's lease if it is free, expired or ours; True when taken."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO repo_schedule (repo_id) VALUES (?) ON CONFLICT (repo_id) DO NOTHING",
            (repo_id,),
        )
        cursor = conn.execute(
            "UPDATE repo_schedule SET lease_owner = ?, lease_expires_at = ?"
            " WHERE repo_id = ? AND (lease_owner IS NULL OR lease_owner = ?"
            " OR lease_expires_at <= ?)",
            (owner, stamp(now + timedelta(seconds=seconds)), repo_id, owner, stamp(now)),
        )
    return cursor.rowcount == 1


def renew_lease(
    conn: sqlite3.Connection, repo_id: int, owner: str, now: datetime, seconds: int
) -> bool:
    """Extend our lease; False when it was lost (expired and taken, or the repo removed)."""
    cursor = conn.execute(
        "UPDATE repo_schedule SET lease_expires_at = ? WHERE repo_id = ? AND lease_owner = ?",
        (stamp(now + timedelta(seconds=seconds)), repo_id, owner),
    )
    return cursor.rowcount == 1


def save_progress(conn: sqlite3.Connection, repo_id: int, owner: str, progress: Any) -> None:
    conn.execute(
        "UPDATE repo_schedule SET progress_items = ?, progress_pages = ?, progress_requests = ?"
        " WHERE repo_id = ? AND lease_owner = ?",
        (progress.items, progress.pages, progress.requests, repo_id, owner),
    )


def release_lease(conn: sqlite3.Connection, repo_id: int, owner: str) -> None:
    """Free the lease and clear the live progress."""
    conn.execute(
        "UPDATE repo_schedule SET lease_owner = NULL, lease_expires_at = NULL,"
        " progress_items = NULL, progress_pages = NULL, progress_requests = NULL"
        " WHERE repo_id = ? AND lease_owner = ?",
        (repo_id, owner),
    )


def mark_success(
    conn: sqlite3.Connection, repo_id: int, now: datetime, next_sync: datetime, reconciled: bool
) -> None:
    """Reset backoff, note the check, schedule the next refresh (and reconciliation)."""
    conn.execute(
        "UPDATE repo_schedule SET failures = 0, last_checked_at = ?, next_sync_at = ?,"
        " next_reconcile_at = CASE WHEN ? OR next_reconcile_at IS NULL THEN ?"
        " ELSE next_reconcile_at END WHERE repo_id = ?",
        (stamp(now), stamp(next_sync), reconciled,
         stamp(now + timedelta(seconds=RECONCILE_SECONDS)), repo_id),
    )  # fmt: skip


def mark_failure(
    conn: sqlite3.Connection, repo_id: int, failures: int, next_sync: datetime
) -> None:
    conn.execute(
        "UPDATE repo_schedule SET failures = ?, next_sync_at = ? WHERE repo_id = ?",
        (failures, stamp(next_sync), repo_id),
    )


def read_schedule(conn: sqlite3.Connection, repo_id: int) -> dict | None:
    """The repo's operational row (lease, progress, next sync, failures), if any."""
    row = conn.execute("SELECT * FROM repo_schedule WHERE repo_id = ?", (repo_id,)).fetchone()
    return dict(row) if row else None


def due_repo_ids(conn: sqlite3.Connection, now: datetime) -> list[int]:
    """Registered repos whose refresh is due (or never scheduled), oldest first."""
    rows = conn.execute(
        "SELECT r.repo_id FROM repos r LEFT JOIN repo_schedule s ON s.repo_id = r.repo_id"
        " WHERE s.next_sync_at IS NULL OR s.next_sync_at <= ?"
        " ORDER BY coalesce(s.next_sync_at, ''), r.repo_id",
        (stamp(now),),
    )
    return [r[0] for r in rows]


def _reconcile_due(conn: sqlite3.Connection, repo_id: int, now: datetime) -> bool:
    row = conn.execute(
        "SELECT next_reconcile_at FROM repo_schedule WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return bool(row and row[0] and row[0] <= stamp(now))


def _failures(conn: sqlite3.Connection, repo_id: int) -> int:
    row = conn.execute(
        "SELECT failures FROM repo_schedule WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return row[0] if row else 0


# -- sync_requests -------------------------------------------------------------------------


def pending_requests(conn: sqlite3.Connection) -> list[_Request]:
    """Pending "sync now" requests, one per repo, oldest first."""
    rows = conn.execute(
        "SELECT repo_id, max(request_id), max(reconcile) FROM sync_requests"
        " GROUP BY repo_id ORDER BY min(request_id)"
    )
    return [_Request(r[0], r[1], bool(r[2])) for r in rows]


def delete_requests(conn: sqlite3.Connection, repo_id: int, upto: int) -> None:
    """Drop the requests a sync answered, keeping any that arrived after it began."""
    conn.execute("DELETE FROM sync_requests WHERE repo_id = ? AND request_id <= ?", (repo_id, upto))


# -- worker_heartbeats ---------------------------------------------------------------------


def beat(conn: sqlite3.Connection, worker_id: str, started_at: datetime, now: datetime) -> None:
    conn.execute(
        "INSERT INTO worker_heartbeats (worker_id, pid, started_at, beat_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (worker_id) DO UPDATE SET beat_at = excluded.beat_at",
        (worker_id, os.getpid(), stamp(started_at), stamp(now)),
    )


def delete_heartbeat(conn: sqlite3.Connection, worker_id: str) -> None:
    conn.execute("DELETE FROM worker_heartbeats WHERE worker_id = ?", (worker_id,))


def latest_beat(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT max(beat_at) FROM worker_heartbeats").fetchone()[0]


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
            delete_heartbeat(conn, self.worker_id)
            conn.close()
            self._local.conn = None

    # -- thread ----------------------------------------------------------------------------

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self._run, name="pmbot-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to stop and wait for it; True when it ended in time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        log.info("worker %s started", self.worker_id)
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception as exc:
                    self._unexpected(exc, "worker cycle failed")
                self._stop.wait(LOOP_SECONDS)
        finally:
            self.close()
            log.info("worker %s stopped", self.worker_id)

    def _unexpected(self, exc: Exception, what: str) -> None:
        self.last_error = exc
        log.exception("%s: %s", what, exc)

    # -- one cycle -------------------------------------------------------------------------

    def run_once(self) -> list[SyncOutcome]:
        """Beat, then serve "sync now" requests and due repos until none is left."""
        conn = self.conn
        self._beat(conn)
        due = due_repo_ids(conn, self.clock())
        handled: set[int] = set()
        outcomes = []
        while not self._stop.is_set():
            request = next((r for r in pending_requests(conn) if r.repo_id not in handled), None)
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
        if not claim_lease(conn, repo_id, self.worker_id, now, self.lease_seconds):
            return SyncOutcome(repo_id, "busy")
        job = self._local.job = _Job(repo_id, now, on_progress=on_progress)
        try:
            reconcile = reconcile or _reconcile_due(conn, repo_id, now)
            return self._attempt(conn, job, reconcile)
        finally:
            self._local.job = None
            with transaction(conn):
                if requests_upto is not None:
                    delete_requests(conn, repo_id, requests_upto)
                release_lease(conn, repo_id, self.worker_id)
                self._flush_status(conn)

    def _attempt(self, conn: sqlite3.Connection, job: _Job, reconcile: bool) -> SyncOutcome:
        try:
            result = self.engine.sync_repo(
                conn,
                self.client,
                job.repo_id,
                settings=self.settings,
                reconcile=reconcile,
                on_progress=lambda progress: self._progress(conn, job, progress),
                should_stop=lambda: self._should_stop(conn, job),
            )
        except WorkerStopping:
            return SyncOutcome(job.repo_id, "stopped")
        except RepoNotFound:
            return SyncOutcome(job.repo_id, "removed")
        except GitHubError as exc:
            self._fail(conn, job.repo_id, exc)
            return SyncOutcome(job.repo_id, "failed", error=exc)
        except Exception as exc:
            self._unexpected(exc, f"sync of repo {job.repo_id} failed unexpectedly")
            self._fail(conn, job.repo_id, exc)
            return SyncOutcome(job.repo_id, "failed", error=exc)
        if self._stop.is_set() or not job.lease_ok:
            return SyncOutcome(job.repo_id, "stopped", result)
        now = self.clock()
        next_sync = next_slot(job.repo_id, now, self.settings.sync_poll_seconds)
        mark_success(conn, job.repo_id, now, next_sync, reconcile)
        return SyncOutcome(job.repo_id, "synced", result)

    def _fail(self, conn: sqlite3.Connection, repo_id: int, error: Exception) -> None:
        """Back off and record the error (the sync module appends an event on change only).

        Unexpected errors are recorded too, so a repo that keeps failing shows it.
        """
        failures = _failures(conn, repo_id) + 1
        moment = retry_at(error, failures, self.clock(), self.rng)
        log.warning(
            "sync of repo %s failed (attempt %d, next try %s): %s",
            repo_id, failures, stamp(moment), error,
        )  # fmt: skip
        with transaction(conn):
            mark_failure(conn, repo_id, failures, moment)
            self.engine.record_failure(
                conn, repo_id, error, attempt=failures, next_retry_at=stamp(moment)
            )

    # -- callbacks from the client and the sync --------------------------------------------

    def _progress(self, conn: sqlite3.Connection, job: _Job, progress: Any) -> None:
        self._keep_alive(conn, force_renew=True)
        save_progress(conn, job.repo_id, self.worker_id, progress)
        if job.on_progress is not None:
            job.on_progress(progress)

    def _should_stop(self, conn: sqlite3.Connection, job: _Job) -> bool:
        if self._stop.is_set():
            return True
        self._keep_alive(conn)
        return not job.lease_ok

    def _keep_alive(self, conn: sqlite3.Connection, *, force_renew: bool = False) -> None:
        """During a sync: renew the lease (at most every third of its length unless forced),
        save the GitHub status, and beat if this thread runs the loop."""
        job, now = getattr(self._local, "job", None), self.clock()
        if job is not None and (
            force_renew or (now - job.renewed_at).total_seconds() >= self.lease_seconds / 3
        ):
            job.lease_ok = job.lease_ok and renew_lease(
                conn, job.repo_id, self.worker_id, now, self.lease_seconds
            )
            job.renewed_at = now
        self._flush_status(conn)
        if getattr(self._local, "beat_at", None) is not None:
            self._beat(conn)

    def _note_response(self, info: Any) -> None:
        """Client hook; may run on a fetch thread, so it only keeps the latest info."""
        self._last_response = info

    def _flush_status(self, conn: sqlite3.Connection) -> None:
        info, self._last_response = self._last_response, None
        if info is not None:
            status.save_response(conn, info)

    def _sleep(self, seconds: float) -> None:
        """Client's sleep: waits in heartbeat-sized steps, keeping the lease and heartbeat
        alive through a long rate-limit wait; raises when the worker is asked to stop."""
        left = seconds
        while left > 0:
            step = min(left, HEARTBEAT_SECONDS)
            if self.wait(step):
                raise WorkerStopping("the worker is stopping")
            left -= step
            if getattr(self._local, "conn", None) is not None:
                self._keep_alive(self._local.conn)

    def _beat(self, conn: sqlite3.Connection) -> None:
        now = self.clock()
        last = getattr(self._local, "beat_at", None)
        if last is None or (now - last).total_seconds() >= HEARTBEAT_SECONDS:
            beat(conn, self.worker_id, self._started_at, now)
            self._local.beat_at = now

    # -- health ----------------------------------------------------------------------------

    @staticmethod
    def check(
        conn: sqlite3.Connection, max_age: float, now: datetime | None = None
    ) -> tuple[bool, str]:
        """Whether some worker beat within `max_age` seconds, and a one-line reason."""
        latest = latest_beat(conn)
        if latest is None:
            return False, "no worker heartbeat recorded"
        age = ((now or utc_now()) - parse_rfc3339(latest)).total_seconds()
        if age > max_age:
            return False, f"worker heartbeat is stale: last beat {latest} ({age:.0f} s ago)"
        return True, f"worker alive: last beat {latest} ({max(age, 0):.0f} s ago)"
