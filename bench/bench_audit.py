"""Audit log benchmark: append rate, rebuild time, status read time, bytes per event.

Run from the repo root: `python bench/bench_audit.py` (full: a 1,000,000-event
log, a few minutes) or `python bench/bench_audit.py --quick` (a smoke test).

What is measured, on a file DB opened the product's way (WAL,
synchronous=NORMAL, foreign keys on, via `open_database`):
- append: `audit.record` of realistic sync.page_committed events, one event
  per transaction (BEGIN IMMEDIATE … COMMIT each), projections applied.
- rebuild: `rebuild.rebuild()` (replay into a fresh in-memory DB, compare,
  swap in) over the big log; `verify()` over the same log for reference.
  The big log is generated directly, not through `record()`: events with a
  realistic mix of types are hashed with the product's `event_hash` and
  inserted in 50,000-row transactions, so the chain is valid (verify passes)
  but projections are empty until the rebuild fills them.
- status read: the O(1) read (repos + repo_counts + repo_sync_state by
  primary key), mean over many reads, on a 1k-event and on the big log.
- bytes per page event: average `length(payload_json)`, and the on-disk
  growth of `audit_events` plus its indexes per appended event (dbstat).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmbot.control_plane import audit, operations, registry
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit.events import GENESIS_HASH, canonical_json, event_hash
from pmbot.control_plane.audit.rebuild import rebuild
from pmbot.control_plane.audit.verify import verify
from pmbot.control_plane.db import open_database, transaction

REPOS = 200
BATCH = 50_000
STATUS_SQL = (
    "SELECT r.repo_id, r.full_name, r.status, r.last_sync_at, r.last_error, r.changed_at,"
    " c.issues_open, c.issues_closed, c.prs_open, c.prs_closed,"
    " s.issues_cursor, s.prs_cursor, s.last_error"
    " FROM repos r JOIN repo_counts c USING (repo_id) JOIN repo_sync_state s USING (repo_id)"
    " WHERE r.repo_id = ?"
)
_AUDIT_OBJECTS = (
    "audit_events",
    "sqlite_autoindex_audit_events_1",
    "audit_events_aggregate",
    "audit_events_type",
)


def page_payload(rng: random.Random, repo_id: int, n: int) -> dict:
    """A sync.page_committed payload shaped like `sync/sync.py` writes: 100 items."""
    day, second = divmod(n, 86_400)
    return {
        "repo_id": repo_id,
        "stream": rng.choice(("issues", "prs")),
        "cursor": f"2026-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T"
        f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
        "items": 100,
        "changed": rng.randint(1, 100),
        "delta": {"issues_open": rng.randint(1, 5), "issues_closed": rng.randint(-2, -1)},
    }


def _event(rng: random.Random, n: int) -> tuple[str, str, int, dict]:
    """(type, aggregate, aggregate_id, payload) for the n-th generated event."""
    if n == 0:
        return ev.WorkspaceCreated.type, "workspace", 1, {"workspace_id": 1, "name": "default"}
    if n <= REPOS:
        name = f"org{n % 7}/repo-{n}"
        return ev.RepoAdded.type, "repo", n, {"repo_id": n, "workspace_id": 1, "full_name": name}
    repo_id, roll = rng.randint(1, REPOS), rng.random()
    if roll < 0.85:
        return ev.SyncPageCommitted.type, "repo", repo_id, page_payload(rng, repo_id, n)
    if roll < 0.93:
        return ev.SyncCompleted.type, "repo", repo_id, {"repo_id": repo_id, "requests": 4}
    if roll < 0.96:
        return ev.SyncRequested.type, "repo", repo_id, {"repo_id": repo_id, "reconcile": False}
    if roll < 0.99:
        failure = {"repo_id": repo_id, "error_code": "server_error", "message": "502", "attempt": 1}
        return ev.SyncFailed.type, "repo", repo_id, failure
    delta = {"issues_open": -1, "issues_closed": 0}
    return ev.SyncReconciled.type, "repo", repo_id, {"repo_id": repo_id, "delta": delta}


def generate_log(path: Path, count: int) -> None:
    """Write a valid hash-chained log of `count` events straight into `audit_events`."""
    rng, prev_hash = random.Random(7), GENESIS_HASH
    conn = open_database(path)
    rows = []
    for n in range(count):
        type_, aggregate, aggregate_id, payload = _event(rng, n)
        fields = {
            "seq": n + 1,
            "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "occurred_at": f"2026-03-01T00:00:00.{n % 1_000_000:06d}Z",
            "type": type_,
            "aggregate": aggregate,
            "aggregate_id": str(aggregate_id),
            "actor": "system",
            "payload_json": canonical_json(payload),
        }
        digest = event_hash(prev_hash, **fields)
        rows.append((*fields.values(), prev_hash, digest))
        prev_hash = digest
        if len(rows) == BATCH or n == count - 1:
            _insert_events(conn, rows)
            rows = []
    conn.close()


def _insert_events(conn, rows: list[tuple]) -> None:
    with transaction(conn):
        conn.executemany(
            "INSERT INTO audit_events (seq, event_id, occurred_at, type, aggregate, aggregate_id,"
            " actor, payload_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def audit_bytes(conn) -> int:
    marks = ", ".join("?" * len(_AUDIT_OBJECTS))
    sql = f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})"
    return conn.execute(sql, _AUDIT_OBJECTS).fetchone()[0]


def bench_append(folder: Path, count: int) -> dict[str, float]:
    """Events/s of `audit.record`, one event per transaction, and bytes per page event."""
    conn = open_database(folder / "append.sqlite3")
    registry.ensure_default_workspace(conn)
    ids = [operations.add_repo(conn, f"org/repo-{i}").repo_id for i in range(REPOS)]
    rng, before = random.Random(1), audit_bytes(conn)
    events = [
        ev.SyncPageCommitted(**page_payload(rng, r, n))
        for n, r in enumerate(rng.choice(ids) for _ in range(count))
    ]
    started = time.perf_counter()
    for event in events:
        audit.record(conn, event)
    elapsed = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    payload = conn.execute(
        "SELECT avg(length(payload_json)) FROM audit_events WHERE type = ?",
        (ev.SyncPageCommitted.type,),
    ).fetchone()[0]
    on_disk = (audit_bytes(conn) - before) / count
    conn.close()
    return {"rate": count / elapsed, "payload": payload, "on_disk": on_disk}


def bench_big_log(path: Path, count: int) -> dict[str, float]:
    """Generate, rebuild and verify a log of `count` events; time each step."""
    started = time.perf_counter()
    generate_log(path, count)
    generated = time.perf_counter() - started
    conn = open_database(path)
    started = time.perf_counter()
    result = rebuild(conn)
    rebuilt = time.perf_counter() - started
    assert result.events == count, result.events
    started = time.perf_counter()
    verified = verify(conn)
    checked = time.perf_counter() - started
    assert verified.ok and verified.checked == count, verified
    read = status_read_us(conn)
    conn.close()
    return {"generate": generated, "rebuild": rebuilt, "verify": checked, "read_us": read}


def status_read_us(conn, reads: int = 20_000) -> float:
    """Mean microseconds of one repo's status read (the O(1) read by primary key)."""
    rng = random.Random(3)
    ids = [rng.randint(1, REPOS) for _ in range(reads)]
    started = time.perf_counter()
    for repo_id in ids:
        row = conn.execute(STATUS_SQL, (repo_id,)).fetchone()
        assert row is not None
    return (time.perf_counter() - started) / reads * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    big, appends = (20_000, 2_000) if args.quick else (1_000_000, 20_000)
    with tempfile.TemporaryDirectory(prefix="pmbot-bench-") as tmp:
        folder = Path(tmp)
        append = bench_append(folder, appends)
        small = bench_big_log(folder / "small.sqlite3", 1_000)
        large = bench_big_log(folder / "large.sqlite3", big)
    rows = [
        ("append, 1 event/txn (WAL, NORMAL)", f"{append['rate']:,.0f} events/s", ">= 5,000"),
        (f"generate {big:,}-event log (setup)", f"{large['generate']:.1f} s", ""),
        (f"rebuild {big:,} events (replay+compare+swap)", f"{large['rebuild']:.1f} s", "<= 60 s"),
        (f"verify {big:,} events", f"{large['verify']:.1f} s", ""),
        ("status read at 1,000 events", f"{small['read_us']:.1f} us", ""),
        (f"status read at {big:,} events", f"{large['read_us']:.1f} us", "same order"),
        ("page event payload_json, mean", f"{append['payload']:.0f} bytes", ""),
        ("page event on disk (row + 3 indexes)", f"{append['on_disk']:.0f} bytes", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>18}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>18}  {target}")


if __name__ == "__main__":
    main()
