"""RunInterrupt v1: a run paused to ask the operator something, and the answer.

An executor raises an interrupt when a graph reaches a step that needs a human
(approve a risky tool call, edit a draft); the control plane shows it in the
inbox and records the decision. See docs/contracts/run-interrupt-v1.md.
"""

from __future__ import annotations

from typing import Any

from pmbot.shared.contracts.shapes import (
    ID,
    KIND,
    Nullable,
    Obj,
    OneOf,
    Problem,
    any_object,
    child,
    optional,
    required,
    text,
    timestamp,
)

CONTRACT = "RunInterrupt v1"
RISKS = ("low", "medium", "high")
STATUSES = ("pending", "approved", "rejected", "edited")

DECISION = Obj(
    {
        "decided_by": required(text()),
        "decided_at": required(timestamp),
        "comment": optional(text()),
        "edited_payload": optional(any_object),
    }
)


def _decision_matches_status(interrupt: dict, path: str) -> list[Problem]:
    """A decision exists iff the interrupt is no longer pending; an edit carries its payload."""
    status, decision = interrupt.get("status"), interrupt.get("decision")
    where = child(path, "decision")
    if status not in STATUSES:
        return []
    if status == "pending":
        return [] if decision is None else [Problem(where, "must be null while status is pending")]
    if decision is None:
        return [Problem(where, f"is required when status is {status!r}")]
    if not isinstance(decision, dict):
        return []
    edited = "edited_payload" in decision
    if status == "edited" and not edited:
        return [Problem(child(where, "edited_payload"), "is required when status is 'edited'")]
    if status != "edited" and edited:
        return [Problem(child(where, "edited_payload"), "is only allowed when status is 'edited'")]
    return []


SHAPE = Obj(
    {
        "schema_version": required(OneOf((1,))),
        "interrupt_id": required(ID),
        "run_id": required(ID),
        "thread_id": required(ID),
        "kind": required(KIND),
        "risk": required(OneOf(RISKS)),
        "payload": required(any_object),
        "status": required(OneOf(STATUSES)),
        "decision": optional(Nullable(DECISION), default=None),
        "created_at": required(timestamp),
    },
    invariants=(_decision_matches_status,),
)


def validate_run_interrupt(document: Any) -> list[Problem]:
    """Return every problem with a RunInterrupt v1 document (empty when valid)."""
    return SHAPE(document, "")
