"""The cache, read side: list issues and PRs, get one item, full-text search.

Lists read only the indexed columns (never `payload_json`, unless asked for
the full payload) and page by keyset: a page ends with the sort key and
number of its last item, and the next page starts strictly after it, so
pages stay correct and cheap while the worker writes. Rows of a repo whose
cache is queued for deletion (`cache_purge`: removed or reset, see
`store.reset_cache`) are never shown. The write side is `cache/store.py`.
This room sits below the registry: an empty list or a missing item does not
say whether the repo exists, the caller asks the registry (the API does, only
in those cases).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane.cache.store import (
    GROUP_SHIFT,
    LIVE_GROUPS,
    MAX_NUMBER,
    MAX_SLOT,
    SLOT_SHIFT,
    repo_search_ranges,
    search_groups,
    search_ranges,
)
from pmbot.shared.errors import NotFoundError, ServiceError
from pmbot.shared.kind import ISSUES, PRS, Kind

# Sentinels around search hits: control characters that GitHub text does not
# carry in practice; the snippet is split on them into {text, hit} segments.
_HIT_START, _HIT_END = "\x02", "\x03"
SNIPPET_TOKENS = 12
SORT_COLUMNS = {"updated": "updated_at", "created": "created_at", "number": None}


class BrowseError(ServiceError):
    code = "browse_error"


class ItemNotFound(BrowseError, NotFoundError):
    code = "item_not_found"


# The repo's cache is not being deleted (a PRIMARY KEY probe of a table that is empty
# but for the seconds a removal or reset takes).
_NOT_PURGED = "NOT EXISTS (SELECT 1 FROM cache_purge WHERE cache_purge.repo_id = {})"

_BASE_COLUMNS = (
    "state, title, user_login, labels_json, comments, created_at, updated_at, closed_at, html_url"
)


# What each `gone` mark means, as the API says it next to the mark.
GONE_REASONS = {
    "deleted": "deleted (GitHub answers 410 Gone)",
    "transferred": "transferred to the repository in moved_to",
    "not_visible": (
        "no longer visible (deleted, transferred to a repo the token cannot see, or access lost)"
    ),
}


@dataclass(frozen=True)
class ListQuery:
    """What a list asks for; `after` is the last item's keyset from the previous page."""

    state: str = "open"
    sort: str = "updated"
    limit: int = 50
    label: str | None = None
    text: str | None = None
    include_gone: bool = False
    full: bool = False
    after: tuple | None = None


def list_page(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, query: ListQuery
) -> tuple[str, tuple | None]:
    """One page of cached items as a JSON array, newest first by the sort key; and the
    next page's keyset (None on the last page).

    SQLite builds the whole array in one step: Python's sqlite3 releases the GIL
    around every row it steps, and with many server threads those hand-offs,
    not the query, bounded throughput. One step per page also skips building
    and encoding dicts in Python. The array holds one item more than the page
    when there is a next page; it is cut off here rather than numbered in SQL (a
    window function over the page cost as much as building the JSON).
    """
    page_sql, params = _list_sql(conn, repo_id, kind, query)
    sql = f"SELECT json_group_array({_item_json(kind, query)}), count(*) FROM ({page_sql})"
    cursor = conn.cursor()
    cursor.row_factory = None
    items, count = cursor.execute(sql, params).fetchone()
    if count <= query.limit:
        return items, None
    page = items[: items.rindex(_ITEM_START)]  # "[{...},...,{...}" without the extra item
    last = json.loads(page[page.rfind(_ITEM_START) + 1 :].lstrip("["))  # -1 + 1: one item
    key = SORT_COLUMNS[query.sort]
    items = page + "]"
    return items, (last["number"],) if key is None else (last[key], last["number"])


# How every item of a list array starts (`number` is the first field of `_item_json`). A
# `"` inside a JSON string is escaped, so this only ever occurs between two items.
_ITEM_START = ',{"number":'


def _item_json(kind: Kind, query: ListQuery) -> str:
    """`json_object(...)` of one list item, from the list columns only."""
    fields = [
        "'number', " + kind.number, "'state', state", "'title', title", "'user', user_login",
        "'labels', json(labels_json)", "'comments', comments", "'created_at', created_at",
        "'updated_at', updated_at", "'closed_at', closed_at", "'html_url', html_url",
    ]  # fmt: skip
    if kind is PRS:
        fields += [
            "'draft', CASE draft WHEN 1 THEN json('true') WHEN 0 THEN json('false') END",
            "'merged_at', merged_at", "'head_ref', head_ref", "'base_ref', base_ref",
        ]  # fmt: skip
    if query.include_gone:
        reasons = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in GONE_REASONS.items())
        fields += [
            "'gone', gone",
            f"'gone_reason', CASE gone {reasons} END",
            "'moved_to', moved_to",
        ]
    if query.full:
        fields.append("'payload', json(payload_json)")
    return f"json_object({', '.join(fields)})"


def _order(kind: Kind, key: str) -> str:
    return f"{key} DESC, {kind.number} DESC" if key != kind.number else f"{key} DESC"


def _list_sql(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, query: ListQuery
) -> tuple[str, list[Any]]:
    """SQL for one page. `state=all` merges the open and closed index ranges
    (two LIMITed walks) instead of sorting every row of the repo."""
    key = SORT_COLUMNS[query.sort] or kind.number
    order = _order(kind, key)
    states = ("open", "closed") if query.state == "all" else (query.state,)
    parts, params = [], []
    for state in states:
        where, values = _filters(conn, repo_id, kind, query, key, state)
        parts.append(
            f"SELECT {_columns(kind, query)} FROM {kind.table}"
            f" WHERE {where} ORDER BY {order} LIMIT ?"
        )
        params += [*values, query.limit + 1]
    if len(parts) == 1:
        return parts[0], params
    merged = " UNION ALL ".join(f"SELECT * FROM ({part})" for part in parts)
    return f"{merged} ORDER BY {order} LIMIT ?", [*params, query.limit + 1]


def _columns(kind: Kind, query: ListQuery) -> str:
    optional = {
        "gone": query.include_gone,
        "moved_to": query.include_gone,
        "payload_json": query.full,
    }
    tail = [name if wanted else f"NULL AS {name}" for name, wanted in optional.items()]
    return ", ".join([kind.number, _BASE_COLUMNS, *kind.extra, *tail])


def _filters(
    conn: sqlite3.Connection, repo_id: int, kind: Kind, query: ListQuery, key: str, state: str
) -> tuple[str, list[Any]]:
    where = ["repo_id = ?", "state = ?", _NOT_PURGED.format("?")]
    values: list[Any] = [repo_id, state, repo_id]
    if not query.include_gone:
        where.append("gone IS NULL")
    if query.label is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(labels_json) WHERE value = ?)")
        values.append(query.label)
    if query.text is not None:
        groups = search_groups((kind,), (state,), query.include_gone)
        hits, hit_values = text_hits(query.text, repo_search_ranges(conn, repo_id, groups))
        where.append(f"{kind.number} IN (SELECT rowid & {MAX_NUMBER} FROM ({hits}))")
        values += hit_values
    if query.after is not None and key == kind.number:
        where.append(f"{kind.number} < ?")
        values.append(query.after[0])
    elif query.after is not None:
        where.append(f"({key}, {kind.number}) < (?, ?)")
        values += list(query.after)
    return " AND ".join(where), values


def open_items(conn: sqlite3.Connection, repo_id: int, kind: Kind) -> sqlite3.Cursor:
    """Open, not gone, items by number: (number, title, labels_json, state, updated_at,
    JSON array [assignees, body]) — what a context pack holds of each."""
    return conn.execute(
        f"SELECT {kind.number}, title, labels_json, state, updated_at,"
        # Two paths in one call: the payload is parsed once, not twice.
        " json_extract(payload_json, '$.assignees', '$.body')"
        f" FROM {kind.table} WHERE repo_id = ? AND state = 'open' AND gone IS NULL"
        f" AND {_NOT_PURGED.format('?')} ORDER BY {kind.number}",
        (repo_id, repo_id),
    )


def get_item_payload(conn: sqlite3.Connection, repo_id: int, kind: Kind, number: int) -> str:
    """The raw cached JSON of one item, as GitHub sent it (gone items included)."""
    row = conn.execute(
        f"SELECT payload_json FROM {kind.table} WHERE repo_id = ? AND {kind.number} = ?"
        f" AND {_NOT_PURGED.format('?')}",
        (repo_id, number, repo_id),
    ).fetchone()
    if row is None:
        raise ItemNotFound(f"no cached {kind.search_kind} #{number} in repo {repo_id}")
    return row[0]


def fts_query(text: str) -> str:
    """User text as an FTS5 query: every word a quoted string, all required.

    Quoting makes FTS5 operators and punctuation plain text, so no input can
    be a syntax error. Words are split at spaces only, as the API trims only
    spaces: other blanks (U+00A0, U+2028) stay inside a quoted word, which
    FTS5 tokenizes away, so text the API accepts never makes an empty query.
    """
    words = [word for word in text.split(" ") if word]
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def text_hits(text: str, ranges: Iterable[tuple[int, int]]) -> tuple[str, list[Any]]:
    """SQL of the rowids of the search rows in these rowid ranges (`store.search_ranges`:
    the groups of the kinds, states and liveness asked) whose title or body hold every word
    of `text`, and its parameters. FTS5 seeks each word's doclist to a range and reads only
    that part, so the hits are exactly the items asked, found by the index alone."""
    ranges, words = list(ranges), fts_query(text)
    part = "SELECT rowid FROM cache_search WHERE cache_search MATCH ? AND rowid BETWEEN ? AND ?"
    sql = " UNION ALL ".join([part] * len(ranges)) or "SELECT NULL WHERE 0"
    return sql, [v for lo, hi in ranges for v in (words, lo, hi)]


@dataclass(frozen=True)
class SearchQuery:
    text: str
    repo_id: int | None = None
    state: str | None = None
    limit: int = 20
    offset: int = 0


# Counting every match of a common word costs as much as listing them all: count up to
# this many and say "more than" past it.
SEARCH_COUNT_CAP = 1000

# The search row's repo, kind and number come from its rowid (`store.search_rowid`), and
# its item's kind, state and liveness from the rowid range it is in, so filtering
# thousands of matches reads neither the FTS table's stored columns nor the items: only
# the page's rows are joined to their items.
_NUMBER = f"(s.rowid & {MAX_NUMBER})"
_IS_PR = f"(s.rowid & {1 << GROUP_SHIFT})"  # the group's low bit
_KINDS = (ISSUES, PRS)
_SEARCH_FROM = (
    " FROM cache_search AS s"
    f" JOIN cache_search_repos AS c ON c.slot = (s.rowid >> {SLOT_SHIFT}) & {MAX_SLOT}"
    " JOIN repos AS r ON r.repo_id = c.repo_id AND r.workspace_id = ?"
)
_ITEMS_JOIN = (
    " LEFT JOIN github_issues AS i"
    f"  ON {_IS_PR} = 0 AND i.repo_id = c.repo_id AND i.issue_number = {_NUMBER}"
    " LEFT JOIN github_pull_requests AS p"
    f"  ON {_IS_PR} != 0 AND p.repo_id = c.repo_id AND p.pr_number = {_NUMBER}"
)


def search(conn: sqlite3.Connection, query: SearchQuery, workspace_id: int) -> list[dict[str, Any]]:
    """Cached issues and PRs whose title or body match, best first, from `query.offset` on.

    Best first: items with every word in the title, then the others, each group by
    FTS5's rank (bm25). Ranking costs a few microseconds a match, so a common word's
    thousands of body matches are ranked only when a page reaches past the title matches
    (each group is one `ORDER BY rank LIMIT` query that FTS5 sorts itself; the items and
    the snippet are read for the page's rows only). Gone items, and the other state if
    one is asked, are rowid ranges left out (`_search_ranges`)."""
    words, ranges = fts_query(query.text), _search_ranges(conn, query)
    in_title = f"{{title}} : ({words})"
    rows = _ranked(conn, workspace_id, in_title, ranges, query.limit, query.offset)
    if len(rows) < query.limit:
        # Title matches end before this page does: how many there are, then the rest.
        titled = query.offset + len(rows) if rows else _count(conn, workspace_id, in_title, ranges)
        rest = f"({words}) NOT {in_title}"
        offset = max(0, query.offset - titled)
        rows += _ranked(conn, workspace_id, rest, ranges, query.limit - len(rows), offset)
    return [_search_result(row) for row in rows]


def _search_ranges(conn: sqlite3.Connection, query: SearchQuery) -> list[tuple[int, int]]:
    """The search's rowid ranges: its state's groups (else every live one), of its repo
    (one range a group) or of all repos (neighbouring groups: one range)."""
    groups = LIVE_GROUPS if query.state is None else search_groups(_KINDS, (query.state,))
    if query.repo_id is not None:
        return repo_search_ranges(conn, query.repo_id, groups)
    return search_ranges(groups)


def _ranked(
    conn: sqlite3.Connection,
    workspace_id: int,
    match: str,
    ranges: list[tuple[int, int]],
    limit: int,
    offset: int,
) -> list[tuple]:
    """One page of the matches in these ranges, best first. One range: a single FTS5 query
    ranks, pages and snips. Several (one repo's groups): each range's best `offset + limit`
    rowids first, merged into the page; then the page's rows are read by rowid."""
    if not ranges:
        return []
    where, params = _search_where(workspace_id, match)
    if len(ranges) == 1:
        where += " AND s.rowid BETWEEN ? AND ?"
        page, params = " LIMIT ? OFFSET ?", [*params, *ranges[0], limit, offset]
    else:
        rowids = _page_rowids(conn, match, ranges, limit, offset)
        where += f" AND s.rowid IN ({','.join('?' * len(rowids))})"
        page, params = "", [*params, *rowids]
    sql = (
        f"SELECT c.repo_id, r.full_name, CASE WHEN {_IS_PR} THEN '{PRS.search_kind}'"
        f" ELSE '{ISSUES.search_kind}' END, {_NUMBER}, coalesce(i.title, p.title),"
        " coalesce(i.state, p.state), coalesce(i.updated_at, p.updated_at),"
        " coalesce(i.html_url, p.html_url), snippet(cache_search, -1, ?, ?, '…', ?)"
        f"{_SEARCH_FROM}{_ITEMS_JOIN} WHERE {where} ORDER BY s.rank{page}"
    )  # fmt: skip
    cursor = conn.cursor()
    cursor.row_factory = None
    snippet = [_HIT_START, _HIT_END, SNIPPET_TOKENS]
    return cursor.execute(sql, [*snippet, *params]).fetchall()


def _page_rowids(
    conn: sqlite3.Connection, match: str, ranges: list[tuple[int, int]], limit: int, offset: int
) -> list[int]:
    part = (
        "SELECT * FROM (SELECT rowid, rank FROM cache_search WHERE cache_search MATCH ?"
        " AND rowid BETWEEN ? AND ? ORDER BY rank LIMIT ?)"
    )
    sql = f"SELECT rowid FROM ({' UNION ALL '.join([part] * len(ranges))})"
    params = [v for lo, hi in ranges for v in (match, lo, hi, offset + limit)]
    rows = conn.execute(f"{sql} ORDER BY rank LIMIT ? OFFSET ?", [*params, limit, offset])
    return [row[0] for row in rows]


def count_matches(
    conn: sqlite3.Connection, query: SearchQuery, workspace_id: int
) -> tuple[int, bool]:
    """How many results the search has in all: `(count, False)`, or `(SEARCH_COUNT_CAP,
    True)` when there are more."""
    ranges = _search_ranges(conn, query)
    found = _count(conn, workspace_id, fts_query(query.text), ranges, SEARCH_COUNT_CAP + 1)
    return (SEARCH_COUNT_CAP, True) if found > SEARCH_COUNT_CAP else (found, False)


def _count(
    conn: sqlite3.Connection,
    workspace_id: int,
    match: str,
    ranges: list[tuple[int, int]],
    cap: int = -1,
) -> int:
    """The matches of an FTS5 expression in these ranges, up to `cap` (-1: all)."""
    where, params = _search_where(workspace_id, match)
    part = f"SELECT 1{_SEARCH_FROM} WHERE {where} AND s.rowid BETWEEN ? AND ?"
    sql = " UNION ALL ".join([part] * len(ranges)) or "SELECT 1 WHERE 0"
    values = [v for lo, hi in ranges for v in (*params, lo, hi)]
    return conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*values, cap]).fetchone()[0]


def _search_where(workspace_id: int, match: str) -> tuple[str, list[Any]]:
    """The search's filter, shared by the pages and the counts: the FTS5 expression and the
    workspace's repos not being deleted (the caller adds the rowid ranges)."""
    where = f"cache_search MATCH ? AND {_NOT_PURGED.format('c.repo_id')}"
    return where, [workspace_id, match]


def _search_result(row: tuple) -> dict[str, Any]:
    keys = ("repo_id", "full_name", "kind", "number", "title", "state", "updated_at", "html_url")
    result = dict(zip(keys, row[:8], strict=True))
    result["snippet"] = snippet_segments(row[8] or "")
    return result


def snippet_segments(marked: str) -> list[dict[str, Any]]:
    """Split FTS5's marked snippet into `{text, hit}` segments (no markup in the text)."""
    segments = []
    for i, part in enumerate(marked.split(_HIT_START)):
        hit, _, rest = part.partition(_HIT_END) if i else ("", "", part)
        for text, is_hit in ((hit, True), (rest, False)):
            text = text.replace(_HIT_END, "")
            if text:
                segments.append({"text": text, "hit": is_hit})
    return segments
