"""Projection of the saved Work views: `saved_views`.

Same rules as `projections.py`, whose dispatch registers these functions: one
small function per event, SQL only, times from the event. The service checks
names and ids before an event is recorded (`cache/views.py`).
"""

from __future__ import annotations

import json
import sqlite3

from pmbot.control_plane.audit.appliers import Appliers
from pmbot.control_plane.audit.events import WorkViewDeleted, WorkViewSaved

PROJECTED_TABLES = ("saved_views",)

APPLIERS = Appliers()


@APPLIERS.on(WorkViewSaved)
def _work_view_saved(conn: sqlite3.Connection, e: WorkViewSaved) -> None:
    conn.execute(
        "INSERT INTO saved_views (view_id, name, filter_json, created_at) VALUES (?, ?, ?, ?)",
        (e.view_id, e.name, json.dumps(e.filter, sort_keys=True), e.occurred_at),
    )


@APPLIERS.on(WorkViewDeleted)
def _work_view_deleted(conn: sqlite3.Connection, e: WorkViewDeleted) -> None:
    conn.execute("DELETE FROM saved_views WHERE view_id = ?", (e.view_id,))
