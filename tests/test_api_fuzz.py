"""schemathesis over every operation of `/api/openapi.json`, against a live `pmbot serve`.

The server is the real process (waitress, the worker thread) on a fake GitHub
with one synced repo. Every request carries the CSRF header and a loopback
Host (requests sends `127.0.0.1:PORT`). Positive and negative data, a fixed
seed (derandomized) and a bounded number of examples per operation keep it
deterministic and under two minutes. A 5xx, a status code, content type or
body the document does not allow, or negative data the server accepts fails
the test; so does a traceback in the server's log, and a store that fails
`integrity_check`, `audit verify` or `audit rebuild --check` afterwards.

The hand-written bad-input sweep (`test_api_errors.py`) stays: this adds to it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from pmbot.control_plane.api.openapi import document
from tests.fake_github import FakeGitHub
from tests.fake_github.demo import free_port, pmbot_env, start_pmbot, stop_process, wait_ready
from tests.ui_support import LiveServer

pytestmark = pytest.mark.slow

REPO = "acme/widgets"
MAX_EXAMPLES = 25
SEED = 16
# Values the document can only describe, not decide: a cursor is opaque (only one this
# server gave out is valid), a repo name follows GitHub's rules, the Work view's `repo_id`
# must name a tracked repo and its `updated_since` a date that exists (a pattern allows
# 2026-02-30), so a schema-valid value may still be refused with a 422 naming that field.
SEMANTIC_FIELDS = frozenset({"cursor", "full_name", "repo_id", "updated_since"})


# A run body may name things that must exist: a registered repo (`execution.scopes.repo`)
# and a stored context pack (`context_pack_id`). The document gives their exact syntax, but
# whether one exists is stored state, so a schema-valid plan may be refused with a 422 whose
# every problem is one of these: the path and the start of the "does not exist" message
# (a syntax problem at the same path still fails).
STORED_STATE_PROBLEMS = {
    "/execution/scopes/repo": "is not a registered repo",
    "/context_pack_id": "no context pack with id ",
}


def _names_only_stored_state(problem: dict) -> bool:
    errors = problem.get("errors") or []
    return bool(errors) and all(
        e.get("path") in STORED_STATE_PROBLEMS
        and STORED_STATE_PROBLEMS[e["path"]] in e.get("message", "")
        for e in errors
    )


def positive_data_acceptance_of_syntax(ctx, response, case):
    """`positive_data_acceptance`, except a 422 naming one of SEMANTIC_FIELDS, or only
    STORED_STATE_PROBLEMS."""
    if response.status_code == 422:
        problem = response.json()
        if problem.get("field") in SEMANTIC_FIELDS or _names_only_stored_state(problem):
            return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance_of_syntax,
]
HEADERS = {"X-PMBot-Request": "1"}


@pytest.fixture(scope="module")
def fake():
    with FakeGitHub() as github:
        github.add_repo(REPO)
        for index in range(12):
            github.add_issue(REPO, title=f"Sprocket fault {index}", body=f"widget step {index}")
        for index in range(3):
            github.add_pr(REPO, title=f"Widget change {index}")
        yield github


class Served:
    """The `pmbot serve` process under fuzz, stopped once the fuzz is over."""

    def __init__(self, fake: FakeGitHub, workdir: Path) -> None:
        self.env = pmbot_env(workdir / "data", fake.base_url, fake.token)
        port = free_port()
        self.live = LiveServer(f"http://127.0.0.1:{port}", workdir / "data", workdir / "pmbot.log")
        self.process = start_pmbot(self.env, port, workdir, self.live.log_path)
        self.db_path = workdir / "data" / "control_plane" / "pm_bot.sqlite3"
        self.workdir = workdir

    def wait_synced(self, full_name: str, timeout: float = 30) -> None:
        status, body = self.live.api("POST", "/api/repos", {"full_name": full_name})
        assert status == 201, body
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, repo = self.live.api("GET", f"/api/repos/{body['repo_id']}/status")
            if repo["last_sync_at"] and repo["status"] == "idle":
                return
            time.sleep(0.1)
        raise AssertionError(f"{full_name} did not sync: {repo}")

    def stop(self) -> None:
        stop_process(self.process)

    def pmbot(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pmbot", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def served(fake, tmp_path_factory):
    server = Served(fake, tmp_path_factory.mktemp("fuzz-serve"))
    try:
        wait_ready(f"{server.live.base_url}/healthz", server.process)
        status, served_document = server.live.api("GET", "/api/openapi.json")
        assert status == 200 and served_document == json.loads(json.dumps(document()))
        server.wait_synced(REPO)
        yield server
    finally:
        server.stop()


def _schema():
    """The document the server serves (checked in `served`), loaded without a server, so
    pytest can make one test per operation at collection time."""
    schema = schemathesis.openapi.from_dict(document(), config=schemathesis.Config(seed=SEED))
    schema.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
    )
    return schema


def test_a_plan_s_whole_life_agrees_with_the_document(served):
    """The success responses random data cannot reach (a registered repo, a real run id),
    checked against the document; runs first, so the fuzz also lists real runs."""
    operations = _schema()

    def call(method: str, template: str, path: str, body: dict | None = None):
        reply = requests.request(
            method, served.live.base_url + path, json=body, headers=HEADERS, timeout=10
        )
        assert reply.status_code < 300, (method, path, reply.text)
        operations[template][method].validate_response(reply)
        return reply.json() if reply.content else None

    repo_id = served.live.repo_id(REPO)
    pack = call("POST", "/api/repos/{repo_id}/context-packs", f"/api/repos/{repo_id}/context-packs")
    plan = {
        "goal": "Triage",
        "inputs": {"issue": 1},
        "execution": {"graph_id": "triage@1", "scopes": {"repo": REPO}, "tools_allowed": ["x"]},
    }
    run = call("POST", "/api/runs", "/api/runs", {**plan, "context_pack_id": pack["pack_id"]})
    path = f"/api/runs/{run['run_id']}"
    call("PATCH", "/api/runs/{run_id}", path, {"execution": {"budget": {"max_tool_calls": 3}}})
    call("GET", "/api/runs", f"/api/runs?repo_id={repo_id}&state=draft")
    call("POST", "/api/runs/{run_id}/approve", f"{path}/approve")
    call("POST", "/api/runs/{run_id}/cancel", f"{path}/cancel", {"reason": "enough"})
    detail = call("GET", "/api/runs/{run_id}", path)
    artifact = detail["artifacts"][0]["artifact_id"]
    call("GET", "/api/artifacts/{artifact_id}", f"/api/artifacts/{artifact}")
    call("GET", "/api/artifacts/{artifact_id}/content", f"/api/artifacts/{artifact}/content")
    other = call("POST", "/api/runs", "/api/runs", plan)
    call(
        "POST", "/api/runs/{run_id}/reject", f"/api/runs/{other['run_id']}/reject", {"reason": "no"}
    )
    call("GET", "/api/graphs", "/api/graphs")


@_schema().parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_agrees_with_the_openapi_document(case, served):
    case.call_and_validate(
        base_url=served.live.base_url, headers=HEADERS, checks=CHECKS, timeout=10
    )


def test_after_the_fuzz_the_log_has_no_traceback_and_the_store_is_intact(served):
    served.stop()
    assert served.process.returncode == 0
    logs = [served.live.log_path, *(served.workdir / "data" / "logs").glob("*.log*")]
    for path in logs:
        text = path.read_text(errors="replace")
        assert "Traceback" not in text, (path, text[-4000:])

    conn = sqlite3.connect(served.db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    for args in (("audit", "verify"), ("audit", "rebuild", "--check")):
        result = served.pmbot(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
