"""Route handlers: parse the request, call one service, return a dict.

Handlers hold no SQL and no rules of their own: parsing is in `parsers`,
work in the services, error mapping in `app`. `ROUTES` is the one table of
what is served; `create_app` registers it and the OpenAPI test walks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from bottle import HTTPResponse, request, response, static_file

from pmbot import __version__
from pmbot.control_plane import audit, operations, registry, repo_status
from pmbot.control_plane.api import discovery, openapi
from pmbot.control_plane.api import parsers as p
from pmbot.control_plane.api.connections import ThreadConnections
from pmbot.control_plane.api.problems import invalid_field
from pmbot.control_plane.api.run_handlers import RUN_ROUTES, RunHandlers
from pmbot.control_plane.api.work_handlers import WORK_ROUTES, WorkHandlers
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.cache import ISSUES, PRS, Kind, browse
from pmbot.control_plane.github import status as github_status
from pmbot.control_plane.github.protocol import repos_path
from pmbot.shared.resources import static_dir
from pmbot.shared.settings import Settings

JSON_CONTENT_TYPE = "application/json"

# (method, bottle rule, handler name). `<x:id>` is a positive integer id.
ROUTES = (
    ("POST", "/api/workspaces/default", "workspace_default_post"),
    ("GET", "/api/workspaces/<workspace_id:id>", "workspace_get"),
    ("GET", "/api/repos", "repos_get"),
    ("POST", "/api/repos", "repos_post"),
    ("DELETE", "/api/repos/<repo_id:id>", "repo_delete"),
    ("POST", "/api/repos/<repo_id:id>/sync", "repo_sync_post"),
    ("POST", "/api/repos/<repo_id:id>/mirror", "repo_mirror_post"),
    ("POST", "/api/repos/<repo_id:id>/closed-window", "repo_closed_window_post"),
    ("GET", "/api/repos/<repo_id:id>/status", "repo_status_get"),
    ("GET", "/api/repos/<repo_id:id>/issues", "issues_get"),
    ("GET", "/api/repos/<repo_id:id>/issues/<number:id>", "issue_get"),
    ("GET", "/api/repos/<repo_id:id>/prs", "prs_get"),
    ("GET", "/api/repos/<repo_id:id>/prs/<number:id>", "pr_get"),
    ("GET", "/api/search", "search_get"),
    ("POST", "/api/cache/reset", "cache_reset_post"),
    ("GET", "/api/setup", "setup_get"),
    ("GET", "/api/github/repos", "github_repos_get"),
    ("POST", "/api/github/token/check", "github_token_check_post"),
    ("GET", "/api/audit", "audit_get"),
    ("GET", "/api/audit/head", "audit_head_get"),
    ("GET", "/api/audit/verify", "audit_verify_get"),
    *RUN_ROUTES,
    *WORK_ROUTES,
    ("GET", "/api/openapi.json", "openapi_get"),
    ("GET", "/healthz", "healthz_get"),
    ("GET", "/", "index_get"),
    ("GET", "/static/<path:path>", "static_get"),
)


class Handlers(RunHandlers, WorkHandlers):
    """The API's handlers, bound to one app's settings and connections.

    `executor`, when given, is an Executor (Protocol of the execution plane) that
    decisions and cancellations are passed on to; v7 serves without one.
    """

    def __init__(
        self,
        settings: Settings,
        db: ThreadConnections,
        github_client_factory: Callable,
        executor: Any = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.github_client_factory = github_client_factory
        self.executor = executor
        self._github_client = None

    def _params(self) -> dict[str, str]:
        return p.query_params(request.environ.get("QUERY_STRING", ""))

    def _body(self) -> dict[str, Any]:
        return p.read_json_body(request.environ)

    # -- workspaces and repos ----------------------------------------------------------------

    def workspace_default_post(self) -> dict[str, Any]:
        conn = self.db.get()
        return _workspace(registry.get_workspace(conn, registry.ensure_default_workspace(conn)))

    def workspace_get(self, workspace_id: int) -> dict[str, Any]:
        return _workspace(registry.get_workspace(self.db.get(), workspace_id))

    def repos_get(self) -> str:
        """The repo list with an ETag of its body, so polling clients get 304s."""
        items = repo_status.list_statuses(self.db.get(), settings=self.settings)
        body = json.dumps({"items": items}, separators=(",", ":"))
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        if etag in request.environ.get("HTTP_IF_NONE_MATCH", ""):
            raise HTTPResponse(status=304, headers={"ETag": etag})
        response.set_header("ETag", etag)
        response.content_type = JSON_CONTENT_TYPE
        return body

    def repos_post(self) -> HTTPResponse:
        full_name, branch = p.parse_new_repo(self._body())
        conn = self.db.get()
        repo = operations.add_repo(conn, full_name, branch)
        return HTTPResponse(
            repo_status.repo_status(conn, repo.repo_id, settings=self.settings), status=201
        )

    def repo_delete(self, repo_id: int) -> dict[str, Any]:
        repo = operations.remove_repo(self.db.get(), repo_id)
        return {"repo_id": repo.repo_id, "full_name": repo.full_name, "removed": True}

    def repo_sync_post(self, repo_id: int) -> HTTPResponse:
        repo = operations.request_sync(self.db.get(), repo_id)
        body = {"repo_id": repo.repo_id, "full_name": repo.full_name, "sync_requested": True}
        return HTTPResponse(body, status=202)

    def repo_mirror_post(self, repo_id: int) -> dict[str, Any]:
        enabled = p.parse_mirror_toggle(self._body())
        conn = self.db.get()
        operations.set_mirror(conn, repo_id, enabled)
        return repo_status.repo_status(conn, repo_id, settings=self.settings)

    def repo_closed_window_post(self, repo_id: int) -> dict[str, Any]:
        days = p.parse_closed_window(self._body())
        conn = self.db.get()
        operations.set_closed_window(conn, repo_id, days)
        return repo_status.repo_status(conn, repo_id, settings=self.settings)

    def repo_status_get(self, repo_id: int) -> dict[str, Any]:
        return repo_status.repo_status(self.db.get(), repo_id, settings=self.settings)

    # -- cache -------------------------------------------------------------------------------

    def issues_get(self, repo_id: int) -> str:
        return self._list(repo_id, ISSUES)

    def prs_get(self, repo_id: int) -> str:
        return self._list(repo_id, PRS)

    def _list(self, repo_id: int, kind: Kind) -> str:
        """`{"items": [...], "next": ...}` around the array SQLite built, not re-encoded."""
        query, conn = p.parse_list_query(self._params()), self.db.get()
        items, after = browse.list_page(conn, repo_id, kind, query)
        if items == "[]":
            registry.get_repo(conn, repo_id)  # an unknown repo is a 404, not an empty list
        response.content_type = JSON_CONTENT_TYPE
        return f'{{"items":{items},"next":{json.dumps(p.list_cursor(query.sort, after))}}}'

    def issue_get(self, repo_id: int, number: int) -> str:
        return self._item(repo_id, ISSUES, number)

    def pr_get(self, repo_id: int, number: int) -> str:
        return self._item(repo_id, PRS, number)

    def _item(self, repo_id: int, kind: Kind, number: int) -> str:
        """The cached payload verbatim: no decode and re-encode of GitHub's JSON."""
        conn = self.db.get()
        try:
            payload = browse.get_item_payload(conn, repo_id, kind, number)
        except browse.ItemNotFound:
            registry.get_repo(conn, repo_id)  # an unknown repo is its own 404
            raise
        response.content_type = JSON_CONTENT_TYPE
        return payload

    def search_get(self) -> dict[str, Any]:
        """A page of results, the total (`total_capped`: there are more than `total`)."""
        query, conn = p.parse_search_query(self._params()), self.db.get()
        items = browse.search(conn, query, registry.DEFAULT_WORKSPACE_ID)
        total, capped = browse.count_matches(conn, query, registry.DEFAULT_WORKSPACE_ID)
        next_cursor = p.search_cursor(query, len(items), total, capped)
        return {"items": items, "total": total, "total_capped": capped, "next": next_cursor}

    def cache_reset_post(self) -> dict[str, Any]:
        repo_ids = p.parse_reset(self._body())
        return {"reset_repo_ids": operations.reset_cache(self.db.get(), repo_ids)}

    # -- setup and GitHub --------------------------------------------------------------------

    def setup_get(self) -> dict[str, Any]:
        conn, key = self.db.get(), github_status.GitHubKey.of(self.settings)
        return {
            "token_present": self.settings.token_present,
            "token": github_status.read_token(conn, key),
            "github_api_base": self.settings.github_api_base,
            "github": github_status.read_status(conn, key),
            "rate_limit": github_status.read_rate_limit(conn, key),
            "data_dir": str(self.settings.data_dir.resolve()),
            "db_size_bytes": _db_size(self.settings),
            "version": __version__,
        }

    def healthz_get(self) -> dict[str, Any]:
        self.db.get().execute("SELECT 1").fetchone()
        return {"ok": True, "version": __version__}

    def github_repos_get(self) -> dict[str, Any]:
        params = self._params()
        org = p.parse_org(params)
        url = self._discovery_cursor(params.get("cursor"))
        target = url or repos_path(org)
        items, next_url = discovery.list_visible_repos(self.db.get(), self._client(), target)
        return {"items": items, "next": p.encode_cursor({"url": next_url}) if next_url else None}

    def github_token_check_post(self) -> dict[str, Any]:
        """Ask GitHub now who the token is (`GET /user`); answers the token's new state."""
        key = github_status.GitHubKey.of(self.settings)
        return github_status.check_token(self.db.get(), self._client(), key)

    def _discovery_cursor(self, text: str | None) -> str | None:
        """A next-page cursor is a GitHub URL; only ones under the configured API base pass."""
        if not text:
            return None
        url = p.decode_cursor(text).get("url")
        if not isinstance(url, str) or not url.startswith(self.settings.github_api_base + "/"):
            raise invalid_field("cursor", "cursor is not a cursor this server gave out")
        return url

    def _client(self) -> Any:
        """Interactive: one attempt, no sleeping through a rate limit; every exchange
        is recorded in `github_status` like the worker's (rate-limit accounting)."""
        if self._github_client is None:
            self._github_client = self.github_client_factory(
                self.settings, max_attempts=1, max_wait_seconds=0, on_response=self._note_response
            )
        return self._github_client

    def _note_response(self, info: Any) -> None:
        github_status.save_response(self.db.get(), info)

    # -- audit -------------------------------------------------------------------------------

    def audit_get(self) -> dict[str, Any]:
        q = p.parse_audit_query(self._params())
        events = audit.list_events(
            self.db.get(),
            limit=q["limit"] + 1,
            before_seq=q["before_seq"],
            after_seq=q["after_seq"],
            aggregate_id=q["repo_id"],
            type=q["type"],
        )
        page = events[: q["limit"]]
        direction = "after" if q["after_seq"] is not None else "before"
        more = len(events) > q["limit"]
        next_cursor = p.encode_cursor({direction: page[-1].seq}) if more else None
        return {"items": [e.as_dict() for e in page], "next": next_cursor}

    def audit_head_get(self) -> dict[str, Any]:
        seq, digest = audit.head(self.db.get())
        return {"seq": seq, "hash": digest}

    def audit_verify_get(self) -> dict[str, Any]:
        head = p.parse_head(self._params())
        return verify(self.db.get(), head=head).as_dict()

    # -- documents and pages -----------------------------------------------------------------

    def openapi_get(self) -> dict[str, Any]:
        return openapi.document()

    def index_get(self) -> Any:
        return static_file("index.html", root=str(static_dir()))

    def static_get(self, path: str) -> Any:
        return static_file(path, root=str(static_dir()))


def _workspace(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspace_id": row["workspace_id"],
        "name": row["name"],
        "created_at": row["created_at"],
        "settings": json.loads(row["settings_json"]),
    }


def _db_size(settings: Settings) -> int:
    """Bytes of the DB file plus its WAL (what the operator's disk holds)."""
    total = 0
    for suffix in ("", "-wal"):
        path = settings.db_path.with_name(settings.db_path.name + suffix)
        total += path.stat().st_size if path.exists() else 0
    return total
