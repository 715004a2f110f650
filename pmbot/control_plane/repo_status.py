"""The repo status read model: what the operator sees for each repo.

Combines the projections (`repos`, `repo_sync_state`, `repo_counts`) with the
operational rows the worker keeps (`repo_schedule`: lease, live progress,
next sync, last no-change check) and the last rate limit GitHub reported
(`github.status`), and each repo's git mirror (`sync.mirrors.statuses`; its
`enabled` falls back to `mirrors_default`, the PMBOT_MIRRORS setting). Two
queries per call, whatever the length of the audit log.
Every projected column is served: `last_seen_event_at` is the newest
`updated_at` GitHub has shown for the repo (either stream's cursor).

Status rules, first match wins: a live lease is `importing` when the repo
was never synced (projected status `new`) and `syncing` otherwise; the rate
limit exhausted until a future reset, or a last error that was a rate
limit, is `rate_limited`; a projected error is `error`; else `idle`.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from pmbot.control_plane.cache import COUNT_KEYS, ISSUES, PRS
from pmbot.control_plane.github.status import read_rate_limit
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, RepoNotFound
from pmbot.control_plane.sync import mirrors
from pmbot.shared.timeutil import parse_rfc3339, utc_now

STATUSES = ("idle", "importing", "syncing", "error", "rate_limited")
RATE_LIMIT_ERROR_CODES = ("rate_limited",)

_SELECT = (
    "SELECT r.repo_id, r.full_name, r.default_branch, r.status, r.added_at, r.last_sync_at,"
    " r.last_error, r.last_error_code, s.issues_cursor, s.prs_cursor, s.last_seen_event_at,"
    " c.issues_open, c.issues_closed, c.prs_open, c.prs_closed,"
    " k.next_sync_at, k.last_checked_at, k.lease_owner, k.lease_expires_at,"
    " k.progress_items, k.progress_pages, k.progress_requests"
    " FROM repos AS r"
    " LEFT JOIN repo_sync_state AS s ON s.repo_id = r.repo_id"
    " LEFT JOIN repo_counts AS c ON c.repo_id = r.repo_id"
    " LEFT JOIN repo_schedule AS k ON k.repo_id = r.repo_id"
)


def list_statuses(
    conn: sqlite3.Connection,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
    *,
    mirrors_default: bool = False,
) -> list[dict[str, Any]]:
    """Every repo of the workspace with its live status, by name."""
    rows = conn.execute(
        f"{_SELECT} WHERE r.workspace_id = ? ORDER BY r.full_name COLLATE NOCASE",
        (workspace_id,),
    ).fetchall()
    rate_limit = read_rate_limit(conn)
    moment = now or utc_now()
    mirror = mirrors.statuses(conn, mirrors_default)
    return [_status(row, rate_limit, moment) | {"mirror": mirror[row["repo_id"]]} for row in rows]


def repo_status(
    conn: sqlite3.Connection,
    repo_id: int,
    now: datetime | None = None,
    *,
    mirrors_default: bool = False,
) -> dict[str, Any]:
    """One repo's live status; raises RepoNotFound."""
    row = conn.execute(f"{_SELECT} WHERE r.repo_id = ?", (repo_id,)).fetchone()
    if row is None:
        raise RepoNotFound(f"no repo with id {repo_id}")
    mirror = mirrors.statuses(conn, mirrors_default, repo_id)[repo_id]
    return _status(row, read_rate_limit(conn), now or utc_now()) | {"mirror": mirror}


def _status(row: sqlite3.Row, rate_limit: dict[str, Any], now: datetime) -> dict[str, Any]:
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
        "cursors": {kind.stream: row[kind.cursor] for kind in (ISSUES, PRS)},
        "last_seen_event_at": row["last_seen_event_at"],
        "rate_limit": rate_limit,
        "progress": _progress(row) if leased else None,
    }


def _live_status(row: sqlite3.Row, rate_limit: dict[str, Any], leased: bool, now: datetime) -> str:
    if leased:
        return "importing" if row["status"] == "new" else "syncing"
    exhausted = rate_limit["remaining"] == 0 and _in_future(rate_limit["reset_at"], now)
    if exhausted or row["last_error_code"] in RATE_LIMIT_ERROR_CODES:
        return "rate_limited"
    return "error" if row["status"] == "error" else "idle"


def _progress(row: sqlite3.Row) -> dict[str, int] | None:
    if row["progress_items"] is None:
        return None
    return {
        "items": row["progress_items"],
        "pages": row["progress_pages"] or 0,
        "requests": row["progress_requests"] or 0,
    }


def _in_future(moment: str | None, now: datetime) -> bool:
    return moment is not None and parse_rfc3339(moment) > now


def _later(first: str | None, second: str | None) -> str | None:
    """The later of two stored times: one format (`to_rfc3339`), so compared as text."""
    if first is None or second is None:
        return first or second
    return max(first, second)
