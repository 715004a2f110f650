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
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane.cache.store import MAX_NUMBER, SLOT_SHIFT, search_facet, search_rowids
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
        where.append(
            f"{kind.number} IN (SELECT number FROM cache_search WHERE cache_search MATCH ?"
            " AND rowid BETWEEN ? AND ?)"
        )
        match = fts_match(query.text, (kind,), (state,), query.include_gone)
        values += [match, *search_rowids(conn, repo_id)]
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


def fts_match(
    text: str,
    kinds: tuple[Kind, ...] = (ISSUES, PRS),
    states: tuple[str, ...] = ("open", "closed"),
    include_gone: bool = False,
) -> str:
    """User text in titles and bodies (`fts_query`), of items of these kinds and states,
    not gone unless asked: one FTS5 expression, answered by the index alone (each search
    row's facet token, `store.search_facet`, names its item's kind, state and liveness)."""
    return f"{{title body}} : ({fts_query(text)}) AND {_facets(kinds, states, include_gone)}"


def _facets(kinds: tuple[Kind, ...], states: tuple[str, ...], include_gone: bool) -> str:
    gone = (None, "gone") if include_gone else (None,)
    tokens = [search_facet(k, s, g) for k in kinds for s in states for g in gone]
    return f"{{facet}} : ({' OR '.join(tokens)})"


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
# whether its item is gone and its state from its facet token (`fts_match`), so filtering
# thousands of matches reads neither the FTS table's stored columns nor the items: only
# the page's rows are joined to their items.
_NUMBER = f"((s.rowid >> 1) & {MAX_NUMBER})"
_SEARCH_FROM = (
    " FROM cache_search AS s"
    f" JOIN cache_search_repos AS c ON c.slot = s.rowid >> {SLOT_SHIFT}"
    " JOIN repos AS r ON r.repo_id = c.repo_id AND r.workspace_id = ?"
)
_ITEMS_JOIN = (
    " LEFT JOIN github_issues AS i"
    f"  ON s.rowid & 1 = 0 AND i.repo_id = c.repo_id AND i.issue_number = {_NUMBER}"
    " LEFT JOIN github_pull_requests AS p"
    f"  ON s.rowid & 1 = 1 AND p.repo_id = c.repo_id AND p.pr_number = {_NUMBER}"
)


def search(conn: sqlite3.Connection, query: SearchQuery, workspace_id: int) -> list[dict[str, Any]]:
    """Cached issues and PRs whose title or body match, best first, from `query.offset` on.

    Best first: items with every word in the title, then the others, each group by
    FTS5's rank (bm25, the facet column weighted 0). Ranking costs a few microseconds a
    match, so a common word's thousands of body matches are ranked only when a page
    reaches past the title matches (each group is one `ORDER BY rank LIMIT` query that
    FTS5 sorts itself; the items and the snippet are read for the page's rows only)."""
    words, facets = fts_query(query.text), _search_facets(query)
    # A state is asked of the index (fewer rows ranked); gone items are left out of a
    # ranked page by its rows' items (`_ranked`): their few facet phrases would cost
    # each ranked query more than that (bm25 looks up every phrase of the expression).
    ranked = facets if query.state is not None else ""
    in_title = f"{{title}} : ({words})"
    rows = _ranked(conn, query, workspace_id, f"{in_title} {ranked}", query.limit, query.offset)
    if len(rows) < query.limit:
        # Title matches end before this page does: how many there are, then the rest.
        titled = (
            query.offset + len(rows) if rows
            else _count(conn, query, workspace_id, f"{in_title} {facets}")
        )  # fmt: skip
        rest = f"({{title body}} : ({words}) NOT {in_title}) {ranked}"
        offset = max(0, query.offset - titled)
        rows += _ranked(conn, query, workspace_id, rest, query.limit - len(rows), offset)
    return [_search_result(row) for row in rows]


def _search_facets(query: SearchQuery) -> str:
    """The search's items, as what follows its text in an FTS5 expression: of the state
    asked, or else not gone. (`AND` every live token would merge all rows' facets: gone
    ones are few, so leaving them out costs next to nothing.)"""
    kinds = (ISSUES, PRS)
    if query.state is not None:
        return f"AND {_facets(kinds, (query.state,), False)}"
    tokens = [search_facet(k, s, "gone") for k in kinds for s in ("open", "closed")]
    return f"NOT {{facet}} : ({' OR '.join(tokens)})"


def _ranked(
    conn: sqlite3.Connection,
    query: SearchQuery,
    workspace_id: int,
    match: str,
    limit: int,
    offset: int,
) -> list[tuple]:
    where, params = _search_where(conn, query, workspace_id, match)
    sql = (
        f"SELECT c.repo_id, r.full_name, CASE s.rowid & 1 WHEN 1 THEN '{PRS.search_kind}'"
        f" ELSE '{ISSUES.search_kind}' END, {_NUMBER}, coalesce(i.title, p.title),"
        " coalesce(i.state, p.state), coalesce(i.updated_at, p.updated_at),"
        " coalesce(i.html_url, p.html_url), snippet(cache_search, -1, ?, ?, '…', ?)"
        f"{_SEARCH_FROM}{_ITEMS_JOIN} WHERE {where} AND coalesce(i.gone, p.gone) IS NULL"
        " ORDER BY s.rank LIMIT ? OFFSET ?"
    )  # fmt: skip
    cursor = conn.cursor()
    cursor.row_factory = None
    snippet = [_HIT_START, _HIT_END, SNIPPET_TOKENS]
    return cursor.execute(sql, [*snippet, *params, limit, offset]).fetchall()


def count_matches(
    conn: sqlite3.Connection, query: SearchQuery, workspace_id: int
) -> tuple[int, bool]:
    """How many results the search has in all: `(count, False)`, or `(SEARCH_COUNT_CAP,
    True)` when there are more."""
    match = f"{{title body}} : ({fts_query(query.text)}) {_search_facets(query)}"
    found = _count(conn, query, workspace_id, match, SEARCH_COUNT_CAP + 1)
    return (SEARCH_COUNT_CAP, True) if found > SEARCH_COUNT_CAP else (found, False)


def _count(
    conn: sqlite3.Connection,
    query: SearchQuery,
    workspace_id: int,
    match: str,
    cap: int = -1,
) -> int:
    """The results of an FTS5 expression, up to `cap` (-1: all)."""
    where, params = _search_where(conn, query, workspace_id, match)
    sql = f"SELECT count(*) FROM (SELECT 1{_SEARCH_FROM} WHERE {where} LIMIT ?)"
    return conn.execute(sql, [*params, cap]).fetchone()[0]  # fmt: skip


def _search_where(
    conn: sqlite3.Connection, query: SearchQuery, workspace_id: int, match: str
) -> tuple[str, list[Any]]:
    """The search's filter, shared by the pages and the counts: the FTS5 expression (text,
    state, not gone), the workspace's repos not being deleted, the repo asked."""
    where = ["cache_search MATCH ?", _NOT_PURGED.format("c.repo_id")]
    params: list[Any] = [workspace_id, match]
    if query.repo_id is not None:
        where.append("s.rowid BETWEEN ? AND ?")
        params += search_rowids(conn, query.repo_id)
    return " AND ".join(where), params


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
