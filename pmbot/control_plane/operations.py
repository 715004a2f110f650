"""Operations on repos that span rooms: the registry, the cache and the sync schedule.

The registry records what the operator did (audited, projected); the cache
and the schedule are plain rows in other rooms. Each operation here changes
all of them in ONE transaction, so no process sees a registered repo
without its first sync request, or a removed one with cached rows:

- add: `repo.added`, then a sync request (the initial import).
- remove: refused (409) while the repo has runs that are not finished;
  otherwise the repo's cache is fenced off and queued for deletion and its
  schedule and mirror rows go; `repo.removed` is recorded once its cached
  rows are gone (they reference the registry row). Its history, its finished
  runs and their artifacts stay.
- request sync: `sync.requested`, then a sync request any worker picks up.
- reset cache: ETags and resume state go and the cached issues/PRs and search
  entries are fenced off and queued for deletion (`cache.store.reset_cache`),
  `cache.reset` is recorded (its projection clears cursors, counts and sync
  status), and a sync request per repo is queued so the re-import starts at
  once (its sync finishes the deletion first). The registry and the log are
  kept, and so are the git mirrors.
- set closed window: `repo.closed_window_set` (the repo's own PMBOT_SYNC_CLOSED_DAYS),
  then a sync request, so a widened window's backfill starts at once; nothing cached
  is deleted when it narrows.
- set mirror: `mirror.enabled` / `mirror.disabled`, the per-repo choice that
  overrides PMBOT_MIRRORS; the mirror thread clones or stops fetching. Remove
  also drops the repo's mirror row, so the mirror thread deletes its folder.

Removal and reset then delete the queued rows in bounded transactions
(`registry.finish_purges`), give the freed pages back and checkpoint the WAL
(`db.space`), so neither the WAL nor the file keeps a removed repo's size. A
purge cut short (the process dies) is finished by the next worker tick, or by
the repo's next sync before it writes.
"""

from __future__ import annotations

import sqlite3

from pmbot.control_plane import audit, registry
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import space, transaction
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.registry import DEFAULT_WORKSPACE_ID, Repo
from pmbot.control_plane.sync import mirrors, schedule


def add_repo(
    conn: sqlite3.Connection,
    full_name: object,
    default_branch: str | None = None,
    *,
    actor: str = "operator",
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Repo:
    """Register a repo and ask for its first sync (the initial import)."""
    with transaction(conn):
        repo = registry.add_repo(
            conn, full_name, default_branch, actor=actor, workspace_id=workspace_id
        )
        schedule.queue_sync_request(conn, repo.repo_id)
    return repo


def remove_repo(conn: sqlite3.Connection, repo_id: int, *, actor: str = "operator") -> Repo:
    """Unregister a repo and drop its cache and operational rows; its history stays."""
    with transaction(conn):
        repo = registry.get_repo(conn, repo_id)  # RepoNotFound before anything is deleted
        runs.refuse_if_active_runs(conn, repo_id)
        cache.reset_cache(conn, [repo_id], removed_by=actor)
        schedule.delete_schedule(conn, repo_id)
        mirrors.forget(conn, repo_id)
    _purge(conn)
    return repo


def set_mirror(
    conn: sqlite3.Connection, repo_id: int, enabled: bool, *, actor: str = "operator"
) -> None:
    """Turn a repo's git mirror on or off (audited; overrides the global setting)."""
    with transaction(conn):
        registry.get_repo(conn, repo_id)  # RepoNotFound before anything is recorded
        event_class = ev.MirrorEnabled if enabled else ev.MirrorDisabled
        audit.record(conn, event_class(repo_id=repo_id, actor=actor))


def set_closed_window(
    conn: sqlite3.Connection, repo_id: int, days: object, *, actor: str = "operator"
) -> None:
    """Set how many days back the repo's closed items are cached, and ask for a sync."""
    with transaction(conn):
        registry.set_closed_window(conn, repo_id, days, actor=actor)
        schedule.queue_sync_request(conn, repo_id)


def request_sync(
    conn: sqlite3.Connection, repo_id: int, *, reconcile: bool = False, actor: str = "operator"
) -> Repo:
    """Ask the worker to sync a repo now (recorded; picked up by any worker process)."""
    with transaction(conn):
        repo = registry.request_sync(conn, repo_id, reconcile=reconcile, actor=actor)
        schedule.queue_sync_request(conn, repo_id, reconcile=reconcile)
    return repo


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
            repo_ids = [repo.repo_id for repo in registry.list_repos(conn, workspace_id)]
        for repo_id in repo_ids:
            registry.get_repo(conn, repo_id)  # RepoNotFound before anything is wiped
        cache.reset_cache(conn, repo_ids)
        reset = ev.CacheReset(workspace_id=workspace_id, repo_ids=repo_ids, actor=actor)
        audit.record(conn, reset)
        for repo_id in repo_ids:
            schedule.queue_sync_request(conn, repo_id)
    _purge(conn)
    return repo_ids


def _purge(conn: sqlite3.Connection) -> None:
    """Delete the queued rows (in bounded transactions), record the removals, truncate
    the WAL."""
    registry.finish_purges(conn)
    space.checkpoint(conn)
