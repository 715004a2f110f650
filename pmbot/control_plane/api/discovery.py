"""Discovery: the repos a token can see on GitHub, marked when already tracked.

This is the API's one direct GitHub call. It goes through the same client
as the worker (rate-limit accounting included) and one lock, so the API
process never has more than one discovery request in flight. Pages follow
GitHub's `Link` next URL, carried to the caller as an opaque cursor.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from pmbot.control_plane.registry import list_repos

PER_PAGE = 100
_single_flight = threading.Lock()


def list_visible_repos(
    conn: sqlite3.Connection, client: Any, path_or_url: str
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of visible repos and GitHub's next-page URL (or None)."""
    params = {"per_page": PER_PAGE} if path_or_url.startswith("/") else None
    with _single_flight:
        response = client.get(path_or_url, params)
    tracked = {repo.full_name.lower() for repo in list_repos(conn)}
    items = [_summary(repo, tracked) for repo in response.data or [] if isinstance(repo, dict)]
    return items, response.next_url


def _summary(repo: dict[str, Any], tracked: set[str]) -> dict[str, Any]:
    full_name = str(repo.get("full_name", ""))
    return {
        "full_name": full_name,
        "private": bool(repo.get("private")),
        "archived": bool(repo.get("archived")),
        "open_issues_count": repo.get("open_issues_count"),
        "pushed_at": repo.get("pushed_at"),
        "tracked": full_name.lower() in tracked,
    }
