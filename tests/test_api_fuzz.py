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
# server gave out is valid) and a repo name follows GitHub's rules, so a schema-valid
# value may still be refused with a 422 naming that field.
SEMANTIC_FIELDS = frozenset({"cursor", "full_name"})


def positive_data_acceptance_of_syntax(ctx, response, case):
    """`positive_data_acceptance`, except a 422 naming one of SEMANTIC_FIELDS."""
    if response.status_code == 422 and response.json().get("field") in SEMANTIC_FIELDS:
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
