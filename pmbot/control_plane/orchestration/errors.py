"""The typed failures of the run services; each carries its HTTP `status` and extras.

The API turns one into problem+json (`status`, `code`, the message, `extra`
fields such as the current `state` and `allowed` next states) like any
`ServiceError`; the CLI prints the message on one line.
"""

from __future__ import annotations

from typing import Any

from pmbot.shared.contracts import Problem
from pmbot.shared.errors import ServiceError


class RunError(ServiceError):
    """Base of the run services' errors; `code` is a stable word for clients."""

    code = "run_error"
    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra

    def problem_fields(self) -> dict[str, Any]:
        return self.extra


class RunNotFound(RunError):
    code = "run_not_found"
    status = 404


class InterruptNotFound(RunError):
    code = "interrupt_not_found"
    status = 404


class ArtifactNotFound(RunError):
    code = "artifact_not_found"
    status = 404


class RunExists(RunError):
    code = "run_exists"
    status = 409


class IllegalTransition(RunError):
    """The run's state does not allow this; says the state and the allowed next states."""

    code = "illegal_transition"
    status = 409

    def __init__(self, message: str, *, state: str, allowed: list[str]) -> None:
        super().__init__(message, state=state, allowed=allowed)


class InterruptAlreadyDecided(RunError):
    code = "interrupt_decided"
    status = 409


class RunsActive(RunError):
    """A repo with non-final runs cannot be removed; names them."""

    code = "runs_active"
    status = 409


class InvalidInput(RunError):
    """A plan, edit or decision with problems: every one, each with its JSON path."""

    code = "invalid_input"
    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        errors = [{"path": p.path, "message": p.message} for p in problems]
        summary = "; ".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s): {summary}", errors=errors)
        self.problems = problems
