"""Projection of the mirror events: `repo_mirrors`.

Same rules as `projections.py`, whose dispatch registers these functions (and
whose `repo.removed` deletes the row): one small function per event, SQL only,
times from the event. A cache reset changes nothing here: mirrors are kept.
"""

from __future__ import annotations

import sqlite3

from pmbot.control_plane.audit.appliers import Appliers
from pmbot.control_plane.audit.events import (
    AuditEvent,
    MirrorCloned,
    MirrorDisabled,
    MirrorEnabled,
    MirrorFailed,
    MirrorFetched,
)

PROJECTED_TABLES = ("repo_mirrors",)

APPLIERS = Appliers()


def _upsert(conn: sqlite3.Connection, e: AuditEvent, assignments: str, values: tuple) -> None:
    """Create the repo's row if needed, then set `assignments` and `changed_at`."""
    conn.execute(
        "INSERT INTO repo_mirrors (repo_id, changed_at) VALUES (?, ?)"
        " ON CONFLICT (repo_id) DO NOTHING",
        (e.repo_id, e.occurred_at),
    )
    conn.execute(
        f"UPDATE repo_mirrors SET {assignments}, changed_at = ? WHERE repo_id = ?",
        (*values, e.occurred_at, e.repo_id),
    )


@APPLIERS.on(MirrorEnabled)
def _mirror_enabled(conn: sqlite3.Connection, e: MirrorEnabled) -> None:
    _upsert(conn, e, "enabled = 1", ())


@APPLIERS.on(MirrorDisabled)
def _mirror_disabled(conn: sqlite3.Connection, e: MirrorDisabled) -> None:
    _upsert(conn, e, "enabled = 0", ())


@APPLIERS.on(MirrorCloned)
def _mirror_cloned(conn: sqlite3.Connection, e: MirrorCloned) -> None:
    _upsert(
        conn,
        e,
        "github_id = ?, cloned_at = ?, last_changed_at = ?, refs_changed = ?,"
        " last_error = NULL, last_error_code = NULL",
        (e.github_id, e.occurred_at, e.occurred_at, e.refs),
    )


@APPLIERS.on(MirrorFetched)
def _mirror_fetched(conn: sqlite3.Connection, e: MirrorFetched) -> None:
    if e.refs_changed:
        _upsert(
            conn,
            e,
            "github_id = ?, last_changed_at = ?, refs_changed = ?,"
            " last_error = NULL, last_error_code = NULL",
            (e.github_id, e.occurred_at, e.refs_changed),
        )
    else:
        _upsert(conn, e, "github_id = ?, last_error = NULL, last_error_code = NULL", (e.github_id,))


@APPLIERS.on(MirrorFailed)
def _mirror_failed(conn: sqlite3.Connection, e: MirrorFailed) -> None:
    _upsert(conn, e, "last_error = ?, last_error_code = ?", (e.message, e.error_code))
