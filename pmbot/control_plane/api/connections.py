"""One SQLite connection per server thread, opened on first use.

Connections are never shared between threads (CPython's sqlite3 has open
bugs when they are). A connection lives as long as its thread: when a
waitress worker thread ends, its thread-local slot is dropped and the
connection closed. `close()` (called by `Bottle.close()`, since this is
installed as a plugin) closes the calling thread's connection. `get()` also
checks, at most once a second, that the DB file is still the one the server
opened (`health.FileIdentity`); every write transaction checks it at once.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from pathlib import Path

from pmbot.control_plane.db.connect import WatchedConnection, connect
from pmbot.control_plane.db.health import FileIdentity

# Reads dominate the API: memory-mapped I/O serves cached pages without a
# read() syscall each, which halves the time of a 50-row list on a large DB.
MMAP_BYTES = 1 << 30


class ThreadConnections:
    """A bottle plugin only for its `close()` hook; routes are left as they are."""

    name = "pmbot_connections"
    api = 2

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.identity = FileIdentity(db_path)
        self._local = threading.local()

    def connect(self) -> sqlite3.Connection:
        """A connection that re-checks the file's identity in every write transaction."""
        conn = connect(self.db_path, factory=WatchedConnection)
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        conn.before_write = functools.partial(self.identity.check, force=True)
        return conn

    def get(self) -> sqlite3.Connection:
        """This thread's connection; raises `health.DatabaseReplaced` if the file changed."""
        self.identity.check()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
        return conn

    def apply(self, callback, route):
        return callback

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()
