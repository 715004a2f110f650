"""The OpenAPI 3.1 document of the API, written by hand next to the routes.

`tests/test_api_openapi.py` walks the bottle routes and this document and
fails on any path or method that one has and the other lacks.
"""

from __future__ import annotations

import copy
from typing import Any

from pmbot import __version__
from pmbot.control_plane.api.parsers import MAX_ID, MAX_SEARCH_TEXT, MAX_TEXT
from pmbot.control_plane.api.work_parsers import (
    FILTER_PARAMS,
    KINDS,
    MAX_WORK_PAGE,
    REPO_ID_PATTERN,
    SINCE_PATTERN,
)
from pmbot.control_plane.approvals.decisions import DECISIONS, MAX_COMMENT_CHARS
from pmbot.control_plane.audit.events import EVENT_TYPES
from pmbot.control_plane.cache.items import DIRECTIONS, MAX_LABELS, MAX_REPOS, SORTS
from pmbot.control_plane.cache.views import MAX_NAME
from pmbot.control_plane.github.status import TOKEN_STATES
from pmbot.control_plane.orchestration.runs import MAX_REASON_CHARS, REASON_PATTERN
from pmbot.control_plane.orchestration.specs import MAX_GOAL_CHARS
from pmbot.control_plane.orchestration.states import STATES as RUN_STATES
from pmbot.control_plane.registry import MAX_CLOSED_DAYS
from pmbot.control_plane.repo_status import STATUSES
from pmbot.shared.contracts.agent_run_spec import BUDGET, REPO_PATTERN, TOOL_PATTERN
from pmbot.shared.contracts.shapes import ID_PATTERN
from pmbot.shared.graphs import KNOWN_GRAPHS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_PROBLEM = {
    "description": "An error (RFC 9457 problem details)",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}


# Any request can meet these: 403 from the Host, CSRF and Fetch-Metadata checks, 500 for a
# bug, 503 when the database is corrupt, unwritable, busy, or its file was replaced.
_ALWAYS = (403, 500, 503)


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    params: tuple[str, ...] = (),
    body: str | None = None,
    body_required: bool = True,
    errors: tuple[int, ...] = (),
    status: str = "200",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in params],
        "responses": {status: ok, **{str(code): _PROBLEM for code in sorted({*errors, *_ALWAYS})}},
    }
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


_WRITE_ERRORS = (400, 403, 413, 415, 422)
_LIST_PARAMS = ("RepoId", "State", "Limit", "Sort", "Label", "Q", "Cursor", "Full", "IncludeGone")
_PAGE = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {"items": {"type": "array"}, "next": {"type": ["string", "null"]}},
}

_WORK_PARAMS = (
    "WorkRepoIds", "WorkKind", "State", "WorkLabels", "Author", "Assignee", "NoAssignee",
    "Draft", "UpdatedSince", "Q", "IncludeGone", "WorkSort", "Direction", "WorkLimit", "Cursor",
)  # fmt: skip

_RUN_DETAIL = _json(_ref("RunDetail"))
_RUN_PATHS: dict[str, dict[str, Any]] = {
    "/api/runs": {
        "get": _op(
            "Runs, newest first, keyset-paged (filters: repo_id, state)",
            _json(_ref("RunPage")),
            params=("RunsRepoId", "RunState", "RunsLimit", "Cursor"),
            errors=(422,),
        ),
        "post": _op(
            "Create a plan (a draft run) from a partial AgentRunSpec v2; 422 lists every problem",
            _json(_ref("RunDetail"), "Created"),
            body="NewRun",
            errors=(*_WRITE_ERRORS, 404, 409),
            status="201",
        ),
    },
    "/api/runs/{run_id}": {
        "get": _op(
            "A run: spec, state, context pack, interrupts, artifacts, audit events",
            _RUN_DETAIL,
            params=("RunId",),
            errors=(404,),
        ),
        "patch": _op(
            "Edit a draft (goal, inputs, graph, budget, tools); 409 once approved",
            _RUN_DETAIL,
            params=("RunId",),
            body="RunEdit",
            errors=(*_WRITE_ERRORS, 404, 409),
        ),
    },
    "/api/runs/{run_id}/approve": {
        "post": _op(
            "Approve a draft (no body, or any object: it is not read)",
            _RUN_DETAIL,
            params=("RunId",),
            body="AnyObject",
            body_required=False,
            errors=(*_WRITE_ERRORS, 404, 409),
        )
    },
    "/api/runs/{run_id}/reject": {
        "post": _op(
            "Reject a draft, with a reason",
            _RUN_DETAIL,
            params=("RunId",),
            body="Reason",
            errors=(*_WRITE_ERRORS, 404, 409),
        )
    },
    "/api/runs/{run_id}/cancel": {
        "post": _op(
            "Cancel a run that is not final (an optional reason)",
            _RUN_DETAIL,
            params=("RunId",),
            body="CancelReason",
            body_required=False,
            errors=(*_WRITE_ERRORS, 404, 409),
        )
    },
    "/api/interrupts/{interrupt_id}/decision": {
        "post": _op(
            "Decide a pending interrupt once: approve, reject or edit",
            _json({"type": "object", "description": "RunInterrupt v1, decided"}),
            params=("InterruptId",),
            body="Decision",
            errors=(*_WRITE_ERRORS, 404, 409),
        )
    },
    "/api/artifacts/{artifact_id}": {
        "get": _op(
            "A RunArtifact v1 document plus content_url",
            _json({"type": "object"}),
            params=("ArtifactId",),
            errors=(404,),
        )
    },
    "/api/artifacts/{artifact_id}/content": {
        "get": _op(
            "The artifact's bytes as a download (allowlisted media type, nosniff)",
            {"description": "The bytes (Content-Disposition: attachment)"},
            params=("ArtifactId",),
            errors=(404,),
        )
    },
    "/api/repos/{repo_id}/context-packs": {
        "post": _op(
            "Snapshot the repo's cached open issues and PRs (no GitHub request)",
            _json(_ref("ContextPack"), "Created"),
            params=("RepoId",),
            errors=(403, 404),
            status="201",
        )
    },
    "/api/graphs": {
        "get": _op(
            "The known graphs and the budget defaults (the New plan form)",
            _json(_ref("Graphs")),
        )
    },
}

_PATHS: dict[str, dict[str, Any]] = {
    "/api/workspaces/default": {
        "post": _op("Create or get the default workspace", _json(_ref("Workspace")), errors=(403,))
    },
    "/api/workspaces/{workspace_id}": {
        "get": _op(
            "One workspace", _json(_ref("Workspace")), params=("WorkspaceId",), errors=(404,)
        )
    },
    "/api/repos": {
        "get": _op(
            "Every repo with its live status (ETag; If-None-Match gives 304)",
            _json({"type": "object", "properties": {"items": {"items": _ref("RepoStatus")}}}),
        ),
        "post": _op(
            "Register a repo and request its first sync (does not call GitHub)",
            _json(_ref("RepoStatus"), "Created"),
            body="NewRepo",
            errors=(*_WRITE_ERRORS, 409),
            status="201",
        ),
    },
    "/api/repos/{repo_id}": {
        "delete": _op(
            "Remove a repo and its cached rows (its audit history stays)",
            _json({"type": "object"}),
            params=("RepoId",),
            errors=(403, 404),
        )
    },
    "/api/repos/{repo_id}/sync": {
        "post": _op(
            "Request a sync now (the worker picks it up)",
            _json({"type": "object"}, "Accepted"),
            params=("RepoId",),
            errors=(403, 404),
            status="202",
        )
    },
    "/api/repos/{repo_id}/mirror": {
        "post": _op(
            "Turn the repo's local git mirror on or off (audited; overrides PMBOT_MIRRORS)",
            _json(_ref("RepoStatus")),
            params=("RepoId",),
            body="MirrorToggle",
            errors=(*_WRITE_ERRORS, 404),
        )
    },
    "/api/repos/{repo_id}/closed-window": {
        "post": _op(
            "Set how many days back the repo's closed items are cached (audited; overrides"
            " PMBOT_SYNC_CLOSED_DAYS). Widening backfills only the missing range; narrowing"
            " deletes nothing",
            _json(_ref("RepoStatus")),
            params=("RepoId",),
            body="ClosedWindow",
            errors=(*_WRITE_ERRORS, 404),
        )
    },
    "/api/repos/{repo_id}/status": {
        "get": _op(
            "One repo's live status", _json(_ref("RepoStatus")), params=("RepoId",), errors=(404,)
        )
    },
    "/api/repos/{repo_id}/issues": {
        "get": _op(
            "Cached issues (not PRs), keyset-paged",
            _json(_PAGE),
            params=_LIST_PARAMS,
            errors=(404, 422),
        )
    },
    "/api/repos/{repo_id}/issues/{number}": {
        "get": _op(
            "One cached issue: GitHub's payload as cached",
            _json({"type": "object"}),
            params=("RepoId", "Number"),
            errors=(404,),
        )
    },
    "/api/repos/{repo_id}/prs": {
        "get": _op(
            "Cached pull requests, keyset-paged",
            _json(_PAGE),
            params=_LIST_PARAMS,
            errors=(404, 422),
        )
    },
    "/api/repos/{repo_id}/prs/{number}": {
        "get": _op(
            "One cached pull request: GitHub's payload as cached",
            _json({"type": "object"}),
            params=("RepoId", "Number"),
            errors=(404,),
        )
    },
    "/api/search": {
        "get": _op(
            "Full-text search over cached titles and bodies, paged, with the total; ranked:"
            " items with every word in the title first, then the rest, each by bm25",
            _json(_ref("SearchPage")),
            params=("SearchQ", "SearchRepoId", "State", "SearchLimit", "Cursor"),
            errors=(422,),
        )
    },
    "/api/cache/reset": {
        "post": _op(
            "Wipe cached issues/PRs, cursors and ETags (registry and audit log kept)",
            _json({"type": "object"}),
            body="CacheReset",
            errors=(*_WRITE_ERRORS, 404),
        )
    },
    "/api/setup": {
        "get": _op(
            "The token's state as GitHub last judged it, GitHub reachability, the rate limit"
            " (only the current token's and API base's), data dir",
            _json(_ref("Setup")),
        )
    },
    "/api/github/token/check": {
        "post": _op(
            "Ask GitHub now who the token is (GET /user); a rejected token is an answer",
            _json(_ref("TokenState")),
            errors=(403, 429, 502),
        )
    },
    "/api/github/repos": {
        "get": _op(
            "Repos the token can see on GitHub (the API's one GitHub call), paged",
            _json(_PAGE),
            params=("Org", "Cursor"),
            errors=(401, 404, 422, 429, 502),
        )
    },
    "/api/audit": {
        "get": _op(
            "Audit events, newest first (or ascending after after_seq)",
            _json(_PAGE),
            params=("Limit", "AuditRepoId", "Type", "Cursor", "AfterSeq"),
            errors=(422,),
        )
    },
    "/api/audit/head": {"get": _op("The newest event's (seq, hash)", _json(_ref("Head")))},
    "/api/audit/verify": {
        "get": _op(
            "Walk the hash chain (optionally against an anchored head)",
            _json(_ref("Verify")),
            params=("AnchorHead",),
            errors=(422,),
        )
    },
    "/api/items": {
        "get": _op(
            "The Work view: cached issues and PRs of every tracked repo, filtered, sorted and"
            " keyset-paged, with the counts per repo of the filter (never calls GitHub)",
            _json(_ref("WorkPage")),
            params=_WORK_PARAMS,
            errors=(422,),
        )
    },
    "/api/work/views": {
        "get": _op("Saved Work views, by name", _json(_ref("WorkViews"))),
        "post": _op(
            "Save a Work view filter under a name (audited); 409 if the name is taken",
            _json(_ref("WorkView"), "Created"),
            body="NewWorkView",
            errors=(*_WRITE_ERRORS, 409),
            status="201",
        ),
    },
    "/api/work/views/{view_id}": {
        "delete": _op(
            "Delete a saved Work view (audited)",
            _json(_ref("WorkView")),
            params=("ViewId",),
            errors=(403, 404),
        )
    },
    **_RUN_PATHS,
    "/api/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
    "/healthz": {"get": _op("Liveness and DB check", _json({"type": "object"}))},
    "/": {"get": _op("The UI", {"description": "index.html"})},
    "/static/{path}": {
        "get": _op("UI files", {"description": "A static file"}, params=("Path",), errors=(404,))
    },
}


def _param(name: str, where: str, schema: dict[str, Any], description: str = "") -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


# Ids are SQLite INTEGERs: 1 to 2**63 - 1.
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# Free text: no control characters; only spaces are trimmed (parsers.parse_text).
_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
_WORDS_PATTERN = r"^[^\u0000-\u001f\u007f]*[^\u0000-\u0020\u007f][^\u0000-\u001f\u007f]*$"
_CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"}
_WORK_TEXT = {"type": "string", "maxLength": MAX_TEXT, "pattern": _TEXT_PATTERN}
_FLAG = {"type": "integer", "enum": [0, 1]}
_STATE = {"type": "string", "enum": ["open", "closed", "all"]}
# The contracts' id shape (run, interrupt, artifact and pack ids).
_REF = {"type": "string", "pattern": f"^{ID_PATTERN}$"}
_PARAMETERS = {
    "RepoId": _param("repo_id", "path", _ID),
    "WorkspaceId": _param("workspace_id", "path", _ID),
    "Number": _param("number", "path", _ID),
    "Path": _param("path", "path", {"type": "string"}),
    "State": _param("state", "query", _STATE, "default open (search: all)"),
    "Limit": _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
    "Sort": _param("sort", "query", {"type": "string", "enum": ["updated", "created", "number"]}),
    "Label": _param(
        "label",
        "query",
        {"type": "string", "maxLength": MAX_TEXT, "pattern": _TEXT_PATTERN},
        "items carrying this label (blank: any)",
    ),
    "Q": _param(
        "q",
        "query",
        {"type": "string", "maxLength": MAX_SEARCH_TEXT, "pattern": _TEXT_PATTERN},
        "words that must appear in title or body (blank: no filter)",
    ),
    "Cursor": _param(
        "cursor",
        "query",
        _CURSOR,
        "opaque: the `next` of the previous page; any other value is a 422",
    ),
    "Full": _param("full", "query", _FLAG, "1: add `payload`"),
    "IncludeGone": _param(
        "include_gone",
        "query",
        _FLAG,
        "1: add items no longer listed (gone: deleted, transferred or not_visible;"
        " gone_reason says it in words; moved_to)",
    ),
    "SearchQ": {
        **_param(
            "q",
            "query",
            {"type": "string", "maxLength": MAX_SEARCH_TEXT, "pattern": _WORDS_PATTERN},
            "the words to search for (at least one)",
        ),
        "required": True,
    },
    "SearchRepoId": _param("repo_id", "query", _ID),
    "SearchLimit": _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100}),
    "Org": _param(
        "org",
        "query",
        {"type": "string", "pattern": "^[A-Za-z0-9-]{0,39}$"},
        "a GitHub login; without it: the token's own repos",
    ),
    "AuditRepoId": _param("repo_id", "query", _ID),
    "Type": _param("type", "query", {"type": "string", "enum": list(EVENT_TYPES)}),
    "AfterSeq": _param("after_seq", "query", {"type": "integer", "minimum": 0, "maximum": MAX_ID}),
    "AnchorHead": _param(
        "head",
        "query",
        {"type": "string", "pattern": "^[0-9]{1,19}:[0-9a-f]{64}$"},
        "SEQ:HASH recorded elsewhere",
    ),
    "WorkRepoIds": _param(
        "repo_id",
        "query",
        {"type": "array", "maxItems": MAX_REPOS, "items": _ID},
        "repeat for several repos (any of them); each must be a tracked repo's id (else 422)",
    ),
    "WorkKind": _param("kind", "query", {"type": "string", "enum": list(KINDS)}, "default all"),
    "WorkLabels": _param(
        "label",
        "query",
        {"type": "array", "maxItems": MAX_LABELS, "items": _WORK_TEXT},
        f"repeat for several: items carrying all of them (at most {MAX_LABELS}; blank: none)",
    ),
    "Author": _param("author", "query", _WORK_TEXT, "the GitHub login that opened the item"),
    "Assignee": _param("assignee", "query", _WORK_TEXT, "a GitHub login among the assignees"),
    "NoAssignee": _param("no_assignee", "query", _FLAG, "1: only items nobody is assigned"),
    "Draft": _param("draft", "query", _FLAG, "1: draft PRs only; 0: PRs that are not drafts"),
    "UpdatedSince": _param(
        "updated_since",
        "query",
        {"type": "string", "pattern": SINCE_PATTERN},
        "a date (UTC midnight) or a date-time with a zone; a date that does not exist is a 422",
    ),
    "WorkSort": _param("sort", "query", {"type": "string", "enum": list(SORTS)}, "default updated"),
    "Direction": _param(
        "direction", "query", {"type": "string", "enum": list(DIRECTIONS)}, "default desc"
    ),
    "WorkLimit": _param(
        "limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_WORK_PAGE}
    ),
    "ViewId": _param("view_id", "path", _REF),
    "RunId": _param("run_id", "path", _REF),
    "InterruptId": _param("interrupt_id", "path", _REF),
    "ArtifactId": _param("artifact_id", "path", _REF),
    "RunsRepoId": _param("repo_id", "query", _ID),
    "RunState": _param("state", "query", {"type": "string", "enum": list(RUN_STATES)}),
    "RunsLimit": _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}),
}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _text_enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


_WORK_REPO_ID = {"type": "string", "pattern": REPO_ID_PATTERN}
_FLAG_TEXT = _text_enum(["0", "1"])
# A saved view's filter: the query parameters of GET /api/items, as JSON text.
_FILTER_VALUES = {
    "repo_id": {
        "anyOf": [_WORK_REPO_ID, {"type": "array", "maxItems": MAX_REPOS, "items": _WORK_REPO_ID}]
    },
    "kind": _text_enum(KINDS),
    "state": _STATE,
    "label": {
        "anyOf": [_WORK_TEXT, {"type": "array", "maxItems": MAX_LABELS, "items": _WORK_TEXT}]
    },
    "author": _WORK_TEXT,
    "assignee": _WORK_TEXT,
    "no_assignee": _FLAG_TEXT,
    "draft": _FLAG_TEXT,
    "updated_since": {"type": "string", "pattern": SINCE_PATTERN},
    "q": {"type": "string", "maxLength": MAX_SEARCH_TEXT, "pattern": _TEXT_PATTERN},
    "include_gone": _FLAG_TEXT,
    "sort": _text_enum(SORTS),
    "direction": _text_enum(DIRECTIONS),
}
_NULLABLE_REF = {"type": ["string", "null"], "pattern": f"^{ID_PATTERN}$"}
_GOAL = {"type": "string", "minLength": 1, "maxLength": MAX_GOAL_CHARS}
_REASON = {
    "description": "some text other than whitespace",
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_REASON_CHARS,
    "pattern": REASON_PATTERN,
}
# What a plan may choose and an edit may change; budget keys left out keep their defaults
# (GET /api/graphs) or, in an edit, the draft's values.
_EDITABLE_EXECUTION = {
    "graph_id": {"type": "string", "enum": [graph_id for graph_id, _ in KNOWN_GRAPHS]},
    "budget": {
        "type": "object",
        "properties": {key: {"type": "integer", "minimum": 1} for key in BUDGET.fields},
    },
    "tools_allowed": {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "pattern": f"^{TOOL_PATTERN}$"},
    },
}
_COUNTS = {
    "type": "object",
    "properties": {
        k: {"type": "integer"} for k in ("issues_open", "issues_closed", "prs_open", "prs_closed")
    },
}
_SCHEMAS = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "field": {"type": "string"},
            "repo_id": {"type": "integer"},
            "request_id": {"type": "string"},
            "reset_at": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "422 from the runs routes: every problem with its JSON path",
                "items": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "state": {"type": "string", "description": "409: the current state"},
            "allowed": {
                "type": "array",
                "items": {"type": "string"},
                "description": "409 illegal transition: the states allowed next",
            },
            "run_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "409 on removing a repo: its runs that are not final",
            },
        },
    },
    "Workspace": {"type": "object", "required": ["workspace_id", "name", "created_at"]},
    "MirrorToggle": {
        "type": "object",
        "required": ["enabled"],
        "properties": {"enabled": {"type": "boolean"}},
    },
    "ClosedWindow": {
        "type": "object",
        "required": ["days"],
        "properties": {"days": {"type": "integer", "minimum": 0, "maximum": MAX_CLOSED_DAYS}},
        "additionalProperties": False,
    },
    "MirrorStatus": {
        "type": "object",
        "required": ["enabled", "setting", "last_error"],
        "properties": {
            "enabled": {"type": "boolean"},
            "setting": {"type": "string", "enum": ["default", "on", "off"]},
            "github_id": {"type": ["integer", "null"]},
            "path": {"type": ["string", "null"]},
            "cloned_at": _NULLABLE_TIME,
            "last_fetch_at": _NULLABLE_TIME,
            "last_changed_at": _NULLABLE_TIME,
            "refs_changed": {"type": ["integer", "null"]},
            "size_bytes": {"type": ["integer", "null"]},
            "last_error": {"type": ["string", "null"]},
            "last_error_code": {"type": ["string", "null"]},
            "next_try_at": _NULLABLE_TIME,
        },
    },
    "NewRepo": {
        "type": "object",
        "required": ["full_name"],
        "properties": {
            "full_name": {
                "description": "owner/name by GitHub's naming rules, or a github.com URL of one",
                "type": "string",
                "minLength": 3,
                "pattern": "/",
            },
            "default_branch": {"type": "string", "minLength": 1, "maxLength": 255},
        },
    },
    "CacheReset": {
        "description": 'One repo (`repo_id`) or every repo (`"all": true`), never by omission',
        "type": "object",
        "required": ["confirm"],
        "properties": {"confirm": {"const": "reset"}, "repo_id": _ID, "all": {"type": "boolean"}},
        "oneOf": [
            {"required": ["repo_id"], "properties": {"all": {"const": False}}},
            {
                "required": ["all"],
                "properties": {"all": {"const": True}},
                "not": {"required": ["repo_id"]},
            },
        ],
    },
    "TokenState": {
        "type": "object",
        "required": ["state", "login", "scopes", "checked_at"],
        "properties": {
            "state": {"type": "string", "enum": list(TOKEN_STATES)},
            "login": {"type": ["string", "null"]},
            "scopes": {
                "type": ["array", "null"],
                "items": {"type": "string"},
                "description": "null when GitHub names none (fine-grained tokens)",
            },
            "checked_at": _NULLABLE_TIME,
        },
    },
    "Setup": {
        "type": "object",
        "required": ["token_present", "token", "github_api_base", "github", "rate_limit"],
        "properties": {
            "token_present": {"type": "boolean"},
            "token": _ref("TokenState"),
            "github_api_base": {"type": "string"},
            "github": {"type": "object"},
            "rate_limit": {"type": "object"},
        },
    },
    "RepoStatus": {
        "type": "object",
        "required": [
            "repo_id",
            "full_name",
            "status",
            "counts",
            "data_bytes",
            "closed_window_start",
            "closed_window_days",
            "closed_window_default",
            "closed_window_backfilling",
            "cursors",
            "progress",
        ],
        "properties": {
            "repo_id": _ID,
            "full_name": {"type": "string"},
            "status": {
                "type": "string",
                "enum": list(STATUSES),
                "description": "queued: never synced or just reset, no lease held",
            },
            "last_sync_at": _NULLABLE_TIME,
            "last_error": {"type": ["string", "null"]},
            "next_sync_at": _NULLABLE_TIME,
            "counts": _COUNTS,
            "data_bytes": {
                "type": "integer",
                "minimum": 0,
                "description": "bytes of the repo's cached payloads and search text",
            },
            "closed_window_start": {
                "type": "string",
                "format": "date-time",
                "description": "closed counts cover items closed and updated since then (while"
                " a widened window backfills, the old start)",
            },
            "closed_window_days": {"type": "integer", "minimum": 0},
            "closed_window_default": {
                "type": "boolean",
                "description": "the window follows PMBOT_SYNC_CLOSED_DAYS (no choice of its own)",
            },
            "closed_window_backfilling": {
                "type": "boolean",
                "description": "a widened window's missing closed items are not all cached yet",
            },
            "cursors": {"type": "object"},
            "last_seen_event_at": _NULLABLE_TIME,
            "rate_limit": {"type": "object"},
            "progress": {
                "type": ["object", "null"],
                "description": "the running sync's: items = distinct cached items, read ="
                " every item read (re-reads too), estimate (≈, at least items) and"
                " eta_seconds null when unknown",
                "properties": {
                    "items": {"type": "integer", "minimum": 0},
                    "read": {"type": "integer", "minimum": 0},
                    "pages": {"type": "integer", "minimum": 0},
                    "requests": {"type": "integer", "minimum": 0},
                    "estimate": {"type": ["integer", "null"], "minimum": 0},
                    "started_at": _NULLABLE_TIME,
                    "eta_seconds": {"type": ["integer", "null"], "minimum": 0},
                },
            },
            "mirror": _ref("MirrorStatus"),
        },
    },
    "SearchPage": {
        "type": "object",
        "required": ["items", "total", "total_capped", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("SearchResult")},
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "all results; with total_capped, there are more than this",
            },
            "total_capped": {"type": "boolean"},
            "next": {"type": ["string", "null"]},
        },
    },
    "SearchResult": {
        "type": "object",
        "properties": {
            "repo_id": _ID,
            "full_name": {"type": "string"},
            "kind": {"type": "string", "enum": ["issue", "pr"]},
            "number": _ID,
            "snippet": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}, "hit": {"type": "boolean"}},
                },
            },
        },
    },
    "WorkPage": {
        "type": "object",
        "required": ["items", "next", "counts", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref("WorkItem")},
            "next": {
                "type": ["string", "null"],
                "description": "the next page's cursor: items written since the first page"
                " are left out of later pages (no item twice, none unchanged skipped)",
            },
            "counts": {
                "type": "array",
                "description": "items matching the filter, per repo (repos with none left out)",
                "items": {
                    "type": "object",
                    "required": ["repo_id", "full_name", "count"],
                    "properties": {
                        "repo_id": _ID,
                        "full_name": {"type": "string"},
                        "count": {"type": "integer", "minimum": 1},
                    },
                },
            },
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "WorkItem": {
        "type": "object",
        "required": [
            "repo_id",
            "full_name",
            "kind",
            "number",
            "title",
            "state",
            "labels",
            "user",
            "assignees",
            "comments",
            "created_at",
            "updated_at",
            "html_url",
            "draft",
            "gone",
        ],
        "properties": {
            "repo_id": _ID,
            "full_name": {"type": "string"},
            "kind": {"type": "string", "enum": ["issue", "pr"]},
            "number": {"type": "integer", "minimum": 0},
            "title": {"type": "string"},
            "state": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "user": {"type": ["string", "null"]},
            "assignees": {"type": "array", "items": {"type": "string"}},
            "comments": {"type": "integer"},
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "closed_at": {"type": ["string", "null"]},
            "html_url": {"type": "string"},
            "draft": {"type": ["boolean", "null"], "description": "PRs; null for issues"},
            "gone": {"type": ["string", "null"]},
            "gone_reason": {"type": ["string", "null"]},
            "moved_to": {"type": ["string", "null"]},
        },
    },
    "WorkView": {
        "type": "object",
        "required": ["view_id", "name", "filter", "created_at"],
        "properties": {
            "view_id": _REF,
            "name": {"type": "string"},
            "filter": {"type": "object", "description": "GET /api/items parameters"},
            "created_at": {"type": "string", "format": "date-time"},
            "deleted": {"type": "boolean"},
        },
    },
    "WorkViews": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("WorkView")}},
    },
    "NewWorkView": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_NAME,
                "pattern": _WORDS_PATTERN,
            },
            "filter": {
                "type": "object",
                "description": "GET /api/items parameters as text (a list for repo_id, label)",
                "additionalProperties": False,
                "properties": {name: _FILTER_VALUES[name] for name in FILTER_PARAMS},
            },
        },
    },
    "Head": {"type": "object", "properties": {"seq": {"type": "integer"}, "hash": {}}},
    "Verify": {"type": "object", "required": ["ok", "checked", "first_bad_seq"]},
    "RunSummary": {
        "type": "object",
        "required": ["run_id", "state", "repo_id", "repo", "goal", "graph_id", "created_at"],
        "properties": {
            "run_id": {"type": "string"},
            "state": {"type": "string", "enum": list(RUN_STATES)},
            "repo_id": _ID,
            "repo": {"type": "string"},
            "goal": {"type": "string"},
            "graph_id": {"type": "string"},
            "thread_id": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "state_reason": {"type": ["string", "null"]},
            "pending_interrupts": {"type": "integer"},
            "allowed_transitions": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RunDetail": {
        "allOf": [
            _ref("RunSummary"),
            {
                "type": "object",
                "required": ["spec", "context_pack", "interrupts", "artifacts", "events"],
                "properties": {
                    "spec": {"type": "object", "description": "AgentRunSpec v2"},
                    "context_pack": {"type": ["object", "null"]},
                    "interrupts": {"type": "array", "items": {"type": "object"}},
                    "artifacts": {"type": "array", "items": {"type": "object"}},
                    "events": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
    "RunPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref("RunSummary")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "NewRun": {
        "type": "object",
        "description": (
            "A partial AgentRunSpec v2; the server fills the rest. Other members (at the top and"
            " in `execution`, such as `schema_version`, `engine`, `thread_id`) are ignored."
        ),
        "required": ["goal", "execution"],
        "properties": {
            "run_id": {
                **_NULLABLE_REF,
                "description": "null or left out: the server makes one; 409 if already used",
            },
            "goal": _GOAL,
            "inputs": {"type": "object"},
            "execution": {
                "type": "object",
                "required": ["graph_id", "scopes"],
                "properties": {
                    **_EDITABLE_EXECUTION,
                    "scopes": {
                        "type": "object",
                        "required": ["repo"],
                        "properties": {
                            "repo": {
                                "description": "a registered repo (422 otherwise)",
                                "type": "string",
                                "pattern": f"^{REPO_PATTERN}$",
                                "not": {"pattern": "/[.]{1,2}$"},
                            }
                        },
                    },
                },
            },
            "context_pack_id": {
                **_NULLABLE_REF,
                "description": "a pack of the same repo (422 otherwise); null or absent: take one",
            },
        },
    },
    "RunEdit": {
        "type": "object",
        "description": "Any of these; other top-level members are ignored",
        "properties": {
            "goal": _GOAL,
            "inputs": {"type": "object"},
            "execution": {
                "type": "object",
                "properties": _EDITABLE_EXECUTION,
                "additionalProperties": False,
            },
        },
    },
    "Reason": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": _REASON},
    },
    "CancelReason": {
        "type": "object",
        "properties": {"reason": {**_REASON, "type": ["string", "null"]}},
    },
    "AnyObject": {"type": "object"},
    "Decision": {
        "type": "object",
        "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "enum": list(DECISIONS)},
            "comment": {"type": ["string", "null"], "minLength": 1, "maxLength": MAX_COMMENT_CHARS},
            "edited_payload": {"type": ["object", "null"]},
        },
        "description": "`edited_payload` (an object) with an edit only",
        "oneOf": [
            {
                "required": ["edited_payload"],
                "properties": {
                    "decision": {"const": "edit"},
                    "edited_payload": {"type": "object"},
                },
            },
            {
                "properties": {
                    "decision": {"enum": [d for d in DECISIONS if d != "edit"]},
                    "edited_payload": {"type": "null"},
                }
            },
        ],
    },
    "ContextPack": {
        "type": "object",
        "required": ["pack_id", "repo_id", "sha256", "issues", "prs", "taken_at", "uri"],
        "properties": {
            "pack_id": _REF,
            "repo_id": _ID,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "issues": {"type": "integer", "minimum": 0},
            "prs": {"type": "integer", "minimum": 0},
            "taken_at": {"type": "string", "format": "date-time"},
            "uri": {"type": "string"},
        },
    },
    "Graphs": {
        "type": "object",
        "required": ["items", "budget_defaults"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["graph_id", "title"],
                    "properties": {
                        "graph_id": _EDITABLE_EXECUTION["graph_id"],
                        "title": {"type": "string"},
                    },
                },
            },
            "budget_defaults": {
                "type": "object",
                "required": list(BUDGET.fields),
                "properties": _EDITABLE_EXECUTION["budget"]["properties"],
            },
        },
    },
}


def document() -> dict[str, Any]:
    """A fresh copy of the document (callers may not mutate the module's tables)."""
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "pmbot API",
                "version": __version__,
                "description": (
                    "Local-first control plane over a cached view of GitHub. State-changing"
                    " requests need the header `X-PMBot-Request: 1` and JSON bodies."
                ),
            },
            "paths": _PATHS,
            "components": {"parameters": _PARAMETERS, "schemas": _SCHEMAS},
        }
    )
