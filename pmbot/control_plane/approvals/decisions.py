"""Decide a pending interrupt, once, and hand the decision to the executor.

A decision is recorded (`interrupt.decided`) in one transaction with the
checks that it is the first one and that the run still waits; the run goes
back to `running` once nothing is pending. Only after the commit is the
decided RunInterrupt v1 passed to `executor.resume`, if an executor is
attached (v7 ships none; the tests attach a scripted one).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.db import transaction
from pmbot.control_plane.orchestration import states
from pmbot.control_plane.orchestration.errors import InterruptAlreadyDecided, InvalidInput
from pmbot.control_plane.orchestration.runs import get_interrupt, get_run
from pmbot.shared.contracts import Problem, validate_run_interrupt
from pmbot.shared.timeutil import now_rfc3339

DECISIONS = {"approve": "approved", "reject": "rejected", "edit": "edited"}
MAX_COMMENT_CHARS = 2000


def parse_decision(body: dict[str, Any]) -> tuple[str, str | None, dict | None]:
    """`{"decision", "comment"?, "edited_payload"? (edit only)}`, every problem at once.

    A null `comment` or `edited_payload` is the same as leaving it out.
    """
    problems = []
    decision = body.get("decision")
    if not isinstance(decision, str) or decision not in DECISIONS:
        problems.append(Problem("/decision", f"must be one of {', '.join(DECISIONS)}"))
    comment = body.get("comment")
    if comment is not None and (
        not isinstance(comment, str) or not 0 < len(comment) <= MAX_COMMENT_CHARS
    ):
        problems.append(Problem("/comment", f"must be text of 1 to {MAX_COMMENT_CHARS} characters"))
    edited = body.get("edited_payload")
    if edited is not None and not isinstance(edited, dict):
        problems.append(Problem("/edited_payload", "must be an object"))
    elif decision == "edit" and edited is None:
        problems.append(Problem("/edited_payload", "is required for an edit"))
    elif decision in ("approve", "reject") and edited is not None:
        problems.append(Problem("/edited_payload", "is only allowed with decision 'edit'"))
    if problems:
        raise InvalidInput(problems)
    return decision, comment, edited


def decide_interrupt(
    conn: sqlite3.Connection,
    interrupt_id: str,
    body: dict[str, Any],
    *,
    actor: str = "operator",
    executor: Any = None,
) -> dict[str, Any]:
    """Record the operator's decision; returns the decided RunInterrupt v1."""
    decision, comment, edited = parse_decision(body)
    with transaction(conn):
        interrupt = get_interrupt(conn, interrupt_id)
        if interrupt["status"] != "pending":
            raise InterruptAlreadyDecided(
                f"interrupt {interrupt_id} is already {interrupt['status']}",
                state=interrupt["status"],
            )
        run = get_run(conn, interrupt["run_id"])
        states.require(run["run_id"], run["state"], "running")
        answer: dict[str, Any] = {"decided_by": actor, "decided_at": now_rfc3339()}
        if comment is not None:
            answer["comment"] = comment
        if edited is not None:
            answer["edited_payload"] = edited
        decided = {**interrupt, "status": DECISIONS[decision], "decision": answer}
        problems = validate_run_interrupt(decided)
        if problems:
            raise InvalidInput(problems)
        audit.record(
            conn,
            ev.InterruptDecided(
                run_id=interrupt["run_id"],
                interrupt_id=interrupt_id,
                status=decided["status"],
                decision=answer,
                actor=actor,
            ),
        )
    document = get_interrupt(conn, interrupt_id)
    if executor is not None:
        executor.resume(document)
    return document
