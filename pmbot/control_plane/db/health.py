"""What is wrong with the database file, in words an operator can act on.

Policy: a storage failure is never a traceback. At start, `check_at_start`
runs `PRAGMA quick_check` (cheap: no index cross-checks; `pmbot doctor`
runs the full `integrity_check`) and a corrupt file stops the command with
one line naming the file and what to do. While serving, `classify` turns
SQLite's error codes into a `StorageError` the API answers with a 503, and
`FileIdentity` notices the file being deleted or replaced under a running
process (SQLite keeps reading the old, unlinked inode and never says so).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("pmbot.db")
# Seconds between two stats of the DB file on the read path; writes always stat.
IDENTITY_CHECK_SECONDS = 1.0
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_UNWRITABLE = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_PERM")
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
RESTORE = "restore a backup (`pmbot backup` makes one)"
_WHAT_TO_DO = f"run `pmbot doctor`, then {RESTORE}"


class StorageError(RuntimeError):
    """The database cannot be used as it is; `code` is stable, the message says what to do."""

    code = "storage_unavailable"


class DatabaseCorrupt(StorageError):
    code = "database_corrupt"


class StorageUnwritable(StorageError):
    code = "data_dir_not_writable"


class DatabaseBusy(StorageError):
    code = "database_busy"


class DatabaseReplaced(StorageError):
    code = "database_file_changed"


def corrupt(db_path: Path | str, reason: str, advice: str = _WHAT_TO_DO) -> DatabaseCorrupt:
    return DatabaseCorrupt(f"database {db_path} is corrupt ({reason}); {advice}")


@contextlib.contextmanager
def storage_errors(db_path: Path | str) -> Iterator[None]:
    """Re-raise SQLite's corrupt, unwritable and busy errors as `StorageError`s."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise classify(exc, db_path) or exc from None


def check_at_start(conn: sqlite3.Connection, db_path: Path | str) -> None:
    """`PRAGMA quick_check`: raise `DatabaseCorrupt` naming the first problem found."""
    with storage_errors(db_path):
        rows = [row[0] for row in conn.execute("PRAGMA quick_check(1)")]
    if rows != ["ok"]:
        first = " ".join(rows[0].replace("*** in database main ***", "").split())
        raise corrupt(db_path, f"database disk image is malformed: {first}")


def classify(exc: sqlite3.Error, db_path: Path | str) -> StorageError | None:
    """The operator-facing error for SQLite's error code; None for a bug (a 500)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _CORRUPT:
        return corrupt(db_path, str(exc))
    data_dir = Path(db_path).parent
    if name.startswith(_UNWRITABLE):
        return StorageUnwritable(
            f"the data dir {data_dir} is not writable ({exc}); check its permissions,"
            " free space and disk, then retry"
        )
    if name.startswith(_BUSY):
        return DatabaseBusy(f"the database {db_path} is busy ({exc}); retry shortly")
    return None


class FileIdentity:
    """The (device, inode) of the DB file when the process opened it, re-checked by stat."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self._expected = _identity(self.db_path)
        self._checked_at = time.monotonic()
        self._problem: str | None = None
        self._lock = threading.Lock()

    def check(self, *, force: bool = False) -> None:
        """Raise `DatabaseReplaced` if the file vanished or is another file now.

        Without `force`, stats at most every IDENTITY_CHECK_SECONDS. Once
        changed, it stays failed: the process holds the old file open.
        """
        now = time.monotonic()
        if self._problem is None and (force or now - self._checked_at >= IDENTITY_CHECK_SECONDS):
            with self._lock:
                self._checked_at = now
                self._problem = self._problem or self._compare()
        if self._problem is not None:
            raise DatabaseReplaced(self._problem)

    def _compare(self) -> str | None:
        """None while the file is the one first seen; the reason, logged once, after."""
        current = _identity(self.db_path)
        if self._expected is None:
            self._expected = current
        if current == self._expected:
            return None
        what = "was deleted" if current is None else "was replaced by another file"
        problem = (
            f"the database file {self.db_path} {what} while pmbot was running;"
            " writes are refused so nothing is lost: restore the file, then restart pmbot"
        )
        log.error("%s", problem)
        return problem


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino
