"""`pmbot doctor`: checks an installation and says, line by line, what passes and what fails.

Each check is a small function returning one `Check`. None of them changes
anything: doctor opens the DB without migrating it and without creating the
data layout, so it reports what it finds instead of repairing it on the way.
Details never contain the token (every line is redacted on the way out).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pmbot.control_plane.artifacts import store
from pmbot.control_plane.audit.events import COUNT_KEYS
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.db import connect, health, space
from pmbot.control_plane.db.migrate import MigrationError, pending_migrations
from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.github.protocol import GitHubError, RateLimit, RateLimited, Unauthorized
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.sync import mirrors
from pmbot.shared.datadir import layout_problems
from pmbot.shared.logs import redact
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import to_rfc3339

GITHUB_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self, secrets: tuple[str, ...] = ()) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {redact(self.detail, secrets)}"


def check_data_dir(data_dir: Path) -> Check:
    """Every sub-folder of the layout exists and this user can write it."""
    problems = layout_problems(data_dir)
    if problems:
        return Check("data dir", False, "; ".join(problems) + " (run `pmbot migrate`)")
    return Check("data dir", True, f"{Path(data_dir).resolve()} has its layout and is writable")


def check_integrity(conn: sqlite3.Connection, db_path: Path | str = "the database") -> Check:
    """The full `PRAGMA integrity_check` (start-up runs only the cheaper `quick_check`)."""
    try:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows == ["ok"]:
        return Check("database integrity", True, "PRAGMA integrity_check: ok")
    found = "; ".join(" ".join(r.replace("*** in database main ***", "").split()) for r in rows[:5])
    return Check("database integrity", False, str(health.corrupt(db_path, found, health.RESTORE)))


def check_migrations(conn: sqlite3.Connection) -> Check:
    try:
        pending = pending_migrations(conn)
    except MigrationError as exc:
        return Check("migrations", False, str(exc))
    if pending:
        names = ", ".join(m.path.name for m in pending)
        return Check("migrations", False, f"pending: {names} (run `pmbot migrate`)")
    return Check("migrations", True, "schema is up to date")


def check_auto_vacuum(conn: sqlite3.Connection) -> Check:
    """Incremental auto-vacuum on, so removals and resets give their space back."""
    if space.auto_vacuum_on(conn):
        return Check("auto-vacuum", True, "incremental: freed space goes back to the disk")
    return Check(
        "auto-vacuum",
        False,
        "auto-vacuum off: space freed by removals and resets stays in the file;"
        " run `pmbot compact` to enable (needs twice the database's size free)",
    )


def check_audit_chain(conn: sqlite3.Connection) -> Check:
    result = verify(conn)
    if result.ok:
        return Check("audit chain", True, f"{result.checked} events, hash chain intact")
    return Check(
        "audit chain",
        False,
        f"broken at event seq {result.first_bad_seq}: {result.reason} (see `pmbot audit verify`)",
    )


_NONE = (0,) * len(COUNT_KEYS)
# Read-only cross-check of two owners' tables (repo_counts: audit projections; the cache
# tables: cache/store.py), so the query lives with the check rather than with either.
_PROJECTED_COUNTS = f"SELECT repo_id, {', '.join(COUNT_KEYS)} FROM repo_counts"
_CACHED_COUNTS = """
    SELECT repo_id, state, count(*) FROM {table}
    WHERE gone IS NULL GROUP BY repo_id, state
"""
_PURGING = "SELECT repo_id FROM cache_purge"


def check_counts(conn: sqlite3.Connection) -> Check:
    """The projected counts equal a COUNT over the cached rows (gone items and repos
    whose cache is being deleted excluded)."""
    purging = {row[0] for row in conn.execute(_PURGING)}
    projected = {
        row[0]: tuple(row[1:]) for row in conn.execute(_PROJECTED_COUNTS) if row[0] not in purging
    }
    cached = {k: v for k, v in _cached_counts(conn).items() if k not in purging}
    wrong = [
        f"repo {repo_id}: projected {dict(zip(COUNT_KEYS, counts, strict=True))},"
        f" cached {dict(zip(COUNT_KEYS, cached.get(repo_id, _NONE), strict=True))}"
        for repo_id, counts in sorted(projected.items())
        if counts != cached.get(repo_id, _NONE)
    ]
    orphans = sorted(set(cached) - set(projected))
    if orphans:
        wrong.append(f"cached rows for unregistered repos {orphans}")
    if wrong:
        return Check("repo counts", False, "; ".join(wrong[:5]))
    return Check("repo counts", True, f"{len(projected)} repos, counts match the cache")


def _cached_counts(conn: sqlite3.Connection) -> dict[int, tuple[int, ...]]:
    totals: dict[int, dict[str, int]] = {}
    for table, kind in (("github_issues", "issues"), ("github_pull_requests", "prs")):
        for repo_id, state, count in conn.execute(_CACHED_COUNTS.format(table=table)):
            totals.setdefault(repo_id, {})[f"{kind}_{state}"] = count
    return {repo_id: tuple(c.get(k, 0) for k in COUNT_KEYS) for repo_id, c in totals.items()}


def check_artifact_files(conn: sqlite3.Connection, data_dir: Path) -> Check:
    """Every artifact and context-pack file the DB points at exists and matches its sha256."""
    uris = runs.stored_uris(conn)
    problems = store.verify_files(data_dir, uris)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        return Check("artifact files", False, "; ".join(problems[:5]) + more)
    return Check("artifact files", True, f"{len(set(uris))} files match their sha256")


def check_mirrors(conn: sqlite3.Connection, data_dir: Path, default_enabled: bool) -> Check:
    """Each enabled, cloned mirror is a bare repository git accepts; with its size."""
    enabled = [t for t in mirrors.targets(conn, default_enabled) if t.github_id is not None]
    problems, sizes = [], 0
    for target in enabled:
        path = mirrors.mirror_path(data_dir, target.github_id)
        if not path.exists():
            continue  # not cloned yet (the status says so); the worker clones it
        problem = mirrors.inspect(path)
        if problem:
            problems.append(f"{target.full_name}: {problem}")
        sizes += mirrors.size_on_disk(path)
    if problems:
        return Check("git mirrors", False, "; ".join(problems[:5]))
    if not enabled:
        return Check("git mirrors", True, "no mirror enabled")
    return Check(
        "git mirrors", True, f"{len(enabled)} enabled, bare and readable, {sizes / 1e6:.1f} MB"
    )


def database_checks(
    db_path: Path, data_dir: Path | None = None, mirrors_default: bool = False
) -> list[Check]:
    """Integrity, migrations, audit chain, counts and (given the data dir) artifact files
    and git mirrors, on a DB that must already exist."""
    if not Path(db_path).is_file():
        return [Check("database", False, f"{db_path} does not exist (run `pmbot migrate`)")]
    try:
        conn = connect(db_path)
    except sqlite3.Error as exc:
        if isinstance(health.classify(exc, db_path), health.DatabaseCorrupt):
            return [
                Check("database", False, str(health.corrupt(db_path, str(exc), health.RESTORE)))
            ]
        return [Check("database", False, f"{db_path} cannot be opened: {exc}")]
    checks: list[Check] = []
    try:
        checks.append(check_integrity(conn, db_path))
        checks.append(check_migrations(conn))
        if checks[-1].ok:
            checks += [check_audit_chain(conn), check_counts(conn), check_auto_vacuum(conn)]
            if data_dir is not None:
                checks.append(check_artifact_files(conn, data_dir))
                checks.append(check_mirrors(conn, data_dir, mirrors_default))
    except sqlite3.Error as exc:
        checks.append(Check("database", False, f"{db_path}: {exc}"))
    finally:
        conn.close()
    return checks


def github_client(settings: Settings) -> GitHubClient:
    """One attempt, no waiting: doctor reports a problem instead of sitting it out."""
    return GitHubClient.from_settings(
        settings, timeout=GITHUB_TIMEOUT_SECONDS, max_attempts=1, max_wait_seconds=0
    )


def github_checks(settings: Settings) -> list[Check]:
    """Token present, accepted by `GET /user` on GITHUB_API_BASE, and quota left."""
    base = settings.github_api_base
    if not settings.token_present:
        return [Check("GitHub token", False, "GITHUB_TOKEN is not set; put a token in .env")]
    client = github_client(settings)
    try:
        user = client.get_user()
    except RateLimited as exc:
        return [
            Check("GitHub token", False, f"not checked: {exc}"),
            Check("rate limit", False, str(exc)),
        ]
    except Unauthorized:
        detail = f"rejected by {base} (401): the token is mistyped, expired or revoked"
        return [Check("GitHub token", False, detail)]
    except GitHubError as exc:
        return [Check("GitHub token", False, f"not checked: {base} did not answer: {exc}")]
    login = user.get("login", "?") if isinstance(user, dict) else "?"
    accepted = Check("GitHub token", True, f"accepted by {base} as {login}")
    return [accepted, check_rate_limit(client.last_rate_limit)]


def check_rate_limit(rate: RateLimit | None) -> Check:
    if rate is None:
        return Check("rate limit", True, "GitHub sent no rate-limit headers (limits disabled)")
    detail = (
        f"{rate.remaining} of {rate.limit} requests left ({rate.resource}),"
        f" resets {to_rfc3339(rate.reset_at)}"
    )
    return Check("rate limit", rate.remaining > 0, detail)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    return [
        check_data_dir(settings.data_dir),
        *database_checks(settings.db_path, settings.data_dir, settings.mirrors),
        *github_checks(settings),
    ]
