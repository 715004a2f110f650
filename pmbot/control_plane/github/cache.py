"""The local cache of GitHub issues and pull requests: the write side.

Owns `github_issues`, `github_pull_requests`, the `cache_search` full-text
index and the `http_cache` validators. Cached payloads are data, not events:
callers record the audit event that says a page was committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

CACHE_TABLES = ("github_issues", "github_pull_requests", "cache_search", "http_cache")


def delete_repo_cache(conn: sqlite3.Connection, repo_ids: Iterable[int]) -> None:
    """Drop every cached row, search entry and ETag of these repos (caller's transaction)."""
    for repo_id in repo_ids:
        for table in CACHE_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE repo_id = ?", (repo_id,))
