"""The naive baseline for bench_api.py: bottle + waitress, 50 rows via json_extract.

The same list as pmbot's `GET /api/repos/{id}/issues?limit=50` (open issues,
newest first, the same fields), read the obvious way: `json_extract` from
`payload_json` of the same DB, a thread-local connection per waitress
thread, a dict returned to bottle's JSON plugin. Nothing is handicapped: it
uses the same index for the WHERE and ORDER BY as pmbot does.

    python bench/naive_app.py DB_PATH --port 8101 --threads 8
"""

from __future__ import annotations

import argparse
import sqlite3
import threading

import bottle
from waitress import serve

SQL = (
    "SELECT json_extract(payload_json, '$.number'), json_extract(payload_json, '$.title'),"
    " json_extract(payload_json, '$.state'), json_extract(payload_json, '$.user.login'),"
    " json_extract(payload_json, '$.labels'), json_extract(payload_json, '$.comments'),"
    " json_extract(payload_json, '$.created_at'), json_extract(payload_json, '$.updated_at'),"
    " json_extract(payload_json, '$.closed_at'), json_extract(payload_json, '$.html_url')"
    " FROM github_issues WHERE repo_id = ? AND state = 'open' AND gone IS NULL"
    " ORDER BY updated_at DESC, issue_number DESC LIMIT 50"
)
KEYS = ("number", "title", "state", "user", "labels", "comments", "created_at", "updated_at",
        "closed_at", "html_url")  # fmt: skip


def make_app(db_path: str) -> bottle.Bottle:
    app = bottle.Bottle()
    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(db_path)
            local.conn.execute("PRAGMA busy_timeout = 10000")
        return local.conn

    @app.get("/api/repos/<repo_id:int>/issues")
    def issues(repo_id: int) -> dict:
        rows = conn().execute(SQL, (repo_id,)).fetchall()
        return {"items": [dict(zip(KEYS, row, strict=True)) for row in rows], "next": None}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db_path")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"naive serving on http://127.0.0.1:{args.port}", flush=True)
    serve(make_app(args.db_path), host="127.0.0.1", port=args.port, threads=args.threads,
          _quiet=True)  # fmt: skip


if __name__ == "__main__":
    main()
