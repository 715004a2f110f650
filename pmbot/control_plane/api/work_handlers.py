"""Handlers of the Work view (issue 17): every cached item across the repos, and saved views.

Same shape as `handlers.py` (which lists these routes in its `ROUTES` table and
mixes this class in): parse, call the services, return a dict.
"""

from __future__ import annotations

from typing import Any

from bottle import HTTPResponse, request

from pmbot.control_plane.api import run_parsers as rp
from pmbot.control_plane.api import work_parsers as wp
from pmbot.control_plane.cache import items, views
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID

WORK_ROUTES = (
    ("GET", "/api/items", "items_get"),
    ("GET", "/api/work/views", "work_views_get"),
    ("POST", "/api/work/views", "work_views_post"),
    ("DELETE", "/api/work/views/<view_id>", "work_view_delete"),
)


class WorkHandlers:
    """Mixed into `Handlers`: uses its `db` and `_body`."""

    def items_get(self) -> dict[str, Any]:
        """A page of items, the next page's cursor, and the counts per repo of the filter."""
        query = wp.parse_work_query(wp.work_params(request.environ.get("QUERY_STRING", "")))
        conn, workspace = self.db.get(), DEFAULT_WORKSPACE_ID
        items.check_repos(conn, query.filter, workspace)
        page = items.list_items(conn, query.filter, workspace, query.limit, query.after)
        counts = items.count_items(conn, query.filter, workspace)
        return {
            "items": page.items,
            "next": wp.work_cursor(query.filter, page.next),
            "counts": counts,
            "total": sum(c["count"] for c in counts),
        }

    def work_views_get(self) -> dict[str, Any]:
        return {"items": views.list_views(self.db.get())}

    def work_views_post(self) -> HTTPResponse:
        name, work_filter = wp.parse_new_view(self._body())
        conn = self.db.get()
        items.check_repos(conn, work_filter, DEFAULT_WORKSPACE_ID)
        view = views.save_view(conn, name, wp.filter_params(work_filter))
        return HTTPResponse(view, status=201)

    def work_view_delete(self, view_id: str) -> dict[str, Any]:
        view_id = rp.parse_path_id(view_id, "view")
        return {**views.delete_view(self.db.get(), view_id), "deleted": True}
