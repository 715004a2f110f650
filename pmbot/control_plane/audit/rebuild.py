"""Rebuild: replay the whole log into fresh projection tables, then compare or swap.

Policy: the replay runs on a private, fully migrated in-memory database with
the very same `projections.apply` that live writes use, so any difference
means the live tables drifted from the log (or a projection changed).
`check()` only reports. `rebuild()` takes the write lock, replays whatever
was appended meanwhile, and replaces the live rows in that one transaction,
so no reader ever sees a half-built view. Repo ids follow AUTOINCREMENT
semantics, so the `sqlite_sequence` row of `repos` is projected state too.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane.audit import projections
from pmbot.control_plane.audit.events import AuditEvent, StoredEvent
from pmbot.control_plane.db import connect, migrate, transaction

# Compared and swapped, parents first; deletes run in the reverse order.
_TABLES = tuple(reversed(projections.PROJECTED_TABLES))
_SEQUENCE = "sqlite_sequence"
_SEQUENCE_NAME = "repos"
_EVENT_COLUMNS = (
    "seq, event_id, occurred_at, type, aggregate, aggregate_id, actor, payload_json,"
    " prev_hash, hash"
)


class RebuildError(Exception):
    """An event in the log cannot be replayed by the current projections."""

    code = "rebuild_failed"


@dataclass(frozen=True)
class Difference:
    """One row that differs: present in only one side, or with other values."""

    table: str
    key: tuple[Any, ...]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        where = f"{self.table} {', '.join(map(str, self.key))}"
        if self.rebuilt is None:
            return f"{where}: in the live table only"
        if self.live is None:
            return f"{where}: missing from the live table"
        changed = [
            f"{column} live={self.live[column]!r} rebuilt={value!r}"
            for column, value in self.rebuilt.items()
            if self.live.get(column) != value
        ]
        return f"{where}: " + "; ".join(changed)


@dataclass(frozen=True)
class RebuildResult:
    """`events` replayed; `differences` found before any swap; `swapped` if applied."""

    events: int
    differences: list[Difference]
    swapped: bool


def check(conn: sqlite3.Connection) -> RebuildResult:
    """Replay the log and compare with the live projections; changes nothing."""
    scratch = _scratch_database()
    try:
        with _read_snapshot(conn):
            count, _ = replay(conn, scratch)
            return RebuildResult(count, compare(conn, scratch), swapped=False)
    finally:
        scratch.close()


@contextlib.contextmanager
def _read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so the log and the tables are read at the same moment.

    A deferred BEGIN takes no write lock: workers keep appending meanwhile.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def rebuild(conn: sqlite3.Connection) -> RebuildResult:
    """Replay the log and swap the rebuilt projections in, atomically."""
    scratch = _scratch_database()
    try:
        count, last_seq = replay(conn, scratch)
        with transaction(conn):
            # The write lock is ours: catch up on events appended since the replay.
            more, _ = replay(conn, scratch, after_seq=last_seq)
            differences = compare(conn, scratch)
            # Cache rows reference repos; they are checked at COMMIT, not per delete.
            conn.execute("PRAGMA defer_foreign_keys = ON")
            _swap(conn, scratch)
            _refuse_orphans(conn)
        return RebuildResult(count + more, differences, swapped=True)
    finally:
        scratch.close()


def _scratch_database() -> sqlite3.Connection:
    scratch = connect(":memory:")
    migrate(scratch)
    return scratch


def replay(
    source: sqlite3.Connection, target: sqlite3.Connection, after_seq: int = 0
) -> tuple[int, int]:
    """Apply every event after `after_seq` to `target`, in one transaction.

    Returns `(events replayed, last seq)`. Reads stream, so memory stays flat.
    """
    rows = source.cursor()
    rows.row_factory = None  # plain tuples: the loop runs a million times
    rows.execute(
        f"SELECT {_EVENT_COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq", (after_seq,)
    )
    count, last_seq = 0, after_seq
    with transaction(target):
        for row in rows:
            _apply_row(target, row)
            count, last_seq = count + 1, row[0]
    return count, last_seq


def _apply_row(target: sqlite3.Connection, row: tuple[Any, ...]) -> None:
    if not projections.applies_to(row[3]):
        return
    event = StoredEvent.from_tuple(row)
    try:
        projections.apply(target, AuditEvent.from_stored(event))
    except (sqlite3.Error, KeyError, TypeError, ValueError) as exc:
        raise RebuildError(f"event {event.seq} ({event.type}) cannot be replayed: {exc}") from exc


def compare(live: sqlite3.Connection, rebuilt: sqlite3.Connection) -> list[Difference]:
    """Every row that differs between the two sets of projected tables."""
    differences = []
    for table in (*_TABLES, _SEQUENCE):
        mine, theirs = _rows(live, table), _rows(rebuilt, table)
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key) != theirs.get(key):
                differences.append(Difference(table, key, mine.get(key), theirs.get(key)))
    return differences


def _rows(conn: sqlite3.Connection, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A projected table's rows by primary key (only the `repos` row of sqlite_sequence)."""
    if table == _SEQUENCE:
        found = conn.execute(
            "SELECT name, seq FROM sqlite_sequence WHERE name = ?", (_SEQUENCE_NAME,)
        )
        return {(name,): {"name": name, "seq": seq} for name, seq in found}
    rows = conn.cursor()
    rows.row_factory = sqlite3.Row
    keys = [c["name"] for c in rows.execute(f"PRAGMA table_info({table})").fetchall() if c["pk"]]
    return {tuple(r[k] for k in keys): dict(r) for r in rows.execute(f"SELECT * FROM {table}")}


def _refuse_orphans(conn: sqlite3.Connection) -> None:
    """Fail (and roll back) before COMMIT would, naming the rows left without a repo."""
    orphan = conn.execute("PRAGMA foreign_key_check").fetchone()
    if orphan is not None:
        table, rowid, parent, _ = tuple(orphan)
        raise RebuildError(
            f"the log has no {parent} row for a row of {table} (rowid {rowid}): the cache"
            " references a repo the log never added; nothing was swapped"
        )


def _swap(conn: sqlite3.Connection, scratch: sqlite3.Connection) -> None:
    """Replace the live projected rows with the rebuilt ones (caller's transaction)."""
    for table in reversed(_TABLES):
        conn.execute(f"DELETE FROM {table}")
    for table in _TABLES:
        rows = scratch.execute(f"SELECT * FROM {table}")
        columns = ", ".join(d[0] for d in rows.description)
        marks = ", ".join("?" * len(rows.description))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    # Inserting repos raised the live sequence; set it to exactly what the log implies.
    conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (_SEQUENCE_NAME,))
    sequence = _rows(scratch, _SEQUENCE).get((_SEQUENCE_NAME,))
    if sequence is not None:
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
            (_SEQUENCE_NAME, sequence["seq"]),
        )
