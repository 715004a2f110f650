"""Checks for the Work view's query string, page cursor and saved-view bodies.

The filter's parameters are one table (`FILTER_PARAMS`): the API reads them
from the query string, a saved view stores them in their canonical form
(`filter_params`), and the UI puts the same names in its URL. `label` and
`repo_id` may repeat; any other parameter given twice counts once (the last),
as everywhere in the API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from pmbot.control_plane.api.parsers import (
    MAX_ID,
    MAX_SEARCH_TEXT,
    decode_cursor,
    encode_cursor,
    parse_choice,
    parse_flag,
    parse_int,
    parse_text,
)
from pmbot.control_plane.api.problems import invalid_field
from pmbot.control_plane.cache.items import (
    DIRECTIONS,
    ITEM_KINDS,
    MAX_LABELS,
    MAX_REPOS,
    SORTS,
    Position,
    WorkFilter,
)
from pmbot.control_plane.cache.views import MAX_NAME

MAX_WORK_PAGE = 200
KINDS = ("all", *ITEM_KINDS)
STATES = ("open", "closed", "all")
# A date, or a date and time with a zone (Z or ±HH:MM): what `updated_since` accepts.
SINCE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$"  # noqa: E501
_SINCE = re.compile(SINCE_PATTERN)
REPO_ID_PATTERN = r"^[1-9][0-9]{0,18}$"
_REPO_ID = re.compile(REPO_ID_PATTERN)
_MULTI = ("repo_id", "label")
FILTER_PARAMS = (
    "repo_id", "kind", "state", "label", "author", "assignee", "no_assignee", "draft",
    "updated_since", "q", "include_gone", "sort", "direction",
)  # fmt: skip


@dataclass(frozen=True)
class WorkQuery:
    filter: WorkFilter
    limit: int
    after: Position | None


def work_params(query_string: str) -> dict[str, Any]:
    """The query string: `repo_id` and `label` as lists, other names their last value."""
    params: dict[str, Any] = {name: [] for name in _MULTI}
    for name, value in parse_qsl(query_string, keep_blank_values=True, errors="replace"):
        if name in _MULTI:
            params[name].append(value)
        else:
            params[name] = value
    return params


def parse_work_query(params: Mapping[str, Any]) -> WorkQuery:
    """Filter, `limit` (1..200, default 50) and `cursor` of `GET /api/items`."""
    work_filter = parse_work_filter(params)
    return WorkQuery(
        filter=work_filter,
        limit=parse_int(params, "limit", 50, 1, MAX_WORK_PAGE),
        after=_work_cursor(params.get("cursor"), work_filter),
    )


def parse_work_filter(params: Mapping[str, Any]) -> WorkFilter:
    kind = parse_choice(params, "kind", KINDS, "all")
    return WorkFilter(
        repo_ids=_repo_ids(params.get("repo_id", [])),
        kind=None if kind == "all" else kind,
        state=parse_choice(params, "state", STATES, "open"),
        labels=_labels(params.get("label", [])),
        author=parse_text(params, "author"),
        assignee=parse_text(params, "assignee"),
        no_assignee=parse_flag(params, "no_assignee"),
        draft=None if params.get("draft") is None else parse_flag(params, "draft"),
        updated_since=_since(params.get("updated_since")),
        text=parse_text(params, "q", MAX_SEARCH_TEXT),
        include_gone=parse_flag(params, "include_gone"),
        sort=parse_choice(params, "sort", tuple(SORTS), "updated"),
        direction=parse_choice(params, "direction", DIRECTIONS, "desc"),
    )


def _repo_ids(values: list[str]) -> tuple[int, ...]:
    if len(values) > MAX_REPOS:
        raise invalid_field("repo_id", f"at most {MAX_REPOS} repo_id values")
    for raw in values:
        if not _REPO_ID.fullmatch(raw) or int(raw) > MAX_ID:
            raise invalid_field("repo_id", "repo_id must be a repo id (a positive whole number)")
    return tuple(sorted({int(raw) for raw in values}))


def _labels(values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_LABELS:
        raise invalid_field("label", f"at most {MAX_LABELS} labels (items carry all of them)")
    return tuple(sorted({parse_text({"label": raw}, "label") for raw in values} - {None}))


def _since(raw: str | None) -> str | None:
    """A date (midnight UTC) or a date-time with a zone, as GitHub's `...Z` text."""
    if raw is None:
        return None
    problem = invalid_field(
        "updated_since", "updated_since must be a date (2025-01-31) or a date-time with a zone"
    )
    if not _SINCE.fullmatch(raw):
        raise problem
    try:
        text = raw if "T" in raw else raw + "T00:00:00Z"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise problem from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _work_cursor(text: str | None, work_filter: WorkFilter) -> Position | None:
    if not text:
        return None
    values = decode_cursor(text)
    if values.get("filter") != work_filter.digest():
        raise invalid_field("cursor", "cursor belongs to another filter or sort")
    after, as_of = values.get("after"), values.get("as_of")
    if not (isinstance(after, list) and len(after) == 4 and _is_id(as_of, 0)):
        raise invalid_field("cursor", "cursor is not a cursor this server gave out")
    key, repo_id, kind, number = after
    key_ok = _is_id(key, 0) if work_filter.sort == "comments" else _short_text(key)
    if not (key_ok and _is_id(repo_id, 1) and kind in ITEM_KINDS and _is_id(number, 0)):
        raise invalid_field("cursor", "cursor is not a cursor this server gave out")
    return Position(key, repo_id, kind, number, as_of)


def _is_id(value: Any, low: int) -> bool:
    return type(value) is int and low <= value <= MAX_ID


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 64


def work_cursor(work_filter: WorkFilter, after: Position | None) -> str | None:
    if after is None:
        return None
    position = [after.key, after.repo_id, after.kind, after.number]
    return encode_cursor({"filter": work_filter.digest(), "after": position, "as_of": after.as_of})


def filter_params(f: WorkFilter) -> dict[str, Any]:
    """The filter as query parameters, leaving out defaults: what a saved view keeps."""
    params: dict[str, Any] = {
        "repo_id": [str(r) for r in f.repo_ids],
        "kind": f.kind,
        "state": f.state if f.state != "open" else None,
        "label": list(f.labels),
        "author": f.author,
        "assignee": f.assignee,
        "no_assignee": "1" if f.no_assignee else None,
        "draft": None if f.draft is None else ("1" if f.draft else "0"),
        "updated_since": f.updated_since,
        "q": f.text,
        "include_gone": "1" if f.include_gone else None,
        "sort": f.sort if f.sort != "updated" else None,
        "direction": f.direction if f.direction != "desc" else None,
    }
    return {name: value for name, value in params.items() if value}


def parse_new_view(body: Mapping[str, Any]) -> tuple[str, WorkFilter]:
    """`{name, filter}`: a name (1..100 characters, not all spaces) and the filter's
    parameters (strings; lists of strings for `repo_id` and `label`)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip(" ") or len(name) > MAX_NAME:
        raise invalid_field("name", f"name must be 1 to {MAX_NAME} characters, not all spaces")
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise invalid_field("name", "name must not hold control characters")
    raw = body.get("filter", {})
    if not isinstance(raw, dict):
        raise invalid_field("filter", "filter must be an object of query parameters")
    params: dict[str, Any] = {name: [] for name in _MULTI}
    for key, value in raw.items():
        if key not in FILTER_PARAMS:
            raise invalid_field("filter", f"filter has no parameter {key!r}")
        multi = key in _MULTI
        if multi and isinstance(value, list) and all(isinstance(v, str) for v in value):
            params[key] = value
        elif isinstance(value, str):
            params[key] = [value] if multi else value
        else:
            raise invalid_field(f"filter.{key}", f"filter.{key} must be text")
    return name.strip(" "), parse_work_filter(params)
