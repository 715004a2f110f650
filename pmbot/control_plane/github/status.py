"""GitHub as last seen by any pmbot process: the single operational `github_status` row.

The worker feeds it the client's `on_response` info (`ExchangeInfo`) after
requests; `/api/setup`, `pmbot sync` and the repo status read model read it.
This module is the only one that touches the table. Operational, not audited: it
changes on every request. "Reachable" means the last exchange got an HTTP
answer that was not a 5xx (a 401 or 404 still proves GitHub is there);
`last_error` is the last exchange's error, cleared by a success. An answer
without rate-limit headers keeps the last rate limit seen. Error texts come
from the client, which never puts the token in them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pmbot.shared.timeutil import to_rfc3339


def save_response(conn: sqlite3.Connection, info: Any) -> None:
    """Record one exchange: when, whether GitHub answered, its error, its rate limit."""
    rate = info.rate_limit
    conn.execute(
        "INSERT INTO github_status (id, last_request_at, last_request_ok, last_error,"
        " rate_limit_remaining, rate_limit_limit, rate_limit_reset_at, rate_limit_resource)"
        " VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " last_request_at = excluded.last_request_at,"
        " last_request_ok = excluded.last_request_ok,"
        " last_error = excluded.last_error,"
        " rate_limit_remaining = coalesce(excluded.rate_limit_remaining, rate_limit_remaining),"
        " rate_limit_limit = coalesce(excluded.rate_limit_limit, rate_limit_limit),"
        " rate_limit_reset_at = coalesce(excluded.rate_limit_reset_at, rate_limit_reset_at),"
        " rate_limit_resource = coalesce(excluded.rate_limit_resource, rate_limit_resource)",
        (
            to_rfc3339(info.at),
            int(info.status is not None and info.status < 500),
            info.error,
            rate.remaining if rate else None,
            rate.limit if rate else None,
            to_rfc3339(rate.reset_at) if rate else None,
            rate.resource if rate else None,
        ),
    )


def read_status(conn: sqlite3.Connection) -> dict:
    """The `/api/setup` shape; `reachable` is None before any request."""
    row = conn.execute("SELECT * FROM github_status WHERE id = 1").fetchone()
    row = dict(row) if row else {}
    ok = row.get("last_request_ok")
    return {
        "reachable": None if ok is None else bool(ok),
        "last_request_at": row.get("last_request_at"),
        "last_error": row.get("last_error"),
        "rate_limit": {
            "remaining": row.get("rate_limit_remaining"),
            "limit": row.get("rate_limit_limit"),
            "reset_at": row.get("rate_limit_reset_at"),
            "resource": row.get("rate_limit_resource"),
        },
    }


def read_rate_limit(conn: sqlite3.Connection) -> dict[str, Any]:
    """The last rate limit any process saw: `{remaining, reset_at}` (nulls if none yet)."""
    row = conn.execute(
        "SELECT rate_limit_remaining, rate_limit_reset_at FROM github_status WHERE id = 1"
    ).fetchone()
    if row is None:
        return {"remaining": None, "reset_at": None}
    return {"remaining": row[0], "reset_at": row[1]}
