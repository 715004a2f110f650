"""`verify` walks the hash chain and names the first event that breaks it."""

from __future__ import annotations

import pytest

from pmbot.control_plane import audit, operations
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit.events import GENESIS_HASH, event_hash
from pmbot.control_plane.audit.verify import (
    HeadFormatError,
    VerifyResult,
    format_head,
    parse_head,
    verify,
)
from pmbot.control_plane.db import open_database

EVENTS = 8  # workspace.created + 3 repo.added + 4 page events


@pytest.fixture
def chain(conn):
    """A log of EVENTS events, its append-only triggers dropped as an attacker would."""
    ids = [operations.add_repo(conn, f"octo/r{i}").repo_id for i in range(3)]
    for i in range(4):
        page = ev.SyncPageCommitted(
            repo_id=ids[i % 3],
            stream="issues",
            cursor=f"2026-01-0{i + 1}T00:00:00Z",
            delta={"issues_open": i},
        )
        audit.record(conn, page)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DROP TRIGGER audit_events_no_delete")
    return conn


def _rehash_from(conn, seq: int) -> None:
    """Recompute every hash from `seq` on, as someone rewriting the chain whole would."""
    prev = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq - 1,)).fetchone()
    prev_hash = prev[0] if prev else GENESIS_HASH
    rows = conn.execute("SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq", (seq,))
    for row in rows.fetchall():
        fields = {k: v for k, v in dict(row).items() if k not in ("prev_hash", "hash")}
        digest = event_hash(prev_hash, **fields)
        conn.execute(
            "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?",
            (prev_hash, digest, row["seq"]),
        )
        prev_hash = digest


def test_a_clean_chain_verifies_with_its_count(chain):
    assert verify(chain) == VerifyResult(ok=True, checked=EVENTS)
    assert verify(chain, head=audit.head(chain)) == VerifyResult(ok=True, checked=EVENTS)


def test_an_empty_log_verifies_against_the_genesis_head(tmp_path):
    connection = open_database(tmp_path / "empty.sqlite3")
    try:
        assert verify(connection, head=(0, GENESIS_HASH)) == VerifyResult(True, 0)
        assert verify(connection, head=(0, "f" * 64)).ok is False
    finally:
        connection.close()


def test_an_anchored_older_head_still_verifies_after_new_events(chain):
    old_head = audit.head(chain)
    operations.add_repo(chain, "octo/later")
    assert verify(chain, head=old_head) == VerifyResult(ok=True, checked=EVENTS + 1)


def test_a_tampered_payload_is_named(chain):
    chain.execute(
        "UPDATE audit_events SET payload_json = replace(payload_json, '\"issues_open\":2',"
        " '\"issues_open\":200') WHERE seq = 7"
    )
    result = verify(chain)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 6, 7)
    assert "event 7 was altered" in result.reason


def test_a_tampered_field_outside_the_payload_is_named(chain):
    chain.execute("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2")
    assert verify(chain).first_bad_seq == 2


def test_a_deleted_row_is_named(chain):
    chain.execute("DELETE FROM audit_events WHERE seq = 4")
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "event 4 is missing" in result.reason


def test_a_deleted_first_row_is_named(chain):
    chain.execute("DELETE FROM audit_events WHERE seq = 1")
    assert verify(chain).first_bad_seq == 1


def test_two_reordered_rows_are_named(chain):
    chain.execute("UPDATE audit_events SET seq = -5 WHERE seq = 5")
    chain.execute("UPDATE audit_events SET seq = 5 WHERE seq = 6")
    chain.execute("UPDATE audit_events SET seq = 6 WHERE seq = -5")
    result = verify(chain)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 4, 5)


def test_truncation_is_caught_only_against_an_anchored_head(chain):
    head = audit.head(chain)
    chain.execute("DELETE FROM audit_events WHERE seq > 5")
    assert verify(chain).ok is True  # what is left is a consistent chain
    result = verify(chain, head=head)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 5, 6)
    assert "truncated" in result.reason


def test_a_rehashed_tail_is_caught_only_against_an_anchored_head(chain):
    head = audit.head(chain)
    chain.execute("UPDATE audit_events SET payload_json = '{\"repo_id\":1}' WHERE seq = 6")
    _rehash_from(chain, 6)
    assert verify(chain).ok is True  # rewritten whole, the chain is self-consistent
    result = verify(chain, head=head)
    assert (result.ok, result.first_bad_seq) == (False, EVENTS)
    assert "rewritten" in result.reason


def test_a_rewritten_chain_with_the_same_length_but_an_extra_event_is_caught(chain):
    head = audit.head(chain)
    chain.execute("DELETE FROM audit_events WHERE seq = 8")
    operations.add_repo(chain, "octo/replacement")  # appended as a new, valid seq 8
    result = verify(chain, head=head)
    assert (result.ok, result.first_bad_seq) == (False, 8)


def test_head_strings_round_trip_and_bad_ones_are_refused():
    head = (42, "ab" * 32)
    assert parse_head(format_head(head)) == head
    assert parse_head(f" 42:{'AB' * 32} ") == head
    for bad in ("42", "x:" + "a" * 64, "42:" + "a" * 63, "42:" + "g" * 64, "-1:" + "a" * 64):
        with pytest.raises(HeadFormatError):
            parse_head(bad)
