"""Setting a repo's closed-items window through the API and the CLI (issue 11 item 8)."""

from __future__ import annotations

import pytest

from pmbot.cli import main
from pmbot.control_plane import repo_status
from pmbot.control_plane.db import open_database
from pmbot.control_plane.registry import MAX_CLOSED_DAYS


def _add(client, name="acme/widgets") -> int:
    return client.post("/api/repos", json_body={"full_name": name}).json()["repo_id"]


def test_a_new_repo_follows_the_setting(client):
    status = client.get(f"/api/repos/{_add(client)}/status").json()
    assert (status["closed_window_days"], status["closed_window_default"]) == (90, True)
    assert status["closed_window_backfilling"] is False


def test_setting_the_window_is_audited_old_to_new_and_queues_a_sync(client, conn):
    repo_id = _add(client)
    reply = client.post(f"/api/repos/{repo_id}/closed-window", json_body={"days": 365})
    assert reply.status == 200
    assert (reply.json()["closed_window_days"], reply.json()["closed_window_default"]) == (
        365,
        False,
    )
    client.post(f"/api/repos/{repo_id}/closed-window", json_body={"days": 30.0})
    events = [e for e in client.get("/api/audit").json()["items"] if e["type"].startswith("repo.c")]
    assert [(e["payload"]["old_days"], e["payload"]["days"]) for e in events] == [
        (365, 30),
        (None, 365),
    ]  # newest first
    queued = conn.execute("SELECT count(*) FROM sync_requests WHERE repo_id = ?", (repo_id,))
    assert queued.fetchone()[0] >= 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "days"),
        ({"days": "90"}, "days"),
        ({"days": 1.5}, "days"),
        ({"days": True}, "days"),
        ({"days": None}, "days"),
        ({"days": -1}, "days"),
        ({"days": MAX_CLOSED_DAYS + 1}, "days"),
        ({"days": 10**40}, "days"),
        ({"days": 30, "weeks": 2}, "weeks"),
    ],
)
def test_a_bad_window_is_a_problem_naming_the_field_and_records_nothing(client, conn, body, field):
    repo_id = _add(client)
    before = client.get("/api/audit/head").json()
    reply = client.post(f"/api/repos/{repo_id}/closed-window", json_body=body)
    assert reply.status == 422
    assert reply.content_type == "application/problem+json"
    assert reply.json()["field"] == field
    assert client.get("/api/audit/head").json() == before
    assert client.get(f"/api/repos/{repo_id}/status").json()["closed_window_default"] is True


def test_a_non_json_body_and_an_unknown_repo_are_refused(client):
    repo_id = _add(client)
    reply = client.post(
        f"/api/repos/{repo_id}/closed-window",
        body=b"days=5",
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status == 415
    reply = client.post("/api/repos/999/closed-window", json_body={"days": 30})
    assert reply.status == 404
    assert reply.json()["code"] == "repo_not_found"


def test_the_cli_sets_the_window_and_status_shows_it(monkeypatch, settings, db_path, capsys):
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    assert main(["repos", "add", "acme/widgets"]) == 0
    assert main(["repos", "closed-window", "acme/widgets", "30"]) == 0
    assert "acme/widgets: closed, updated since" in capsys.readouterr().out
    assert main(["status", "acme/widgets"]) == 0
    assert "closed window:  30 days (this repo's)" in capsys.readouterr().out
    assert main(["repos", "list"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert "CLOSED SINCE" in header
    assert status_start(settings) in line
    with pytest.raises(SystemExit) as refused:
        main(["repos", "closed-window", "acme/widgets", "-3"])
    assert refused.value.code == 2
    assert "expected a whole number from 0" in capsys.readouterr().err


def status_start(settings) -> str:
    """The closed window's start the status serves for the one repo, as a date."""
    conn = open_database(settings.db_path)
    try:
        return repo_status.list_statuses(conn)[0]["closed_window_start"][:10]
    finally:
        conn.close()
