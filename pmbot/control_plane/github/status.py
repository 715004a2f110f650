"""GitHub as last seen by any pmbot process: the single operational `github_status` row.

The worker feeds it the client's `on_response` info (`ExchangeInfo`) after
requests; `/api/setup`, `pmbot sync` and the repo status read model read it.
This module is the only one that touches the table. Operational, not audited: it
changes on every request. "Reachable" means the last exchange got an HTTP
answer that was not a 5xx (a 401 or 404 still proves GitHub is there);
`last_error` is the last exchange's error, cleared by a success. An answer
without rate-limit headers keeps the last rate limit seen. Error texts come
from the client, which never puts the token in them.

The row belongs to one API base and token (`GitHubKey`: the token's
fingerprint, never the token). An exchange under another key starts the row
afresh, and a reader asking for a key the row does not hold gets "not checked
yet" and no rate limit: a figure from an earlier token or base is never shown
as the current one's. The token's judgement is GitHub's own: a 401 rejects it,
any other answer from the API origin accepts it (with the login when the
answer was `GET /user`, and the scopes when GitHub sent `X-OAuth-Scopes`). A
401 carries the unauthenticated rate limit, which is not the token's: dropped.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from pmbot.control_plane.github.protocol import Unauthorized
from pmbot.shared.timeutil import to_rfc3339

TOKEN_STATES = ("missing", "unchecked", "accepted", "rejected")


@dataclass(frozen=True)
class GitHubKey:
    """Whose facts: the API base and the token's fingerprint (None: no token)."""

    api_base: str
    token_fingerprint: str | None

    @classmethod
    def of(cls, settings: Any) -> GitHubKey:
        return cls(settings.github_api_base, settings.github_token.fingerprint())


def save_response(conn: sqlite3.Connection, info: Any) -> None:
    """Record one exchange: when, whether GitHub answered, its error, its rate limit, and
    GitHub's judgement of the token."""
    key = GitHubKey(info.api_base, info.token_fingerprint)
    if _stored_key(conn) != key:
        conn.execute("DELETE FROM github_status WHERE id = 1")
    rate = info.rate_limit if info.status != 401 else None
    judged = _judgement(info)
    conn.execute(
        "INSERT INTO github_status (id, last_request_at, last_request_ok, last_error,"
        " rate_limit_remaining, rate_limit_limit, rate_limit_reset_at, rate_limit_resource,"
        " api_base, token_fingerprint, token_state, token_login, token_scopes, token_checked_at)"
        " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " last_request_at = excluded.last_request_at,"
        " last_request_ok = excluded.last_request_ok,"
        " last_error = excluded.last_error,"
        " rate_limit_remaining = coalesce(excluded.rate_limit_remaining, rate_limit_remaining),"
        " rate_limit_limit = coalesce(excluded.rate_limit_limit, rate_limit_limit),"
        " rate_limit_reset_at = coalesce(excluded.rate_limit_reset_at, rate_limit_reset_at),"
        " rate_limit_resource = coalesce(excluded.rate_limit_resource, rate_limit_resource),"
        " token_state = coalesce(excluded.token_state, token_state),"
        " token_login = CASE WHEN excluded.token_state = 'rejected' THEN NULL"
        "   ELSE coalesce(excluded.token_login, token_login) END,"
        " token_scopes = CASE WHEN excluded.token_state = 'rejected' THEN NULL"
        "   ELSE coalesce(excluded.token_scopes, token_scopes) END,"
        " token_checked_at = coalesce(excluded.token_checked_at, token_checked_at)",
        (
            to_rfc3339(info.at),
            int(info.status is not None and info.status < 500),
            info.error,
            rate.remaining if rate else None,
            rate.limit if rate else None,
            to_rfc3339(rate.reset_at) if rate else None,
            rate.resource if rate else None,
            key.api_base,
            key.token_fingerprint,
            judged,
            info.login if judged == "accepted" else None,
            info.scopes if judged == "accepted" else None,
            to_rfc3339(info.at) if judged else None,
        ),
    )


def _judgement(info: Any) -> str | None:
    """What this answer says of the token; None when it says nothing (no answer, 5xx,
    a hop to another origin, no token sent)."""
    if info.token_fingerprint is None or info.status is None or info.status >= 500:
        return None
    if not info.url.startswith(info.api_base + "/"):
        return None
    return "rejected" if info.status == 401 else "accepted"


def _stored_key(conn: sqlite3.Connection) -> GitHubKey | None:
    row = conn.execute(
        "SELECT api_base, token_fingerprint FROM github_status WHERE id = 1"
    ).fetchone()
    return None if row is None else GitHubKey(row[0], row[1])


def _row(conn: sqlite3.Connection, key: GitHubKey | None) -> dict[str, Any]:
    """The row, or nothing when it belongs to another key (`key` None: any key)."""
    row = conn.execute("SELECT * FROM github_status WHERE id = 1").fetchone()
    if row is None:
        return {}
    row = dict(row)
    if key is not None and GitHubKey(row["api_base"], row["token_fingerprint"]) != key:
        return {}
    return row


def read_status(conn: sqlite3.Connection, key: GitHubKey | None = None) -> dict:
    """The `/api/setup` shape; `reachable` is None before any request under `key`."""
    row = _row(conn, key)
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


def read_token(conn: sqlite3.Connection, key: GitHubKey) -> dict[str, Any]:
    """The token's state as GitHub last judged it: `missing | unchecked | accepted |
    rejected`, with the login and scopes GitHub named (scopes: None when GitHub did not
    say, as for fine-grained tokens)."""
    if key.token_fingerprint is None:
        return {"state": "missing", "login": None, "scopes": None, "checked_at": None}
    row = _row(conn, key)
    scopes = row.get("token_scopes")
    return {
        "state": row.get("token_state") or "unchecked",
        "login": row.get("token_login"),
        "scopes": None if scopes is None else [s.strip() for s in scopes.split(",") if s.strip()],
        "checked_at": row.get("token_checked_at"),
    }


def check_token(conn: sqlite3.Connection, client: Any, key: GitHubKey) -> dict[str, Any]:
    """Have GitHub judge the token now (`GET /user`, recorded through the client's
    `on_response`); a rejection is an answer, not an error. Other failures raise."""
    if key.token_fingerprint is not None:
        with contextlib.suppress(Unauthorized):
            client.get_user()
    return read_token(conn, key)


def read_rate_limit(conn: sqlite3.Connection, key: GitHubKey | None = None) -> dict[str, Any]:
    """The last rate limit seen under `key`: `{remaining, reset_at}` (nulls if none yet)."""
    row = _row(conn, key)
    return {
        "remaining": row.get("rate_limit_remaining"),
        "reset_at": row.get("rate_limit_reset_at"),
    }
