"""Bad input to the runs API: the right 4xx naming every problem, and nothing stored changes.

"Nothing changes" means the run tables' row counts, the audit head and the
artifact folder are exactly as before the request.
"""

from __future__ import annotations

import re

import pytest

from pmbot.control_plane.orchestration.runs import REASON_PATTERN
from tests.runs_support import add_repo_with_cache, plan_body, stored_state


@pytest.fixture
def repo_id(conn) -> int:
    return add_repo_with_cache(conn)


@pytest.fixture
def unchanged(conn, settings, repo_id):
    """Yields after a plan exists; asserts at teardown that nothing else was stored."""
    state = {}

    def snapshot() -> None:
        state["before"] = stored_state(conn, settings.data_dir)

    yield snapshot
    assert stored_state(conn, settings.data_dir) == state["before"]


def _paths(reply) -> list[str]:
    return [e["path"] for e in reply.json()["errors"]]


def _plan(client) -> str:
    return client.post("/api/runs", json_body=plan_body()).json()["run_id"]


def test_unknown_repo_in_scopes_is_422_at_its_path(client, unchanged):
    unchanged()
    reply = client.post("/api/runs", json_body=plan_body(repo="acme/unknown"))
    assert reply.status == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert _paths(reply) == ["/execution/scopes/repo"]


def test_unknown_graph_is_422_at_its_path(client, unchanged):
    unchanged()
    reply = client.post("/api/runs", json_body=plan_body(graph_id="nope@1"))
    assert reply.status == 422 and _paths(reply) == ["/execution/graph_id"]


@pytest.mark.parametrize("value", [0, -5, 1.5, True, False, "10"])
def test_bad_budget_values_are_422(client, unchanged, value):
    unchanged()
    reply = client.post("/api/runs", json_body=plan_body(budget={"max_tool_calls": value}))
    assert reply.status == 422
    assert _paths(reply) == ["/execution/budget/max_tool_calls"]


def test_every_problem_is_listed_at_once(client, unchanged):
    unchanged()
    body = plan_body(repo="acme/unknown", graph_id="nope@1", budget={"max_total_tokens": 0})
    body["goal"] = ""
    body["run_id"] = "../etc"
    reply = client.post("/api/runs", json_body=body)
    assert reply.status == 422
    assert sorted(_paths(reply)) == sorted(
        [
            "/run_id",
            "/goal",
            "/execution/graph_id",
            "/execution/budget/max_total_tokens",
            "/execution/scopes/repo",
        ]
    )


@pytest.mark.parametrize("goal", ["", "x" * 10_001, None, 5])
def test_goal_empty_too_long_or_not_text_is_422(client, unchanged, goal):
    unchanged()
    body = {**plan_body(), "goal": goal}
    reply = client.post("/api/runs", json_body=body)
    assert reply.status == 422 and _paths(reply) == ["/goal"]


@pytest.mark.parametrize("execution", [None, {}])
def test_a_missing_execution_names_only_what_the_operator_must_give(client, unchanged, execution):
    unchanged()
    body = {"goal": "g"} if execution is None else {"goal": "g", "execution": execution}
    reply = client.post("/api/runs", json_body=body)
    assert reply.status == 422
    assert _paths(reply) == ["/execution/graph_id", "/execution/scopes"]


def test_a_goal_of_exactly_10000_characters_is_fine(client, repo_id):
    reply = client.post("/api/runs", json_body={**plan_body(), "goal": "x" * 10_000})
    assert reply.status == 201


@pytest.mark.parametrize("run_id", ["../x", "a/b", "", ".hidden", "x" * 129, 42])
def test_a_body_run_id_that_is_not_an_id_is_422(client, unchanged, run_id):
    unchanged()
    reply = client.post("/api/runs", json_body={**plan_body(), "run_id": run_id})
    assert reply.status == 422 and _paths(reply) == ["/run_id"]


def test_a_body_run_id_already_used_is_409(client, unchanged):
    client.post("/api/runs", json_body={**plan_body(), "run_id": "my-run-1"})
    unchanged()
    reply = client.post("/api/runs", json_body={**plan_body(), "run_id": "my-run-1"})
    assert reply.status == 409


def test_an_unknown_context_pack_is_422(client, unchanged):
    unchanged()
    reply = client.post("/api/runs", json_body={**plan_body(), "context_pack_id": "pack-nope"})
    assert reply.status == 422 and _paths(reply) == ["/context_pack_id"]


def test_approving_a_rejected_run_is_409_with_state_and_allowed(client, unchanged):
    run_id = _plan(client)
    client.post(f"/api/runs/{run_id}/reject", json_body={"reason": "no"})
    unchanged()
    reply = client.post(f"/api/runs/{run_id}/approve")
    assert reply.status == 409
    assert reply.json()["state"] == "rejected" and reply.json()["allowed"] == []


def test_editing_an_approved_run_is_409(client, unchanged):
    run_id = _plan(client)
    client.post(f"/api/runs/{run_id}/approve")
    unchanged()
    reply = client.request("PATCH", f"/api/runs/{run_id}", json_body={"goal": "other"})
    assert reply.status == 409
    assert reply.json()["state"] == "approved"
    assert reply.json()["allowed"] == ["running", "cancelled"]


def test_an_edit_with_a_bad_budget_is_422_and_the_draft_is_unchanged(client, unchanged):
    run_id = _plan(client)
    unchanged()
    edit = {"execution": {"budget": {"max_wall_seconds": -1}, "scopes": {"repo": "x/y"}}}
    reply = client.request("PATCH", f"/api/runs/{run_id}", json_body=edit)
    assert reply.status == 422
    assert sorted(_paths(reply)) == ["/execution/budget/max_wall_seconds", "/execution/scopes"]


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 2001, 3])
def test_reject_needs_a_reason(client, unchanged, reason):
    run_id = _plan(client)
    unchanged()
    body = {} if reason is None else {"reason": reason}
    reply = client.post(f"/api/runs/{run_id}/reject", json_body=body)
    assert reply.status == 422 and _paths(reply) == ["/reason"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/..%2Fx",
        "/api/runs/a/b",
        "/api/runs/.x",
        "/api/runs/run-unknown",
        "/api/artifacts/..%2F..%2Fetc",
        "/api/artifacts/a/b/content",
        "/api/artifacts/.x/content",
        "/api/artifacts/art-unknown/content",
    ],
)
def test_ids_in_urls_that_name_nothing_are_404(client, unchanged, path):
    unchanged()
    reply = client.get(path)
    assert reply.status == 404
    assert reply.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("action", ["approve", "cancel"])
def test_a_state_change_on_a_bad_run_id_is_404(client, unchanged, action):
    unchanged()
    assert client.post(f"/api/runs/..%2Fx/{action}").status == 404
    assert client.post(f"/api/runs/.x/{action}").status == 404


def test_deciding_an_interrupt_with_a_bad_id_or_body(client, unchanged):
    unchanged()
    assert (
        client.post("/api/interrupts/.x/decision", json_body={"decision": "approve"}).status == 404
    )
    assert (
        client.post("/api/interrupts/int-1/decision", json_body={"decision": "approve"}).status
        == 404
    )


def test_a_state_change_without_the_csrf_header_is_403(client, unchanged):
    run_id = _plan(client)
    unchanged()
    assert client.post(f"/api/runs/{run_id}/cancel", csrf=False).status == 403
    reply = client.post("/api/runs", json_body=plan_body(), csrf=False)
    assert reply.status == 403


@pytest.fixture
def waiting_interrupt(conn, settings, client, repo_id):
    """A pending interrupt on a run that waits for it (through the scripted executor)."""
    from pmbot.control_plane.orchestration import runs
    from tests.scripted_executor import ScriptedExecutor

    run_id = _plan(client)
    client.post(f"/api/runs/{run_id}/approve")
    executor = ScriptedExecutor(settings)
    try:
        runs.start_run(conn, run_id, executor)
        yield executor.raise_interrupt(run_id)
    finally:
        executor.close()


def test_deciding_an_interrupt_twice_is_409(client, unchanged, waiting_interrupt):
    path = f"/api/interrupts/{waiting_interrupt['interrupt_id']}/decision"
    assert client.post(path, json_body={"decision": "approve"}).status == 200
    unchanged()
    reply = client.post(path, json_body={"decision": "reject"})
    assert reply.status == 409 and reply.json()["state"] == "approved"


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"decision": "maybe"}, ["/decision"]),
        ({"decision": "edit"}, ["/edited_payload"]),
        ({"decision": "edit", "edited_payload": [1]}, ["/edited_payload"]),
        ({"decision": "approve", "edited_payload": {}}, ["/edited_payload"]),
        ({"decision": "approve", "comment": 5}, ["/comment"]),
        ({}, ["/decision"]),
    ],
)
def test_a_bad_decision_is_422_and_the_interrupt_stays_pending(
    client, unchanged, waiting_interrupt, body, paths
):
    unchanged()
    path = f"/api/interrupts/{waiting_interrupt['interrupt_id']}/decision"
    reply = client.post(path, json_body=body)
    assert reply.status == 422 and _paths(reply) == paths


# -- wrong types anywhere in a run body: a 422 naming each field, never a 500 --------------


@pytest.mark.parametrize(
    ("decision", "comment", "edited_payload", "paths"),
    [
        ({}, None, None, ["/decision"]),
        ([], None, None, ["/decision"]),
        (["approve"], None, None, ["/decision"]),
        (1, None, None, ["/decision"]),
        (True, None, None, ["/decision"]),
        ({}, [], "x", ["/decision", "/comment", "/edited_payload"]),
        ("approve", {}, None, ["/comment"]),
        ("edit", None, "x", ["/edited_payload"]),
        ("reject", None, 5, ["/edited_payload"]),
    ],
)
def test_a_decision_of_the_wrong_type_is_422_naming_each_field(
    client, unchanged, waiting_interrupt, decision, comment, edited_payload, paths
):
    unchanged()
    body = {"decision": decision, "comment": comment, "edited_payload": edited_payload}
    path = f"/api/interrupts/{waiting_interrupt['interrupt_id']}/decision"
    reply = client.post(path, json_body=body)
    assert reply.status == 422 and _paths(reply) == paths
    assert client.get(f"/api/runs/{waiting_interrupt['run_id']}").json()["state"] == "waiting"


def test_null_comment_and_payload_are_as_if_left_out(client, waiting_interrupt):
    path = f"/api/interrupts/{waiting_interrupt['interrupt_id']}/decision"
    reply = client.post(path, json_body={"decision": "approve", "comment": None})
    assert reply.status == 200
    assert reply.json()["status"] == "approved" and "comment" not in reply.json()["decision"]


def _with(body: dict, path: str, value) -> dict:
    """`body` with the member at the JSON pointer `path` set to `value`."""
    *parents, last = path.strip("/").split("/")
    target = body
    for key in parents:
        target = target[key]
    target[int(last) if isinstance(target, list) else last] = value
    return body


_PLAN_FIELDS = {
    "/run_id": ({}, [], 5, True),
    "/goal": ({}, [], 5, True),
    "/inputs": ([], 5, True, "text"),
    "/execution": ([], 5, True, "text"),
    "/execution/graph_id": ({}, [], 5, True),
    "/execution/budget": ([], 5, True, "text"),
    "/execution/budget/max_total_tokens": ({}, [], True, "text", 1.5),
    "/execution/tools_allowed": ({}, 5, True, "text"),
    "/execution/tools_allowed/0": ({}, [], 5, True, None),
    "/execution/scopes": ([], 5, True, "text"),
    "/execution/scopes/repo": ({}, [], 5, True, None),
    "/context_pack_id": ({}, [], 5, True, "", "../x"),
}


def _plan_with(path: str, value) -> dict:
    body = plan_body(budget={"max_total_tokens": 10}, tools_allowed=["search"])
    body.update(run_id="run-typed", inputs={})
    return _with(body, path, value)


@pytest.mark.parametrize(
    ("path", "value"),
    [(path, value) for path, values in _PLAN_FIELDS.items() for value in values],
)
def test_a_plan_field_of_the_wrong_type_is_422_at_its_path(client, unchanged, path, value):
    unchanged()
    reply = client.post("/api/runs", json_body=_plan_with(path, value))
    assert reply.status == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert _paths(reply) == [path]


@pytest.mark.parametrize(
    ("edit", "paths"),
    [
        ({"goal": {}}, ["/goal"]),
        ({"goal": None}, ["/goal"]),
        ({"inputs": []}, ["/inputs"]),
        ({"execution": []}, ["/execution"]),
        ({"execution": None}, ["/execution"]),
        ({"execution": {"graph_id": {}}}, ["/execution/graph_id"]),
        ({"execution": {"budget": "x"}}, ["/execution/budget"]),
        ({"execution": {"budget": {"max_tool_calls": []}}}, ["/execution/budget/max_tool_calls"]),
        ({"execution": {"tools_allowed": {}}}, ["/execution/tools_allowed"]),
        ({"execution": {"tools_allowed": [[]]}}, ["/execution/tools_allowed/0"]),
        ({"execution": {"engine": "other"}}, ["/execution/engine"]),
    ],
)
def test_an_edit_field_of_the_wrong_type_is_422_at_its_path(client, unchanged, edit, paths):
    run_id = _plan(client)
    before = client.get(f"/api/runs/{run_id}").json()["spec"]
    unchanged()
    reply = client.request("PATCH", f"/api/runs/{run_id}", json_body=edit)
    assert reply.status == 422 and _paths(reply) == paths
    assert client.get(f"/api/runs/{run_id}").json()["spec"] == before


@pytest.mark.parametrize("reason", [{}, [], 5, True, "\u3000", "\x1c\t"])
@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_a_reason_that_is_not_text_or_only_whitespace_is_422(client, unchanged, action, reason):
    run_id = _plan(client)
    unchanged()
    reply = client.post(f"/api/runs/{run_id}/{action}", json_body={"reason": reason})
    assert reply.status == 422 and _paths(reply) == ["/reason"]
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "draft"


def test_the_reason_pattern_matches_exactly_the_characters_strip_keeps():
    """The OpenAPI document publishes REASON_PATTERN; the service's `strip()` must agree."""
    pattern = re.compile(REASON_PATTERN)
    differ = [c for c in range(0x110000) if (pattern.match(chr(c)) is None) != chr(c).isspace()]
    assert differ == []


def test_a_budget_written_as_a_whole_float_is_that_integer(client, repo_id):
    body = plan_body(budget={"max_tool_calls": 7.0, "max_wall_seconds": 1e3})
    reply = client.post("/api/runs", json_body=body)
    assert reply.status == 201
    budget = reply.json()["spec"]["execution"]["budget"]
    assert budget["max_tool_calls"] == 7 and type(budget["max_tool_calls"]) is int
    assert budget["max_wall_seconds"] == 1000 and type(budget["max_wall_seconds"]) is int


# -- JSON that parses but cannot be kept: 400, never a 500 or a stored run ----------------


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('{"goal": "\\ud800", "execution": {}}', "unpaired UTF-16 surrogate"),
        ('{"goal": "g", "context_pack_id": "\\udfff"}', "unpaired UTF-16 surrogate"),
        ('{"goal": "g", "inputs": {"\\ud800": 1}}', "unpaired UTF-16 surrogate"),
        ('{"goal": "g", "inputs": {"x": 1e400}}', "too large"),
        ('{"goal": "g", "inputs": {"x": [-1e999]}}', "too large"),
    ],
)
def test_json_that_cannot_be_kept_is_400(client, unchanged, text, detail):
    unchanged()
    headers = {"Content-Type": "application/json"}
    reply = client.post("/api/runs", body=text.encode(), headers=headers)
    assert reply.status == 400 and detail in reply.json()["detail"]


def test_a_body_nested_deeper_than_the_limit_is_400_the_limit_itself_is_fine(client, unchanged):
    from pmbot.control_plane.api.parsers import MAX_JSON_DEPTH

    # the body is level 1 and `inputs` level 2
    fits = {**plan_body(), "inputs": _nested(MAX_JSON_DEPTH - 1)}
    assert client.post("/api/runs", json_body=fits).status == 201
    unchanged()
    deep = {**plan_body(), "inputs": _nested(MAX_JSON_DEPTH)}
    reply = client.post("/api/runs", json_body=deep)
    assert reply.status == 400 and "deeper than" in reply.json()["detail"]
    reply = client.post("/api/runs", json_body={**plan_body(), "inputs": _nested(600)})
    assert reply.status == 400
