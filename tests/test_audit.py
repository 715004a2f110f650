"""The audit log: append-only storage, the hash chain, record(), the read side and the CLI
(projections: test_projections.py; rebuild: test_audit_rebuild.py)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import pytest

from pmbot.cli import main
from pmbot.control_plane import audit, operations
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit.events import GENESIS_HASH, event_hash
from pmbot.control_plane.db import transaction


def _page(repo_id: int, cursor: str, **delta: int) -> ev.SyncPageCommitted:
    return ev.SyncPageCommitted(repo_id=repo_id, stream="issues", cursor=cursor, delta=delta)


def _stored_rows(conn) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM audit_events ORDER BY seq").fetchall()


def test_update_of_an_event_is_rejected_with_a_clear_message(conn):
    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE is not allowed"):
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    assert conn.execute("SELECT actor FROM audit_events WHERE seq = 1").fetchone()[0] == "system"


def test_delete_of_an_event_is_rejected_with_a_clear_message(conn):
    with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE is not allowed"):
        conn.execute("DELETE FROM audit_events")
    assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 1


def test_each_event_hash_chains_from_the_previous_one(conn):
    repo = operations.add_repo(conn, "octo/one")
    operations.request_sync(conn, repo.repo_id)
    rows = _stored_rows(conn)
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, row in zip([None, *rows], rows, strict=False):
        if before is not None:
            assert row["prev_hash"] == before["hash"]
        fields = {k: v for k, v in dict(row).items() if k not in ("seq", "prev_hash", "hash")}
        assert row["hash"] == event_hash(row["prev_hash"], seq=row["seq"], **fields)
    assert audit.head(conn) == (3, rows[-1]["hash"])


def test_a_failing_data_change_rolls_the_event_back_too(conn):
    before = audit.head(conn)
    with pytest.raises(RuntimeError), transaction(conn):
        audit.record(conn, ev.RepoAdded(repo_id=7, workspace_id=1, full_name="octo/seven"))
        raise RuntimeError("the page write failed")
    assert audit.head(conn) == before
    assert conn.execute("SELECT count(*) FROM repos").fetchone()[0] == 0


def test_unknown_event_types_are_refused(conn):
    @dataclass(frozen=True, kw_only=True)
    class RepoExploded(ev.AuditEvent):  # never registered with @event_type
        type = "repo.exploded"
        repo_id: int

    @dataclass(frozen=True, kw_only=True)
    class Impostor(ev.RepoAdded):  # a registered name on an unregistered class
        pass

    for event in (RepoExploded(repo_id=1), Impostor(repo_id=1, workspace_id=1, full_name="a/b")):
        with pytest.raises(ValueError, match="unknown audit event type"):
            audit.record(conn, event)
    assert audit.head(conn)[0] == 1


def test_token_shaped_strings_and_authorization_values_are_never_stored(conn):
    repo = operations.add_repo(conn, "octo/one")
    token = "ghp_" + "A1b2C3d4" * 5
    failed = ev.SyncFailed(
        repo_id=repo.repo_id,
        error_code="unauthorized",
        message=f"401 with token {token} (Authorization: Bearer s3cr3t-value)",
    )
    settings = {
        "request": {"headers": {"Authorization": "token plain-secret", "Accept": "json"}},
        "tokens": [f"github_pat_{'x' * 30}", "fine"],
    }
    nested = ev.WorkspaceCreated(workspace_id=2, name="second", settings=settings)
    for event in (failed, nested):
        stored = audit.record(conn, event)
        text = conn.execute("SELECT payload_json FROM audit_events WHERE seq = ?", (stored.seq,))
        payload_json = text.fetchone()[0]
        for secret in (token, "s3cr3t-value", "plain-secret", "github_pat_"):
            assert secret not in payload_json
        assert json.loads(payload_json) == stored.payload
    assert stored.payload["settings"]["request"]["headers"] == {
        "Authorization": "***",
        "Accept": "json",
    }
    assert stored.payload["settings"]["tokens"][1] == "fine"
    last_error = conn.execute("SELECT last_error FROM repos").fetchone()[0]
    assert token not in last_error and "s3cr3t-value" not in last_error


def _three_repos_with_events(conn) -> list[int]:
    ids = [operations.add_repo(conn, f"octo/r{i}").repo_id for i in range(3)]
    for i in range(4):
        audit.record(conn, _page(ids[i % 3], f"2026-01-0{i + 1}T00:00:00Z", issues_open=1))
    return ids


def test_list_events_pages_newest_first_below_a_seq(conn):
    _three_repos_with_events(conn)
    newest = audit.list_events(conn, limit=3)
    assert [e.seq for e in newest] == [8, 7, 6]
    older = audit.list_events(conn, limit=3, before_seq=newest[-1].seq)
    assert [e.seq for e in older] == [5, 4, 3]
    assert [e.seq for e in audit.list_events(conn, limit=10, before_seq=2)] == [1]


def test_list_events_after_a_seq_is_ascending_for_followers(conn):
    _three_repos_with_events(conn)
    assert [e.seq for e in audit.list_events(conn, limit=3, after_seq=4)] == [5, 6, 7]
    assert audit.list_events(conn, limit=3, after_seq=8) == []


def test_list_events_filters_by_repo_and_type(conn):
    ids = _three_repos_with_events(conn)
    mine = audit.list_events(conn, limit=10, aggregate_id=ids[0])
    assert [(e.seq, e.type) for e in mine] == [
        (8, ev.SyncPageCommitted.type),
        (5, ev.SyncPageCommitted.type),
        (2, ev.RepoAdded.type),
    ]
    pages = audit.list_events(conn, limit=10, aggregate_id=ids[0], type=ev.SyncPageCommitted.type)
    assert [e.seq for e in pages] == [8, 5]


def test_find_repo_id_knows_removed_and_renamed_repos(conn):
    gone = operations.add_repo(conn, "octo/gone")
    operations.remove_repo(conn, gone.repo_id)
    moved = operations.add_repo(conn, "octo/old")
    audit.record(conn, ev.RepoRenamed(repo_id=moved.repo_id, full_name="octo/new"))
    assert audit.find_repo_id(conn, "OCTO/gone") == gone.repo_id
    assert audit.find_repo_id(conn, "octo/new") == moved.repo_id
    assert audit.find_repo_id(conn, "octo/never") is None


# --- CLI ---------------------------------------------------------------------


@pytest.fixture
def cli_db(conn, settings, tmp_path, monkeypatch):
    """The CLI pointed at `conn`'s data dir, with two repos and a few events."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    one = operations.add_repo(conn, "octo/one")
    two = operations.add_repo(conn, "octo/two")
    audit.record(conn, _page(one.repo_id, "2026-01-01T00:00:00Z", issues_open=2))
    operations.request_sync(conn, two.repo_id)
    return conn


def test_cli_head_prints_the_string_verify_takes(cli_db, capsys):
    assert main(["audit", "head"]) == 0
    seq, digest = audit.head(cli_db)
    printed = capsys.readouterr().out.strip()
    assert printed == f"{seq}:{digest}"
    assert main(["audit", "verify", "--head", printed]) == 0
    assert capsys.readouterr().out.strip() == "ok: 5 events verified"


def test_cli_verify_names_the_first_bad_event(cli_db, capsys):
    cli_db.execute("DROP TRIGGER audit_events_no_update")
    cli_db.execute("UPDATE audit_events SET payload_json = '{}' WHERE seq = 3")
    assert main(["audit", "verify"]) == 1
    assert "broken at event 3" in capsys.readouterr().err


def test_cli_verify_detects_truncation_against_a_head(cli_db, capsys):
    head = f"9:{'a' * 64}"
    assert main(["audit", "verify", "--head", head]) == 1
    assert "truncated" in capsys.readouterr().err


def test_cli_verify_refuses_a_malformed_head(cli_db, capsys):
    assert main(["audit", "verify", "--head", "five:abc"]) == 2
    assert "not SEQ:HASH" in capsys.readouterr().err


def test_cli_tail_prints_the_newest_events_oldest_first(cli_db, capsys):
    assert main(["audit", "tail", "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["4", "5"]
    assert ev.SyncPageCommitted.type in lines[0] and ev.SyncRequested.type in lines[1]


def test_cli_tail_filters_by_repo_and_type_as_json_lines(cli_db, capsys):
    assert main(["audit", "tail", "--repo", "octo/one", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["seq"], e["type"]) for e in events] == [
        (2, ev.RepoAdded.type),
        (4, ev.SyncPageCommitted.type),
    ]
    assert events[1]["payload"]["delta"] == {"issues_open": 2}
    assert main(["audit", "tail", "--type", ev.RepoAdded.type, "--json"]) == 0
    seqs = [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()]
    assert seqs == [2, 3]


def test_cli_tail_refuses_an_unknown_repo(cli_db, capsys):
    assert main(["audit", "tail", "--repo", "octo/nope"]) == 2
    assert "no repo named 'octo/nope'" in capsys.readouterr().err


def test_cli_rebuild_check_reports_drift_and_rebuild_repairs_it(cli_db, capsys):
    assert main(["audit", "rebuild", "--check"]) == 0
    assert "replayed 5 events: no difference(s)" in capsys.readouterr().out
    cli_db.execute("UPDATE repo_counts SET issues_open = 99 WHERE repo_id = 1")
    assert main(["audit", "rebuild", "--check"]) == 1
    out = capsys.readouterr().out
    assert "repo_counts 1: issues_open live=99 rebuilt=2" in out
    assert main(["audit", "rebuild"]) == 0
    assert "1 row(s) differed before" in capsys.readouterr().out
    counts = cli_db.execute("SELECT issues_open FROM repo_counts WHERE repo_id = 1")
    assert counts.fetchone()[0] == 2
    assert main(["audit", "rebuild", "--check"]) == 0
