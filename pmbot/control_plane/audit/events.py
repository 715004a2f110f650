"""Audit events: what happened, and the hash that chains each event to the last.

`hash = sha256(prev_hash + canonical JSON of the event's fields)`, where the
fields include `seq`, so editing, deleting or reordering a stored event
breaks the chain at that event. The first event chains from GENESIS_HASH.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pmbot.shared.timeutil import now_rfc3339

GENESIS_HASH = "0" * 64

# Stable, past-tense event names. Run and approval events arrive in v8.
WORKSPACE_CREATED = "workspace.created"
REPO_ADDED = "repo.added"
REPO_REMOVED = "repo.removed"
REPO_RENAMED = "repo.renamed"
SYNC_REQUESTED = "sync.requested"
SYNC_PAGE_COMMITTED = "sync.page_committed"
SYNC_COMPLETED = "sync.completed"
SYNC_FAILED = "sync.failed"
SYNC_RECONCILED = "sync.reconciled"
CACHE_RESET = "cache.reset"
EVENT_TYPES = (
    WORKSPACE_CREATED,
    REPO_ADDED,
    REPO_REMOVED,
    REPO_RENAMED,
    SYNC_REQUESTED,
    SYNC_PAGE_COMMITTED,
    SYNC_COMPLETED,
    SYNC_FAILED,
    SYNC_RECONCILED,
    CACHE_RESET,
)
COUNT_KEYS = ("issues_open", "issues_closed", "prs_open", "prs_closed")


@dataclass(frozen=True)
class Event:
    """An event before it is stored: the caller says what happened to what."""

    type: str
    aggregate: str
    aggregate_id: str | int
    payload: dict[str, Any]
    actor: str = "system"
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=now_rfc3339)


@dataclass(frozen=True)
class StoredEvent:
    """An event as read back from `audit_events`."""

    seq: int
    event_id: str
    occurred_at: str
    type: str
    aggregate: str
    aggregate_id: str
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Any) -> StoredEvent:
        values = dict(row)
        values["payload"] = json.loads(values.pop("payload_json"))
        return cls(**values)

    @classmethod
    def from_tuple(cls, row: tuple[Any, ...]) -> StoredEvent:
        """From a plain row in `audit_events` column order (the fast replay path)."""
        seq, event_id, occurred_at, type_, aggregate, aggregate_id, actor, payload, *hashes = row
        return cls(
            seq, event_id, occurred_at, type_, aggregate, aggregate_id, actor,
            json.loads(payload), *hashes,
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "type": self.type,
            "aggregate": self.aggregate,
            "aggregate_id": self.aggregate_id,
            "actor": self.actor,
            "payload": self.payload,
            "hash": self.hash,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    event_id: str,
    occurred_at: str,
    type: str,
    aggregate: str,
    aggregate_id: str,
    actor: str,
    payload_json: str,
) -> str:
    """The chain hash of one event; `payload_json` is the stored canonical text."""
    fields = {
        "seq": seq,
        "event_id": event_id,
        "occurred_at": occurred_at,
        "type": type,
        "aggregate": aggregate,
        "aggregate_id": aggregate_id,
        "actor": actor,
        "payload": payload_json,
    }
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()
