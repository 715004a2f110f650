"""The migration runner over the numbered SQL files in `migrations/`.

Policy: files are named `NNNN_what_changes.sql`, numbered from 0001 without
gaps, and never edited once applied anywhere (fix forward with a new file).
Each file runs in its own `BEGIN IMMEDIATE` transaction and is recorded in
`schema_migrations` with a SHA-256 checksum. A changed checksum, a gap, a
badly named file or a DB that knows a migration this code lacks stops the
process with a message naming the file. Taking the write lock before reading
what is applied makes two processes starting at once on an empty volume safe:
the second waits, then finds nothing left to do.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from pmbot.shared.resources import migrations_dir
from pmbot.shared.timeutil import now_rfc3339

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migration files or the DB's record of them cannot be trusted."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(folder: Path) -> list[Migration]:
    """Read and check the migration files: names, numbering from 0001, no gaps."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"migration file {path.name} does not match NNNN_name.sql; rename or remove it"
            )
        found.append(Migration(int(match[1]), match[2], path, path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration file {migration.path.name} breaks the sequence: "
                f"expected version {expected:04d}"
            )
    return found


def migrate(conn: sqlite3.Connection, folder: Path | None = None) -> list[Migration]:
    """Apply pending migrations in order; returns those applied by this call."""
    migrations = load_migrations(folder or migrations_dir())
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = []
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            pending = _pending(conn, migrations)
            if pending is None:
                conn.execute("COMMIT")
                break
            _apply(conn, pending)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(pending)
    _check_foreign_keys(conn)
    return applied


def _pending(conn: sqlite3.Connection, migrations: list[Migration]) -> Migration | None:
    """The first migration not yet applied, after checking what is applied."""
    known = {m.version: m for m in migrations}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    applied = set()
    for version, name, checksum in rows:
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:04d}_{name}.sql, which this pmbot "
                "does not know: it was written by a newer version"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration file {migration.path.name} was changed after it was applied "
                "(checksum mismatch); restore it and add a new migration instead"
            )
        applied.add(version)
    return next((m for m in migrations if m.version not in applied), None)


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    for statement in split_statements(migration.sql):
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            raise MigrationError(f"migration file {migration.path.name} failed: {exc}") from exc
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
        (migration.version, migration.name, migration.checksum, now_rfc3339()),
    )


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (triggers included).

    `executescript` would COMMIT the runner's transaction first, so statements
    run one by one inside it instead.
    """
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if _strip_comments(buffer).strip():
                statements.append(buffer.strip())
            buffer = ""
    if _strip_comments(buffer).strip():
        raise MigrationError(f"incomplete SQL statement at the end: {buffer.strip()[:80]!r}")
    return statements


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def pending_migrations(conn: sqlite3.Connection, folder: Path | None = None) -> list[Migration]:
    """Migrations not applied yet (for `pmbot doctor`), without applying anything."""
    migrations = load_migrations(folder or migrations_dir())
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    done = (
        set()
        if not exists
        else {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    )
    return [m for m in migrations if m.version not in done]


def _check_foreign_keys(conn: sqlite3.Connection) -> None:
    problem = conn.execute("PRAGMA foreign_key_check").fetchone()
    if problem:
        raise MigrationError(f"foreign key check failed after migrating: table {problem[0]}")
