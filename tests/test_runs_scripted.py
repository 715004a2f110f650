"""The execution seam end to end: a scripted executor drives whole runs over real HTTP.

The app is served by real waitress with the scripted executor attached, so a
decision posted over HTTP reaches it through `Executor.resume` and a cancel
through `Executor.cancel`; everything it reports goes through the port.
"""

from __future__ import annotations

import json

import pytest

from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.api.server import ServerThread
from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.orchestration import runs
from tests.conftest import LiveServer
from tests.runs_support import add_repo_with_cache, plan_body
from tests.scripted_executor import ScriptedExecutor

WRITE = {"X-PMBot-Request": "1", "Content-Type": "application/json"}


@pytest.fixture
def executor(settings, conn):
    scripted = ScriptedExecutor(settings)
    yield scripted
    scripted.close()


@pytest.fixture
def server(settings, db_path, conn, executor):
    app = create_app(settings, db_path=db_path, executor=executor)
    thread = ServerThread(app, host="127.0.0.1", port=0, threads=4).start()
    try:
        yield LiveServer(thread)
    finally:
        thread.stop()
        app.close()


def _call(server, method, path, body=None):
    headers = {"Host": f"127.0.0.1:{server.port}"}
    data = None
    if method != "GET":
        headers.update(WRITE)
        data = json.dumps(body or {}).encode()
    reply = server.request(method, path, body=data, headers=headers)
    return reply.status, reply.json() if reply.body else None


def _approved_run(server, conn) -> str:
    add_repo_with_cache(conn)
    status, run = _call(server, "POST", "/api/runs", plan_body())
    assert status == 201, run
    assert _call(server, "POST", f"/api/runs/{run['run_id']}/approve")[0] == 200
    return run["run_id"]


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        ({"decision": "approve", "comment": "go"}, "approved"),
        ({"decision": "reject", "comment": "no"}, "rejected"),
        ({"decision": "edit", "edited_payload": {"tool": "github.comment", "args": {}}}, "edited"),
    ],
)
def test_a_whole_run_through_the_port_and_the_http_api(
    server, conn, executor, settings, decision, status
):
    run_id = _approved_run(server, conn)

    accepted = runs.start_run(conn, run_id, executor)
    assert accepted["execution"]["thread_id"] == f"thread-{run_id}"
    assert _call(server, "GET", f"/api/runs/{run_id}")[1]["state"] == "running"

    interrupt = executor.raise_interrupt(run_id)
    run = _call(server, "GET", f"/api/runs/{run_id}")[1]
    assert run["state"] == "waiting" and run["pending_interrupts"] == 1
    assert run["interrupts"][0]["status"] == "pending"

    path = f"/api/interrupts/{interrupt['interrupt_id']}/decision"
    code, decided = _call(server, "POST", path, decision)
    assert code == 200 and decided["status"] == status
    resumed = executor.next_decision()
    assert resumed == decided
    assert resumed["decision"].get("edited_payload") == decision.get("edited_payload")
    assert _call(server, "GET", f"/api/runs/{run_id}")[1]["state"] == "running"

    artifact = executor.file_artifact(run_id, b"diff --git a/x b/x\n+fixed\n")
    executor.finish(run_id)

    run = _call(server, "GET", f"/api/runs/{run_id}")[1]
    assert run["state"] == "completed" and run["allowed_transitions"] == []
    assert [a["kind"] for a in run["artifacts"]] == ["context.pack", "patch"]
    assert [e["type"] for e in run["events"]] == [
        "run.planned", "artifact.stored", "run.approved", "run.started", "run.interrupted",
        "interrupt.decided", "artifact.stored", "run.finished",
    ]  # fmt: skip
    content = server.request(
        "GET", artifact["content_url"], headers={"Host": f"127.0.0.1:{server.port}"}
    )
    assert content.body == b"diff --git a/x b/x\n+fixed\n"
    assert content.headers["content-type"].startswith("text/x-diff")
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith("attachment")
    assert verify(conn).ok
    assert rebuild.check(conn).differences == []


def test_cancelling_a_run_that_waits_on_an_interrupt_reaches_the_executor(server, conn, executor):
    run_id = _approved_run(server, conn)
    runs.start_run(conn, run_id, executor)
    interrupt = executor.raise_interrupt(run_id)

    code, run = _call(server, "POST", f"/api/runs/{run_id}/cancel", {"reason": "changed my mind"})

    assert code == 200 and run["state"] == "cancelled"
    assert executor.cancelled == [run_id]
    late = _call(server, "POST", f"/api/interrupts/{interrupt['interrupt_id']}/decision",
                 {"decision": "approve"})  # fmt: skip
    assert late[0] == 409 and late[1]["state"] == "cancelled"
    assert executor.decisions.empty()
    assert verify(conn).ok
    assert rebuild.check(conn).differences == []


def test_the_step_functions_drive_a_run_against_a_running_server(server, conn, settings):
    from tests import scripted_executor as se

    run_id = _approved_run(server, conn)
    se.start(settings, run_id)
    interrupt = se.raise_interrupt(settings, run_id)
    _call(server, "POST", f"/api/interrupts/{interrupt['interrupt_id']}/decision",
          {"decision": "approve"})  # fmt: skip
    se.file_artifact(settings, run_id, b"# Report\n", kind="report", media_type="text/markdown")
    se.finish(settings, run_id)

    run = _call(server, "GET", f"/api/runs/{run_id}")[1]
    assert run["state"] == "completed"
    assert run["artifacts"][-1]["media_type"] == "text/markdown"
