"""Plain-dict contracts shared by the control plane and the execution plane.

The two planes never import each other; they exchange JSON-ready dicts whose
shapes are fixed here and documented in docs/contracts/ (prose + JSON Schema).
Each validator returns every problem it finds, each with a JSON-pointer path.
Unknown fields are kept and ignored, so a newer producer can add optional fields
without breaking an older reader.
"""

from pmbot.shared.contracts.agent_run_spec import (
    normalise_agent_run_spec,
    validate_agent_run_spec,
)
from pmbot.shared.contracts.run_artifact import validate_run_artifact
from pmbot.shared.contracts.run_interrupt import validate_run_interrupt
from pmbot.shared.contracts.shapes import ContractError, Problem

__all__ = [
    "ContractError",
    "Problem",
    "normalise_agent_run_spec",
    "validate_agent_run_spec",
    "validate_run_artifact",
    "validate_run_interrupt",
]
