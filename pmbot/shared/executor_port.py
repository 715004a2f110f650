"""The port through which an executor reports back to the control plane.

The execution plane never imports the control plane; it is handed an object
with these four methods and calls them, with plain JSON-ready values only
(contracts from `pmbot.shared.contracts`). The control plane implements it
(`pmbot.control_plane.orchestration.port.ControlPlanePort`); decisions go the
other way through `Executor.resume`, cancellation through `Executor.cancel`.

Every call is checked and audited; a refused call raises `PortError` (a
`ValueError`) with a message for the executor's log, and stores nothing.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

OUTCOMES = ("completed", "failed")


class PortError(ValueError):
    """The control plane refused a report; `code` is a stable word."""

    code = "port_refused"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


@runtime_checkable
class ExecutorPort(Protocol):
    """What an executor may tell the control plane about a run."""

    def started(self, run_id: str, thread_id: str) -> None:
        """The approved run now executes on `thread_id` (state `running`)."""
        ...

    def interrupted(self, interrupt: dict[str, Any]) -> None:
        """Record a pending RunInterrupt v1 and return; the run waits for a decision."""
        ...

    def artifact(
        self,
        run_id: str,
        kind: str,
        content: bytes,
        metadata: dict[str, Any],
        media_type: str | None = None,
    ) -> dict[str, Any]:
        """Store `content` (content-addressed) and return its RunArtifact v1 document."""
        ...

    def finished(self, run_id: str, outcome: str, reason: str | None = None) -> None:
        """The run ended: `outcome` is one of OUTCOMES."""
        ...
