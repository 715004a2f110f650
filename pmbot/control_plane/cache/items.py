"""The Work view's read side: every cached issue and PR across the tracked repos.

Reads the Work view's side tables (`item_labels`, `item_assignees`,
`item_versions`, migration 0014), which the write side (`cache/store.py`) keeps
in step with every item it writes, a page at a time (migration 0015). No GitHub request,
no JSON scanned per row: labels and assignees are looked up in their tables,
text goes through the same full-text index and query as search
(`browse.text_hits`), whose hits are already narrowed to the kind, state and
liveness asked (rowid ranges of the index, `store.search_group`). A page walks its sort's partial
index (rows not gone), testing each row, unless a filter with few matches (a
label, the assignee, the text: at most DRIVE_BELOW) is the cheaper place to
start; counts start from a label or the assignee, whose side rows carry the
item's state, or the text's hits; text with nothing else asked of the item is
counted from the hits' rowids alone (`_count_text`). "No assignee" reads the
unassigned items' partial indexes (migration 0017): a page sorted by update walks
only those, a count tests each side row against the small one.

Paging policy: pages are keyset-ordered by (sort key, repo_id, number, kind),
the order the sort asks for. A cursor holds the last item's position and the
newest `item_versions` version when the first page was read; later pages leave
out items written since. So, whatever the sync writes meanwhile, no item is
shown twice, and every item that was not written while paging is shown once;
an item written meanwhile is either shown on a page read before the write or
not at all (reload to see it).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from pmbot.control_plane.cache.browse import GONE_REASONS, text_hits
from pmbot.control_plane.cache.store import (
    GROUP_SHIFT,
    MAX_NUMBER,
    MAX_SLOT,
    SLOT_SHIFT,
    search_group,
    search_groups,
    search_ranges,
)
from pmbot.shared.errors import ServiceError
from pmbot.shared.kind import ISSUES, PRS, Kind

SORTS = {"updated": "updated_at", "created": "created_at", "comments": "comments"}
DIRECTIONS = ("desc", "asc")
ITEM_KINDS = ("issue", "pr")
MAX_LABELS = 10  # labels of one filter ("all of"): each is one more index lookup per row
MAX_REPOS = 100  # repo ids of one filter
# A filter matching at most this many rows is where a page starts (each row then read and
# sorted: ~25 us for rows this large); past it, walking the sort's index and testing each
# row (~1 us) is cheaper. About sqrt(2 x 50 x rows walked) at 20k-item states.
DRIVE_BELOW = 200
_STATE_NAMES = {"open": ("open",), "closed": ("closed",), "all": ("open", "closed")}
_STATE_LISTS = {state: ", ".join(f"'{n}'" for n in names) for state, names in _STATE_NAMES.items()}


class WorkFilterError(ServiceError):
    """A filter that names something that does not exist (a repo id)."""

    code = "invalid_field"
    status = 422

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field

    def problem_fields(self) -> dict[str, Any]:
        return {"field": self.field}


@dataclass(frozen=True)
class WorkFilter:
    """What the Work view shows: every field narrows it; defaults show every open item."""

    repo_ids: tuple[int, ...] = ()
    kind: str | None = None  # 'issue' | 'pr' | None: both
    state: str = "open"  # 'open' | 'closed' | 'all'
    labels: tuple[str, ...] = ()  # all of them
    author: str | None = None
    assignee: str | None = None
    no_assignee: bool = False
    draft: bool | None = None  # PRs only: drafts (True) or ready ones (False)
    updated_since: str | None = None  # RFC 3339 UTC, `...Z`, compared with GitHub's
    text: str | None = None
    include_gone: bool = False
    sort: str = "updated"
    direction: str = "desc"

    def digest(self) -> str:
        """A short hash of the filter and sort: a cursor is only good for the same one."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def kinds(self) -> tuple[Kind, ...]:
        if self.draft is not None or self.kind == "pr":
            return (PRS,)
        return (ISSUES,) if self.kind == "issue" else (ISSUES, PRS)


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's keyset, and the version paging started at."""

    key: str | int
    repo_id: int
    kind: str
    number: int
    as_of: int


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: Position | None


def check_repos(conn: sqlite3.Connection, f: WorkFilter, workspace_id: int) -> None:
    """Refuse repo ids that are not tracked in the workspace (a 422 naming `repo_id`)."""
    if not f.repo_ids:
        return
    marks = ",".join("?" * len(f.repo_ids))
    known = {
        r[0]
        for r in conn.execute(
            f"SELECT repo_id FROM repos WHERE workspace_id = ? AND repo_id IN ({marks})",
            (workspace_id, *f.repo_ids),
        )
    }
    unknown = [str(r) for r in f.repo_ids if r not in known]
    if unknown:
        raise WorkFilterError("repo_id", f"no tracked repo has id {', '.join(unknown)}")


def list_items(
    conn: sqlite3.Connection,
    f: WorkFilter,
    workspace_id: int,
    limit: int = 50,
    after: Position | None = None,
) -> Page:
    """One page of items, in the filter's order, after `after` (None: the first page)."""
    parts, params = [], []
    for kind in f.kinds():
        for state in ("open", "closed") if f.state == "all" else (f.state,):
            drive = _page_driver(conn, kind, f, state)
            sql, values = _page_part(kind, f, state, drive, after, limit + 1)
            parts.append(f"SELECT * FROM ({sql})")
            params += values
    order = _merged_order(f.direction)
    sql = (
        "SELECT m.*, r.full_name,"
        " (SELECT json_group_array(login) FROM item_assignees AS a"
        "  WHERE a.repo_id = m.repo_id AND a.kind = m.kind AND a.number = m.number),"
        " (SELECT max(version) FROM item_versions)"
        f" FROM ({' UNION ALL '.join(parts)}) AS m"
        " JOIN repos AS r ON r.repo_id = m.repo_id AND r.workspace_id = ?"
        f" ORDER BY {order} LIMIT ?"
    )
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(sql, [*params, workspace_id, limit + 1]).fetchall()
    items = [_item(row) for row in rows[:limit]]
    if len(rows) <= limit:
        return Page(items, None)
    last = rows[limit - 1]
    as_of = after.as_of if after is not None else rows[0][-1]
    return Page(items, Position(last[_KEY], last[1], last[0], last[2], as_of))


def count_items(conn: sqlite3.Connection, f: WorkFilter, workspace_id: int) -> list[dict[str, Any]]:
    """How many items match, per repo: `[{repo_id, full_name, count}]` by full_name."""
    if f.text is not None and not _needs_item_rows(f):
        return _count_text(conn, f, workspace_id)
    parts, params = [], []
    for kind in f.kinds():
        drive = "label" if f.labels else "assignee" if f.assignee is not None else None
        if drive is None and f.text is not None:
            drive = "text"
        source, values = _count_source(kind, f, drive)
        where, more = _where(kind, f, f.state, drive, from_side=source != kind.table)
        # `+`: with a time range, grouping must not pick the per-repo index (a skip-scan
        # that reads every row's `gone`) over the range of the partial updated index.
        group = "+t.repo_id" if f.updated_since is not None else "t.repo_id"
        parts.append(f"SELECT t.repo_id, count(*) AS n FROM {source} AS t WHERE {where}"
                     f" GROUP BY {group}")  # fmt: skip
        params += [*values, *more]
    sql = (
        "SELECT c.repo_id, r.full_name, sum(c.n)"
        f" FROM ({' UNION ALL '.join(parts)}) AS c"
        " JOIN repos AS r ON r.repo_id = c.repo_id AND r.workspace_id = ?"
        " GROUP BY c.repo_id ORDER BY r.full_name COLLATE NOCASE, c.repo_id"
    )
    rows = conn.execute(sql, [*params, workspace_id]).fetchall()
    return [{"repo_id": r[0], "full_name": r[1], "count": r[2]} for r in rows]


def _needs_item_rows(f: WorkFilter) -> bool:
    """Whether the filter asks more of an item than its kind, state, liveness and repo."""
    asked = (f.assignee, f.author, f.draft, f.updated_since)
    return bool(f.labels) or f.no_assignee or any(value is not None for value in asked)


def _count_text(conn: sqlite3.Connection, f: WorkFilter, workspace_id: int) -> list[dict[str, Any]]:
    """Counts of text (and kind, state, repos): the index's hits in the rowid ranges of the
    kinds, states and liveness asked, counted per repo slot from their rowids alone."""
    groups = search_groups(f.kinds(), _STATE_NAMES[f.state], f.include_gone)
    hits, values = text_hits(f.text, search_ranges(groups))
    repos = f" AND c.repo_id IN ({','.join('?' * len(f.repo_ids))})" if f.repo_ids else ""
    sql = (
        f"SELECT c.repo_id, r.full_name, h.n FROM (SELECT (rowid >> {SLOT_SHIFT}) & {MAX_SLOT}"
        f" AS slot, count(*) AS n FROM ({hits}) GROUP BY slot) AS h"
        " JOIN cache_search_repos AS c ON c.slot = h.slot"
        f" JOIN repos AS r ON r.repo_id = c.repo_id AND r.workspace_id = ?{repos}"
        " ORDER BY r.full_name COLLATE NOCASE, c.repo_id"
    )
    rows = conn.execute(sql, [*values, workspace_id, *f.repo_ids]).fetchall()
    return [{"repo_id": r[0], "full_name": r[1], "count": r[2]} for r in rows]


# Columns of one part, in the order `_item` reads them; the sort key comes last.
_SELECT = (
    "'{kind}' AS kind, t.repo_id, t.{number} AS number, t.title, t.state, t.labels_json,"
    " t.user_login, t.comments, t.created_at, t.updated_at, t.closed_at, t.html_url,"
    " {draft} AS draft, t.gone, t.moved_to, t.{key} AS sort_key"
)
_KEY = 15


def _count_source(kind: Kind, f: WorkFilter, drive: str | None) -> tuple[str, list[Any]]:
    """What a count reads: the driving label's or assignee's side rows themselves (one index
    range, in repo order) when no filter needs the item's own row; else the item table."""
    needs_row = f.author is not None or f.draft is not None or f.updated_since is not None
    if drive not in ("label", "assignee") or needs_row:
        return kind.table, []
    sql, values = _side_rows(kind, f, f.state, drive)
    renamed = sql.replace("SELECT repo_id, number", f"SELECT repo_id, number AS {kind.number}")
    return f"({renamed})", values


def _side_rows(kind: Kind, f: WorkFilter, state: str, name: str) -> tuple[str, list[Any]]:
    """(repo_id, number) of the items in `state` carrying the first label, or the assignee."""
    table, column = ("item_labels", "label") if name == "label" else ("item_assignees", "login")
    sql = (f"SELECT repo_id, number FROM {table} WHERE {column} = ? AND"
           f" kind = '{kind.search_kind}' AND state IN ({_states(state)}){_live(f)}")  # fmt: skip
    return sql, [f.labels[0] if name == "label" else f.assignee]


def _page_driver(conn: sqlite3.Connection, kind: Kind, f: WorkFilter, state: str) -> str | None:
    """Which filter a page starts from: one with few matches (a label, the assignee, the
    text), whose rows are then sorted; None: walk the sort's index, testing each row."""
    for name, given in (("label", f.labels), ("assignee", f.assignee), ("text", f.text)):
        if given and _few_matches(conn, kind, f, state, name):
            return name
    return None


def _few_matches(
    conn: sqlite3.Connection, kind: Kind, f: WorkFilter, state: str, name: str
) -> bool:
    """Whether the filter `name` alone matches at most DRIVE_BELOW rows (counted no further)."""
    if name == "text":
        sql, values = _text_hit_rows(kind, f, state)
    else:
        sql, values = _side_rows(kind, f, state, name)
    found = conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*values, DRIVE_BELOW + 1])
    return found.fetchone()[0] <= DRIVE_BELOW


def _page_part(
    kind: Kind, f: WorkFilter, state: str, drive: str | None, after: Position | None, limit: int
) -> tuple[str, list[Any]]:
    """One kind and state in sort order, at most `limit` rows."""
    key, number = SORTS[f.sort], kind.number
    where, values = _where(kind, f, state, drive, page=True)
    if after is not None:
        seek, seek_values = _seek(kind, f, after)
        where += f" AND {seek}"
        values += seek_values
    direction = f.direction.upper()
    columns = _SELECT.format(
        kind=kind.search_kind, number=number, key=key, draft="t.draft" if kind is PRS else "NULL"
    )
    order = f"t.{key} {direction}, t.repo_id {direction}, t.{number} {direction}"
    table = f"{kind.table} AS t"
    if _walks_unassigned(f, drive):  # never the sort's index, testing each row's last column
        table += f" INDEXED BY {kind.table}_work_unassigned"
    return f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT ?", [
        *values,
        limit,
    ]


def _seek(kind: Kind, f: WorkFilter, after: Position) -> tuple[str, list[Any]]:
    """Rows strictly after the cursor in (key, repo_id, number, kind) order, and none written
    since paging began."""
    key, number, kind_name = SORTS[f.sort], kind.number, kind.search_kind
    descending = f.direction == "desc"
    # At an equal (key, repo_id, number) the kind breaks the tie ('issue' < 'pr').
    inclusive = kind_name < after.kind if descending else kind_name > after.kind
    op = ("<" if descending else ">") + ("=" if inclusive else "")
    return (
        f"(t.{key}, t.repo_id, t.{number}) {op} (?, ?, ?) AND NOT EXISTS (SELECT 1 FROM"
        f" item_versions AS v WHERE v.repo_id = t.repo_id AND v.kind = '{kind_name}'"
        f" AND v.number = t.{number} AND v.version > ?)",
        [after.key, after.repo_id, after.number, after.as_of],
    )


def _where(
    kind: Kind,
    f: WorkFilter,
    state: str,
    drive: str | None,
    from_side: bool = False,
    page: bool = False,
) -> tuple[str, list[Any]]:
    """The filter's conditions on one item table (aliased `t`).

    `drive` names the filter SQLite should start from: it becomes an `IN` over that
    filter's rows (which, for a label or the assignee, also hold the state and
    liveness, so the item's own row is read only for what else the filter asks); the
    others are tests of each row (an EXISTS on a primary key, a rowid in the text's hits).
    `from_side`: `t` is the driving filter's side rows (repo_id, number) themselves.
    `page`: the conditions of a page's part (`_page_part`), not of a count.
    """
    number = kind.number
    where, values = ["1"], []
    if drive in ("label", "assignee") and not from_side:
        rows, row_values = _side_rows(kind, f, state, drive)
        where.append(f"(t.repo_id, t.{number}) IN ({rows})")
        values += row_values
    elif not from_side:
        where.append(f"t.state IN ({_states(state)})")
        if not f.include_gone:
            where.append("t.gone IS NULL")
    if f.repo_ids:
        where.append(f"t.repo_id IN ({','.join('?' * len(f.repo_ids))})")
        values += f.repo_ids
    for label in f.labels[1:] if drive == "label" else f.labels:
        where.append(_has("item_labels", "label", kind))
        values.append(label)
    if f.assignee is not None and drive != "assignee":
        where.append(_has("item_assignees", "login", kind))
        values.append(f.assignee)
    if f.no_assignee:
        where.append(_unassigned(kind, f, drive, from_side, page))
    if f.author is not None:
        where.append("t.user_login = ?")
        values.append(f.author)
    if f.draft is not None:
        where.append("t.draft = 1" if f.draft else "coalesce(t.draft, 0) = 0")
    if f.updated_since is not None:
        where.append("t.updated_at >= ?")
        values.append(f.updated_since)
    if f.text is not None:
        # The search's own index and query (one text path for search and this view), read
        # as rowids only: each hit's stored columns cost 20x more to read.
        hits, hit_values = _text_hit_rows(kind, f, state)
        where.append(_text_hits(kind, f, state, hits, decoded=drive == "text" or from_side))
        values += hit_values
    return " AND ".join(where), values


def _walks_unassigned(f: WorkFilter, drive: str | None) -> bool:
    """Whether a page walks the unassigned items' own index (migration 0017): no assignee,
    no gone items, sorted by update, and no filter with few matches to start from."""
    return f.no_assignee and not f.include_gone and f.sort == "updated" and drive is None


def _unassigned(kind: Kind, f: WorkFilter, drive: str | None, from_side: bool, page: bool) -> str:
    """No assignee: `assignees_json = '[]'`, the column the write side makes the assignees'
    side rows from. Read from an index, never from the row (it ends the row, past the
    payload): the walk's own index, or for side rows counted a probe of the small one;
    otherwise (gone items asked, another sort, rows read anyway) no `item_assignees` row."""
    number = kind.number
    if page and _walks_unassigned(f, drive):
        return "t.assignees_json = '[]'"
    if from_side and not f.include_gone:
        return (f"EXISTS (SELECT 1 FROM {kind.table} AS u INDEXED BY"
                f" {kind.table}_work_unassigned_item WHERE u.repo_id = t.repo_id"
                f" AND u.{number} = t.{number} AND u.gone IS NULL"
                " AND u.assignees_json = '[]')")  # fmt: skip
    return (f"NOT EXISTS (SELECT 1 FROM item_assignees AS a WHERE a.repo_id = t.repo_id"
            f" AND a.kind = '{kind.search_kind}' AND a.number = t.{number})")  # fmt: skip


def _states(state: str) -> str:
    """`state` as an IN list: `all` is two ranges of the (state, ...) indexes, not a scan."""
    return _STATE_LISTS[state]


def _live(f: WorkFilter) -> str:
    return "" if f.include_gone else " AND live = 1"


def _has(table: str, column: str, kind: Kind) -> str:
    return (f"EXISTS (SELECT 1 FROM {table} AS x WHERE x.repo_id = t.repo_id"
            f" AND x.kind = '{kind.search_kind}' AND x.number = t.{kind.number}"
            f" AND x.{column} = ?)")  # fmt: skip


def _text_hit_rows(kind: Kind, f: WorkFilter, state: str) -> tuple[str, list[Any]]:
    """The text's hits among this kind's items in `state`, not gone unless asked: the
    index's rowid ranges of those groups, so none of the others is read."""
    groups = search_groups((kind,), _STATE_NAMES[state], f.include_gone)
    return text_hits(f.text, search_ranges(groups))


def _text_hits(kind: Kind, f: WorkFilter, state: str, hits: str, decoded: bool) -> str:
    """The item is one of the text's `hits`, rowids laid out as `store.search_rowid` lays
    them out (group << 59 | slot << 31 | number; tests/test_work_items.py holds the two
    together). `decoded` (the text drives, or `t` is side rows): the hits decoded to
    (repo_id, number), a set to start from; otherwise the item's rowid, from its own
    columns, tested against the hits."""
    number = kind.number
    if decoded:
        return (f"(t.repo_id, t.{number}) IN (SELECT r.repo_id, h.rowid & {MAX_NUMBER}"
                f" FROM ({hits}) AS h JOIN cache_search_repos AS r"
                f" ON r.slot = (h.rowid >> {SLOT_SHIFT}) & {MAX_SLOT})")  # fmt: skip
    slot = "(SELECT slot FROM cache_search_repos WHERE repo_id = t.repo_id)"
    return (f"(({_row_group(kind, f, state)} << {GROUP_SHIFT}) | ({slot} << {SLOT_SHIFT})"
            f" | t.{number}) IN ({hits})")  # fmt: skip


def _row_group(kind: Kind, f: WorkFilter, state: str) -> str:
    """The item's search group (`store.search_group`) in SQL: a constant where the filter
    fixes its state and liveness, as a page's part does. `gone` ends the row, past the
    payload: read only when gone items are asked for. (SQLite's `<<` and `|` are of one
    precedence, left to right: each shift in brackets.)"""
    if state != "all" and not f.include_gone:
        return str(search_group(kind, state, None))
    gone = "((t.gone IS NOT NULL) << 2)" if f.include_gone else "0"
    return f"({gone} | ((t.state = 'closed') << 1) | {int(kind is PRS)})"


def _merged_order(direction: str) -> str:
    d = direction.upper()
    return f"m.sort_key {d}, m.repo_id {d}, m.number {d}, m.kind {d}"


def _item(row: tuple) -> dict[str, Any]:
    kind, repo_id, number, title, state, labels, user, comments, *rest = row
    created_at, updated_at, closed_at, html_url, draft, gone, moved_to = rest[:7]
    full_name, assignees = rest[8], rest[9]
    return {
        "repo_id": repo_id,
        "full_name": full_name,
        "kind": kind,
        "number": number,
        "title": title,
        "state": state,
        "labels": json.loads(labels),
        "user": user,
        "assignees": json.loads(assignees),
        "comments": comments,
        "created_at": created_at,
        "updated_at": updated_at,
        "closed_at": closed_at,
        "html_url": html_url,
        "draft": None if draft is None else bool(draft),
        "gone": gone,
        "gone_reason": GONE_REASONS.get(gone) if gone else None,
        "moved_to": moved_to,
    }
