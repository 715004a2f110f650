"""The audit log: append-only, hash-chained events and the projections built from them."""

from pmbot.control_plane.audit import events
from pmbot.control_plane.audit.events import AuditEvent, StoredEvent
from pmbot.control_plane.audit.log import find_repo_id, head, iter_events, list_events, record

__all__ = [
    "AuditEvent",
    "StoredEvent",
    "events",
    "find_repo_id",
    "head",
    "iter_events",
    "list_events",
    "record",
]
