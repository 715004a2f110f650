"""Local git mirrors: a bare copy of each opted-in repo at `data/repos/<github id>.git`.

Policy:
- Opt-in: `PMBOT_MIRRORS=1` turns mirrors on for every repo; the per-repo
  toggle (`mirror.enabled` / `mirror.disabled`, projected into `repo_mirrors`)
  overrides it. A disabled mirror is never fetched again but stays on disk
  until its repo is removed; a cache reset keeps it.
- Identity: the folder is named after GitHub's numeric repository id, read
  from the repository payload (`GET /repos/{owner}/{name}` the first time,
  then a conditional `GET /repositories/{id}`, free when unchanged), which
  also gives `clone_url`. Both live in `mirror_state` (operational), so a
  rename never points at another repository's mirror.
- Refs: branches and tags only (`+refs/heads/*`, `+refs/tags/*`); GitHub's
  `refs/pull/*` are not mirrored. A clone goes to `data/repos/.tmp/<id>.git.<random>`
  and is renamed into place when complete, so a clone killed half-way is
  discarded and redone; a killed fetch leaves git's own consistent state.
- When: a repo is due when it has no mirror yet, when the metadata sync saw
  changes since the last fetch (`repo_sync_state.last_seen_event_at` moved),
  or every `PMBOT_MIRROR_FETCH_SECONDS` otherwise; failures back off
  exponentially. Git runs on the mirror thread (`MirrorWorker`), one git
  process at a time per process and, through a lease in `mirror_state`, per
  repo across processes; the metadata sync never waits for it.
- Events: `mirror.cloned`, `mirror.fetched` (only when refs changed, or to
  clear a previous error), `mirror.failed` (only when the error changes).
- Folders: each cycle sweeps `<id>.git` folders no registered repo's
  `mirror_state` names, so removing a repo removes its mirror.
- Credentials: see `git_runner` (askpass from the environment, never on disk).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.db import connect, transaction
from pmbot.control_plane.github.client import GitHubClient, GitHubError
from pmbot.control_plane.registry import RepoNotFound, get_repo
from pmbot.control_plane.sync.git_runner import (
    GitAuth,
    GitError,
    allowed_origin,
    git_env,
    run_git,
    write_askpass,
)
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

log = logging.getLogger("pmbot.mirrors")

LOOP_SECONDS = 5.0
LEASE_SECONDS = 60
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 3600
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def repos_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "repos"


def mirror_path(data_dir: Path, github_id: int) -> Path:
    """Where a repository's bare mirror lives (named by GitHub's stable numeric id)."""
    return repos_dir(data_dir) / f"{int(github_id)}.git"


# -- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One enabled repo as the mirror thread sees it."""

    repo_id: int
    full_name: str
    github_id: int | None
    clone_url: str | None
    default_branch: str | None
    payload_etag: str | None
    last_fetch_at: str | None
    seen_marker: str | None
    sync_marker: str | None
    failures: int
    next_try_at: str | None
    last_error: str | None
    last_error_code: str | None


_TARGETS = (
    "SELECT r.repo_id, r.full_name, st.github_id, st.clone_url, st.default_branch,"
    " st.payload_etag, st.last_fetch_at, st.seen_marker, s.last_seen_event_at AS sync_marker,"
    " coalesce(st.failures, 0) AS failures, st.next_try_at, m.last_error, m.last_error_code"
    " FROM repos AS r"
    " LEFT JOIN repo_mirrors AS m ON m.repo_id = r.repo_id"
    " LEFT JOIN mirror_state AS st ON st.repo_id = r.repo_id"
    " LEFT JOIN repo_sync_state AS s ON s.repo_id = r.repo_id"
    " WHERE coalesce(m.enabled, ?) = 1 ORDER BY r.repo_id"
)


def targets(conn: sqlite3.Connection, default_enabled: bool) -> list[Target]:
    """Every repo whose mirror is enabled (its own choice, else the global setting)."""
    return [Target(**dict(row)) for row in conn.execute(_TARGETS, (int(default_enabled),))]


def is_due(target: Target, now: datetime, settings: Settings) -> bool:
    """No mirror yet, the sync saw changes since the last fetch, or the interval passed."""
    if target.next_try_at is not None and parse_rfc3339(target.next_try_at) > now:
        return False
    if target.github_id is None or not mirror_path(settings.data_dir, target.github_id).exists():
        return True
    if target.sync_marker != target.seen_marker:
        return True
    if target.last_fetch_at is None:
        return True
    interval = timedelta(seconds=settings.mirror_fetch_seconds)
    return parse_rfc3339(target.last_fetch_at) + interval <= now


def forget(conn: sqlite3.Connection, repo_id: int) -> None:
    """Drop a repo's operational mirror row (its folder goes at the next sweep)."""
    conn.execute("DELETE FROM mirror_state WHERE repo_id = ?", (repo_id,))


_STATUS = (
    "SELECT r.repo_id, m.enabled, m.cloned_at, m.last_changed_at, m.refs_changed,"
    " m.last_error, m.last_error_code, st.github_id, st.last_fetch_at, st.size_bytes,"
    " st.next_try_at FROM repos AS r"
    " LEFT JOIN repo_mirrors AS m ON m.repo_id = r.repo_id"
    " LEFT JOIN mirror_state AS st ON st.repo_id = r.repo_id"
)


def statuses(
    conn: sqlite3.Connection, default_enabled: bool, repo_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """The mirror part of each repo's status (one query), by repo id."""
    where, args = ("WHERE r.repo_id = ?", (repo_id,)) if repo_id is not None else ("", ())
    rows = conn.execute(f"{_STATUS} {where}", args).fetchall()
    return {row["repo_id"]: _status(row, default_enabled) for row in rows}


def _status(row: sqlite3.Row, default_enabled: bool) -> dict[str, Any]:
    explicit = row["enabled"]
    return {
        "enabled": bool(default_enabled if explicit is None else explicit),
        "setting": "default" if explicit is None else ("on" if explicit else "off"),
        "github_id": row["github_id"],
        "path": f"repos/{row['github_id']}.git" if row["cloned_at"] else None,
        "cloned_at": row["cloned_at"],
        "last_fetch_at": _later(row["last_fetch_at"], row["last_changed_at"]),
        "last_changed_at": row["last_changed_at"],
        "refs_changed": row["refs_changed"],
        "size_bytes": row["size_bytes"],
        "last_error": row["last_error"],
        "last_error_code": row["last_error_code"],
        "next_try_at": row["next_try_at"] if row["last_error"] else None,
    }


def _later(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return first or second
    return max(first, second)


def _ensure_row(conn: sqlite3.Connection, repo_id: int) -> None:
    conn.execute("INSERT INTO mirror_state (repo_id) VALUES (?) ON CONFLICT DO NOTHING", (repo_id,))


def claim(conn: sqlite3.Connection, repo_id: int, owner: str, now: datetime) -> bool:
    """Take the repo's mirror lease when it is free, expired or already ours."""
    expires = to_rfc3339(now + timedelta(seconds=LEASE_SECONDS))
    with transaction(conn):
        _ensure_row(conn, repo_id)
        taken = conn.execute(
            "UPDATE mirror_state SET lease_owner = ?, lease_expires_at = ? WHERE repo_id = ?"
            " AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at <= ?)",
            (owner, expires, repo_id, owner, to_rfc3339(now)),
        )
    return taken.rowcount == 1


def release(conn: sqlite3.Connection, repo_id: int, owner: str) -> None:
    with transaction(conn):
        conn.execute(
            "UPDATE mirror_state SET lease_owner = NULL, lease_expires_at = NULL"
            " WHERE repo_id = ? AND lease_owner = ?",
            (repo_id, owner),
        )


def _save_identity(conn: sqlite3.Connection, repo_id: int, payload: dict, etag: str | None):
    with transaction(conn):
        _ensure_row(conn, repo_id)
        conn.execute(
            "UPDATE mirror_state SET github_id = ?, clone_url = ?, default_branch = ?,"
            " payload_etag = ? WHERE repo_id = ?",
            (payload["id"], payload["clone_url"], payload.get("default_branch"), etag, repo_id),
        )


def _save_fetch(conn, target: Target, now: datetime, size: int) -> None:
    conn.execute(
        "UPDATE mirror_state SET last_fetch_at = ?, seen_marker = ?, size_bytes = ?,"
        " failures = 0, next_try_at = NULL WHERE repo_id = ?",
        (to_rfc3339(now), target.sync_marker, size, target.repo_id),
    )


def _save_failure(conn, repo_id: int, failures: int, retry_at: datetime) -> None:
    conn.execute(
        "UPDATE mirror_state SET failures = ?, next_try_at = ? WHERE repo_id = ?",
        (failures, to_rfc3339(retry_at), repo_id),
    )


# -- git -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitJob:
    """What one git invocation needs: its environment, bounds and stop check."""

    env: dict[str, str]
    origin: str
    timeout: float
    keep_going: Callable[[], bool]

    def run(self, *args: str) -> str:
        return run_git(
            args, env=self.env, timeout=self.timeout, keep_going=self.keep_going, origin=self.origin
        )


def refs(job: GitJob, path: Path) -> dict[str, str]:
    """The mirror's branches and tags: ref name → object id."""
    out = job.run("-C", str(path), "for-each-ref", "--format=%(objectname) %(refname)",
                  "refs/heads", "refs/tags")  # fmt: skip
    return {name: oid for oid, name in (line.split(" ", 1) for line in out.splitlines())}


def clone(job: GitJob, url: str, data_dir: Path, github_id: int, partial: bool) -> int:
    """Clone into `.tmp/<id>.git`, configure branch and tag refspecs, rename into place.

    Returns the number of refs mirrored.
    """
    final = mirror_path(data_dir, github_id)
    temp_dir = repos_dir(data_dir) / ".tmp"
    for leftover in temp_dir.glob(f"{final.name}.*"):  # clones killed earlier: start over
        shutil.rmtree(leftover, ignore_errors=True)
    # A name of its own: a git orphaned by a killed pmbot may still write to an old one.
    temp = temp_dir / f"{final.name}.{uuid.uuid4().hex[:8]}"
    temp_dir.mkdir(parents=True, exist_ok=True)
    partial_args = ("--filter=blob:none",) if partial else ()
    job.run("clone", "--bare", "--quiet", *partial_args, "--", url, str(temp))
    job.run("-C", str(temp), "config", "--replace-all", "remote.origin.fetch", REFSPECS[0])
    job.run("-C", str(temp), "config", "--add", "remote.origin.fetch", REFSPECS[1])
    count = len(refs(job, temp))
    os.rename(temp, final)
    return count


def fetch(job: GitJob, url: str, path: Path, default_branch: str | None) -> int:
    """`git fetch --prune` from `url`; returns how many refs were added, moved or deleted."""
    before = refs(job, path)
    job.run("-C", str(path), "config", "remote.origin.url", url)
    job.run("-C", str(path), "fetch", "--prune", "--quiet", "origin")
    after = refs(job, path)
    if default_branch and f"refs/heads/{default_branch}" in after:
        job.run("-C", str(path), "symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
    return sum(1 for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def prefetch_readme(job: GitJob, path: Path) -> None:
    """In a partial mirror, fetch the head's README now, with credentials.

    The read side (`context.code`) runs without a token, so it can only read
    blobs already present; a context pack needs this one.
    """
    names = job.run("-C", str(path), "ls-tree", "--name-only", "HEAD").splitlines()
    for name in names:
        if name.lower().startswith("readme"):
            job.run("-C", str(path), "cat-file", "-e", f"HEAD:{name}")


def size_on_disk(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file git removed meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def inspect(path: Path) -> str | None:
    """What is wrong with a mirror folder (`pmbot doctor`), or None when git accepts it."""
    if not path.is_dir():
        return f"{path} is missing"
    try:
        answer = run_git(
            ("-C", str(path), "rev-parse", "--is-bare-repository"),
            env=git_env(None, Path(os.devnull), low_speed_seconds=60),
            timeout=60,
        )
    except (GitError, OSError) as exc:
        return f"{path}: {exc}"
    return None if answer.strip() == "true" else f"{path} is not a bare repository"


def sweep(conn: sqlite3.Connection, data_dir: Path) -> list[Path]:
    """Delete `<id>.git` folders (and leftover temp clones) no registered repo names."""
    with transaction(conn):  # rows a cycle left for a repo removed meanwhile
        conn.execute("DELETE FROM mirror_state WHERE repo_id NOT IN (SELECT repo_id FROM repos)")
    keep = {
        row[0]
        for row in conn.execute(
            "SELECT st.github_id FROM mirror_state AS st JOIN repos AS r USING (repo_id)"
            " WHERE st.github_id IS NOT NULL"
        )
    }
    root, removed = repos_dir(data_dir), []
    for folder, pattern in ((root, "*.git"), (root / ".tmp", "*.git.*")):
        for path in sorted(folder.glob(pattern)) if folder.is_dir() else ():
            stem = path.name.partition(".git")[0]
            if stem.isdigit() and int(stem) not in keep:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


# -- one cycle -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MirrorOutcome:
    """What one repo's turn did: cloned, fetched, unchanged, failed, busy, removed, stopped."""

    repo_id: int
    status: str
    refs_changed: int = 0
    error: GitError | None = None


@dataclass
class Mirrors:
    """One cycle's dependencies: settings, the GitHub client, the clock and a stop check."""

    settings: Settings
    client: Any
    clock: Callable[[], datetime] = utc_now
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    keep_going: Callable[[], bool] = lambda: True

    def run_once(self, conn: sqlite3.Connection) -> list[MirrorOutcome]:
        """Sweep unreferenced folders, then clone or fetch every due repo, one at a time."""
        sweep(conn, self.settings.data_dir)
        outcomes = []
        for target in targets(conn, self.settings.mirrors):
            if not self.keep_going():
                break
            if is_due(target, self.clock(), self.settings):
                outcomes.append(self.mirror_repo(conn, target))
        return outcomes

    def mirror_repo(self, conn: sqlite3.Connection, target: Target) -> MirrorOutcome:
        """Clone or fetch one repo under its lease; failures are recorded and backed off."""
        if not claim(conn, target.repo_id, self.owner, self.clock()):
            return MirrorOutcome(target.repo_id, "busy")
        try:
            return self._attempt(conn, target, self._lease_keeper(conn, target.repo_id))
        except RepoNotFound:
            return MirrorOutcome(target.repo_id, "removed")
        except GitError as exc:
            if exc.code == "stopped":  # the worker is stopping: not the mirror's failure
                return MirrorOutcome(target.repo_id, "stopped")
            self._fail(conn, target, exc)
            return MirrorOutcome(target.repo_id, "failed", error=exc)
        finally:
            release(conn, target.repo_id, self.owner)

    def _lease_keeper(self, conn: sqlite3.Connection, repo_id: int) -> Callable[[], bool]:
        """The stop check git polls; renews the lease every third of its length."""
        renewed_at = [self.clock()]

        def keep_going() -> bool:
            now = self.clock()
            if (now - renewed_at[0]).total_seconds() >= LEASE_SECONDS / 3:
                renewed_at[0] = now
                if not claim(conn, repo_id, self.owner, now):
                    return False
            return self.keep_going()

        return keep_going

    def _attempt(
        self, conn: sqlite3.Connection, target: Target, keep_going: Callable[[], bool]
    ) -> MirrorOutcome:
        target = self._identify(conn, target)
        assert target.github_id is not None and target.clone_url is not None
        job = self._job(target.clone_url, keep_going)
        data_dir = self.settings.data_dir
        path = mirror_path(data_dir, target.github_id)
        repos_dir(data_dir).mkdir(parents=True, exist_ok=True)
        if not path.exists():
            count = clone(
                job, target.clone_url, data_dir, target.github_id,
                self.settings.mirror_partial_clone,
            )  # fmt: skip
            event: ev.AuditEvent | None = ev.MirrorCloned(
                repo_id=target.repo_id, github_id=target.github_id, refs=count
            )
            status = "cloned"
        else:
            count = fetch(job, target.clone_url, path, target.default_branch)
            status = "fetched" if count else "unchanged"
            event = None
            if count or target.last_error is not None:
                event = ev.MirrorFetched(
                    repo_id=target.repo_id, github_id=target.github_id, refs_changed=count
                )
        if self.settings.mirror_partial_clone:
            prefetch_readme(job, path)
        with transaction(conn):
            get_repo(conn, target.repo_id)  # removed meanwhile: its folder goes at the sweep
            _save_fetch(conn, target, self.clock(), size_on_disk(path))
            if event is not None:
                audit.record(conn, event)
        log.info("mirror of repo %s %s (%d refs)", target.repo_id, status, count)
        return MirrorOutcome(target.repo_id, status, count)

    def _identify(self, conn: sqlite3.Connection, target: Target) -> Target:
        """Refresh the repository payload (conditional); returns the target with id and URL."""
        if target.github_id is not None:
            path = f"/repositories/{target.github_id}"
        else:
            path = f"/repos/{target.full_name}"
        etag = target.payload_etag if target.clone_url else None
        try:
            response = self.client.get(path, etag=etag)
        except GitHubError as exc:
            code = "not_found" if exc.code in ("not_found", "gone") else "github_error"
            raise GitError(code, f"repository payload: {exc}") from exc
        if response.not_modified:
            return target
        payload = response.data
        if not isinstance(payload, dict) or not payload.get("clone_url") or "id" not in payload:
            raise GitError("github_error", "repository payload has no id or clone_url")
        _save_identity(conn, target.repo_id, payload, response.etag)
        return dataclasses.replace(
            target,
            github_id=int(payload["id"]),
            clone_url=payload["clone_url"],
            default_branch=payload.get("default_branch"),
        )

    def _job(self, clone_url: str, keep_going: Callable[[], bool]) -> GitJob:
        settings = self.settings
        origin = allowed_origin(clone_url, settings.github_api_base)
        askpass = write_askpass(repos_dir(settings.data_dir))
        env = git_env(
            GitAuth(origin, settings.github_token),
            askpass,
            low_speed_seconds=settings.mirror_low_speed_seconds,
        )
        return GitJob(env, origin, settings.mirror_git_timeout_seconds, keep_going)

    def _fail(self, conn: sqlite3.Connection, target: Target, error: GitError) -> None:
        """Back off; append `mirror.failed` when the mirror's error changes."""
        failures = target.failures + 1
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(failures - 1, 12))
        log.warning("mirror of repo %s failed (attempt %d): %s", target.repo_id, failures, error)
        with transaction(conn):
            get_repo(conn, target.repo_id)
            _ensure_row(conn, target.repo_id)
            _save_failure(conn, target.repo_id, failures, self.clock() + timedelta(seconds=delay))
            if (target.last_error_code, target.last_error) != (error.code, error.message):
                failed = ev.MirrorFailed(
                    repo_id=target.repo_id,
                    error_code=error.code,
                    message=error.message,
                    attempt=failures,
                )
                audit.record(conn, failed)


# -- the thread ----------------------------------------------------------------------------


class MirrorWorker:
    """The mirror thread: `Mirrors.run_once` every LOOP_SECONDS with its own connection."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        client = GitHubClient.from_settings(settings, sleep=self._sleep, clock=clock)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.mirrors = Mirrors(settings, client, clock, owner, self._keep_going)

    def start(self) -> MirrorWorker:
        self._thread = threading.Thread(target=self._run, name="pmbot-mirrors", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to stop (a running git is killed) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        conn = connect(Path(self.settings.db_path))
        try:
            while not self._stop.is_set():
                try:
                    self.mirrors.run_once(conn)
                except Exception:
                    log.exception("mirror cycle failed")
                self._stop.wait(LOOP_SECONDS)
        finally:
            conn.close()

    def _keep_going(self) -> bool:
        return not self._stop.is_set()

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise GitError("stopped", "the mirror thread is stopping")
