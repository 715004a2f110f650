"""A database written before the events were typed still verifies and rebuilds.

The log below is what the code before the typed events (and before the sync
reshape) stored: payload dicts built at the call sites, so `cache.reset` has
only `repo_ids` (its workspace is the aggregate id), `sync.completed` only
`repo_id`, `workspace.created` no `settings`, and times with microseconds.
It is inserted raw with a valid hash chain, next to the projected rows the
old code kept live; `pmbot audit verify` and `pmbot audit rebuild --check`
must accept it as it is.
"""

from __future__ import annotations

import json

import pytest

from pmbot.cli import main
from pmbot.control_plane.audit.events import GENESIS_HASH, canonical_json, event_hash
from pmbot.control_plane.db import open_database

T = "2026-01-0{}T10:00:00.{:06d}Z"
OLD_LOG = [  # (type, aggregate, aggregate_id, payload) as the old call sites wrote them
    ("workspace.created", "workspace", "1", {"workspace_id": 1, "name": "default"}),
    ("repo.added", "repo", "1",
     {"repo_id": 1, "workspace_id": 1, "full_name": "octo/one", "default_branch": None}),
    ("repo.added", "repo", "2",
     {"repo_id": 2, "workspace_id": 1, "full_name": "octo/two", "default_branch": "main"}),
    ("sync.requested", "repo", "1", {"repo_id": 1, "reconcile": False}),
    ("sync.page_committed", "repo", "1",
     {"repo_id": 1, "stream": "issues", "cursor": None, "items": 100, "changed": 100,
      "delta": {"issues_open": 60, "issues_closed": 30, "prs_open": 10}}),
    ("sync.page_committed", "repo", "1",
     {"repo_id": 1, "stream": "issues", "cursor": "2026-01-02T00:00:00Z", "items": 50,
      "changed": 50, "delta": {"issues_open": 50}}),
    ("sync.page_committed", "repo", "1",
     {"repo_id": 1, "stream": "prs", "cursor": "2026-01-01T12:00:00Z", "items": 10,
      "changed": 10, "delta": {}}),
    ("sync.completed", "repo", "1", {"repo_id": 1}),
    ("sync.failed", "repo", "2",
     {"repo_id": 2, "error_code": "not_found", "message": "repository not found",
      "attempt": 1, "next_retry_at": "2026-01-05T10:00:30Z"}),
    ("repo.renamed", "repo", "1",
     {"repo_id": 1, "full_name": "octo/uno", "old_full_name": "octo/one"}),
    ("sync.reconciled", "repo", "1",
     {"repo_id": 1, "gone": [{"kind": "issue", "number": 3, "gone": "deleted", "moved_to": None}],
      "delta": {"issues_open": -1}}),
    ("cache.reset", "workspace", "1", {"repo_ids": [2]}),
    ("repo.removed", "repo", "2", {"repo_id": 2, "full_name": "octo/two"}),
]  # fmt: skip


def _occurred_at(seq: int) -> str:
    return T.format(min(seq, 9), seq * 1111)


# What the old code's projections left in the live tables after OLD_LOG.
LIVE_ROWS = [
    "INSERT INTO workspaces (workspace_id, name, created_at, settings_json)"
    f" VALUES (1, 'default', '{_occurred_at(1)}', '{{}}')",
    "INSERT INTO repos (repo_id, workspace_id, full_name, default_branch, status, added_at,"
    " last_sync_at, last_error, last_error_code, changed_at) VALUES (1, 1, 'octo/uno', NULL,"
    f" 'ok', '{_occurred_at(2)}', '{_occurred_at(8)}', NULL, NULL, '{_occurred_at(10)}')",
    "INSERT INTO repos (repo_id, workspace_id, full_name, status, added_at, changed_at)"
    f" VALUES (2, 1, 'octo/two', 'new', '{_occurred_at(3)}', '{_occurred_at(3)}')",
    "DELETE FROM repos WHERE repo_id = 2",  # leaves sqlite_sequence at 2, as the old code did
    "INSERT INTO repo_sync_state (repo_id, issues_cursor, prs_cursor, last_seen_event_at,"
    " last_sync_at, last_error) VALUES (1, '2026-01-02T00:00:00Z', '2026-01-01T12:00:00Z',"
    f" '2026-01-02T00:00:00Z', '{_occurred_at(8)}', NULL)",
    "INSERT INTO repo_counts (repo_id, issues_open, issues_closed, prs_open, prs_closed)"
    " VALUES (1, 109, 30, 10, 0)",
]


def _write_old_database(db_path) -> None:
    conn = open_database(db_path)
    prev_hash = GENESIS_HASH
    for seq, (type_, aggregate, aggregate_id, payload) in enumerate(OLD_LOG, start=1):
        fields = {
            "seq": seq,
            "event_id": f"{seq:032x}",
            "occurred_at": _occurred_at(seq),
            "type": type_,
            "aggregate": aggregate,
            "aggregate_id": aggregate_id,
            "actor": "operator",
            "payload_json": canonical_json(payload),
        }
        digest = event_hash(prev_hash, **fields)
        conn.execute(
            "INSERT INTO audit_events (seq, event_id, occurred_at, type, aggregate, aggregate_id,"
            " actor, payload_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields.values(), prev_hash, digest),
        )
        prev_hash = digest
    for statement in LIVE_ROWS:
        conn.execute(statement)
    conn.close()


@pytest.fixture
def old_db(settings, db_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    _write_old_database(db_path)
    return db_path


def test_an_old_log_verifies_and_rebuilds_to_the_live_tables(old_db, capsys):
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "rebuild", "--check"]) == 0, capsys.readouterr()


def test_the_check_would_see_a_live_table_the_old_log_does_not_explain(old_db, capsys):
    conn = open_database(old_db)
    conn.execute("UPDATE repo_counts SET issues_open = 108 WHERE repo_id = 1")
    conn.close()
    assert main(["audit", "rebuild", "--check"]) == 1


def test_old_payloads_read_as_the_typed_events(old_db):
    from pmbot.control_plane.audit import events as ev
    from pmbot.control_plane.audit.log import iter_events

    conn = open_database(old_db)
    typed = [ev.AuditEvent.from_stored(stored) for stored in iter_events(conn)]
    conn.close()
    reset = next(e for e in typed if isinstance(e, ev.CacheReset))
    completed = next(e for e in typed if isinstance(e, ev.SyncCompleted))
    assert (reset.workspace_id, reset.repo_ids) == (1, [2])
    assert (completed.repo_id, completed.issues_cursor, completed.changed_items) == (1, None, 0)
    assert json.loads(canonical_json(reset.payload())) == {"workspace_id": 1, "repo_ids": [2]}
