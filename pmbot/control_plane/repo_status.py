"""The repo status read model: what the operator sees for each repo.

Combines the projections (`repos`, `repo_sync_state`, `repo_counts`) with the
operational rows the worker keeps (`repo_schedule`: lease, live progress,
next sync, last no-change check) and the last rate limit GitHub reported
(`github.status`), and each repo's git mirror (`sync.mirrors.statuses`; its
`enabled` falls back to `mirrors_default`, the PMBOT_MIRRORS setting). Two
queries per call, whatever the length of the audit log.
Every projected column is served: `last_seen_event_at` is the newest
`updated_at` GitHub has shown for the repo (either stream's cursor).
`data_bytes` is the size of the repo's cached payloads and search text, from
the running sums the cache keeps (`cache_sizes`), not a scan of its rows.

Status rules (`STATUSES`), first match wins: a live lease is `importing`
when the repo was never synced (projected status `new`) and `syncing`
otherwise; the rate limit exhausted until a future reset, or a last error
that was a rate limit, is `rate_limited`; a projected error is `error`; a
repo never synced or just reset (projected `new`) with no lease is `queued`;
else `idle`. The projection's `new` is never served: it is `queued` or
`importing` here.

Closed items are cached only when updated within the closed window (the repo's
own `closed_window_days`, else `PMBOT_SYNC_CLOSED_DAYS` back), so closed counts
are served with the window's start (`closed_window_start`): "N closed" alone
reads as data loss. The start served is the later of the window's start now and
`closed_since` (since when every closed item is cached), so while a widened
window's backfill runs (`closed_window_backfilling`) it is the old start: true,
never ahead of the cache. A narrowed window moves the start; nothing cached goes.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from pmbot.control_plane.cache import COUNT_KEYS, ISSUES, PRS
from pmbot.control_plane.github.status import GitHubKey, read_rate_limit
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, RepoNotFound
from pmbot.control_plane.sync import mirrors
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

STATUSES = ("idle", "queued", "importing", "syncing", "error", "rate_limited")
RATE_LIMIT_ERROR_CODES = ("rate_limited",)
DEFAULT_CLOSED_DAYS = Settings.__dataclass_fields__["sync_closed_days"].default

_SELECT = (
    "SELECT r.repo_id, r.full_name, r.default_branch, r.status, r.added_at, r.last_sync_at,"
    " r.last_error, r.last_error_code, r.closed_window_days, s.issues_cursor, s.prs_cursor,"
    " s.last_seen_event_at, s.closed_since,"
    " c.issues_open, c.issues_closed, c.prs_open, c.prs_closed,"
    " k.next_sync_at, k.last_checked_at, k.lease_owner, k.lease_expires_at,"
    " k.progress_items, k.progress_pages, k.progress_requests, k.progress_estimate,"
    " k.progress_started_at, z.payload_bytes + z.search_bytes AS data_bytes"
    " FROM repos AS r"
    " LEFT JOIN repo_sync_state AS s ON s.repo_id = r.repo_id"
    " LEFT JOIN repo_counts AS c ON c.repo_id = r.repo_id"
    " LEFT JOIN repo_schedule AS k ON k.repo_id = r.repo_id"
    " LEFT JOIN cache_sizes AS z ON z.repo_id = r.repo_id"
)


def list_statuses(
    conn: sqlite3.Connection,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Every repo of the workspace with its live status, by name.

    `settings` names the current token and API base (a rate limit seen under others
    is not theirs) and the closed window; without it, any rate limit and the default
    window."""
    rows = conn.execute(
        f"{_SELECT} WHERE r.workspace_id = ? ORDER BY r.full_name COLLATE NOCASE",
        (workspace_id,),
    ).fetchall()
    shared = _Shared.read(conn, now or utc_now(), settings)
    mirror = mirrors.statuses(conn, shared.mirrors_default)
    return [_status(row, shared) | {"mirror": mirror[row["repo_id"]]} for row in rows]


def repo_status(
    conn: sqlite3.Connection,
    repo_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """One repo's live status; raises RepoNotFound."""
    row = conn.execute(f"{_SELECT} WHERE r.repo_id = ?", (repo_id,)).fetchone()
    if row is None:
        raise RepoNotFound(f"no repo with id {repo_id}")
    shared = _Shared.read(conn, now or utc_now(), settings)
    mirror = mirrors.statuses(conn, shared.mirrors_default, repo_id)[repo_id]
    return _status(row, shared) | {"mirror": mirror}


class _Shared:
    """What every repo's status shares: the moment, the rate limit, the default closed
    window, whether mirrors are on unless a repo says otherwise."""

    def __init__(
        self, now: datetime, rate_limit: dict[str, Any], closed_days: int, mirrors_default: bool
    ) -> None:
        self.now, self.rate_limit, self.closed_days = now, rate_limit, closed_days
        self.mirrors_default = mirrors_default

    @classmethod
    def read(cls, conn: sqlite3.Connection, now: datetime, settings: Settings | None) -> _Shared:
        key = GitHubKey.of(settings) if settings is not None else None
        days = settings.sync_closed_days if settings is not None else DEFAULT_CLOSED_DAYS
        mirrors_default = settings.mirrors if settings is not None else False
        return cls(now, read_rate_limit(conn, key), days, mirrors_default)


def _closed_window(row: sqlite3.Row, shared: _Shared) -> dict[str, Any]:
    own = row["closed_window_days"]
    days = shared.closed_days if own is None else own
    start = to_rfc3339(shared.now.replace(microsecond=0) - timedelta(days=days))
    covered = row["closed_since"]
    backfilling = covered is not None and covered > start
    return {
        "closed_window_start": covered if backfilling else start,
        "closed_window_days": days,
        "closed_window_default": own is None,
        "closed_window_backfilling": backfilling,
    }


def _status(row: sqlite3.Row, shared: _Shared) -> dict[str, Any]:
    now, rate_limit = shared.now, shared.rate_limit
    leased = _in_future(row["lease_expires_at"], now) and row["lease_owner"] is not None
    return {
        "repo_id": row["repo_id"],
        "full_name": row["full_name"],
        "default_branch": row["default_branch"],
        "added_at": row["added_at"],
        "status": _live_status(row, rate_limit, leased, now),
        "last_sync_at": _later(row["last_sync_at"], row["last_checked_at"]),
        "last_error": row["last_error"],
        "last_error_code": row["last_error_code"],
        "next_sync_at": row["next_sync_at"],
        "counts": {key: row[key] or 0 for key in COUNT_KEYS},
        "data_bytes": row["data_bytes"] or 0,
        **_closed_window(row, shared),
        "cursors": {kind.stream: row[kind.cursor] for kind in (ISSUES, PRS)},
        "last_seen_event_at": row["last_seen_event_at"],
        "rate_limit": rate_limit,
        "progress": _progress(row, now) if leased else None,
    }


def _live_status(row: sqlite3.Row, rate_limit: dict[str, Any], leased: bool, now: datetime) -> str:
    if leased:
        return "importing" if row["status"] == "new" else "syncing"
    exhausted = rate_limit["remaining"] == 0 and _in_future(rate_limit["reset_at"], now)
    if exhausted or row["last_error_code"] in RATE_LIMIT_ERROR_CODES:
        return "rate_limited"
    if row["status"] == "error":
        return "error"
    return "queued" if row["status"] == "new" else "idle"


def _progress(row: sqlite3.Row, now: datetime) -> dict[str, Any] | None:
    """The running sync's progress. `items` are the repo's distinct cached items (an
    item read twice is one item); `read` counts every item of every page. `estimate`
    (what GitHub's `Link` headers say the listings hold, at least `items`) and
    `eta_seconds` (the pace so far) are null when unknown."""
    if row["progress_items"] is None:
        return None
    items = sum(row[key] or 0 for key in COUNT_KEYS)
    estimate = row["progress_estimate"]
    if estimate is not None:
        estimate = max(estimate, items)
    return {
        "items": items,
        "read": row["progress_items"],
        "pages": row["progress_pages"] or 0,
        "requests": row["progress_requests"] or 0,
        "estimate": estimate,
        "started_at": row["progress_started_at"],
        "eta_seconds": _eta(items, estimate, row["progress_started_at"], now),
    }


def _eta(items: int, estimate: int | None, started_at: str | None, now: datetime) -> int | None:
    if not items or estimate is None or started_at is None:
        return None
    elapsed = (now - parse_rfc3339(started_at)).total_seconds()
    return max(0, round(elapsed * (estimate - items) / items)) if elapsed > 0 else None


def _in_future(moment: str | None, now: datetime) -> bool:
    return moment is not None and parse_rfc3339(moment) > now


def _later(first: str | None, second: str | None) -> str | None:
    """The later of two stored times: one format (`to_rfc3339`), so compared as text."""
    if first is None or second is None:
        return first or second
    return max(first, second)
