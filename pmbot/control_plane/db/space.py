"""The database file's size on disk: the WAL kept short, freed pages given back.

Policy: every connection caps the WAL a checkpoint leaves behind
(`journal_size_limit`, set in `connect()`) and checkpoints it every
`WAL_CHECKPOINT_PAGES` pages, and work that writes a lot (a
sync, a removal, a reset) ends with `checkpoint()`: a truncating checkpoint
that never waits for readers (a busy one falls back to a passive checkpoint
and never fails the operation). New databases are created with incremental
auto-vacuum, so `give_back()` can return the pages a removal freed, a few
thousand at a time; a database made before that converts once with
`compact()` (a full `VACUUM`, refused without the free space it needs).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# What a checkpoint leaves of the WAL at most (SQLite truncates it to this size).
WAL_LIMIT_BYTES = 64 * 1024 * 1024
# Commits between automatic checkpoints, in WAL pages (SQLite's default is 1000, 4 MiB):
# each checkpoint syncs the database file, and a page that several commits touched (an
# index's last leaf) is copied once per checkpoint, so an import spends ~10 % less time
# with 32 MiB. It stays under WAL_LIMIT_BYTES, what the WAL may keep at rest.
WAL_CHECKPOINT_PAGES = 8192
# Pages `give_back` frees per step: each step is a write transaction of its own.
VACUUM_STEP_PAGES = 2048
INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL


class SpaceError(RuntimeError):
    """A compaction cannot run safely; the message says why and what to do."""


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Checkpoint the WAL and truncate it to zero bytes; True if that happened.

    TRUNCATE waits (busy handler) for readers on an older snapshot, so it runs
    with no busy timeout; when readers or a writer hold it, a PASSIVE checkpoint
    copies what it can and the WAL is reused from its start (and cut to
    `WAL_LIMIT_BYTES`) once they move on. It never raises: the work it follows is
    committed either way. Not inside a transaction.
    """
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    try:
        conn.execute("PRAGMA busy_timeout = 0")
        if not conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
            return True
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.OperationalError:
        pass
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return False


def auto_vacuum_on(conn: sqlite3.Connection) -> bool:
    return conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL


def give_back(conn: sqlite3.Connection, step_pages: int = VACUUM_STEP_PAGES) -> int:
    """Return free pages to the file system in bounded steps (incremental auto-vacuum
    only; otherwise SQLite keeps them for reuse); returns the pages freed.

    Each step is its own short write transaction followed by a checkpoint, so the
    WAL holds one step at most. Not inside a transaction (a script would commit it).
    """
    if conn.in_transaction or not auto_vacuum_on(conn):
        return 0
    freed = 0
    while (free := conn.execute("PRAGMA freelist_count").fetchone()[0]) > 0:
        # `execute` steps this pragma once, which frees one page; a script runs it whole.
        conn.executescript(f"PRAGMA incremental_vacuum({min(free, step_pages)})")
        freed += free - conn.execute("PRAGMA freelist_count").fetchone()[0]
        checkpoint(conn)
    return freed


@dataclass(frozen=True)
class Compaction:
    before_bytes: int
    after_bytes: int


def compact(
    conn: sqlite3.Connection,
    db_path: Path,
    free_bytes: Callable[[Path], int] = lambda path: shutil.disk_usage(path).free,
) -> Compaction:
    """Turn incremental auto-vacuum on and rewrite the file without its free pages.

    `VACUUM` writes a full copy of the database (a temporary file, then the WAL)
    before the old pages go: it needs up to twice the file's size free on the
    data dir's file system, so it is refused below that. Other processes may
    keep running: their writes wait for it (busy timeout) or fail with "busy".
    """
    db_path = Path(db_path)
    before = _file_bytes(db_path)
    needed, free = 2 * before, free_bytes(db_path.parent)
    if free < needed:
        raise SpaceError(
            f"compacting {db_path} needs up to {_mib(needed)} free (twice the database)"
            f" and {db_path.parent} has {_mib(free)}: free some space and run it again"
        )
    conn.execute(f"PRAGMA auto_vacuum = {INCREMENTAL}")
    conn.execute("VACUUM")
    checkpoint(conn)
    return Compaction(before, _file_bytes(db_path))


def _file_bytes(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"
