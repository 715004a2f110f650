"""Online backups of the product DB with SQLite's backup API.

Copying the live file (or its -wal sidecar) can capture a torn state while a
writer commits; `Connection.backup` copies a consistent snapshot page by page
while the api and worker keep running. The copy is written next to the target
and renamed into place, so a failed backup never leaves a half-written file
under the requested name, and it is switched to rollback-journal mode so the
backup is one self-contained file.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pmbot.control_plane.audit.log import head
from pmbot.control_plane.db import connect


class BackupError(RuntimeError):
    """The backup cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    head_seq: int
    head_hash: str


def backup_database(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the DB at `source` to `target`; refuses to overwrite unless `force`."""
    source, target = Path(source), Path(target)
    _check_paths(source, target, force)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        _copy(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    try:
        seq, digest = head(conn)
    finally:
        conn.close()
    return BackupResult(target, target.stat().st_size, seq, digest)


def _check_paths(source: Path, target: Path, force: bool) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source}; nothing to back up")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"{target} is the live database; choose another path")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give a file path for the copy")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")


def _copy(source: Path, target: Path) -> None:
    live = connect(source)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
        live.close()
