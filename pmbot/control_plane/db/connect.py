"""Connections and transactions.

Policy: one connection per thread (never shared), WAL journal, a busy
timeout, foreign keys on, and `BEGIN IMMEDIATE` for every write transaction
so a read that later writes never fails at once with SQLITE_BUSY. Connections
are in autocommit mode; `transaction()` is the only way to group writes.
A new file gets incremental auto-vacuum and every connection caps the WAL a
checkpoint leaves and how often it checkpoints (`db/space.py` says why).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pmbot.control_plane.db import space

BUSY_TIMEOUT_MS = 10_000


class WatchedConnection(sqlite3.Connection):
    """A connection whose owner checks something before every write transaction.

    `before_write` (set by the owner, e.g. the API's file-identity check) runs
    right after `BEGIN IMMEDIATE` in `transaction()`; raising rolls back.
    """

    before_write: Callable[[], None] | None = None


def connect(
    path: Path | str, *, factory: type[sqlite3.Connection] = sqlite3.Connection
) -> sqlite3.Connection:
    """Open a connection with pmbot's pragmas. The caller closes it."""
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, factory=factory
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        # Only an empty file can take auto-vacuum without a VACUUM, and only before
        # the WAL switch writes its first page.
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            conn.execute(f"PRAGMA auto_vacuum = {space.INCREMENTAL}")
        _use_wal(conn)
    conn.execute(f"PRAGMA journal_size_limit = {space.WAL_LIMIT_BYTES}")
    conn.execute(f"PRAGMA wal_autocheckpoint = {space.WAL_CHECKPOINT_PAGES}")
    # NORMAL is durable across application crashes in WAL mode; only an OS
    # crash or power loss can lose the last transactions (never corrupt).
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (persistent, so usually already done).

    The switch needs an exclusive lock and SQLite answers "database is locked"
    at once, without the busy handler, when another process holds a lock, as
    when api and worker start together on an empty volume: retry briefly.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`, or a savepoint when already inside one.

    Any exception rolls the whole block back and propagates.
    """
    if conn.in_transaction:
        name = f"sp_{id(conn)}_{_next_savepoint()}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        before_write = getattr(conn, "before_write", None)
        if before_write is not None:
            before_write()
        yield conn
        # Inside the try: a COMMIT refused (e.g. a deferred foreign key) rolls back too.
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


_savepoints = iter(range(1, 1 << 62))


def _next_savepoint() -> int:
    return next(_savepoints)


def open_checked(db_path: Path) -> sqlite3.Connection:
    """Connect to the product DB, creating its folder, and `quick_check` it.

    A corrupt or unreadable file raises `health.StorageError` (one line, no traceback).
    """
    from pmbot.control_plane.db import health

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    with health.storage_errors(db_path):
        conn = connect(db_path)
    try:
        health.check_at_start(conn, db_path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_database(db_path: Path) -> sqlite3.Connection:
    """`open_checked`, then apply pending migrations, and give back the pages they freed
    (a migration that rebuilds a table, as 0016 does the search index, frees the old one)."""
    from pmbot.control_plane.db import health
    from pmbot.control_plane.db.migrate import migrate

    conn = open_checked(db_path)
    try:
        with health.storage_errors(db_path):
            if migrate(conn):
                space.give_back(conn)
    except BaseException:
        conn.close()
        raise
    return conn
