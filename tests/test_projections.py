"""audit/projections.py: each event applied with its record(), as a rebuild replays it."""

from __future__ import annotations

import sqlite3

import pytest

from pmbot.control_plane import audit, operations
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit import rebuild


def _page(repo_id: int, cursor: str, **delta: int) -> ev.SyncPageCommitted:
    return ev.SyncPageCommitted(repo_id=repo_id, stream="issues", cursor=cursor, delta=delta)


def test_record_applies_the_projections_with_the_event(conn):
    repo = operations.add_repo(conn, "octo/one")
    audit.record(conn, _page(repo.repo_id, "2026-01-02T03:04:05Z", issues_open=3, prs_closed=1))
    counts = conn.execute("SELECT * FROM repo_counts WHERE repo_id = ?", (repo.repo_id,))
    assert dict(counts.fetchone()) == {
        "repo_id": repo.repo_id,
        "issues_open": 3,
        "issues_closed": 0,
        "prs_open": 0,
        "prs_closed": 1,
    }
    state = conn.execute("SELECT issues_cursor FROM repo_sync_state").fetchone()
    assert state[0] == "2026-01-02T03:04:05Z"


def test_a_failing_projection_appends_no_event(conn):
    repo = operations.add_repo(conn, "octo/one")
    before = audit.head(conn)
    duplicate = ev.RepoAdded(repo_id=repo.repo_id, workspace_id=1, full_name="octo/other")
    with pytest.raises(sqlite3.IntegrityError):
        audit.record(conn, duplicate)
    assert audit.head(conn) == before


def test_projections_see_the_payload_as_stored_so_a_rebuild_matches(conn):
    settings = {"zeta": 1, "alpha": {"b": 2, "a": 1}}
    audit.record(conn, ev.WorkspaceCreated(workspace_id=2, name="second", settings=settings))
    assert rebuild.check(conn).differences == []
