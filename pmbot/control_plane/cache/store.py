"""The local cache of GitHub issues and pull requests: the write side.

Owns `github_issues`, `github_pull_requests`, the `cache_search` full-text
index and its per-repo `cache_search_repos` slots, the `http_cache`
validators, the `sync_resume` rows, each repo's `cache_generation` (bumped by
a reset: a sync that started before it must not write after it, see
`sync/run.py`), the `cache_purge` queue, the `cache_sizes` counters, and the upkeep of
the Work view's side rows (`item_labels`, `item_assignees`, `item_versions`) on every
insert and update of an item (deletes: triggers, migration 0015). Cached payloads
are data, not events: callers record the audit event that says a page was
committed, in the same transaction as these writes.

Policies:
- Upserts are idempotent and write only rows that changed: a row changed when
  any list column, its body or its `gone` mark differs from what is stored.
  Each write returns the count delta it caused, from the previous
  (kind, state, gone) of every row, so `repo_counts` stays exact. Counts cover
  rows that are not `gone`.
- `cache_search` has one row per item at a deterministic rowid,
  `group << 59 | slot << 31 | number` (migration 0018), so an item's search row
  is found without a scan. Its `group` (`search_group`) says the item's kind,
  state and whether it is gone, so a text filter on those is a rowid range of
  the index (or two), whose hits are exactly the items asked: FTS5 seeks to the
  range and reads no other part of a word's doclist. Within a group, a repo's
  rows are one range. The slot is a small number given to each repo on its
  first cached item (`cache_search_repos`), not the repo id: any repo id SQLite
  holds works, and rowids stay below 2**62 for 2**28 repos and GitHub's 32-bit
  issue numbers. Every write that changes an item's group moves its row (an
  upsert replaces it, `mark_gone` moves it). A search row never outlives its
  item: `purge` deletes a repo's search rows before its items.
- A PR's /pulls details (draft, merged_at, head/base ref, the /pulls payload)
  are fresh when `details_updated_at >= updated_at`; an issues-stream update
  makes them stale until the next /pulls pass.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pmbot.control_plane.db import space, transaction
from pmbot.shared.kind import ISSUES, PRS, Kind
from pmbot.shared.timeutil import now_rfc3339

MAX_NUMBER = (1 << 31) - 1  # GitHub's issue numbers are 32-bit signed integers
SLOT_SHIFT = 31
GROUP_SHIFT = 59
MAX_SLOT = (1 << (GROUP_SHIFT - SLOT_SHIFT)) - 1
LIVE_GROUPS = (0, 1, 2, 3)  # not gone: open issues, open PRs, closed issues, closed PRs
ALL_GROUPS = (*LIVE_GROUPS, 4, 5, 6, 7)  # and gone ones
_COLUMNS = (
    "state, title, user_login, labels_json, assignees_json, comments, created_at, updated_at,"
    " closed_at, html_url"
)
_COLUMN_COUNT = len(_COLUMNS.split(", "))


@dataclass
class PageWrite:
    """What one page did to the cache: rows written and the count delta."""

    changed: int = 0
    prs_changed: int = 0
    delta: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, amount: int) -> None:
        self.delta[key] = self.delta.get(key, 0) + amount


def search_group(kind: Kind, state: str, gone: str | None) -> int:
    """The group of an item's search row: `gone << 2 | closed << 1 | is_pr`. Items of one
    state are two neighbouring groups (both kinds), and live ones the first four."""
    return (4 if gone else 0) | (2 if state == "closed" else 0) | (kind is PRS)


def search_groups(
    kinds: Iterable[Kind], states: Iterable[str], include_gone: bool = False
) -> list[int]:
    gone = (None, "gone") if include_gone else (None,)
    return sorted({search_group(k, s, g) for k in kinds for s in states for g in gone})


def search_rowid(slot: int, group: int, number: int) -> int:
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"item number {number} is outside GitHub's range")
    if not 0 < slot <= MAX_SLOT:
        raise ValueError(f"search slot {slot} is outside the rowid layout")
    return (group << GROUP_SHIFT) | (slot << SLOT_SHIFT) | number


def search_ranges(groups: Iterable[int], slot: int | None = None) -> list[tuple[int, int]]:
    """The rowid ranges holding these groups' search rows (of one repo's slot, or all):
    neighbouring groups of all repos are one range."""
    if slot is not None:
        return [
            (search_rowid(slot, g, 0), search_rowid(slot, g, 0) + (1 << SLOT_SHIFT) - 1)
            for g in sorted(set(groups))
        ]
    ranges: list[tuple[int, int]] = []
    for g in sorted(set(groups)):
        lo, hi = g << GROUP_SHIFT, ((g + 1) << GROUP_SHIFT) - 1
        if ranges and ranges[-1][1] + 1 == lo:
            lo = ranges.pop()[0]
        ranges.append((lo, hi))
    return ranges


def repo_search_ranges(
    conn: sqlite3.Connection, repo_id: int, groups: Iterable[int]
) -> list[tuple[int, int]]:
    """The rowid ranges of one repo's search rows in these groups (none if it has no rows)."""
    slot = _known_slot(conn, repo_id)
    return [] if slot is None else search_ranges(groups, slot)


def _known_slot(conn: sqlite3.Connection, repo_id: int) -> int | None:
    row = conn.execute(
        "SELECT slot FROM cache_search_repos WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return None if row is None else row[0]


def _search_slot(conn: sqlite3.Connection, repo_id: int) -> int:
    """The repo's slot, given on first use (caller's transaction)."""
    slot = _known_slot(conn, repo_id)
    if slot is not None:
        return slot
    return conn.execute(
        "INSERT INTO cache_search_repos (repo_id, slot)"
        " SELECT ?, coalesce(max(slot), 0) + 1 FROM cache_search_repos RETURNING slot",
        (repo_id,),
    ).fetchall()[0][0]


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON, as stored in payload_json (one encoder: `json.dumps` with these
    options builds a new one per call, which costs more than encoding a short list)."""
    return _ENCODER.encode(value)


def _payloads(items: list[dict], texts: list[str] | None) -> list[str]:
    """payload_json of each item: its text as GitHub sent it (`Response.item_texts`, cut
    while parsing the page), else the parsed item serialised again (~25 µs an item)."""
    if texts is None:
        return [dumps(item) for item in items]
    if len(texts) != len(items):
        raise ValueError("the page's texts do not match its items")
    return texts


# -- the issues stream -----------------------------------------------------------------------


def upsert_issue_page(
    conn: sqlite3.Connection,
    repo_id: int,
    items: list[dict],
    texts: list[str] | None = None,
) -> PageWrite:
    """Write one page of the issues listing (issues and PRs); caller's transaction.

    `texts`, if given, are the items' JSON as GitHub sent them (`Response.item_texts`):
    stored as their payloads (`_payloads`).
    """
    write = PageWrite()
    payloads = _payloads(items, texts)
    for kind in (ISSUES, PRS):
        group = {
            item["number"]: (item, payload)
            for item, payload in zip(items, payloads, strict=True)
            if kind.holds(item)
        }
        if group:
            _upsert_group(conn, repo_id, kind, group, write)
    return write


def _upsert_group(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, items: dict[int, tuple], write: PageWrite
) -> None:
    previous = _previous_rows(conn, repo_id, kind, list(items))
    changed = []
    for number, (item, payload) in items.items():
        columns, body = _list_columns(item), item.get("body") or ""
        old = previous.get(number)
        if old is not None and old == (columns, None, body):
            continue
        changed.append((number, item, columns, body, payload))
        if old is not None and old[1] is None:
            write.add(kind.count_key(old[0][0]), -1)
        write.add(kind.count_key(columns[0]), 1)
    if changed:
        _write_rows(conn, repo_id, kind, changed)
        _refresh_work_rows(conn, repo_id, kind, [row[0] for row in changed])
        _replace_search_rows(conn, repo_id, kind, changed, previous)
    write.changed += len(changed)
    write.prs_changed += len(changed) if kind is PRS else 0


def _list_columns(item: dict) -> tuple:
    labels = [label["name"] if isinstance(label, dict) else label for label in item["labels"]]
    return (
        item["state"],
        item["title"],
        (item.get("user") or {}).get("login"),
        dumps(labels) if labels else "[]",  # most items have none
        _assignees_json(item),
        item.get("comments") or 0,
        item["created_at"],
        item["updated_at"],
        item.get("closed_at"),
        item["html_url"],
    )


def _assignees_json(item: dict) -> str:
    logins = [a["login"] for a in item.get("assignees") or () if a and a.get("login")]
    return dumps(logins) if logins else "[]"


def _previous_rows(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, numbers: list[int]
) -> dict[int, tuple]:
    """number → (list columns, gone, body) of the rows already cached."""
    marks = ",".join("?" * len(numbers))
    rows = conn.execute(
        f"SELECT {kind.number}, {_COLUMNS}, gone FROM {kind.table}"
        f" WHERE repo_id = ? AND {kind.number} IN ({marks})",
        (repo_id, *numbers),
    ).fetchall()
    if not rows:
        return {}
    last = _COLUMN_COUNT + 1
    previous = {r[0]: (tuple(r[1:last]), r[last]) for r in rows}
    bodies = _search_bodies(conn, repo_id, kind, previous)
    return {n: (columns, gone, bodies.get(n, "")) for n, (columns, gone) in previous.items()}


def _search_bodies(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, previous: dict[int, tuple]
) -> dict[int, str]:
    """number → body of these cached rows' search rows (at their (state, gone) group)."""
    rowids = _previous_rowids(conn, repo_id, kind, previous)
    marks = ",".join("?" * len(rowids))
    rows = conn.execute(
        f"SELECT rowid, body FROM cache_search WHERE rowid IN ({marks})", list(rowids)
    ).fetchall()
    return {rowids[r[0]]: r[1] for r in rows}


def _previous_rowids(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, previous: dict[int, tuple]
) -> dict[int, int]:
    """search rowid → number of cached rows, from their (list columns, gone)."""
    slot = _search_slot(conn, repo_id)
    return {
        search_rowid(slot, search_group(kind, columns[0], gone), n): n
        for n, (columns, gone, *_) in previous.items()
    }


def _write_rows(conn: sqlite3.Connection, repo_id: int, kind: Kind, changed: list) -> None:
    if kind is ISSUES:
        conn.executemany(
            f"INSERT INTO github_issues (repo_id, issue_number, {_COLUMNS}, payload_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (repo_id, issue_number) DO UPDATE SET"
            f" {_assign(_COLUMNS)}, gone = NULL, moved_to = NULL,"
            " payload_json = excluded.payload_json",
            [(repo_id, n, *cols, text) for n, _, cols, _, text in changed],
        )
        return
    # The issue view of a PR may carry draft and merged_at; /pulls fills the rest later.
    conn.executemany(
        f"INSERT INTO github_pull_requests (repo_id, pr_number, {_COLUMNS}, draft, merged_at,"
        " payload_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, pr_number) DO UPDATE SET"
        f" {_assign(_COLUMNS)}, gone = NULL, moved_to = NULL,"
        " draft = coalesce(excluded.draft, draft), merged_at = coalesce(excluded.merged_at,"
        " merged_at), payload_json = excluded.payload_json",
        [
            (repo_id, n, *cols, item.get("draft"), item["pull_request"].get("merged_at"), text)
            for n, item, cols, _, text in changed
        ],
    )  # fmt: skip


def _assign(columns: str) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns.split(", "))


def _replace_search_rows(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, changed: list, previous: dict
) -> None:
    slot = _search_slot(conn, repo_id)
    replaced = {n: previous[n] for n, *_ in changed if n in previous}
    if replaced:
        stale = _previous_rowids(conn, repo_id, kind, replaced)
        conn.executemany("DELETE FROM cache_search WHERE rowid = ?", [(r,) for r in stale])
    conn.executemany(
        "INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                search_rowid(slot, search_group(kind, cols[0], None), n),
                cols[1],
                body,
                repo_id,
                kind.search_kind,
                n,
            )
            for n, _, cols, body, _ in changed
        ],
    )
    grown = sum(_text_bytes(cols[1], body) for _, _, cols, body, _ in changed) - sum(
        _text_bytes(previous[n][0][1], previous[n][2]) for n, *_ in changed if n in previous
    )
    conn.execute(
        "INSERT INTO cache_sizes (repo_id, search_bytes) VALUES (?, ?) ON CONFLICT (repo_id)"
        " DO UPDATE SET search_bytes = search_bytes + excluded.search_bytes",
        (repo_id, grown),
    )


def _text_bytes(title: str, body: str) -> int:
    return len(title.encode()) + len(body.encode())


# -- the Work view's side rows ---------------------------------------------------------------

_WORK_REFRESH = """
DELETE FROM item_labels WHERE repo_id = :repo AND kind = :kind
    AND number IN (SELECT value FROM json_each(:numbers));
DELETE FROM item_assignees WHERE repo_id = :repo AND kind = :kind
    AND number IN (SELECT value FROM json_each(:numbers));
DELETE FROM item_versions WHERE repo_id = :repo AND kind = :kind
    AND number IN (SELECT value FROM json_each(:numbers));
INSERT INTO item_labels (repo_id, kind, number, label, state, live)
    SELECT DISTINCT t.repo_id, :kind, t.{number}, j.value, t.state, t.gone IS NULL
    FROM {table} AS t, json_each(t.labels_json) AS j
    WHERE t.repo_id = :repo AND t.{number} IN (SELECT value FROM json_each(:numbers))
    AND j.type = 'text';
INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
    SELECT DISTINCT t.repo_id, :kind, t.{number}, j.value, t.state, t.gone IS NULL
    FROM {table} AS t, json_each(t.assignees_json) AS j
    WHERE t.repo_id = :repo AND t.{number} IN (SELECT value FROM json_each(:numbers))
    AND j.type = 'text';
INSERT INTO item_versions (repo_id, kind, number)
    SELECT :repo, :kind, value FROM json_each(:numbers)
"""
_WORK_STATEMENTS = {
    kind: _WORK_REFRESH.format(table=kind.table, number=kind.number).split(";")
    for kind in (ISSUES, PRS)
}


def _refresh_work_rows(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, numbers: list[int]
) -> None:
    """Derive the Work view's side rows of these items again from their rows, and give each
    a new version (caller's transaction, after the items' write): six statements a page.
    Row triggers did this before (migration 0015 says why they went)."""
    # A number twice (a /pulls page may list a PR twice) would give it two versions.
    values = {"repo": repo_id, "kind": kind.search_kind, "numbers": dumps(sorted(set(numbers)))}
    for sql in _WORK_STATEMENTS[kind]:
        conn.execute(sql, values)


# -- /pulls details --------------------------------------------------------------------------


def apply_pull_details(
    conn: sqlite3.Connection, repo_id: int, pulls: list[dict], texts: list[str] | None = None
) -> int:
    """Store /pulls objects for cached PRs whose details are stale; returns rows written.

    PRs not in the cache are skipped: their list columns come from the issues stream.
    `texts` as in `upsert_issue_page`.
    """
    if not pulls:
        return 0
    numbers = [p["number"] for p in pulls]
    marks = ",".join("?" * len(numbers))
    fresh_as_of = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT pr_number, updated_at, details_updated_at FROM github_pull_requests"
            f" WHERE repo_id = ? AND pr_number IN ({marks})",
            (repo_id, *numbers),
        )
    }
    rows = []
    for pull, payload in zip(pulls, _payloads(pulls, texts), strict=True):
        known = fresh_as_of.get(pull["number"])
        if known is None:
            continue
        as_of = max(known[0], pull["updated_at"])
        if known[1] is None or known[1] < as_of:
            rows.append(_details_row(repo_id, pull, payload, as_of))
    conn.executemany(
        "UPDATE github_pull_requests SET draft = ?, merged_at = ?, head_ref = ?, base_ref = ?,"
        " assignees_json = ?, payload_json = ?, details_updated_at = ?"
        " WHERE repo_id = ? AND pr_number = ?",
        rows,
    )
    if rows:
        _refresh_work_rows(conn, repo_id, PRS, [row[-1] for row in rows])
    return len(rows)


def _details_row(repo_id: int, pull: dict, text: str, as_of: str) -> tuple:
    draft = pull.get("draft")
    return (
        None if draft is None else int(draft),
        pull.get("merged_at"),
        (pull.get("head") or {}).get("ref"),
        (pull.get("base") or {}).get("ref"),
        _assignees_json(pull),
        text,
        as_of,
        repo_id,
        pull["number"],
    )


def stale_details_floor(conn: sqlite3.Connection, repo_id: int) -> str | None:
    """The oldest updated_at among PRs whose /pulls details are stale, or None."""
    return conn.execute(
        "SELECT min(updated_at) FROM github_pull_requests WHERE repo_id = ? AND gone IS NULL"
        " AND (details_updated_at IS NULL OR details_updated_at < updated_at)",
        (repo_id,),
    ).fetchone()[0]


def stale_prs_below(conn: sqlite3.Connection, repo_id: int, below: str, limit: int) -> list[int]:
    """Up to `limit` PRs (not gone) whose details are stale, updated before `below`."""
    rows = conn.execute(
        "SELECT pr_number FROM github_pull_requests WHERE repo_id = ? AND gone IS NULL"
        " AND (details_updated_at IS NULL OR details_updated_at < updated_at)"
        " AND updated_at < ? ORDER BY updated_at DESC LIMIT ?",
        (repo_id, below, limit),
    )
    return [r[0] for r in rows]


def settle_details(conn: sqlite3.Connection, repo_id: int, top: str | None) -> None:
    """After a full /pulls pass whose newest item was `top` (None: the listing was empty):
    stale PRs it did not show count as checked, so a PR missing from /pulls cannot make
    every later refresh list /pulls again. Newer ones stay stale for the next pass."""
    conn.execute(
        "UPDATE github_pull_requests SET details_updated_at = updated_at WHERE repo_id = ?"
        " AND (details_updated_at IS NULL OR details_updated_at < updated_at)"
        " AND (? IS NULL OR updated_at <= ?)",
        (repo_id, top, top),
    )


# -- reconciliation --------------------------------------------------------------------------


def open_numbers(conn: sqlite3.Connection, repo_id: int) -> dict[int, Kind]:
    """Cached open items that are not gone: number → kind."""
    found = {}
    for kind in (ISSUES, PRS):
        rows = conn.execute(
            f"SELECT {kind.number} FROM {kind.table}"
            " WHERE repo_id = ? AND state = 'open' AND gone IS NULL",
            (repo_id,),
        )
        found.update((r[0], kind) for r in rows)
    return found


def closed_range(conn: sqlite3.Connection, repo_id: int) -> tuple[str | None, dict[int, Kind]]:
    """Cached closed items that are not gone: the oldest `updated_at` among them (None if
    there are none) and number → kind. Every one still on GitHub is listed `since` then."""
    found, oldest = {}, None
    for kind in (ISSUES, PRS):
        rows = conn.execute(
            f"SELECT {kind.number}, updated_at FROM {kind.table}"
            " WHERE repo_id = ? AND state = 'closed' AND gone IS NULL",
            (repo_id,),
        )
        for number, updated_at in rows:
            found[number] = kind
            oldest = updated_at if oldest is None else min(oldest, updated_at)
    return oldest, found


def closed_reconciled_at(conn: sqlite3.Connection, repo_id: int) -> str | None:
    """GitHub's time of the repo's last closed-items reconciliation, if any."""
    row = conn.execute(
        "SELECT reconciled_at FROM closed_reconciled WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return row[0] if row else None


def save_closed_reconciled(conn: sqlite3.Connection, repo_id: int, at: str) -> None:
    conn.execute(
        "INSERT INTO closed_reconciled (repo_id, reconciled_at) VALUES (?, ?)"
        " ON CONFLICT (repo_id) DO UPDATE SET reconciled_at = excluded.reconciled_at",
        (repo_id, at),
    )


def mark_gone(
    conn: sqlite3.Connection, repo_id: int, marks: list[tuple[Kind, int, str, str | None]]
) -> dict[str, int]:
    """Mark (kind, number, gone, moved_to) rows gone; returns the count delta."""
    write = PageWrite()
    marked: dict[Kind, list[int]] = {ISSUES: [], PRS: []}
    for kind, number, gone, moved_to in marks:
        row = conn.execute(
            f"SELECT state, gone FROM {kind.table} WHERE repo_id = ? AND {kind.number} = ?",
            (repo_id, number),
        ).fetchone()
        if row is None or row[1] is not None:
            continue
        conn.execute(
            f"UPDATE {kind.table} SET gone = ?, moved_to = ?"
            f" WHERE repo_id = ? AND {kind.number} = ?",
            (gone, moved_to, repo_id, number),
        )
        _move_search_row(conn, repo_id, kind, number, row[0], gone)
        write.add(kind.count_key(row[0]), -1)
        marked[kind].append(number)
    for kind, numbers in marked.items():
        if numbers:
            _refresh_work_rows(conn, repo_id, kind, numbers)
    return write.delta


def _move_search_row(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, number: int, state: str, gone: str
) -> None:
    """Move a newly gone item's search row from its live group to its gone one."""
    slot = _known_slot(conn, repo_id)
    if slot is not None:
        conn.execute(
            "UPDATE cache_search SET rowid = ? WHERE rowid = ?",
            (
                search_rowid(slot, search_group(kind, state, gone), number),
                search_rowid(slot, search_group(kind, state, None), number),
            ),
        )


# -- conditional-request validators ----------------------------------------------------------


def get_validator(conn: sqlite3.Connection, url: str) -> tuple[str | None, str | None]:
    """(ETag, the page's `Link` next URL) stored for `url`; (None, None) if none."""
    row = conn.execute("SELECT etag, next_url FROM http_cache WHERE url = ?", (url,)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def save_validator(
    conn: sqlite3.Connection,
    repo_id: int,
    url: str,
    etag: str | None,
    last_modified: str | None,
    next_url: str | None = None,
) -> None:
    """Keep the validator of one page of a listing, with the page's `Link` next URL (a 304
    has no `Link`, so a chain of 304s follows the stored one)."""
    conn.execute(
        "INSERT INTO http_cache (url, repo_id, etag, last_modified, next_url, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET repo_id = excluded.repo_id,"
        " etag = excluded.etag, last_modified = excluded.last_modified,"
        " next_url = excluded.next_url, updated_at = excluded.updated_at",
        (url, repo_id, etag, last_modified, next_url, now_rfc3339()),
    )


def drop_other_chains(conn: sqlite3.Connection, repo_id: int, listing: str, keep: str) -> None:
    """Drop this repo's validators of `listing` (e.g. `/issues?`) whose URL lacks `keep` (the
    current chain's `since=` parameter): only the current window is ever asked again, and a
    stale chain must not grow the table."""
    conn.execute(
        "DELETE FROM http_cache WHERE repo_id = ? AND instr(url, ?) > 0 AND instr(url, ?) = 0",
        (repo_id, listing, keep),
    )


# -- resume state ----------------------------------------------------------------------------


def load_resume(conn: sqlite3.Connection, repo_id: int, stream: str) -> dict | None:
    row = conn.execute(
        "SELECT state_json FROM sync_resume WHERE repo_id = ? AND stream = ?", (repo_id, stream)
    ).fetchone()
    return json.loads(row[0]) if row else None


def save_resume(conn: sqlite3.Connection, repo_id: int, stream: str, state: dict | None) -> None:
    """Store where the stream's pass continues, or clear it (`state=None`) when it is done."""
    if state is None:
        conn.execute("DELETE FROM sync_resume WHERE repo_id = ? AND stream = ?", (repo_id, stream))
        return
    conn.execute(
        "INSERT INTO sync_resume (repo_id, stream, state_json) VALUES (?, ?, ?)"
        " ON CONFLICT (repo_id, stream) DO UPDATE SET state_json = excluded.state_json",
        (repo_id, stream, dumps(state)),
    )


# -- reset and purge -------------------------------------------------------------------------

# Rows deleted per purge transaction: a few MB of WAL each, however large the repo.
PURGE_BATCH_ROWS = 2000


def reset_cache(
    conn: sqlite3.Connection, repo_ids: Iterable[int], *, removed_by: str | None = None
) -> None:
    """Fence these repos' caches off and queue their cached rows for `purge`.

    Runs in the caller's transaction; the caller records `cache.reset` with it, or
    passes the actor of a removal (`removed_by`), recorded once the rows are gone
    (`purged_removals`). The repo's generation moves on, which fences off any sync
    that is running (`generation`); its validators, resume rows, closed-items
    reconciliation time and size go at once, and reads skip its rows from now on.
    The rows themselves (items, PRs, search) are many: `purge` deletes them in
    bounded transactions after this one commits.
    """
    for repo_id in repo_ids:
        conn.execute(
            "INSERT INTO cache_generation (repo_id, generation) VALUES (?, 1)"
            " ON CONFLICT (repo_id) DO UPDATE SET generation = generation + 1",
            (repo_id,),
        )
        for table in ("http_cache", "sync_resume", "closed_reconciled", "cache_sizes"):
            conn.execute(f"DELETE FROM {table} WHERE repo_id = ?", (repo_id,))
        conn.execute(
            "INSERT INTO cache_purge (repo_id, requested_at, removed_by) VALUES (?, ?, ?)"
            " ON CONFLICT (repo_id) DO UPDATE SET"
            " removed_by = coalesce(excluded.removed_by, removed_by)",
            (repo_id, now_rfc3339(), removed_by),
        )


def purge(
    conn: sqlite3.Connection, repo_id: int | None = None, batch_rows: int | None = None
) -> int:
    """Delete the cached rows of repos queued by `reset_cache` (all, or one), at most
    `batch_rows` (default `PURGE_BATCH_ROWS`) rows a transaction; returns the rows deleted.

    Safe to run from several processes at once and to cut short anywhere: each batch
    checks the repo is still queued (the last one unqueues it, so a sync that starts
    after never has its new rows taken; a removal stays queued for `purged_removals`).
    The freed pages then go back to the file system (`db.space.give_back`). Outside
    any transaction.
    """
    if repo_id is None:
        queued = [row[0] for row in conn.execute("SELECT repo_id FROM cache_purge")]
    else:
        queued = [repo_id]
    deleted = 0
    for queued_id in queued:
        while True:
            with transaction(conn):
                count = _purge_batch(conn, queued_id, batch_rows or PURGE_BATCH_ROWS)
            if not count:
                break
            deleted += count
    if deleted:
        space.give_back(conn)
    return deleted


def _purge_batch(conn: sqlite3.Connection, repo_id: int, limit: int) -> int:
    """Delete up to `limit` rows of one queued repo; 0 once none is left (unqueued)."""
    if not purging(conn, repo_id):
        return 0
    # Search rows first: a search row whose item is gone would be counted by the Work
    # view's text counts, which read the index alone (see `search_group`).
    count = 0
    for lo, hi in repo_search_ranges(conn, repo_id, ALL_GROUPS):
        count += conn.execute(
            "DELETE FROM cache_search WHERE rowid IN"
            " (SELECT rowid FROM cache_search WHERE rowid BETWEEN ? AND ? LIMIT ?)",
            (lo, hi, limit - count),
        ).rowcount
        if count == limit:
            break
    if count:
        return count
    for table in (ISSUES.table, PRS.table):
        count = conn.execute(
            f"DELETE FROM {table} WHERE rowid IN"
            f" (SELECT rowid FROM {table} WHERE repo_id = ? LIMIT ?)",
            (repo_id, limit),
        ).rowcount
        if count:
            return count
    conn.execute("DELETE FROM cache_search_repos WHERE repo_id = ?", (repo_id,))
    conn.execute("DELETE FROM cache_purge WHERE repo_id = ? AND removed_by IS NULL", (repo_id,))
    return 0


def removal_queued(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM cache_purge WHERE removed_by IS NOT NULL LIMIT 1")
    return row.fetchone() is not None


def purged_removals(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """(repo_id, actor) of queued removals whose cached rows are all gone, now unqueued
    (caller's transaction, which records their `repo.removed`)."""
    rows = conn.execute(
        "DELETE FROM cache_purge AS q WHERE removed_by IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM github_issues AS i WHERE i.repo_id = q.repo_id)"
        " AND NOT EXISTS (SELECT 1 FROM github_pull_requests AS p WHERE p.repo_id = q.repo_id)"
        " AND NOT EXISTS (SELECT 1 FROM cache_search_repos AS s WHERE s.repo_id = q.repo_id)"
        " RETURNING repo_id, removed_by"
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def purging(conn: sqlite3.Connection, repo_id: int) -> bool:
    """Whether the repo's cached rows are queued for deletion (reads skip them)."""
    row = conn.execute("SELECT 1 FROM cache_purge WHERE repo_id = ?", (repo_id,)).fetchone()
    return row is not None


def data_sizes(conn: sqlite3.Connection) -> dict[int, int]:
    """repo_id → bytes of its cached payloads and search text (repos with a cache only)."""
    rows = conn.execute("SELECT repo_id, payload_bytes + search_bytes FROM cache_sizes")
    return {row[0]: row[1] for row in rows}


def generation(conn: sqlite3.Connection, repo_id: int) -> int:
    """How many times the repo's cache was reset: a sync writes only while it is unchanged."""
    row = conn.execute(
        "SELECT generation FROM cache_generation WHERE repo_id = ?", (repo_id,)
    ).fetchone()
    return row[0] if row else 0


# -- the refresh chain's head and end (issue 11: a moved cursor keeps its chain) ----------------


def chain_url(conn: sqlite3.Connection, repo_id: int, listing: str) -> str | None:
    """A URL of the repo's stored chain of `listing` (`drop_other_chains` keeps one chain)."""
    row = conn.execute(
        "SELECT url FROM http_cache WHERE repo_id = ? AND instr(url, ?) > 0 LIMIT 1",
        (repo_id, listing),
    ).fetchone()
    return row[0] if row else None


def end_chain(conn: sqlite3.Connection, url: str) -> None:
    """Make `url` the last page of its chain: the pages after it are below the window."""
    conn.execute("UPDATE http_cache SET next_url = NULL WHERE url = ?", (url,))
