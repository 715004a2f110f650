"""Saved views of the Work view: a name for a filter, kept through the audit log.

Saving or deleting a view is an operator change like any other: it appends a
`work_view.*` event whose projection (`audit/work_projections.py`) is the
`saved_views` table, so `pmbot audit rebuild --check` covers it. A view's
filter is the Work view's query parameters in their canonical form (the API
checks and normalises it before it gets here).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.audit.events import WorkViewDeleted, WorkViewSaved
from pmbot.control_plane.db import transaction
from pmbot.shared.errors import NotFoundError, ServiceError
from pmbot.shared.ids import time_ordered_id

MAX_NAME = 100
MAX_VIEWS = 200


class ViewError(ServiceError):
    code = "view_error"


class ViewNotFound(ViewError, NotFoundError):
    code = "view_not_found"


class ViewConflict(ViewError):
    """The name is taken, or there are MAX_VIEWS views already."""

    status = 409

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code

    def problem_fields(self) -> dict[str, Any]:
        return {"field": "name"}


def list_views(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT view_id, name, filter_json, created_at FROM saved_views"
        " ORDER BY name COLLATE NOCASE, view_id"
    )
    return [_view(row) for row in rows]


def save_view(
    conn: sqlite3.Connection, name: str, filter_params: dict[str, Any], *, actor: str = "operator"
) -> dict[str, Any]:
    """Record `work_view.saved`; a taken name (any case) is a 409, nothing written."""
    with transaction(conn):
        taken = conn.execute(
            "SELECT 1 FROM saved_views WHERE name = ? COLLATE NOCASE", (name,)
        ).fetchone()
        if taken:
            raise ViewConflict("view_name_taken", f"a saved view is already named {name!r}")
        if conn.execute("SELECT count(*) FROM saved_views").fetchone()[0] >= MAX_VIEWS:
            raise ViewConflict("too_many_views", f"there are {MAX_VIEWS} saved views already")
        view_id = time_ordered_id("view")
        audit.record(
            conn, WorkViewSaved(view_id=view_id, name=name, filter=filter_params, actor=actor)
        )
        return get_view(conn, view_id)


def get_view(conn: sqlite3.Connection, view_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT view_id, name, filter_json, created_at FROM saved_views WHERE view_id = ?",
        (view_id,),
    ).fetchone()
    if row is None:
        raise ViewNotFound(f"no saved view {view_id}")
    return _view(row)


def delete_view(
    conn: sqlite3.Connection, view_id: str, *, actor: str = "operator"
) -> dict[str, Any]:
    """Record `work_view.deleted`; an unknown id is a 404."""
    with transaction(conn):
        view = get_view(conn, view_id)
        audit.record(conn, WorkViewDeleted(view_id=view_id, name=view["name"], actor=actor))
    return view


def _view(row: Any) -> dict[str, Any]:
    return {
        "view_id": row[0],
        "name": row[1],
        "filter": json.loads(row[2]),
        "created_at": row[3],
    }
