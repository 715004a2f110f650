"""Projections of the run events: `runs`, `run_interrupts`, `run_artifacts`, `context_packs`.

Same rules as `projections.py`, whose dispatch registers these functions: one
small function per event, SQL only, times from the event. The state machine
is enforced before an event is recorded (`orchestration`); here each event
just sets what it says, so replay reproduces the live rows exactly.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pmbot.control_plane.audit.appliers import Appliers
from pmbot.control_plane.audit.events import (
    ArtifactStored,
    AuditEvent,
    ContextPackTaken,
    InterruptDecided,
    RunApproved,
    RunCancelled,
    RunEdited,
    RunFinished,
    RunInterrupted,
    RunPlanned,
    RunRejected,
    RunStarted,
)

# Children first (the order deletes must run in).
PROJECTED_TABLES = ("run_artifacts", "run_interrupts", "runs", "context_packs")

APPLIERS = Appliers()


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _set_state(conn: sqlite3.Connection, e: AuditEvent, state: str, reason: str | None) -> None:
    conn.execute(
        "UPDATE runs SET state = ?, state_reason = ?, updated_at = ? WHERE run_id = ?",
        (state, reason, e.occurred_at, e.run_id),
    )


@APPLIERS.on(RunPlanned)
def _run_planned(conn: sqlite3.Connection, e: RunPlanned) -> None:
    execution = e.spec["execution"]
    conn.execute(
        "INSERT INTO runs (run_id, repo_id, repo, state, goal, graph_id, thread_id, spec_json,"
        " context_pack_id, created_at, updated_at)"
        " VALUES (?, ?, ?, 'draft', ?, ?, NULL, ?, ?, ?, ?)",
        (
            e.run_id, e.repo_id, execution["scopes"]["repo"], e.spec["goal"],
            execution["graph_id"], _dumps(e.spec), e.context_pack_id, e.occurred_at, e.occurred_at,
        ),
    )  # fmt: skip


@APPLIERS.on(RunEdited)
def _run_edited(conn: sqlite3.Connection, e: RunEdited) -> None:
    conn.execute(
        "UPDATE runs SET goal = ?, graph_id = ?, spec_json = ?, updated_at = ? WHERE run_id = ?",
        (e.spec["goal"], e.spec["execution"]["graph_id"], _dumps(e.spec), e.occurred_at, e.run_id),
    )


@APPLIERS.on(RunApproved)
def _run_approved(conn: sqlite3.Connection, e: RunApproved) -> None:
    _set_state(conn, e, "approved", None)


@APPLIERS.on(RunRejected)
def _run_rejected(conn: sqlite3.Connection, e: RunRejected) -> None:
    _set_state(conn, e, "rejected", e.reason)


@APPLIERS.on(RunCancelled)
def _run_cancelled(conn: sqlite3.Connection, e: RunCancelled) -> None:
    _set_state(conn, e, "cancelled", e.reason)


@APPLIERS.on(RunStarted)
def _run_started(conn: sqlite3.Connection, e: RunStarted) -> None:
    conn.execute(
        "UPDATE runs SET state = 'running', thread_id = ?,"
        " spec_json = json_set(spec_json, '$.execution.thread_id', ?), updated_at = ?"
        " WHERE run_id = ?",
        (e.thread_id, e.thread_id, e.occurred_at, e.run_id),
    )


@APPLIERS.on(RunInterrupted)
def _run_interrupted(conn: sqlite3.Connection, e: RunInterrupted) -> None:
    i = e.interrupt
    conn.execute(
        "INSERT INTO run_interrupts (interrupt_id, run_id, thread_id, kind, risk, payload_json,"
        " status, decision_json, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, ?)",
        (
            i["interrupt_id"], e.run_id, i["thread_id"], i["kind"], i["risk"],
            _dumps(i["payload"]), i["created_at"],
        ),
    )  # fmt: skip
    _set_state(conn, e, "waiting", None)


@APPLIERS.on(InterruptDecided)
def _interrupt_decided(conn: sqlite3.Connection, e: InterruptDecided) -> None:
    conn.execute(
        "UPDATE run_interrupts SET status = ?, decision_json = ? WHERE interrupt_id = ?",
        (e.status, _dumps(e.decision), e.interrupt_id),
    )
    # The run goes on once nothing is pending (a cancelled run stays cancelled).
    conn.execute(
        "UPDATE runs SET state = 'running', updated_at = ? WHERE run_id = ? AND state = 'waiting'"
        " AND NOT EXISTS (SELECT 1 FROM run_interrupts WHERE run_id = ? AND status = 'pending')",
        (e.occurred_at, e.run_id, e.run_id),
    )


@APPLIERS.on(ArtifactStored)
def _artifact_stored(conn: sqlite3.Connection, e: ArtifactStored) -> None:
    a = e.artifact
    conn.execute(
        "INSERT INTO run_artifacts (artifact_id, run_id, kind, uri, sha256, size_bytes,"
        " media_type, metadata_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a["artifact_id"], e.run_id, a["kind"], a["uri"], a["sha256"], a["size_bytes"],
            a.get("media_type"), _dumps(a.get("metadata", {})), a["created_at"],
        ),
    )  # fmt: skip


@APPLIERS.on(RunFinished)
def _run_finished(conn: sqlite3.Connection, e: RunFinished) -> None:
    _set_state(conn, e, e.outcome, e.reason)


@APPLIERS.on(ContextPackTaken)
def _context_pack_taken(conn: sqlite3.Connection, e: ContextPackTaken) -> None:
    conn.execute(
        "INSERT INTO context_packs (pack_id, repo_id, sha256, uri, size_bytes, issues, prs,"
        " taken_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (e.pack_id, e.repo_id, e.sha256, e.uri, e.size_bytes, e.issues, e.prs, e.occurred_at),
    )
