"""The worker's operational tables and the policies that fill them.

Owns `repo_schedule` (per repo: lease, live progress, next sync and
reconciliation, failures), `sync_requests` ("sync now", written by any
process) and `worker_heartbeats`. None of it is audited.

- Schedule: each repo is refreshed every `sync_poll_seconds`, in a slot at a
  stable offset inside the interval derived from its repo_id, so many repos
  are spread over the interval instead of firing together. A repo with no
  schedule row is due now. Each repo's open set is reconciled daily.
- Lease: inside `BEGIN IMMEDIATE`, a repo is claimed when its lease is free,
  expired, already ours, or held by a process on this host that is gone
  (`holder.py`: a killed worker is replaced at once, not after the lease
  runs out); a lost lease fails `renew_lease`.
- Poll interval: at the worker's start every checked repo's next refresh is
  re-planned from its last check under the current `sync_poll_seconds`
  (`reschedule`), so a changed interval applies at once; a no-op when it did
  not change. A repo in backoff keeps its retry time.
- Errors: exponential backoff with jitter, capped, never before a rate-limit
  reset.

Times are stored as `to_rfc3339` writes them (whole seconds), so they compare as text.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.protocol import RateLimited
from pmbot.control_plane.sync.holder import Holder, is_gone, this_process
from pmbot.shared.timeutil import now_rfc3339, parse_rfc3339, to_rfc3339

log = logging.getLogger("pmbot.worker")

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
RECONCILE_SECONDS = 24 * 3600
_GOLDEN_FRACTION = (math.sqrt(5) - 1) / 2  # spreads consecutive ids evenly


@dataclass(frozen=True)
class SyncRequest:
    """The pending "sync now" requests of one repo: up to `upto`, reconciling if any asked."""

    repo_id: int
    upto: int
    reconcile: bool


# -- times and policies ------------------------------------------------------------------


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
    conn: sqlite3.Connection,
    repo_id: int,
    owner: str,
    now: datetime,
    seconds: int,
    holder: Holder | None = None,
) -> bool:
    """Take the repo's lease if it is free, expired, ours, or its holder process (on this
    host) is gone; True when taken. `holder` is the claiming process (this one)."""
    here = holder or this_process()
    with transaction(conn):
        conn.execute(
            "INSERT INTO repo_schedule (repo_id) VALUES (?) ON CONFLICT (repo_id) DO NOTHING",
            (repo_id,),
        )
        held = conn.execute(
            "SELECT lease_owner, lease_expires_at, lease_host, lease_pid, lease_started"
            " FROM repo_schedule WHERE repo_id = ?",
            (repo_id,),
        ).fetchone()
        if not _claimable(held, repo_id, owner, now, here):
            return False
        conn.execute(
            "UPDATE repo_schedule SET lease_owner = ?, lease_expires_at = ?, lease_host = ?,"
            " lease_pid = ?, lease_started = ? WHERE repo_id = ?",
            (owner, to_rfc3339(now + timedelta(seconds=seconds)), here.host, here.pid,
             here.started, repo_id),
        )  # fmt: skip
    return True


def _claimable(held: tuple, repo_id: int, owner: str, now: datetime, here: Holder) -> bool:
    current, expires_at, host, pid = held[0], held[1], held[2], held[3]
    if current is None or current == owner or expires_at <= to_rfc3339(now):
        return True
    if host is None or not is_gone(Holder(host, pid, held[4]), here):
        return False
    log.info("taking over the lease of repo %s from %s: its process is gone", repo_id, current)
    return True


def renew_lease(
    conn: sqlite3.Connection, repo_id: int, owner: str, now: datetime, seconds: int
) -> bool:
    """Extend our lease; False when it was lost (expired and taken, or the repo removed)."""
    cursor = conn.execute(
        "UPDATE repo_schedule SET lease_expires_at = ? WHERE repo_id = ? AND lease_owner = ?",
        (to_rfc3339(now + timedelta(seconds=seconds)), repo_id, owner),
    )
    return cursor.rowcount == 1


def save_progress(
    conn: sqlite3.Connection, repo_id: int, owner: str, progress: Any, started_at: datetime
) -> None:
    """The live totals, the size estimate, and when the sync claimed the lease (the ETA)."""
    conn.execute(
        "UPDATE repo_schedule SET progress_items = ?, progress_pages = ?, progress_requests = ?,"
        " progress_estimate = ?, progress_started_at = coalesce(progress_started_at, ?)"
        " WHERE repo_id = ? AND lease_owner = ?",
        (progress.items, progress.pages, progress.requests, progress.estimate,
         to_rfc3339(started_at), repo_id, owner),
    )  # fmt: skip


def release_lease(conn: sqlite3.Connection, repo_id: int, owner: str) -> None:
    """Free the lease and clear the live progress."""
    conn.execute(
        "UPDATE repo_schedule SET lease_owner = NULL, lease_expires_at = NULL, lease_host = NULL,"
        " lease_pid = NULL, lease_started = NULL, progress_items = NULL, progress_pages = NULL,"
        " progress_requests = NULL, progress_estimate = NULL, progress_started_at = NULL"
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
        (to_rfc3339(now), to_rfc3339(next_sync), reconciled,
         to_rfc3339(now + timedelta(seconds=RECONCILE_SECONDS)), repo_id),
    )  # fmt: skip


def mark_failure(
    conn: sqlite3.Connection, repo_id: int, failures: int, next_sync: datetime
) -> None:
    conn.execute(
        "UPDATE repo_schedule SET failures = ?, next_sync_at = ? WHERE repo_id = ?",
        (failures, to_rfc3339(next_sync), repo_id),
    )


def reschedule(conn: sqlite3.Connection, poll_seconds: int) -> int:
    """Re-plan every checked repo's next refresh as if its last check had happened under
    `poll_seconds` (what `mark_success` would have set); returns how many moved.

    Run at the worker's start, so a changed interval applies at once instead of after the
    refreshes planned under the old one. Repos in backoff keep their retry time.
    """
    rows = conn.execute(
        "SELECT repo_id, last_checked_at, next_sync_at FROM repo_schedule"
        " WHERE failures = 0 AND last_checked_at IS NOT NULL"
    ).fetchall()
    moved = []
    for repo_id, checked_at, planned in rows:
        slot = to_rfc3339(next_slot(repo_id, parse_rfc3339(checked_at), poll_seconds))
        if slot != planned:
            moved.append((slot, repo_id))
    if moved:
        with transaction(conn):
            conn.executemany("UPDATE repo_schedule SET next_sync_at = ? WHERE repo_id = ?", moved)
    return len(moved)


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
        (to_rfc3339(now),),
    )
    return [r[0] for r in rows]


def reconcile_due(conn: sqlite3.Connection, repo_id: int, now: datetime) -> bool:
    row = conn.execute(
        "SELECT next_reconcile_at FROM repo_schedule WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return bool(row and row[0] and row[0] <= to_rfc3339(now))


def failures(conn: sqlite3.Connection, repo_id: int) -> int:
    row = conn.execute(
        "SELECT failures FROM repo_schedule WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return row[0] if row else 0


# -- sync_requests -------------------------------------------------------------------------


def queue_sync_request(conn: sqlite3.Connection, repo_id: int, *, reconcile: bool = False) -> None:
    """Ask any worker to sync the repo now."""
    conn.execute(
        "INSERT INTO sync_requests (repo_id, requested_at, reconcile) VALUES (?, ?, ?)",
        (repo_id, now_rfc3339(), int(reconcile)),
    )


def pending_requests(conn: sqlite3.Connection) -> list[SyncRequest]:
    """Pending "sync now" requests, one per repo, oldest first."""
    rows = conn.execute(
        "SELECT repo_id, max(request_id), max(reconcile) FROM sync_requests"
        " GROUP BY repo_id ORDER BY min(request_id)"
    )
    return [SyncRequest(r[0], r[1], bool(r[2])) for r in rows]


def delete_requests(conn: sqlite3.Connection, repo_id: int, upto: int) -> None:
    """Drop the requests a sync answered, keeping any that arrived after it began."""
    conn.execute("DELETE FROM sync_requests WHERE repo_id = ? AND request_id <= ?", (repo_id, upto))


# -- worker_heartbeats ---------------------------------------------------------------------


def beat(conn: sqlite3.Connection, worker_id: str, started_at: datetime, now: datetime) -> None:
    conn.execute(
        "INSERT INTO worker_heartbeats (worker_id, pid, started_at, beat_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (worker_id) DO UPDATE SET beat_at = excluded.beat_at",
        (worker_id, os.getpid(), to_rfc3339(started_at), to_rfc3339(now)),
    )


def delete_schedule(conn: sqlite3.Connection, repo_id: int) -> None:
    """A removed repo's requests and schedule row."""
    conn.execute("DELETE FROM sync_requests WHERE repo_id = ?", (repo_id,))
    conn.execute("DELETE FROM repo_schedule WHERE repo_id = ?", (repo_id,))


def delete_heartbeat(conn: sqlite3.Connection, worker_id: str) -> None:
    conn.execute("DELETE FROM worker_heartbeats WHERE worker_id = ?", (worker_id,))


def latest_beat(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT max(beat_at) FROM worker_heartbeats").fetchone()[0]
