"""The executor port: every report checked and audited; a refused one stores nothing."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from pmbot.control_plane.artifacts import store
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.orchestration.port import ControlPlanePort
from pmbot.shared.executor_port import ExecutorPort, PortError
from tests.runs_support import add_repo_with_cache, plan_body, stored_state
from tests.scripted_executor import ScriptedExecutor


@pytest.fixture
def run_id(conn, settings) -> str:
    add_repo_with_cache(conn)
    run = runs.plan_run(conn, settings, plan_body())
    runs.approve_run(conn, run["run_id"])
    return run["run_id"]


@pytest.fixture
def executor(settings, conn):
    scripted = ScriptedExecutor(settings)
    yield scripted
    scripted.close()


@pytest.fixture
def running(conn, run_id, executor) -> str:
    runs.start_run(conn, run_id, executor)
    return run_id


def test_the_control_plane_port_implements_the_shared_protocol(conn, settings):
    assert isinstance(ControlPlanePort(conn, settings), ExecutorPort)


def test_an_artifact_is_stored_once_under_its_digest(conn, settings, running, executor):
    first = executor.file_artifact(running, b"same bytes", kind="log", media_type="text/plain")
    second = executor.file_artifact(running, b"same bytes", kind="log", media_type="text/plain")

    digest = hashlib.sha256(b"same bytes").hexdigest()
    assert first["uri"] == second["uri"] == f"artifacts/sha256/{digest[:2]}/{digest[2:]}"
    assert first["artifact_id"] != second["artifact_id"]
    assert (settings.data_dir / first["uri"]).read_bytes() == b"same bytes"
    row = conn.execute("SELECT * FROM run_artifacts WHERE artifact_id = ?", (first["artifact_id"],))
    assert "same bytes" not in str(tuple(row.fetchone()))  # pointers only, never the bytes


def test_an_artifact_over_the_limit_is_refused_and_nothing_stored(conn, settings, running):
    small = dataclasses.replace(settings, artifact_max_bytes=10)
    port = ControlPlanePort(conn, small)
    before = stored_state(conn, settings.data_dir)

    with pytest.raises(PortError, match="over the limit") as caught:
        port.artifact(running, "log", b"x" * 11, {}, "text/plain")

    assert caught.value.code == "artifact_too_large"
    assert stored_state(conn, settings.data_dir) == before


@pytest.mark.parametrize("which", ["unknown", "finished", "bad_id"])
def test_an_artifact_for_an_unknown_or_finished_run_is_refused(
    conn, settings, running, executor, which
):
    if which == "finished":
        executor.finish(running)
    target = {"unknown": "run-nope", "finished": running, "bad_id": "../x"}[which]
    before = stored_state(conn, settings.data_dir)

    with pytest.raises(PortError):
        ControlPlanePort(conn, settings).artifact(target, "log", b"late", {}, "text/plain")

    assert stored_state(conn, settings.data_dir) == before


@pytest.mark.parametrize(
    ("kind", "metadata", "media_type"),
    [("Not A Kind", {}, None), ("log", [1], None), ("log", {}, "not a media type")],
)
def test_an_artifact_that_breaks_the_contract_is_refused_before_storing(
    conn, settings, running, kind, metadata, media_type
):
    before = stored_state(conn, settings.data_dir)
    with pytest.raises(PortError, match="invalid artifact"):
        ControlPlanePort(conn, settings).artifact(running, kind, b"bytes", metadata, media_type)
    assert stored_state(conn, settings.data_dir) == before


def test_started_needs_an_approved_run(conn, settings, running):
    port = ControlPlanePort(conn, settings)
    with pytest.raises(PortError, match="cannot become running"):
        port.started(running, "thread-2")


def test_an_interrupt_must_be_valid_pending_and_on_the_runs_thread(
    conn, settings, running, executor
):
    interrupt = executor.raise_interrupt(running)
    port = ControlPlanePort(conn, settings)
    before = stored_state(conn, settings.data_dir)

    with pytest.raises(PortError, match="cannot become waiting"):
        port.interrupted(interrupt)
    with pytest.raises(PortError, match="invalid RunInterrupt"):
        port.interrupted({**interrupt, "risk": "extreme"})

    assert stored_state(conn, settings.data_dir) == before


def test_finished_takes_only_known_outcomes(conn, settings, running):
    port = ControlPlanePort(conn, settings)
    with pytest.raises(PortError, match="outcome"):
        port.finished(running, "exploded")
    port.finished(running, "failed", "the tool broke")
    assert runs.get_run(conn, running)["state_reason"] == "the tool broke"


def test_served_media_types_come_from_an_allowlist():
    assert store.served_media_type("text/markdown") == "text/markdown"
    assert store.served_media_type("text/html") == "application/octet-stream"
    assert store.served_media_type("image/svg+xml") == "application/octet-stream"
    assert store.served_media_type(None) == "application/octet-stream"


def test_html_filed_as_an_artifact_is_served_as_bytes(client, conn, running, executor):
    artifact = executor.file_artifact(running, b"<script>x</script>", media_type="text/html")
    reply = client.get(artifact["content_url"])
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_verify_files_names_a_file_whose_content_changed(settings):
    stored = store.put(settings.data_dir, b"original")
    assert store.verify_files(settings.data_dir, [stored.uri]) == []
    (settings.data_dir / stored.uri).write_bytes(b"tampered")
    assert store.verify_files(settings.data_dir, [stored.uri]) == [
        f"{stored.uri}: content no longer matches its sha256"
    ]


def test_writes_leave_no_temp_files(settings):
    store.put(settings.data_dir, b"a")
    store.put(settings.data_dir, b"a")
    names = [p.name for p in (settings.data_dir / "artifacts").rglob("*") if p.is_file()]
    assert len(names) == 1 and not names[0].startswith(".tmp-")
