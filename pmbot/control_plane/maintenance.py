"""Operator maintenance: wipe the local GitHub cache so the next sync re-imports.

A reset drops cached issues/PRs, search entries, ETags and resume state
(`cache.store.reset_cache`), records `cache.reset`, whose projection
clears cursors, counts and sync status, and queues a sync request per repo so
the re-import starts at once, all in one transaction. The registry and the
audit log are kept.
"""

from __future__ import annotations

import sqlite3

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.control_plane.registry import (
    DEFAULT_WORKSPACE_ID,
    get_repo,
    list_repos,
    queue_sync_request,
)


def reset_cache(
    conn: sqlite3.Connection,
    repo_ids: list[int] | None = None,
    *,
    actor: str = "operator",
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[int]:
    """Reset the given repos (all of the workspace's when None); returns their ids."""
    with transaction(conn):
        if repo_ids is None:
            repo_ids = [repo.repo_id for repo in list_repos(conn, workspace_id)]
        for repo_id in repo_ids:
            get_repo(conn, repo_id)  # RepoNotFound before anything is wiped
        cache.reset_cache(conn, repo_ids)
        reset = ev.CacheReset(workspace_id=workspace_id, repo_ids=repo_ids, actor=actor)
        audit.record(conn, reset)
        for repo_id in repo_ids:
            queue_sync_request(conn, repo_id)
    return repo_ids
