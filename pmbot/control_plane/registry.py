"""The workspace and repo registry: add, find and remove repos, record sync requests.

Every change goes through `audit.record`, so the registry rows are a
projection of the log. Adding a repo checks only the name's syntax; whether
it exists on GitHub is learnt by the worker's first request. The registry
knows nothing of the cache or the sync schedule: `operations.py` composes
them (an added repo's first sync request, a removed repo's cached rows).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.shared.errors import NotFoundError, ServiceError

DEFAULT_WORKSPACE_ID = 1
DEFAULT_WORKSPACE_NAME = "default"

# GitHub's rules: owners are 1–39 letters, digits or single inner hyphens;
# repo names are up to 100 of letters, digits, '.', '-', '_', but not '.' or '..'.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/", re.IGNORECASE)
# A closed-items window longer than GitHub has existed (2008) is a typo, not a choice.
MAX_CLOSED_DAYS = 10_000


class RegistryError(ServiceError):
    """Base for registry failures; `code` is a stable word for API clients."""

    code = "registry_error"


class InvalidRepoName(RegistryError):
    code = "invalid_repo_name"
    status = 422

    def problem_fields(self) -> dict[str, Any]:
        return {"field": "full_name"}


class RepoExists(RegistryError):
    code = "repo_exists"
    status = 409

    def __init__(self, message: str, repo_id: int) -> None:
        super().__init__(message)
        self.repo_id = repo_id

    def problem_fields(self) -> dict[str, Any]:
        return {"repo_id": self.repo_id}


class RepoNotFound(RegistryError, NotFoundError):
    code = "repo_not_found"


class WorkspaceNotFound(RegistryError, NotFoundError):
    code = "workspace_not_found"


class InvalidClosedWindow(RegistryError):
    code = "invalid_closed_window"
    status = 422

    def problem_fields(self) -> dict[str, Any]:
        return {"field": "days"}


@dataclass(frozen=True)
class Repo:
    repo_id: int
    workspace_id: int
    full_name: str
    default_branch: str | None
    status: str
    added_at: str
    last_sync_at: str | None
    last_error: str | None
    last_error_code: str | None
    changed_at: str


def parse_full_name(text: object) -> str:
    """Check `owner/name` by GitHub's rules; accepts a github.com URL; returns `owner/name`."""
    if not isinstance(text, str):
        raise InvalidRepoName("full_name must be a string like 'owner/name'")
    raw = _URL_PREFIX.sub("", text.strip()).rstrip("/")
    raw = raw.removesuffix(".git")
    owner, sep, name = raw.partition("/")
    if not sep or "/" in name:
        raise InvalidRepoName(f"{text.strip()[:120]!r} is not of the form 'owner/name'")
    if not _OWNER.match(owner):
        raise InvalidRepoName(
            "owner must be 1–39 letters, digits or single hyphens, not starting or ending with '-'"
        )
    if not _NAME.match(name) or name in (".", ".."):
        raise InvalidRepoName(
            "repository name must be 1–100 letters, digits, '.', '-' or '_' (not '.' or '..')"
        )
    return f"{owner}/{name}"


def parse_closed_days(value: object) -> int:
    """A closed-items window in whole days, 0 to MAX_CLOSED_DAYS (a JSON `90.0` is 90)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidClosedWindow("days must be a whole number of days")
    if not 0 <= value <= MAX_CLOSED_DAYS:
        raise InvalidClosedWindow(f"days must be between 0 and {MAX_CLOSED_DAYS}")
    return value


def ensure_default_workspace(conn: sqlite3.Connection) -> int:
    """Create the default workspace once; safe when several processes start together."""
    with transaction(conn):
        exists = conn.execute(
            "SELECT 1 FROM workspaces WHERE workspace_id = ?", (DEFAULT_WORKSPACE_ID,)
        ).fetchone()
        if not exists:
            audit.record(
                conn,
                ev.WorkspaceCreated(workspace_id=DEFAULT_WORKSPACE_ID, name=DEFAULT_WORKSPACE_NAME),
            )
    return DEFAULT_WORKSPACE_ID


def get_workspace(conn: sqlite3.Connection, workspace_id: int) -> dict:
    row = conn.execute(
        "SELECT workspace_id, name, created_at, settings_json FROM workspaces"
        " WHERE workspace_id = ?",
        (workspace_id,),
    ).fetchone()
    if row is None:
        raise WorkspaceNotFound(f"no workspace with id {workspace_id}")
    return dict(row)


def add_repo(
    conn: sqlite3.Connection,
    full_name: object,
    default_branch: str | None = None,
    *,
    actor: str = "operator",
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> Repo:
    """Record `repo.added` (`operations.add_repo` also queues its first sync)."""
    name = parse_full_name(full_name)
    with transaction(conn):
        existing = find_repo(conn, name, workspace_id=workspace_id)
        if existing is not None:
            raise RepoExists(f"{existing.full_name} is already registered", existing.repo_id)
        repo_id = _next_repo_id(conn)
        added = ev.RepoAdded(
            repo_id=repo_id,
            workspace_id=workspace_id,
            full_name=name,
            default_branch=default_branch,
            actor=actor,
        )
        audit.record(conn, added)
    return get_repo(conn, repo_id)


def _next_repo_id(conn: sqlite3.Connection) -> int:
    """AUTOINCREMENT semantics: a removed repo's id is never reused."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'repos'").fetchone()
    return (row[0] if row else 0) + 1


def remove_repo(conn: sqlite3.Connection, repo_id: int, *, actor: str = "operator") -> Repo:
    """Record `repo.removed` (`operations.remove_repo` first drops its schedule and
    queues its cache; `finish_purges` records this once the cached rows are gone)."""
    with transaction(conn):
        repo = get_repo(conn, repo_id)
        audit.record(conn, ev.RepoRemoved(repo_id=repo_id, full_name=repo.full_name, actor=actor))
    return repo


def finish_purges(conn: sqlite3.Connection, repo_id: int | None = None) -> int:
    """Delete the cached rows queued by resets and removals (all, or one repo's) in
    bounded transactions (`cache.store.purge`), then record `repo.removed` for each
    removal whose rows are gone: they reference the registry row, so it goes last.
    Returns the rows deleted. Outside any transaction."""
    deleted = cache.purge(conn, repo_id)
    if cache.removal_queued(conn):
        with transaction(conn):
            for removed_id, actor in cache.purged_removals(conn):
                remove_repo(conn, removed_id, actor=actor)
    return deleted


def request_sync(
    conn: sqlite3.Connection, repo_id: int, *, reconcile: bool = False, actor: str = "operator"
) -> Repo:
    """Record `sync.requested` (`operations.request_sync` also queues the request)."""
    with transaction(conn):
        repo = get_repo(conn, repo_id)
        requested = ev.SyncRequested(repo_id=repo_id, reconcile=reconcile, actor=actor)
        audit.record(conn, requested)
    return repo


def set_closed_window(
    conn: sqlite3.Connection, repo_id: int, days: object, *, actor: str = "operator"
) -> int | None:
    """Record `repo.closed_window_set` (old → new) unless `days` is already the repo's
    choice; returns the previous choice (None: it followed PMBOT_SYNC_CLOSED_DAYS)."""
    days = parse_closed_days(days)
    with transaction(conn):
        get_repo(conn, repo_id)
        old = closed_window_days(conn, repo_id)
        if old != days:
            audit.record(
                conn, ev.RepoClosedWindowSet(repo_id=repo_id, days=days, old_days=old, actor=actor)
            )
    return old


def closed_window_days(conn: sqlite3.Connection, repo_id: int) -> int | None:
    """The repo's own closed-items window in days; None follows PMBOT_SYNC_CLOSED_DAYS."""
    row = conn.execute(
        "SELECT closed_window_days FROM repos WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return row[0] if row else None


_REPO_COLUMNS = (
    "repo_id, workspace_id, full_name, default_branch, status, added_at, last_sync_at,"
    " last_error, last_error_code, changed_at"
)


def get_repo(conn: sqlite3.Connection, repo_id: int) -> Repo:
    row = conn.execute(
        f"SELECT {_REPO_COLUMNS} FROM repos WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    if row is None:
        raise RepoNotFound(f"no repo with id {repo_id}")
    return Repo(**dict(row))


def find_repo(
    conn: sqlite3.Connection, full_name: str, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> Repo | None:
    """The registered repo with this name, compared case-insensitively like GitHub."""
    row = conn.execute(
        f"SELECT {_REPO_COLUMNS} FROM repos WHERE workspace_id = ? AND full_name = ?"
        " COLLATE NOCASE",
        (workspace_id, full_name),
    ).fetchone()
    return Repo(**dict(row)) if row else None


def github_id(conn: sqlite3.Connection, repo_id: int) -> int | None:
    """GitHub's numeric id of the repo, once its first sync recorded `repo.identified`."""
    row = conn.execute("SELECT github_id FROM repos WHERE repo_id = ?", (repo_id,)).fetchone()
    return row[0] if row else None


def find_by_github_id(conn: sqlite3.Connection, workspace_id: int, github_id: int) -> Repo | None:
    row = conn.execute(
        f"SELECT {_REPO_COLUMNS} FROM repos WHERE workspace_id = ? AND github_id = ?",
        (workspace_id, github_id),
    ).fetchone()
    return Repo(**dict(row)) if row else None


def list_repos(conn: sqlite3.Connection, workspace_id: int = DEFAULT_WORKSPACE_ID) -> list[Repo]:
    rows = conn.execute(
        f"SELECT {_REPO_COLUMNS} FROM repos WHERE workspace_id = ?"
        " ORDER BY full_name COLLATE NOCASE",
        (workspace_id,),
    )
    return [Repo(**dict(r)) for r in rows]
