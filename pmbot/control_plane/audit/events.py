"""Audit events: what happened, and the hash that chains each event to the last.

`hash = sha256(prev_hash + canonical JSON of the event's fields)`, where the
fields include `seq`, so editing, deleting or reordering a stored event
breaks the chain at that event. The first event chains from GENESIS_HASH.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from pmbot.shared.kind import COUNT_KEYS as COUNT_KEYS  # re-exported for the projections
from pmbot.shared.kind import Kind
from pmbot.shared.timeutil import now_rfc3339

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """An event before it is stored: one frozen dataclass per event type.

    The class says what kind of thing happened (`type`, a stable past-tense
    dotted name) to which aggregate (`aggregate`, identified by the field named
    in `id_field`); its own fields are the payload. Metadata (`actor`,
    `event_id`, `occurred_at`) is kept out of the payload.
    """

    type: ClassVar[str]
    aggregate: ClassVar[str] = "repo"
    id_field: ClassVar[str] = "repo_id"

    actor: str = "system"
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=now_rfc3339)

    @property
    def aggregate_id(self) -> str | int:
        return getattr(self, self.id_field)

    def payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _META}

    @classmethod
    def from_stored(cls, stored: StoredEvent) -> AuditEvent:
        """The typed event of a stored one (older events may lack newer, defaulted fields)."""
        event_class = EVENT_CLASSES[stored.type]
        values = dict(stored.payload)
        values.setdefault(event_class.id_field, _as_id(stored.aggregate_id))
        return event_class(
            **values, actor=stored.actor, event_id=stored.event_id, occurred_at=stored.occurred_at
        )


_META = frozenset({"actor", "event_id", "occurred_at"})
EVENT_CLASSES: dict[str, type[AuditEvent]] = {}


def event_type(cls: type[AuditEvent]) -> type[AuditEvent]:
    """Class decorator: register an event class under its `type` (names are unique)."""
    if cls.type in EVENT_CLASSES:
        raise ValueError(f"event type {cls.type!r} is defined twice")
    EVENT_CLASSES[cls.type] = cls
    return cls


def _as_id(value: str) -> str | int:
    return int(value) if value.isdigit() else value


@event_type
@dataclass(frozen=True, kw_only=True)
class WorkspaceCreated(AuditEvent):
    type = "workspace.created"
    aggregate = "workspace"
    id_field = "workspace_id"
    workspace_id: int
    name: str
    settings: dict[str, Any] = field(default_factory=dict)


@event_type
@dataclass(frozen=True, kw_only=True)
class RepoAdded(AuditEvent):
    type = "repo.added"
    repo_id: int
    workspace_id: int
    full_name: str
    default_branch: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class RepoRemoved(AuditEvent):
    type = "repo.removed"
    repo_id: int
    full_name: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RepoIdentified(AuditEvent):
    """GitHub's numeric id of the repo, learnt at its first sync: its identity from then on."""

    type = "repo.identified"
    repo_id: int
    github_id: int
    full_name: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RepoRenamed(AuditEvent):
    type = "repo.renamed"
    repo_id: int
    full_name: str
    old_full_name: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class RepoClosedWindowSet(AuditEvent):
    """The operator set how many days back the repo's closed items are cached (`old_days`:
    the repo's previous choice, None when it followed PMBOT_SYNC_CLOSED_DAYS)."""

    type = "repo.closed_window_set"
    repo_id: int
    days: int
    old_days: int | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncClosedWindowFilled(AuditEvent):
    """Every closed item updated since `since` (GitHub's time) is cached: an import's window,
    or a widened window's backfill, is complete."""

    type = "sync.closed_window_filled"
    repo_id: int
    since: str


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncRequested(AuditEvent):
    type = "sync.requested"
    repo_id: int
    reconcile: bool = False


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncPageCommitted(AuditEvent):
    """One committed page: where the stream's cursor moved and how the counts changed."""

    type = "sync.page_committed"
    repo_id: int
    stream: str
    cursor: str | None = None
    items: int = 0
    changed: int = 0
    delta: dict[str, int] = field(default_factory=dict)


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncCompleted(AuditEvent):
    type = "sync.completed"
    repo_id: int
    changed_items: int = 0
    pages: int = 0
    requests: int = 0
    issues_cursor: str | None = None
    prs_cursor: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncFailed(AuditEvent):
    type = "sync.failed"
    repo_id: int
    error_code: str
    message: str
    attempt: int = 1
    next_retry_at: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class SyncReconciled(AuditEvent):
    """Cached items GitHub no longer lists: `gone` names each, `delta` the count change."""

    type = "sync.reconciled"
    repo_id: int
    gone: list[dict[str, Any]] = field(default_factory=list)
    delta: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_marks(
        cls, repo_id: int, marks: list[tuple[Kind, int, str, str | None]], delta: dict[str, int]
    ) -> SyncReconciled:
        """From the sync's (kind, number, gone, moved_to) marks."""
        gone = [
            {"kind": kind.search_kind, "number": number, "gone": how, "moved_to": moved_to}
            for kind, number, how, moved_to in marks
        ]
        return cls(repo_id=repo_id, gone=gone, delta=delta)


@event_type
@dataclass(frozen=True, kw_only=True)
class CacheReset(AuditEvent):
    type = "cache.reset"
    aggregate = "workspace"
    id_field = "workspace_id"
    workspace_id: int
    repo_ids: list[int]


# -- runs (issue 12): one aggregate per run, keyed by run_id -------------------------------


@dataclass(frozen=True, kw_only=True)
class RunEvent(AuditEvent):
    """Base of the run events: aggregate `run`, identified by `run_id`."""

    aggregate = "run"
    id_field = "run_id"
    run_id: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RunPlanned(RunEvent):
    """A plan (a run in `draft`): its normalised AgentRunSpec v2 and context pack."""

    type = "run.planned"
    repo_id: int
    spec: dict[str, Any]
    context_pack_id: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class RunEdited(RunEvent):
    type = "run.edited"
    spec: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class RunApproved(RunEvent):
    type = "run.approved"


@event_type
@dataclass(frozen=True, kw_only=True)
class RunRejected(RunEvent):
    type = "run.rejected"
    reason: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RunCancelled(RunEvent):
    type = "run.cancelled"
    reason: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class RunStarted(RunEvent):
    type = "run.started"
    thread_id: str


@event_type
@dataclass(frozen=True, kw_only=True)
class RunInterrupted(RunEvent):
    """The executor raised a RunInterrupt v1 (pending); the run waits."""

    type = "run.interrupted"
    interrupt: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class InterruptDecided(RunEvent):
    """The operator's answer: `status` approved | rejected | edited, and the decision."""

    type = "interrupt.decided"
    interrupt_id: str
    status: str
    decision: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class ArtifactStored(RunEvent):
    """A RunArtifact v1 document; its bytes are already in the content-addressed store."""

    type = "artifact.stored"
    artifact: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class RunFinished(RunEvent):
    type = "run.finished"
    outcome: str
    reason: str | None = None


@event_type
@dataclass(frozen=True, kw_only=True)
class ContextPackTaken(AuditEvent):
    """A snapshot of a repo's cached open items, stored as a content-addressed file."""

    type = "context_pack.taken"
    repo_id: int
    pack_id: str
    sha256: str
    uri: str
    size_bytes: int
    issues: int
    prs: int


@event_type
@dataclass(frozen=True, kw_only=True)
class MirrorEnabled(AuditEvent):
    """The operator turned the repo's git mirror on (overrides PMBOT_MIRRORS)."""

    type = "mirror.enabled"
    repo_id: int


@event_type
@dataclass(frozen=True, kw_only=True)
class MirrorDisabled(AuditEvent):
    """The operator turned the repo's git mirror off; the mirror stays until the repo goes."""

    type = "mirror.disabled"
    repo_id: int


@event_type
@dataclass(frozen=True, kw_only=True)
class MirrorCloned(AuditEvent):
    """A bare mirror was cloned into `data/repos/<github_id>.git` with `refs` refs."""

    type = "mirror.cloned"
    repo_id: int
    github_id: int
    refs: int


@event_type
@dataclass(frozen=True, kw_only=True)
class MirrorFetched(AuditEvent):
    """A fetch changed `refs_changed` refs (0 only when it clears a previous failure)."""

    type = "mirror.fetched"
    repo_id: int
    github_id: int
    refs_changed: int


@event_type
@dataclass(frozen=True, kw_only=True)
class MirrorFailed(AuditEvent):
    """A clone or fetch failed; recorded when the mirror's error changes."""

    type = "mirror.failed"
    repo_id: int
    error_code: str
    message: str
    attempt: int = 1


@event_type
@dataclass(frozen=True, kw_only=True)
class WorkViewSaved(AuditEvent):
    """The operator saved a Work view filter under a name (`filter`: its query parameters)."""

    type = "work_view.saved"
    aggregate = "work_view"
    id_field = "view_id"
    view_id: str
    name: str
    filter: dict[str, Any]


@event_type
@dataclass(frozen=True, kw_only=True)
class WorkViewDeleted(AuditEvent):
    """The operator deleted a saved Work view."""

    type = "work_view.deleted"
    aggregate = "work_view"
    id_field = "view_id"
    view_id: str
    name: str


EVENT_TYPES = tuple(EVENT_CLASSES)


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
