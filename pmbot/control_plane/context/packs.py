"""Context packs: a deterministic JSON snapshot of a repo's cached open items.

Policy: a pack is built from the cache tables only (zero GitHub requests, so
it works while GitHub is down). Its content holds nothing time-dependent: the
same cache gives byte-identical JSON and so the same SHA-256 and the same file
in the artifact store. When it was taken lives in its `context_packs` row
(the `context_pack.taken` event), never inside the file.

The cache is read through `cache.browse.open_items` (the cache room owns its SQL).
When the repo has a git mirror (and the data dir is given), the pack gains a
`code` section pinned to a commit id: the default branch's head and its
README (`context.code`), so it stays the same for the same cache and commit.
Without a mirror the document has no `code` key at all.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.artifacts import store
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import ISSUES, PRS, browse
from pmbot.control_plane.context import code
from pmbot.control_plane.db import transaction
from pmbot.control_plane.registry import get_repo
from pmbot.shared.errors import ServiceError
from pmbot.shared.ids import time_ordered_id

SCHEMA = "pmbot.context_pack/1"
BODY_EXCERPT_CHARS = 500


class ContextPackError(ServiceError):
    code = "context_pack_error"


class PackNotFound(ContextPackError):
    code = "context_pack_not_found"
    status = 404


def build_content(
    conn: sqlite3.Connection, repo_id: int, data_dir: Path | None = None
) -> tuple[bytes, int, int]:
    """The pack's bytes and its (issues, prs) counts, from the cache (and the mirror, if any)."""
    repo = get_repo(conn, repo_id)
    items = _cached_open_items(conn, repo_id)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "repo_id": repo_id,
        "repo": repo.full_name,
        "items": items,
    }
    mirror = code.mirror_for(conn, data_dir, repo_id) if data_dir is not None else None
    section = code.code_section(mirror, f"repos/{mirror.name}") if mirror else None
    if section is not None:
        document["code"] = section
    content = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    issues = sum(1 for item in items if item["kind"] == "issue")
    return content.encode("utf-8"), issues, len(items) - issues


def _cached_open_items(conn: sqlite3.Connection, repo_id: int) -> list[dict[str, Any]]:
    """Open, not gone, issues then PRs, each by number."""
    return [
        _item(kind.search_kind, row)
        for kind in (ISSUES, PRS)
        for row in browse.open_items(conn, repo_id, kind)
    ]


def _item(kind: str, row: tuple) -> dict[str, Any]:
    number, title, labels_json, state, updated_at, extracted = tuple(row)
    assignees, body = json.loads(extracted)
    assignees = assignees if isinstance(assignees, list) else []
    return {
        "kind": kind,
        "number": number,
        "title": title,
        "labels": json.loads(labels_json),
        "assignees": [a.get("login") for a in assignees if isinstance(a, dict)],
        "state": state,
        "updated_at": updated_at,
        "body_excerpt": (body or "")[:BODY_EXCERPT_CHARS],
    }


def take_pack(
    conn: sqlite3.Connection, data_dir: Path, repo_id: int, *, actor: str = "operator"
) -> dict[str, Any]:
    """Snapshot the repo's cache into the artifact store and record the pack."""
    content, issues, prs = build_content(conn, repo_id, data_dir)
    stored = store.put(data_dir, content)
    taken = ev.ContextPackTaken(
        repo_id=repo_id,
        pack_id=time_ordered_id("pack"),
        sha256=stored.sha256,
        uri=stored.uri,
        size_bytes=stored.size_bytes,
        issues=issues,
        prs=prs,
        actor=actor,
    )
    with transaction(conn):
        get_repo(conn, repo_id)  # still registered, inside the write lock
        audit.record(conn, taken)
    return get_pack(conn, taken.pack_id)


def get_pack(conn: sqlite3.Connection, pack_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT pack_id, repo_id, sha256, issues, prs, taken_at, uri, size_bytes"
        " FROM context_packs WHERE pack_id = ?",
        (pack_id,),
    ).fetchone()
    if row is None:
        raise PackNotFound(f"no context pack with id {pack_id}")
    return dict(row)
