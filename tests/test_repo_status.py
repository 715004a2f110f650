"""repo_status.py: the repo read model (projections + lease, progress, schedule, rate limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pmbot.control_plane import audit
from pmbot.control_plane import repo_status as status
from pmbot.control_plane.audit import events as ev
from pmbot.shared.timeutil import to_rfc3339


def _add(client, name="octo/hello", **extra):
    return client.post("/api/repos", json_body={"full_name": name, **extra})


def _schedule(conn, repo_id, **values):
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    conn.execute(
        f"INSERT OR REPLACE INTO repo_schedule (repo_id, {columns}) VALUES (?, {marks})",
        (repo_id, *values.values()),
    )


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_status_serves_the_newest_change_github_showed(client, conn):
    repo_id = _add(client).json()["repo_id"]
    assert status.repo_status(conn, repo_id)["last_seen_event_at"] is None
    for stream, cursor in (("issues", "2026-01-02T00:00:00Z"), ("prs", "2026-01-01T00:00:00Z")):
        audit.record(conn, ev.SyncPageCommitted(repo_id=repo_id, stream=stream, cursor=cursor))

    row = client.get(f"/api/repos/{repo_id}/status").json()

    assert row["cursors"] == {"issues": "2026-01-02T00:00:00Z", "prs": "2026-01-01T00:00:00Z"}
    assert row["last_seen_event_at"] == "2026-01-02T00:00:00Z"


def test_status_importing_while_leased_before_first_sync(client, conn):
    repo_id = _add(client).json()["repo_id"]
    later = to_rfc3339(NOW + timedelta(minutes=1))
    _schedule(conn, repo_id, lease_owner="w1", lease_expires_at=later, progress_items=250,
              progress_pages=3, progress_requests=4)  # fmt: skip

    row = status.repo_status(conn, repo_id, now=NOW)

    assert row["status"] == "importing"
    assert row["progress"] == {
        "items": 0, "read": 250, "pages": 3, "requests": 4,
        "estimate": None, "started_at": None, "eta_seconds": None,
    }  # fmt: skip
    expired = status.repo_status(conn, repo_id, now=NOW + timedelta(minutes=2))
    assert (expired["status"], expired["progress"]) == ("queued", None)


def test_status_syncing_after_first_sync_and_later_of_two_sync_times(client, conn):
    repo_id = _add(client).json()["repo_id"]
    audit.record(conn, ev.SyncCompleted(repo_id=repo_id))
    synced = status.repo_status(conn, repo_id)["last_sync_at"]
    far = "2999-01-01T00:00:00Z"
    _schedule(conn, repo_id, lease_owner="w1", lease_expires_at=far, last_checked_at=far,
              next_sync_at="2999-01-01T00:05:00Z")  # fmt: skip

    row = client.get(f"/api/repos/{repo_id}/status").json()

    assert synced is not None
    assert row["status"] == "syncing"
    assert row["last_sync_at"] == "2999-01-01T00:00:00Z"
    assert row["next_sync_at"] == "2999-01-01T00:05:00Z"


def test_status_error_and_rate_limited(client, conn):
    repo_id = _add(client).json()["repo_id"]
    failure = ev.SyncFailed(repo_id=repo_id, error_code="not_found", message="repository not found")
    audit.record(conn, failure)
    row = status.repo_status(conn, repo_id, now=NOW)
    assert (row["status"], row["last_error"]) == ("error", "repository not found")

    reset_at = to_rfc3339(NOW + timedelta(minutes=10))
    conn.execute(
        "INSERT INTO github_status (id, rate_limit_remaining, rate_limit_reset_at)"
        " VALUES (1, 0, ?)",
        (reset_at,),
    )
    limited = status.repo_status(conn, repo_id, now=NOW)
    assert limited["status"] == "rate_limited"
    assert limited["rate_limit"] == {"remaining": 0, "reset_at": reset_at}
    after_reset = status.repo_status(conn, repo_id, now=NOW + timedelta(minutes=11))
    assert after_reset["status"] == "error"


def test_a_repo_never_synced_or_just_reset_is_queued_never_idle(client, conn):
    """Issue 13 item 2: `queued` = never synced or just reset, no lease held."""
    added = _add(client).json()
    assert added["status"] == "queued"  # the POST answer, not "idle" nor the projection's "new"
    repo_id = added["repo_id"]
    assert client.get(f"/api/repos/{repo_id}/status").json()["status"] == "queued"

    audit.record(conn, ev.SyncCompleted(repo_id=repo_id))
    assert client.get(f"/api/repos/{repo_id}/status").json()["status"] == "idle"

    reply = client.post("/api/cache/reset", json_body={"confirm": "reset", "repo_id": repo_id})
    assert reply.status == 200
    assert client.get("/api/repos").json()["items"][0]["status"] == "queued"


def test_every_served_status_is_one_of_the_documented_set(client):
    from pmbot.control_plane.api import openapi

    schema = openapi.document()["components"]["schemas"]["RepoStatus"]
    assert schema["properties"]["status"]["enum"] == list(status.STATUSES)
    assert status.STATUSES == ("idle", "queued", "importing", "syncing", "error", "rate_limited")


def test_closed_counts_come_with_the_window_they_cover(client, settings):
    """Issue 13 item 4: the closed window's start is served beside the counts."""
    repo_id = _add(client).json()["repo_id"]

    row = client.get(f"/api/repos/{repo_id}/status").json()

    start = datetime.strptime(row["closed_window_start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    expected = datetime.now(UTC) - timedelta(days=settings.sync_closed_days)
    assert abs((start - expected).total_seconds()) < 60
    assert (
        client.get("/api/repos").json()["items"][0]["closed_window_start"]
        == row["closed_window_start"]
    )


def test_import_progress_counts_distinct_items_against_an_estimate_with_an_eta(client, conn):
    """Issue 13 item 5: items imported are cached items (re-reads are not items), the
    estimate is never below them (the bar never passes 100 %), the ETA is the pace so far."""
    repo_id = _add(client).json()["repo_id"]
    started = to_rfc3339(NOW - timedelta(seconds=60))
    until = to_rfc3339(NOW + timedelta(minutes=1))
    _schedule(conn, repo_id, lease_owner="w1", lease_expires_at=until,
              progress_items=700, progress_pages=7, progress_requests=8, progress_estimate=1000,
              progress_started_at=started)  # fmt: skip
    conn.execute("UPDATE repo_counts SET issues_open = 200, prs_open = 50, issues_closed = 250")

    progress = status.repo_status(conn, repo_id, now=NOW)["progress"]

    assert (progress["items"], progress["read"], progress["estimate"]) == (500, 700, 1000)
    assert progress["eta_seconds"] == 60  # 500 items in 60 s, 500 to go
    conn.execute("UPDATE repo_counts SET issues_open = 1200")
    over = status.repo_status(conn, repo_id, now=NOW)["progress"]
    assert over["estimate"] == over["items"] == 1500 and over["eta_seconds"] == 0
