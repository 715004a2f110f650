"""AgentRunSpec v2: what the control plane asks the execution plane to run.

The spec names the goal, the graph (a versioned LangGraph graph id), the budget
the run may spend and the tools and repo it may touch. It is written by the
control plane and read by an executor; see docs/contracts/agent-run-spec-v2.md.
"""

from __future__ import annotations

from typing import Any

from pmbot.shared.contracts.shapes import (
    ID,
    ContractError,
    Nullable,
    Obj,
    OneOf,
    Problem,
    any_object,
    integer,
    optional,
    required,
    text,
    unique_list,
)

CONTRACT = "AgentRunSpec v2"
ENGINE = "langgraph"
GRAPH_ID_HINT = "'name@N': a lowercase name and a positive integer version, e.g. 'triage@1'"
REPO_HINT = "'owner/name' as GitHub spells it"
REPO_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}"
TOOL_PATTERN = r"[a-z][a-z0-9_.-]{0,63}"

BUDGET = Obj(
    {
        "max_total_tokens": required(integer(1)),
        "max_tool_calls": required(integer(1)),
        "max_wall_seconds": required(integer(1)),
    }
)


def _repo_name_is_not_dots(scopes: dict, path: str) -> list[Problem]:
    """GitHub refuses '.' and '..' as repository names; the pattern alone allows them."""
    repo = scopes.get("repo")
    if isinstance(repo, str) and repo.rpartition("/")[2] in {".", ".."}:
        return [Problem(f"{path}/repo", f"must be {REPO_HINT}; got {repo!r}")]
    return []


SCOPES = Obj(
    {"repo": required(text(REPO_PATTERN, REPO_HINT))},
    invariants=(_repo_name_is_not_dots,),
)

EXECUTION = Obj(
    {
        "engine": required(OneOf((ENGINE,))),
        "graph_id": required(text(r"[a-z][a-z0-9_.-]{0,63}@[1-9][0-9]{0,5}", GRAPH_ID_HINT)),
        "thread_id": optional(Nullable(ID), default=None),
        "budget": required(BUDGET),
        "tools_allowed": optional(unique_list(text(TOOL_PATTERN, "a tool name")), []),
        "scopes": required(SCOPES),
    }
)

SHAPE = Obj(
    {
        "schema_version": required(OneOf((2,))),
        "run_id": required(ID),
        "goal": required(text()),
        "inputs": optional(any_object, default={}),
        "execution": required(EXECUTION),
    }
)


def validate_agent_run_spec(document: Any) -> list[Problem]:
    """Return every problem with an AgentRunSpec v2 document (empty when valid)."""
    return SHAPE(document, "")


def normalise_agent_run_spec(document: Any) -> dict:
    """Return a deep copy of a valid spec with defaults filled in; unknown fields are kept.

    Raises:
        ContractError: the document is not a valid AgentRunSpec v2.
    """
    problems = validate_agent_run_spec(document)
    if problems:
        raise ContractError(CONTRACT, problems)
    return SHAPE.with_defaults(document)
