"""The run state machine: which state may follow which, and what the operator may do.

`draft` → `approved` | `rejected` | `cancelled`; `approved` → `running` (the
executor started it) | `cancelled`; `running` → `waiting` (a pending interrupt)
| `completed` | `failed` | `cancelled`; `waiting` → `running` (decided) |
`cancelled`. Final states have no successor. Pure rules, no SQL.
"""

from __future__ import annotations

from pmbot.control_plane.orchestration.errors import IllegalTransition

STATES = ("draft", "approved", "rejected", "cancelled", "running", "waiting", "completed", "failed")
FINAL = frozenset({"rejected", "cancelled", "completed", "failed"})
NEXT: dict[str, tuple[str, ...]] = {
    "draft": ("approved", "rejected", "cancelled"),
    "approved": ("running", "cancelled"),
    "running": ("waiting", "completed", "failed", "cancelled"),
    "waiting": ("running", "cancelled"),
}
# Operator actions and the state each leads to (edit keeps a draft a draft).
ACTIONS = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}


def allowed_next(state: str) -> list[str]:
    return list(NEXT.get(state, ()))


def operator_actions(state: str) -> list[str]:
    """The operator actions legal in `state`, in a stable order."""
    return [action for action, target in ACTIONS.items() if target in NEXT.get(state, ())]


def require(run_id: str, state: str, target: str) -> None:
    """Raise IllegalTransition unless `state` may move to `target`."""
    if target not in NEXT.get(state, ()):
        raise IllegalTransition(
            f"run {run_id} is {state}; it cannot become {target}",
            state=state,
            allowed=allowed_next(state),
        )


def require_editable(run_id: str, state: str) -> None:
    if state != "draft":
        raise IllegalTransition(
            f"run {run_id} is {state}; only a draft can be edited",
            state=state,
            allowed=allowed_next(state),
        )
