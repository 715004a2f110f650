"""Build and check the AgentRunSpec v2 of a plan, collecting every problem at once.

The operator sends a partial spec; the server fills `schema_version`,
`run_id` (unless a valid one is given), `execution.engine`,
`execution.thread_id` (null until an executor starts the run) and missing
budget keys from settings, then checks the whole with the contract's own
validator plus the API's policy: a known `graph_id`, a registered
`scopes.repo`, a `goal` of at most MAX_GOAL_CHARS characters.
"""

from __future__ import annotations

import copy
import sqlite3
from typing import Any

from pmbot.control_plane.registry import find_repo
from pmbot.shared.contracts import Problem, validate_agent_run_spec
from pmbot.shared.contracts.agent_run_spec import ENGINE
from pmbot.shared.graphs import GRAPH_IDS
from pmbot.shared.ids import time_ordered_id
from pmbot.shared.settings import Settings

MAX_GOAL_CHARS = 10_000
_EXECUTION_KEYS = ("graph_id", "budget", "tools_allowed", "scopes")
EDITABLE_EXECUTION_KEYS = ("graph_id", "budget", "tools_allowed")


def new_run_id() -> str:
    return time_ordered_id("run")


def budget_defaults(settings: Settings) -> dict[str, int]:
    return {
        "max_total_tokens": settings.run_max_total_tokens,
        "max_tool_calls": settings.run_max_tool_calls,
        "max_wall_seconds": settings.run_max_wall_seconds,
    }


def spec_from_body(body: dict[str, Any], settings: Settings) -> dict:
    """The full spec a plan body asks for (checked afterwards by `check_spec`).

    A given `run_id` is kept as it is: the contract's validator checks it with the rest.
    """
    run_id = body.get("run_id")
    if run_id is None:
        run_id = new_run_id()
    execution = body.get("execution")
    spec = {
        "schema_version": 2,
        "run_id": run_id,
        "inputs": copy.deepcopy(body.get("inputs", {})),
        "execution": _execution(execution, settings),
    }
    if "goal" in body:
        spec["goal"] = body["goal"]
    return spec


def _execution(given: Any, settings: Settings) -> Any:
    if given is None:
        given = {}  # only the operator's part is missing: report that, not server fields
    if not isinstance(given, dict):
        return given
    execution = {k: copy.deepcopy(given[k]) for k in _EXECUTION_KEYS if k in given}
    execution["engine"] = ENGINE
    execution["thread_id"] = None
    execution.setdefault("tools_allowed", [])
    budget = execution.get("budget", {})
    if isinstance(budget, dict):
        execution["budget"] = {**budget_defaults(settings), **_whole_numbers(budget)}
    return execution


def _whole_numbers(budget: dict[str, Any]) -> dict[str, Any]:
    """A JSON number with no fraction (`7.0`, `1e3`) is an integer, as JSON Schema counts
    them (and the OpenAPI document says "integer"): store it as one."""
    return {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in budget.items()
    }


def apply_edit(spec: dict, body: dict[str, Any]) -> tuple[dict, list[Problem]]:
    """The draft's spec with the edit applied (`goal`, `inputs`, some of `execution`)."""
    edited = copy.deepcopy(spec)
    problems: list[Problem] = []
    for key in ("goal", "inputs"):
        if key in body:
            edited[key] = copy.deepcopy(body[key])
    execution = body.get("execution", {})
    if not isinstance(execution, dict):
        return edited, [Problem("/execution", "must be an object")]
    for key in EDITABLE_EXECUTION_KEYS:
        if key not in execution:
            continue
        value = copy.deepcopy(execution[key])
        if key == "budget" and isinstance(value, dict):
            value = {**edited["execution"]["budget"], **_whole_numbers(value)}
        edited["execution"][key] = value
    for key in set(execution) - set(EDITABLE_EXECUTION_KEYS):
        problems.append(Problem(f"/execution/{key}", "cannot be changed by an edit"))
    return edited, problems


def check_spec(conn: sqlite3.Connection, spec: dict) -> tuple[list[Problem], int | None]:
    """Every problem of a full spec (contract and policy), and the repo id it names."""
    problems = validate_agent_run_spec(spec)
    bad = {p.path for p in problems}
    goal = spec.get("goal")
    if isinstance(goal, str) and len(goal) > MAX_GOAL_CHARS:
        problems.append(Problem("/goal", f"must be at most {MAX_GOAL_CHARS} characters"))
    execution = spec.get("execution") if isinstance(spec.get("execution"), dict) else {}
    graph_id = execution.get("graph_id")
    if "/execution/graph_id" not in bad and isinstance(graph_id, str) and graph_id not in GRAPH_IDS:
        known = ", ".join(sorted(GRAPH_IDS))
        problems.append(Problem("/execution/graph_id", f"is not a known graph ({known})"))
    repo_id = None
    scopes = execution.get("scopes")
    if isinstance(scopes, dict) and "/execution/scopes/repo" not in bad and "repo" in scopes:
        repo = find_repo(conn, scopes["repo"])
        if repo is None:
            message = f"{scopes['repo']!r} is not a registered repo (see GET /api/repos)"
            problems.append(Problem("/execution/scopes/repo", message))
        else:
            repo_id = repo.repo_id
            scopes["repo"] = repo.full_name  # as registered
    return problems, repo_id
