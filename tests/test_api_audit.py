"""Audit read endpoints: pages newest first, follower reads, head and verify."""

from __future__ import annotations

import sqlite3

import pytest

from pmbot.control_plane import audit
from pmbot.control_plane.operations import add_repo, request_sync


@pytest.fixture
def history(conn):
    """workspace.created (1), then repo.added + sync.requested for two repos (2–5)."""
    first = add_repo(conn, "octo/one").repo_id
    add_repo(conn, "octo/two")
    request_sync(conn, first)
    return first


def _seqs(reply) -> list[int]:
    assert reply.status == 200, reply.text
    return [e["seq"] for e in reply.json()["items"]]


def test_newest_first_with_opaque_cursor(client, history):
    first = client.get("/api/audit?limit=2")
    assert _seqs(first) == [4, 3]
    second = client.get(f"/api/audit?limit=2&cursor={first.json()['next']}")
    assert _seqs(second) == [2, 1] and second.json()["next"] is None


def test_filters_by_repo_and_type(client, history):
    assert _seqs(client.get(f"/api/audit?repo_id={history}")) == [4, 2]
    types = {e["type"] for e in client.get("/api/audit?type=repo.added").json()["items"]}
    assert types == {"repo.added"}


def test_after_seq_reads_ascending_for_followers(client, history):
    page = client.get("/api/audit?after_seq=1&limit=2")
    assert _seqs(page) == [2, 3]
    assert _seqs(client.get(f"/api/audit?limit=2&cursor={page.json()['next']}")) == [4]


def test_head_and_verify(client, conn, history):
    head = client.get("/api/audit/head").json()
    assert (head["seq"], head["hash"]) == audit.head(conn)
    assert client.get("/api/audit/verify").json() == {
        "ok": True, "checked": 4, "first_bad_seq": None, "reason": None,
    }  # fmt: skip
    anchored = client.get(f"/api/audit/verify?head={head['seq']}:{head['hash']}").json()
    assert anchored["ok"] is True


def test_verify_names_the_first_tampered_event(client, db_path, history):
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER audit_events_no_update")
    raw.execute("UPDATE audit_events SET payload_json = '{}' WHERE seq = 3")
    raw.commit()
    raw.close()
    result = client.get("/api/audit/verify").json()
    assert (result["ok"], result["first_bad_seq"]) == (False, 3)
