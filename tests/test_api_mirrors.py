"""The mirror toggle and the mirror part of a repo's status, through the API and the CLI."""

from __future__ import annotations

import json

import pytest

from pmbot.cli import main
from pmbot.cli.repos import detail_lines


def _add(client, name="acme/widgets") -> int:
    return client.post("/api/repos", json_body={"full_name": name}).json()["repo_id"]


def test_a_new_repo_reports_its_mirror_off_by_default(client):
    repo_id = _add(client)
    mirror = client.get(f"/api/repos/{repo_id}/status").json()["mirror"]
    assert mirror == {
        "enabled": False, "setting": "default", "github_id": None, "path": None,
        "cloned_at": None, "last_fetch_at": None, "last_changed_at": None,
        "refs_changed": None, "size_bytes": None, "last_error": None,
        "last_error_code": None, "next_try_at": None,
    }  # fmt: skip
    assert client.get("/api/repos").json()["items"][0]["mirror"]["enabled"] is False


def test_the_toggle_is_audited_and_overrides_the_default(client):
    repo_id = _add(client)
    on = client.post(f"/api/repos/{repo_id}/mirror", json_body={"enabled": True})
    assert on.status == 200
    assert (on.json()["mirror"]["enabled"], on.json()["mirror"]["setting"]) == (True, "on")
    off = client.post(f"/api/repos/{repo_id}/mirror", json_body={"enabled": False})
    assert (off.json()["mirror"]["enabled"], off.json()["mirror"]["setting"]) == (False, "off")
    types = [e["type"] for e in client.get("/api/audit").json()["items"]]
    assert types[:2] == ["mirror.disabled", "mirror.enabled"]  # newest first


@pytest.mark.parametrize("body", [{}, {"enabled": "yes"}, {"enabled": 1}, {"enabled": None}])
def test_a_bad_toggle_is_a_problem_naming_enabled_and_records_nothing(client, body):
    repo_id = _add(client)
    before = client.get("/api/audit/head").json()
    reply = client.post(f"/api/repos/{repo_id}/mirror", json_body=body)
    assert reply.status in (400, 422)
    assert reply.content_type == "application/problem+json"
    assert "enabled" in json.dumps(reply.json())
    assert client.get("/api/audit/head").json() == before


def test_toggling_an_unknown_repo_is_404(client):
    assert client.post("/api/repos/999/mirror", json_body={"enabled": True}).status == 404


def test_the_cli_turns_a_mirror_on_and_status_shows_it(monkeypatch, settings, db_path, capsys):
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    assert main(["repos", "add", "acme/widgets"]) == 0
    assert main(["repos", "mirror", "acme/widgets", "on"]) == 0
    assert "mirror of acme/widgets on" in capsys.readouterr().out
    assert main(["status", "acme/widgets"]) == 0
    assert "git mirror:     on, not cloned yet" in capsys.readouterr().out


def test_status_lines_describe_a_cloned_and_a_failing_mirror():
    base = {
        "repo_id": 1, "full_name": "a/b", "status": "idle", "added_at": "t",
        "default_branch": None, "last_sync_at": None, "next_sync_at": None,
        "counts": {"issues_open": 0, "issues_closed": 0, "prs_open": 0, "prs_closed": 0},
        "cursors": {"issues": None, "prs": None}, "progress": None, "last_error": None,
        "closed_window_start": "2025-10-03T00:00:00Z", "closed_window_days": 90,
        "closed_window_default": True, "closed_window_backfilling": False,
    }  # fmt: skip
    cloned = {"enabled": True, "path": "repos/7.git", "size_bytes": 2_500_000,
              "last_fetch_at": "2026-01-01T00:00:00Z", "last_error": None}  # fmt: skip
    assert detail_lines(base | {"mirror": cloned})[-1] == (
        "  git mirror:     on, data/repos/7.git, 2.5 MB, last fetch 2026-01-01T00:00:00Z"
    )
    failing = cloned | {"last_error": "timed out: x", "last_error_code": "timed_out"}
    assert detail_lines(base | {"mirror": failing})[-1].endswith(
        "failing: timed out: x (timed_out)"
    )
