"""A scripted executor for tests: implements the Executor Protocol and reports through the port.

It runs nothing. Each step is a method the test calls, so a test decides when
the run starts, raises an interrupt, files an artifact or finishes, and it
goes through the real control plane: `orchestration.start_run` hands it an
approved run's spec (`start`), and it reports back only through
`ControlPlanePort` (`started`, `interrupted`, `artifact`, `finished`) on its
own connection. Decisions arrive through `resume` (queued: the API calls it
on a server thread) and cancellations through `cancel`.

In-process use (an app built with `create_app(..., executor=executor)`):

    executor = ScriptedExecutor(settings)
    orchestration.runs.start_run(conn, run_id, executor)   # -> started
    interrupt = executor.raise_interrupt(run_id)           # run waits
    ... decide it through the HTTP API ...
    decided = executor.next_decision()                     # what resume() got
    executor.file_artifact(run_id, b"diff ...", media_type="text/x-diff")
    executor.finish(run_id)

Step by step against a server that is already running (e.g. a browser test):
the module functions open the server's DB file, do one step, and close it.
`settings` is the server's Settings (for the data dir and artifact limit).

    from tests import scripted_executor as se
    se.start(settings, run_id)          # the run must be approved
    interrupt_id = se.raise_interrupt(settings, run_id)["interrupt_id"]
    se.file_artifact(settings, run_id, b"# Report\n", kind="report", media_type="text/markdown")
    se.finish(settings, run_id)         # outcome "completed" (or outcome="failed")
"""

from __future__ import annotations

import queue
import threading
import uuid
from typing import Any

from pmbot.control_plane.db import connect
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.orchestration.port import ControlPlanePort
from pmbot.execution_plane.langgraph import prepare_resume, prepare_run
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import now_rfc3339


class ScriptedExecutor:
    """An Executor whose every step is called by the test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.decisions: queue.Queue[dict] = queue.Queue()
        self.cancelled: list[str] = []
        self._lock = threading.Lock()
        self._conn = None

    @property
    def port(self) -> ControlPlanePort:
        if self._conn is None:
            self._conn = connect(self.settings.db_path)
        return ControlPlanePort(self._conn, self.settings)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the Executor Protocol ---------------------------------------------------------------

    def start(self, spec: dict) -> dict:
        accepted = prepare_run(spec)
        thread_id = f"thread-{accepted['run_id']}"
        accepted["execution"]["thread_id"] = thread_id
        self.port.started(accepted["run_id"], thread_id)
        return accepted

    def resume(self, interrupt: dict) -> dict:
        applied = prepare_resume(interrupt)
        self.decisions.put(applied)
        return applied

    def cancel(self, run_id: str) -> None:
        with self._lock:
            self.cancelled.append(run_id)

    # -- the script ----------------------------------------------------------------------------

    def raise_interrupt(
        self,
        run_id: str,
        *,
        kind: str = "tool_call.approval",
        risk: str = "medium",
        payload: dict | None = None,
    ) -> dict:
        interrupt = {
            "schema_version": 1,
            "interrupt_id": f"int-{uuid.uuid4().hex}",
            "run_id": run_id,
            "thread_id": f"thread-{run_id}",
            "kind": kind,
            "risk": risk,
            "payload": payload or {"tool": "github.comment", "args": {"body": "Looks done."}},
            "status": "pending",
            "decision": None,
            "created_at": now_rfc3339(),
        }
        self.port.interrupted(interrupt)
        return interrupt

    def next_decision(self, timeout: float = 10) -> dict:
        return self.decisions.get(timeout=timeout)

    def file_artifact(
        self,
        run_id: str,
        content: bytes = b"diff --git a/x b/x\n",
        *,
        kind: str = "patch",
        metadata: dict | None = None,
        media_type: str | None = "text/x-diff",
    ) -> dict:
        return self.port.artifact(run_id, kind, content, metadata or {}, media_type)

    def finish(self, run_id: str, outcome: str = "completed", reason: str | None = None) -> None:
        self.port.finished(run_id, outcome, reason)


# -- one step at a time, against a running server's DB ---------------------------------------


def _step(settings: Settings, action: Any) -> Any:
    executor = ScriptedExecutor(settings)
    try:
        return action(executor)
    finally:
        executor.close()


def start(settings: Settings, run_id: str) -> dict:
    """Start an approved run (state `running`); returns the accepted spec."""

    def action(executor: ScriptedExecutor) -> dict:
        conn = connect(settings.db_path)
        try:
            return runs.start_run(conn, run_id, executor)
        finally:
            conn.close()

    return _step(settings, action)


def raise_interrupt(settings: Settings, run_id: str, **options: Any) -> dict:
    """Raise a pending interrupt on a running run (state `waiting`); returns it."""
    return _step(settings, lambda e: e.raise_interrupt(run_id, **options))


def file_artifact(settings: Settings, run_id: str, content: bytes, **options: Any) -> dict:
    """File an artifact through the port; returns its RunArtifact v1 document."""
    return _step(settings, lambda e: e.file_artifact(run_id, content, **options))


def finish(settings: Settings, run_id: str, outcome: str = "completed") -> None:
    """End the run (`completed` or `failed`)."""
    _step(settings, lambda e: e.finish(run_id, outcome))
