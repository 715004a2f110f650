"""audit/rebuild.py: replay the log into scratch tables, compare, swap."""

from __future__ import annotations

import pytest

from pmbot.control_plane import audit, operations
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.db import connect


def _page(repo_id: int, cursor: str, **delta: int) -> ev.SyncPageCommitted:
    return ev.SyncPageCommitted(repo_id=repo_id, stream="issues", cursor=cursor, delta=delta)


def _append_from_another_process_after_first_replay(monkeypatch, db_path, event) -> None:
    """Make `rebuild.replay` let a second connection append once, right after it runs."""
    real_replay, pending = rebuild.replay, [event]

    def replay_then_append(source, target, after_seq=0):
        result = real_replay(source, target, after_seq)
        if pending:
            other = connect(db_path)
            audit.record(other, pending.pop())
            other.close()
        return result

    monkeypatch.setattr(rebuild, "replay", replay_then_append)


def test_check_reads_the_log_and_the_tables_at_one_moment(conn, db_path, monkeypatch):
    repo = operations.add_repo(conn, "octo/one")
    late = _page(repo.repo_id, "2026-01-01T00:00:00Z", issues_open=5)
    _append_from_another_process_after_first_replay(monkeypatch, db_path, late)
    result = rebuild.check(conn)
    assert (result.events, result.differences) == (2, [])
    assert audit.head(conn)[0] == 3


def test_rebuild_includes_events_appended_while_it_replayed(conn, db_path, monkeypatch):
    repo = operations.add_repo(conn, "octo/one")
    late = _page(repo.repo_id, "2026-01-01T00:00:00Z", issues_open=5)
    _append_from_another_process_after_first_replay(monkeypatch, db_path, late)
    result = rebuild.rebuild(conn)
    assert (result.events, result.differences, result.swapped) == (3, [], True)
    assert conn.execute("SELECT issues_open FROM repo_counts").fetchone()[0] == 5


def test_rebuild_keeps_the_repo_id_sequence_past_removed_repos(conn):
    operations.add_repo(conn, "octo/one")
    last = operations.add_repo(conn, "octo/two")
    operations.remove_repo(conn, last.repo_id)
    assert rebuild.rebuild(conn).differences == []
    assert operations.add_repo(conn, "octo/three").repo_id == last.repo_id + 1


def test_rebuild_names_an_event_the_projections_cannot_replay(conn):
    conn.execute("DROP TRIGGER audit_events_no_update")
    operations.add_repo(conn, "octo/one")
    conn.execute("UPDATE audit_events SET payload_json = '{}' WHERE seq = 2")
    with pytest.raises(rebuild.RebuildError, match=r"event 2 \(repo.added\) cannot be replayed"):
        rebuild.check(conn)


def test_rebuild_refuses_to_orphan_cached_rows_and_changes_nothing(conn):
    conn.execute(
        "INSERT INTO repos (repo_id, workspace_id, full_name, added_at, changed_at)"
        " VALUES (5, 1, 'ghost/repo', 'x', 'x')"
    )
    conn.execute(
        "INSERT INTO github_issues (repo_id, issue_number, state, title, created_at,"
        " updated_at, html_url, payload_json) VALUES (5, 1, 'open', 't', 'x', 'x', 'u', '{}')"
    )
    with pytest.raises(rebuild.RebuildError, match="no repos row for a row of github_issues"):
        rebuild.rebuild(conn)
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT full_name FROM repos")] == ["ghost/repo"]
