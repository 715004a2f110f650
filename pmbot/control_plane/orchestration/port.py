"""The control plane's side of the executor port (`pmbot.shared.executor_port`).

An executor reports through these four methods; each is checked against the
contracts and the state machine, then recorded as an audit event in one
transaction. A refused report raises `PortError` and stores nothing: an
artifact over `PMBOT_ARTIFACT_MAX_BYTES`, or for an unknown or finished run,
never reaches the store. One port serves one connection (one thread).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.artifacts import store
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.db import transaction
from pmbot.control_plane.orchestration import states
from pmbot.control_plane.orchestration.errors import RunError
from pmbot.control_plane.orchestration.runs import get_artifact
from pmbot.shared.contracts import validate_run_artifact, validate_run_interrupt
from pmbot.shared.contracts.shapes import ID
from pmbot.shared.executor_port import OUTCOMES, PortError
from pmbot.shared.ids import time_ordered_id
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import now_rfc3339


class ControlPlanePort:
    """Implements `ExecutorPort` over one DB connection and the artifact store."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings) -> None:
        self.conn = conn
        self.settings = settings

    def started(self, run_id: str, thread_id: str) -> None:
        _check_id(thread_id, "thread_id")
        with transaction(self.conn):
            self._require(run_id, "running")
            audit.record(
                self.conn, ev.RunStarted(run_id=run_id, thread_id=thread_id, actor="executor")
            )

    def interrupted(self, interrupt: dict[str, Any]) -> None:
        problems = validate_run_interrupt(interrupt)
        if problems:
            raise PortError(
                "invalid RunInterrupt v1: " + "; ".join(map(str, problems)), "invalid_interrupt"
            )
        if interrupt["status"] != "pending" or interrupt.get("decision") is not None:
            raise PortError(
                "a new interrupt must be pending, without a decision", "invalid_interrupt"
            )
        run_id = interrupt["run_id"]
        with transaction(self.conn):
            row = self._require(run_id, "waiting")
            if interrupt["thread_id"] != row["thread_id"]:
                raise PortError(
                    f"run {run_id} runs on thread {row['thread_id']}, not {interrupt['thread_id']}",
                    "wrong_thread",
                )
            if self.conn.execute(
                "SELECT 1 FROM run_interrupts WHERE interrupt_id = ?", (interrupt["interrupt_id"],)
            ).fetchone():
                raise PortError(
                    f"interrupt {interrupt['interrupt_id']} is already recorded", "interrupt_exists"
                )
            document = {**interrupt, "decision": None}
            audit.record(
                self.conn, ev.RunInterrupted(run_id=run_id, interrupt=document, actor="executor")
            )

    def artifact(
        self,
        run_id: str,
        kind: str,
        content: bytes,
        metadata: dict[str, Any],
        media_type: str | None = None,
    ) -> dict[str, Any]:
        document = self._artifact_document(run_id, kind, content, metadata, media_type)
        stored = store.put(self.settings.data_dir, bytes(content))
        document.update(uri=stored.uri, sha256=stored.sha256)
        with transaction(self.conn):
            self._require_filing(run_id)  # again, under the write lock
            stored_event = ev.ArtifactStored(run_id=run_id, artifact=document, actor="executor")
            audit.record(self.conn, stored_event)
        return get_artifact(self.conn, document["artifact_id"])

    def _artifact_document(
        self, run_id: str, kind: str, content: Any, metadata: Any, media_type: str | None
    ) -> dict[str, Any]:
        """Every check before a byte is written: size, run state, the RunArtifact v1 shape."""
        if not isinstance(content, bytes | bytearray):
            raise PortError("artifact content must be bytes", "invalid_artifact")
        limit = self.settings.artifact_max_bytes
        if len(content) > limit:
            raise PortError(
                f"artifact of {len(content)} bytes is over the limit of {limit}"
                " (PMBOT_ARTIFACT_MAX_BYTES); nothing stored",
                "artifact_too_large",
            )
        self._require_filing(run_id)
        # Validated with a placeholder digest (and its URI) before hashing and storing the
        # bytes, so a bad kind, metadata or media type stores nothing.
        placeholder = "0" * 64
        document = {
            "schema_version": 1,
            "artifact_id": time_ordered_id("art"),
            "run_id": run_id,
            "kind": kind,
            "uri": store.uri_for(placeholder),
            "sha256": placeholder,
            "size_bytes": len(content),
            "metadata": metadata,
            "created_at": now_rfc3339(),
        }
        if media_type is not None:
            document["media_type"] = media_type
        problems = validate_run_artifact(document)
        if problems:
            message = "invalid artifact: " + "; ".join(map(str, problems))
            raise PortError(message, "invalid_artifact")
        return document

    def _require_filing(self, run_id: str) -> None:
        """Only a started, unfinished run files artifacts."""
        row = self._run(run_id)
        if row["state"] not in ("running", "waiting"):
            message = f"run {run_id} is {row['state']}: it cannot file artifacts"
            raise PortError(message, "run_not_running")

    def finished(self, run_id: str, outcome: str, reason: str | None = None) -> None:
        if outcome not in OUTCOMES:
            raise PortError(f"outcome must be one of {', '.join(OUTCOMES)}", "invalid_outcome")
        with transaction(self.conn):
            self._require(run_id, outcome)
            finished = ev.RunFinished(
                run_id=run_id, outcome=outcome, reason=reason, actor="executor"
            )
            audit.record(self.conn, finished)

    def _run(self, run_id: str) -> sqlite3.Row:
        _check_id(run_id, "run_id")
        row = self.conn.execute(
            "SELECT run_id, state, thread_id FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise PortError(f"no run with id {run_id}", "run_not_found")
        return row

    def _require(self, run_id: str, target: str) -> sqlite3.Row:
        row = self._run(run_id)
        try:
            states.require(run_id, row["state"], target)
        except RunError as exc:
            raise PortError(str(exc), exc.code) from exc
        return row


def _check_id(value: Any, name: str) -> None:
    if ID(value, f"/{name}"):
        raise PortError(f"{name} must be an id (letters, digits, '.', '_', '-')", "invalid_id")
