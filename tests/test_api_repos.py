"""Workspaces, the repo registry, live status, sync requests and cache reset over HTTP."""

from __future__ import annotations

import pytest

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from tests.conftest import insert_cached_item


def _add(client, name="octo/hello", **extra):
    return client.post("/api/repos", json_body={"full_name": name, **extra})


def _count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_default_workspace_is_idempotent(client, conn):
    first = client.post("/api/workspaces/default")
    second = client.post("/api/workspaces/default")
    assert first.status == second.status == 200
    assert first.json() == second.json()
    assert first.json()["name"] == "default" and first.json()["settings"] == {}
    assert client.get("/api/workspaces/1").json() == first.json()
    assert client.get("/api/workspaces/2").status == 404


def test_add_repo_normalises_records_event_and_sync_request(client, conn):
    reply = _add(client, "https://github.com/Octo/Hello.git", default_branch="main")

    assert reply.status == 201
    body = reply.json()
    assert (body["full_name"], body["default_branch"], body["status"]) == (
        "Octo/Hello",
        "main",
        "queued",
    )
    assert body["counts"] == dict.fromkeys(ev.COUNT_KEYS, 0)
    assert body["cursors"] == {"issues": None, "prs": None} and body["progress"] is None
    assert audit.list_events(conn, limit=1)[0].type == ev.RepoAdded.type
    assert _count(conn, "sync_requests") == 1


def test_duplicate_repo_is_409_with_existing_id(client, conn):
    repo_id = _add(client).json()["repo_id"]
    head = audit.head(conn)

    reply = _add(client, "OCTO/HELLO")

    assert reply.status == 409
    assert reply.json()["repo_id"] == repo_id and reply.json()["code"] == "repo_exists"
    assert audit.head(conn) == head


def test_malformed_name_is_422_naming_the_field(client, conn):
    reply = _add(client, "not a repo")
    assert reply.status == 422
    assert reply.json()["field"] == "full_name"
    assert reply.content_type == "application/problem+json"


def test_repo_list_has_etag_and_answers_304(client):
    _add(client)
    first = client.get("/api/repos")
    etag = first.headers["etag"]
    assert [r["full_name"] for r in first.json()["items"]] == ["octo/hello"]

    again = client.get("/api/repos", headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")

    _add(client, "octo/world")
    changed = client.get("/api/repos", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["etag"] != etag


def test_delete_removes_repo_and_cache_but_keeps_history(client, conn):
    repo_id = _add(client).json()["repo_id"]
    insert_cached_item(conn, repo_id, 1, title="cached")

    reply = client.delete(f"/api/repos/{repo_id}")

    assert reply.status == 200 and reply.json()["removed"] is True
    assert _count(conn, "github_issues") == 0 and _count(conn, "cache_search") == 0
    assert client.get(f"/api/repos/{repo_id}/status").status == 404
    types = [e.type for e in audit.list_events(conn, limit=10)]
    assert types[:2] == [ev.RepoRemoved.type, ev.RepoAdded.type]
    assert client.delete(f"/api/repos/{repo_id}").status == 404


def test_sync_now_is_202_and_recorded(client, conn):
    repo_id = _add(client).json()["repo_id"]
    reply = client.post(f"/api/repos/{repo_id}/sync")
    assert reply.status == 202 and reply.json()["sync_requested"] is True
    assert _count(conn, "sync_requests") == 2
    assert audit.list_events(conn, limit=1)[0].type == ev.SyncRequested.type
    assert client.post("/api/repos/999/sync").status == 404


def test_cache_reset_wipes_cache_keeps_registry_and_records_event(client, conn):
    first = _add(client).json()["repo_id"]
    second = _add(client, "octo/world").json()["repo_id"]
    insert_cached_item(conn, first, 1)
    insert_cached_item(conn, second, 2, kind="pr")
    conn.execute(
        "INSERT INTO http_cache (url, repo_id, etag, updated_at) VALUES ('u', ?, 'e', 'now')",
        (first,),
    )

    one = client.post("/api/cache/reset", json_body={"confirm": "reset", "repo_id": first})
    assert one.status == 200 and one.json() == {"reset_repo_ids": [first]}
    assert _count(conn, "github_issues") == 0 and _count(conn, "http_cache") == 0
    assert _count(conn, "github_pull_requests") == 1
    queued = conn.execute("SELECT repo_id FROM sync_requests ORDER BY request_id").fetchall()
    assert [r[0] for r in queued][-1] == first  # the re-import starts without waiting a poll

    everything = client.post("/api/cache/reset", json_body={"confirm": "reset", "all": True})
    assert everything.json() == {"reset_repo_ids": [first, second]}
    assert _count(conn, "github_pull_requests") == 0 and _count(conn, "cache_search") == 0
    assert _count(conn, "repos") == 2
    last = audit.list_events(conn, limit=1)[0]
    assert (last.type, last.payload["repo_ids"]) == (ev.CacheReset.type, [first, second])


def test_cache_reset_needs_the_typed_confirmation_and_a_known_repo(client, conn):
    repo_id = _add(client).json()["repo_id"]
    insert_cached_item(conn, repo_id, 1)
    head = audit.head(conn)

    assert client.post("/api/cache/reset", json_body={"confirm": "yes"}).status == 422
    missing = client.post("/api/cache/reset", json_body={"confirm": "reset", "repo_id": 99})
    assert missing.status == 404
    assert audit.head(conn) == head and _count(conn, "github_issues") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"confirm": "reset"},
        {"confirm": "reset", "repo_id": None},
        {"confirm": "reset", "all": False},
        {"confirm": "reset", "all": None},
        {"confirm": "reset", "all": "true"},
        {"confirm": "reset", "all": 1},
        {"confirm": "reset", "all": True, "repo_id": None},
        {"confirm": "reset", "all": True, "repo_id": 1},
    ],
)
def test_cache_reset_is_never_widened_by_a_null_or_missing_field(client, conn, body):
    repo_id = _add(client).json()["repo_id"]
    insert_cached_item(conn, repo_id, 1)
    head = audit.head(conn)

    reply = client.post("/api/cache/reset", json_body=body)
    assert reply.status == 422, reply.json()
    assert reply.json()["field"] in ("repo_id", "all")
    assert audit.head(conn) == head and _count(conn, "github_issues") == 1
