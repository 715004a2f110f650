"""The contract between the control plane and whatever runs agent graphs.

v7 ships no runtime, only this interface and the checks every implementation
runs first, so that the control plane's side (run records, approvals, artifact
store) can be built against a stable seam. Everything crossing the seam is a
plain dict in a contract from `pmbot.shared.contracts`.

v8 adds the implementation: a LangGraph graph registry keyed by `graph_id`,
checkpoints under `<data dir>/checkpoints/` keyed by `thread_id`, budget
enforcement, and a sink through which interrupts (RunInterrupt v1) and outputs
(RunArtifact v1) flow back to the control plane.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol, runtime_checkable

from pmbot.shared.contracts import (
    ContractError,
    Problem,
    normalise_agent_run_spec,
    validate_run_interrupt,
)


@runtime_checkable
class Executor(Protocol):
    """Runs agent graphs described by AgentRunSpec v2 documents."""

    def start(self, spec: dict) -> dict:
        """Start a new run.

        Args:
            spec: an AgentRunSpec v2 with `execution.thread_id` null.

        Returns:
            The spec as accepted: normalised, with `execution.thread_id` set to the
            thread (checkpoint stream) the run executes on.
        """
        ...

    def resume(self, interrupt: dict) -> dict:
        """Continue the interrupted thread with the operator's decision.

        Args:
            interrupt: a RunInterrupt v1 whose status is no longer pending.

        Returns:
            The interrupt as applied.
        """
        ...

    def cancel(self, run_id: str) -> None:
        """Stop a run; its checkpoints stay so the history can be inspected."""
        ...


def prepare_run(spec: Any) -> dict:
    """Check a spec for `Executor.start` and return it normalised (defaults filled in).

    Raises:
        ContractError: the spec is invalid, or it already names a thread (a run
            that has a thread is resumed, not started).
    """
    normalised = normalise_agent_run_spec(spec)
    if normalised["execution"]["thread_id"] is not None:
        problem = Problem("/execution/thread_id", "must be null when a run starts")
        raise ContractError("AgentRunSpec v2", [problem])
    return normalised


def prepare_resume(interrupt: Any) -> dict:
    """Check an interrupt for `Executor.resume` and return a copy the caller cannot alter.

    Raises:
        ContractError: the interrupt is invalid or still pending (nothing to resume with).
    """
    problems = validate_run_interrupt(interrupt)
    if not problems and interrupt["status"] == "pending":
        problems = [Problem("/status", "must be decided (not 'pending') to resume a run")]
    if problems:
        raise ContractError("RunInterrupt v1", problems)
    return copy.deepcopy(interrupt)
