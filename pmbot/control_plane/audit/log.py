"""The append-only event log: the one way pmbot changes registry and sync state.

`record()` appends an event and applies it to every projection inside the
caller's transaction (or its own), so the log and the views it explains can
never disagree. Nothing else writes the projected tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from pmbot.control_plane.audit import projections
from pmbot.control_plane.audit.events import (
    EVENT_CLASSES,
    GENESIS_HASH,
    AuditEvent,
    RepoAdded,
    RepoRenamed,
    StoredEvent,
    canonical_json,
    event_hash,
)
from pmbot.control_plane.db import transaction
from pmbot.shared.logs import redact

_COLUMNS = (
    "seq, event_id, occurred_at, type, aggregate, aggregate_id, actor, payload_json,"
    " prev_hash, hash"
)
_SECRET_KEYS = ("authorization", "token", "github_token", "proxy-authorization")


def record(conn: sqlite3.Connection, event: AuditEvent) -> StoredEvent:
    """Append `event` to the chain and apply it to the projections, atomically."""
    if EVENT_CLASSES.get(event.type) is not type(event):
        raise ValueError(f"unknown audit event type {event.type!r}")
    payload_json = canonical_json(_redacted(event.payload()))
    # Projections read the payload as stored, exactly as a rebuild will.
    payload = json.loads(payload_json)
    with transaction(conn):
        last = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        prev_seq, prev_hash = last.fetchone() or (0, GENESIS_HASH)
        fields = {
            "seq": prev_seq + 1,
            "event_id": event.event_id,
            "occurred_at": event.occurred_at,
            "type": event.type,
            "aggregate": event.aggregate,
            "aggregate_id": str(event.aggregate_id),
            "actor": event.actor,
            "payload_json": payload_json,
        }
        digest = event_hash(prev_hash, **fields)
        conn.execute(
            f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields.values(), prev_hash, digest),
        )
        stored = StoredEvent(
            **{k: v for k, v in fields.items() if k != "payload_json"},
            payload=payload,
            prev_hash=prev_hash,
            hash=digest,
        )
        projections.apply(conn, AuditEvent.from_stored(stored))
    return stored


def _redacted(value: Any, key: str = "") -> Any:
    """The payload with token-shaped strings and `Authorization` values masked.

    Defence in depth: nothing shaped like a token or auth header is stored.
    Redacting value by value (not the JSON text) keeps the JSON valid.
    """
    if key.lower() in _SECRET_KEYS and value is not None:
        return "***"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """`(seq, hash)` of the newest event, `(0, GENESIS_HASH)` for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def iter_events(conn: sqlite3.Connection, after_seq: int = 0) -> Iterator[StoredEvent]:
    """Every event after `after_seq`, oldest first (streams; memory stays flat)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq", (after_seq,)
    )
    for row in rows:
        yield StoredEvent.from_row(row)


def list_events(
    conn: sqlite3.Connection,
    *,
    limit: int,
    before_seq: int | None = None,
    after_seq: int | None = None,
    aggregate_id: str | None = None,
    aggregate: str | None = None,
    type: str | None = None,
) -> list[StoredEvent]:
    """A page of events: newest first below `before_seq`, or oldest first above `after_seq`."""
    where, params = [], []
    if before_seq is not None:
        where.append("seq < ?")
        params.append(before_seq)
    if after_seq is not None:
        where.append("seq > ?")
        params.append(after_seq)
    if aggregate_id is not None:
        where.append("aggregate = ? AND aggregate_id = ?")
        params += [aggregate or "repo", str(aggregate_id)]
    if type is not None:
        where.append("type = ?")
        params.append(type)
    order = "ASC" if after_seq is not None else "DESC"
    sql = (
        f"SELECT {_COLUMNS} FROM audit_events"
        f" {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY seq {order} LIMIT ?"
    )
    return [StoredEvent.from_row(r) for r in conn.execute(sql, (*params, limit))]


def find_repo_id(conn: sqlite3.Connection, full_name: str) -> int | None:
    """The id of the repo last added or renamed as `full_name`, removed or not."""
    row = conn.execute(
        "SELECT aggregate_id FROM audit_events WHERE type IN (?, ?)"
        " AND json_extract(payload_json, '$.full_name') = ? COLLATE NOCASE"
        " ORDER BY seq DESC LIMIT 1",
        (RepoAdded.type, RepoRenamed.type, full_name),
    ).fetchone()
    return int(row[0]) if row else None
