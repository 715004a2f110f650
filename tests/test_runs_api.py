"""The runs HTTP API: plans, edits, approvals, listing, context packs, guards on repos."""

from __future__ import annotations

import pytest

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.audit.verify import verify
from tests.runs_support import add_repo_with_cache, plan_body, stored_state


@pytest.fixture
def repo_id(conn) -> int:
    return add_repo_with_cache(conn)


def _plan(client, body=None):
    reply = client.post("/api/runs", json_body=body or plan_body())
    assert reply.status == 201, reply.text
    return reply.json()


def test_a_plan_is_a_draft_with_defaults_and_a_context_pack_from_the_cache(
    client, repo_id, settings
):
    run = _plan(client)

    assert run["state"] == "draft"
    assert run["repo_id"] == repo_id and run["repo"] == "acme/widgets"
    assert run["allowed_transitions"] == ["approve", "reject", "cancel"]
    assert run["spec"]["schema_version"] == 2
    assert run["spec"]["run_id"] == run["run_id"]
    assert run["spec"]["execution"]["engine"] == "langgraph"
    assert run["spec"]["execution"]["thread_id"] is None
    assert run["spec"]["execution"]["budget"] == {
        "max_total_tokens": settings.run_max_total_tokens,
        "max_tool_calls": settings.run_max_tool_calls,
        "max_wall_seconds": settings.run_max_wall_seconds,
    }
    pack = run["context_pack"]
    assert (pack["issues"], pack["prs"]) == (2, 1)
    [artifact] = run["artifacts"]
    assert artifact["kind"] == "context.pack" and artifact["sha256"] == pack["sha256"]
    assert artifact["artifact_id"] == pack["artifact_id"]
    assert [e["type"] for e in run["events"]] == ["run.planned", "artifact.stored"]


def test_budget_keys_given_win_over_the_defaults(client, repo_id, settings):
    run = _plan(client, plan_body(budget={"max_tool_calls": 7}))
    budget = run["spec"]["execution"]["budget"]
    assert budget["max_tool_calls"] == 7
    assert budget["max_total_tokens"] == settings.run_max_total_tokens


def test_a_plan_can_use_a_pack_taken_before(client, repo_id):
    pack = client.post(f"/api/repos/{repo_id}/context-packs").json()
    run = _plan(client, {**plan_body(), "context_pack_id": pack["pack_id"]})
    assert run["context_pack"]["pack_id"] == pack["pack_id"]


def test_context_pack_route_answers_the_contract_shape(client, repo_id):
    reply = client.post(f"/api/repos/{repo_id}/context-packs")
    assert reply.status == 201
    pack = reply.json()
    assert set(pack) == {"pack_id", "repo_id", "sha256", "issues", "prs", "taken_at", "uri"}
    assert pack["uri"] == f"artifacts/sha256/{pack['sha256'][:2]}/{pack['sha256'][2:]}"


def test_edit_a_draft_then_approve(client, repo_id):
    run = _plan(client)
    edit = {
        "goal": "New goal",
        "execution": {"graph_id": "plan@1", "budget": {"max_tool_calls": 3}},
    }
    edited = client.request("PATCH", f"/api/runs/{run['run_id']}", json_body=edit).json()
    assert edited["goal"] == "New goal" and edited["graph_id"] == "plan@1"
    assert edited["spec"]["execution"]["budget"]["max_tool_calls"] == 3

    approved = client.post(f"/api/runs/{run['run_id']}/approve").json()
    assert approved["state"] == "approved"
    assert approved["allowed_transitions"] == ["cancel"]


def test_reject_records_the_reason(client, repo_id):
    run = _plan(client)
    reply = client.post(f"/api/runs/{run['run_id']}/reject", json_body={"reason": "not now"})
    assert reply.json()["state"] == "rejected"
    assert reply.json()["state_reason"] == "not now"
    assert reply.json()["allowed_transitions"] == []


def test_cancel_a_draft_with_or_without_a_reason(client, repo_id):
    first, second = _plan(client), _plan(client)
    assert client.post(f"/api/runs/{first['run_id']}/cancel").json()["state"] == "cancelled"
    reply = client.post(f"/api/runs/{second['run_id']}/cancel", json_body={"reason": "dup"})
    assert reply.json()["state_reason"] == "dup"


def test_list_filters_and_pages_newest_first(client, conn, repo_id):
    made = [_plan(client)["run_id"] for _ in range(5)]
    client.post(f"/api/runs/{made[0]}/approve")

    seen, cursor = [], None
    while True:
        page = client.get("/api/runs?limit=2" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [item["run_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    approved = client.get("/api/runs?state=approved").json()["items"]
    assert [r["run_id"] for r in approved] == [made[0]]
    assert client.get(f"/api/runs?repo_id={repo_id + 1}").json()["items"] == []


def test_list_refuses_a_bad_state_or_cursor(client, repo_id):
    assert client.get("/api/runs?state=flying").status == 422
    assert client.get("/api/runs?cursor=nonsense").status == 422
    assert client.get("/api/runs?limit=201").status == 422


def test_graphs_lists_known_graphs_and_budget_defaults(client, settings):
    body = client.get("/api/graphs").json()
    assert {"graph_id": "triage@1", "title": body["items"][0]["title"]} in body["items"]
    assert body["budget_defaults"]["max_tool_calls"] == settings.run_max_tool_calls


def test_removing_a_repo_with_an_active_run_is_409_naming_it(client, conn, repo_id, settings):
    run = _plan(client)
    before = stored_state(conn, settings.data_dir)

    reply = client.delete(f"/api/repos/{repo_id}")

    assert reply.status == 409
    assert reply.json()["run_ids"] == [run["run_id"]]
    assert run["run_id"] in reply.json()["detail"]
    assert stored_state(conn, settings.data_dir) == before


def test_a_repo_whose_runs_are_final_can_be_removed_and_the_runs_stay(client, conn, repo_id):
    run = _plan(client)
    client.post(f"/api/runs/{run['run_id']}/reject", json_body={"reason": "no"})

    assert client.delete(f"/api/repos/{repo_id}").status == 200

    kept = client.get(f"/api/runs/{run['run_id']}").json()
    assert kept["state"] == "rejected" and kept["repo_id"] == repo_id
    assert rebuild.check(conn).differences == []


def test_reset_cache_keeps_runs_packs_artifacts_and_their_files(client, conn, repo_id, settings):
    run = _plan(client)
    before = stored_state(conn, settings.data_dir)

    assert (
        client.post("/api/cache/reset", json_body={"confirm": "reset", "all": True}).status == 200
    )

    after = stored_state(conn, settings.data_dir)
    assert after["counts"] == before["counts"] and after["files"] == before["files"]
    assert client.get(f"/api/runs/{run['run_id']}").json()["context_pack"]["issues"] == 2
    [artifact] = client.get(f"/api/runs/{run['run_id']}").json()["artifacts"]
    assert client.get(artifact["content_url"]).status == 200


def test_artifact_content_is_a_download_that_cannot_run_script(client, repo_id):
    run = _plan(client)
    [artifact] = run["artifacts"]

    reply = client.get(f"/api/artifacts/{artifact['artifact_id']}/content")

    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["content-disposition"] == (
        f'attachment; filename="{artifact["artifact_id"]}"'
    )
    assert client.get(f"/api/artifacts/{artifact['artifact_id']}").json() == artifact


def test_state_changes_need_the_csrf_header(client, repo_id):
    run = _plan(client)
    reply = client.post(f"/api/runs/{run['run_id']}/approve", csrf=False)
    assert reply.status == 403
    assert client.get(f"/api/runs/{run['run_id']}").json()["state"] == "draft"


def test_every_run_change_replays_exactly(client, conn, repo_id):
    for _ in range(3):
        run = _plan(client)
    client.post(f"/api/runs/{run['run_id']}/approve")
    assert rebuild.check(conn).differences == []
    assert verify(conn).ok
