"""Verify: walk the hash chain in seq order and name the first event that breaks it.

Each event's hash covers its seq and the previous hash, so an edited payload,
a deleted row or two swapped rows all break the chain at the first event
touched. Someone holding the file can still rewrite the chain whole (or cut
its end off), so `verify(head=(seq, hash))` also checks the log against a head
recorded outside the database (`pmbot audit head`, `GET /api/audit/head`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane.audit.events import GENESIS_HASH, event_hash


@dataclass(frozen=True)
class VerifyResult:
    """`checked` events verified; on failure, the first bad seq and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


class HeadFormatError(ValueError):
    """A `SEQ:HASH` head string that does not parse."""

    code = "invalid_head"


def format_head(head: tuple[int, str]) -> str:
    """`SEQ:HASH`, the form `pmbot audit head` prints and `--head` takes."""
    return f"{head[0]}:{head[1]}"


def parse_head(text: str) -> tuple[int, str]:
    seq, sep, digest = text.strip().partition(":")
    digest = digest.lower()
    if not sep or not seq.isdigit() or len(digest) != 64 or not _is_hex(digest):
        raise HeadFormatError(f"{text[:80]!r} is not SEQ:HASH (a number, ':', 64 hex digits)")
    return int(seq), digest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def verify(conn: sqlite3.Connection, head: tuple[int, str] | None = None) -> VerifyResult:
    """Check every event in seq order (streaming); with `head`, also the log's end."""
    rows = conn.cursor()
    rows.row_factory = None
    rows.execute(
        "SELECT seq, event_id, occurred_at, type, aggregate, aggregate_id, actor,"
        " payload_json, prev_hash, hash FROM audit_events ORDER BY seq"
    )
    checked, prev_hash, head_hash = 0, GENESIS_HASH, None
    for row in rows:
        problem = _check_row(row, expected_seq=checked + 1, prev_hash=prev_hash)
        if problem:
            return VerifyResult(False, checked, *problem)
        checked, prev_hash = checked + 1, row[9]
        if head is not None and row[0] == head[0]:
            head_hash = row[9]
    return _check_head(head, checked, head_hash)


def _check_row(
    row: tuple[Any, ...], *, expected_seq: int, prev_hash: str
) -> tuple[int, str] | None:
    """`(seq, reason)` if this row breaks the chain, else None."""
    seq, *fields, stored_prev, stored_hash = row
    if seq != expected_seq:
        return expected_seq, f"event {expected_seq} is missing (the next stored event is {seq})"
    if stored_prev != prev_hash:
        return seq, f"event {seq} does not link to event {seq - 1} (prev_hash differs)"
    names = ("event_id", "occurred_at", "type", "aggregate", "aggregate_id", "actor")
    values = dict(zip(names, fields[:6], strict=True))
    if event_hash(prev_hash, seq=seq, payload_json=fields[6], **values) != stored_hash:
        return seq, f"event {seq} was altered (its hash does not match its contents)"
    return None


def _check_head(head: tuple[int, str] | None, checked: int, head_hash: str | None) -> VerifyResult:
    if head is None:
        return VerifyResult(True, checked)
    seq, digest = head
    if seq > checked:
        reason = f"the log ends at event {checked}, before the anchored head {seq}: truncated"
        return VerifyResult(False, checked, checked + 1, reason)
    if (head_hash if seq else GENESIS_HASH) != digest:
        reason = f"event {seq} differs from the anchored head: the chain was rewritten"
        return VerifyResult(False, checked, seq, reason)
    return VerifyResult(True, checked)
