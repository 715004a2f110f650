"""Projections: the registry and sync-state tables, as pure functions of the log.

Each event class has one small function that applies it with SQL. Live writes
(`log.record`) and `pmbot audit rebuild` run the very same functions, so a
rebuilt view equals the live one by construction, and the property test
checks it. Times come from the event (`occurred_at`), never from the clock.
"""

from __future__ import annotations

import json
import sqlite3

from pmbot.control_plane.audit import mirror_projections, run_projections, work_projections
from pmbot.control_plane.audit.appliers import Appliers
from pmbot.control_plane.audit.events import (
    COUNT_KEYS,
    EVENT_CLASSES,
    AuditEvent,
    CacheReset,
    RepoAdded,
    RepoClosedWindowSet,
    RepoIdentified,
    RepoRemoved,
    RepoRenamed,
    SyncClosedWindowFilled,
    SyncCompleted,
    SyncFailed,
    SyncPageCommitted,
    SyncReconciled,
    WorkspaceCreated,
)
from pmbot.shared.kind import KINDS

# The tables this module owns, in an order safe for deleting (children first), then the
# run tables of `run_projections` and the saved views of `work_projections`; the mirror
# tables of `mirror_projections` come first (they reference repos). All register in the
# same dispatch.
_REPO_TABLES = (*mirror_projections.PROJECTED_TABLES, "repo_counts", "repo_sync_state", "repos")
PROJECTED_TABLES = (
    *_REPO_TABLES,
    "workspaces",
    *run_projections.PROJECTED_TABLES,
    *work_projections.PROJECTED_TABLES,
)

APPLIERS = Appliers()


def apply(conn: sqlite3.Connection, event: AuditEvent) -> None:
    """Apply one event to every projection (events with no view change are fine)."""
    applier = _APPLIERS.get(type(event))
    if applier is not None:
        applier(conn, event)


def applies_to(event_type: str) -> bool:
    """Whether events of this type change any projection (rebuild skips the rest)."""
    return EVENT_CLASSES.get(event_type) in _APPLIERS


@APPLIERS.on(WorkspaceCreated)
def _workspace_created(conn: sqlite3.Connection, e: WorkspaceCreated) -> None:
    conn.execute(
        "INSERT INTO workspaces (workspace_id, name, created_at, settings_json)"
        " VALUES (?, ?, ?, ?)",
        (e.workspace_id, e.name, e.occurred_at, json.dumps(e.settings)),
    )


@APPLIERS.on(RepoAdded)
def _repo_added(conn: sqlite3.Connection, e: RepoAdded) -> None:
    conn.execute(
        "INSERT INTO repos (repo_id, workspace_id, full_name, default_branch, status,"
        " added_at, changed_at) VALUES (?, ?, ?, ?, 'new', ?, ?)",
        (e.repo_id, e.workspace_id, e.full_name, e.default_branch, e.occurred_at, e.occurred_at),
    )
    conn.execute("INSERT INTO repo_sync_state (repo_id) VALUES (?)", (e.repo_id,))
    conn.execute("INSERT INTO repo_counts (repo_id) VALUES (?)", (e.repo_id,))


@APPLIERS.on(RepoRemoved)
def _repo_removed(conn: sqlite3.Connection, e: RepoRemoved) -> None:
    for table in _REPO_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE repo_id = ?", (e.repo_id,))


@APPLIERS.on(RepoIdentified)
def _repo_identified(conn: sqlite3.Connection, e: RepoIdentified) -> None:
    conn.execute("UPDATE repos SET github_id = ? WHERE repo_id = ?", (e.github_id, e.repo_id))


@APPLIERS.on(RepoRenamed)
def _repo_renamed(conn: sqlite3.Connection, e: RepoRenamed) -> None:
    conn.execute(
        "UPDATE repos SET full_name = ?, changed_at = ? WHERE repo_id = ?",
        (e.full_name, e.occurred_at, e.repo_id),
    )


@APPLIERS.on(RepoClosedWindowSet)
def _repo_closed_window_set(conn: sqlite3.Connection, e: RepoClosedWindowSet) -> None:
    conn.execute("UPDATE repos SET closed_window_days = ? WHERE repo_id = ?", (e.days, e.repo_id))


@APPLIERS.on(SyncClosedWindowFilled)
def _sync_closed_window_filled(conn: sqlite3.Connection, e: SyncClosedWindowFilled) -> None:
    conn.execute(
        "UPDATE repo_sync_state SET closed_since = ? WHERE repo_id = ?", (e.since, e.repo_id)
    )


@APPLIERS.on(SyncPageCommitted)
def _sync_page_committed(conn: sqlite3.Connection, e: SyncPageCommitted) -> None:
    column = KINDS[e.stream].cursor
    if e.cursor:
        conn.execute(
            f"UPDATE repo_sync_state SET {column} = ?,"
            " last_seen_event_at = max(coalesce(last_seen_event_at, ''), ?) WHERE repo_id = ?",
            (e.cursor, e.cursor, e.repo_id),
        )
    _add_counts(conn, e.repo_id, e.delta)


@APPLIERS.on(SyncReconciled)
def _sync_reconciled(conn: sqlite3.Connection, e: SyncReconciled) -> None:
    _add_counts(conn, e.repo_id, e.delta)


def _add_counts(conn: sqlite3.Connection, repo_id: int, delta: dict[str, int]) -> None:
    changes = {k: int(delta[k]) for k in COUNT_KEYS if delta.get(k)}
    if changes:
        assignments = ", ".join(f"{k} = {k} + ?" for k in changes)
        conn.execute(
            f"UPDATE repo_counts SET {assignments} WHERE repo_id = ?", (*changes.values(), repo_id)
        )


@APPLIERS.on(SyncCompleted)
def _sync_completed(conn: sqlite3.Connection, e: SyncCompleted) -> None:
    conn.execute(
        "UPDATE repos SET status = 'ok', last_sync_at = ?, last_error = NULL,"
        " last_error_code = NULL, changed_at = ? WHERE repo_id = ?",
        (e.occurred_at, e.occurred_at, e.repo_id),
    )
    conn.execute(
        "UPDATE repo_sync_state SET last_sync_at = ?, last_error = NULL WHERE repo_id = ?",
        (e.occurred_at, e.repo_id),
    )


@APPLIERS.on(SyncFailed)
def _sync_failed(conn: sqlite3.Connection, e: SyncFailed) -> None:
    conn.execute(
        "UPDATE repos SET status = 'error', last_error = ?, last_error_code = ?, changed_at = ?"
        " WHERE repo_id = ?",
        (e.message, e.error_code, e.occurred_at, e.repo_id),
    )
    conn.execute(
        "UPDATE repo_sync_state SET last_error = ? WHERE repo_id = ?", (e.message, e.repo_id)
    )


@APPLIERS.on(CacheReset)
def _cache_reset(conn: sqlite3.Connection, e: CacheReset) -> None:
    for repo_id in e.repo_ids:
        conn.execute(
            "UPDATE repos SET status = 'new', last_sync_at = NULL, last_error = NULL,"
            " last_error_code = NULL, changed_at = ? WHERE repo_id = ?",
            (e.occurred_at, repo_id),
        )
        conn.execute(
            "UPDATE repo_sync_state SET issues_cursor = NULL, prs_cursor = NULL,"
            " last_seen_event_at = NULL, last_sync_at = NULL, last_error = NULL,"
            " closed_since = NULL"
            " WHERE repo_id = ?",
            (repo_id,),
        )
        zeros = ", ".join(f"{k} = 0" for k in COUNT_KEYS)
        conn.execute(f"UPDATE repo_counts SET {zeros} WHERE repo_id = ?", (repo_id,))


# One dispatch over every projection module, built once this module's own are registered.
_APPLIERS = {
    **APPLIERS,
    **run_projections.APPLIERS,
    **mirror_projections.APPLIERS,
    **work_projections.APPLIERS,
}
