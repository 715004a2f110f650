"""Checks for the runs routes' path ids and query strings (bodies are checked by the services,
which report every problem with its JSON path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pmbot.control_plane.api.parsers import (
    decode_cursor,
    encode_cursor,
    parse_int,
    parse_optional_id,
)
from pmbot.control_plane.api.problems import ApiProblem, invalid_field
from pmbot.control_plane.orchestration.states import STATES
from pmbot.shared.contracts.shapes import ID

MAX_RUNS_PAGE = 200


def parse_path_id(value: str, what: str) -> str:
    """An id from the URL: anything not of the contracts' id shape can name nothing (404)."""
    if ID(value, ""):
        raise ApiProblem(404, f"{what}_not_found", f"no {what} with that id")
    return value


def parse_runs_query(params: Mapping[str, str]) -> dict[str, Any]:
    """`repo_id`, `state`, `limit` (1..200, default 50) and `cursor` of the runs list."""
    state = params.get("state") or None
    if state is not None and state not in STATES:
        raise invalid_field("state", f"state must be one of {', '.join(STATES)}")
    return {
        "repo_id": parse_optional_id(params, "repo_id"),
        "state": state,
        "limit": parse_int(params, "limit", 50, 1, MAX_RUNS_PAGE),
        "after": _runs_cursor(params.get("cursor")),
    }


def _runs_cursor(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    after = decode_cursor(text).get("runs_after")
    ok = isinstance(after, list) and len(after) == 2
    if not ok or not all(isinstance(v, str) and len(v) <= 200 for v in after):
        raise invalid_field("cursor", "cursor is not a cursor this server gave out")
    return after[0], after[1]


def runs_cursor(after: tuple[str, str] | None) -> str | None:
    return None if after is None else encode_cursor({"runs_after": list(after)})
