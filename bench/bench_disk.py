"""Benchmark the database's size on disk around an import, a reset and a removal.

    python bench/bench_disk.py [--issues 20000] [--prs 5000] [--baseline DIR]

Imports bench/big from the bench fake (bench/sync_fake.py, as bench_sync.py does), then
prints (issue 15 item 4 targets in brackets): the DB file against the payload JSON it
holds [≤ 1.3×] and the WAL after the import; the WAL and the DB file after a cache reset
[WAL ≤ 64 MiB] and, after importing again, after removing the repo [WAL ≤ 64 MiB, the
space given back]. `--baseline DIR` first runs the same measures on DIR's code (e.g. a
worktree of the commit before this issue), so before and after come from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MIB = 2**20


def main() -> int:
    args = _parse()
    code = Path(args.code or HERE).resolve()
    sys.path.insert(0, str(code))
    if args.baseline:
        _baseline(args)
    process, base_url, token = _start_fake(args, code)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _bench(base_url, token, Path(tmp), prefix=args.prefix)
    finally:
        process.stdin.close()
        process.terminate()
        process.wait(10)
    return 0


def _start_fake(args, code: Path):
    process = subprocess.Popen(
        [sys.executable, str(HERE / "bench" / "sync_fake.py"), str(args.issues), str(args.prs),
         "0"],
        cwd=code, env={**os.environ, "PYTHONPATH": str(code)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    hello = json.loads(process.stdout.readline())
    return process, hello["base_url"], hello["token"]


def _bench(base_url: str, token: str, tmp: Path, prefix: str) -> None:
    from pmbot.control_plane import operations
    from pmbot.control_plane.db import open_database
    from pmbot.control_plane.github.client import GitHubClient
    from pmbot.control_plane.registry import ensure_default_workspace
    from pmbot.control_plane.sync.sync import sync_repo
    from pmbot.shared.settings import Settings

    environ = {"PMBOT_DATA_DIR": str(tmp), "GITHUB_TOKEN": token, "GITHUB_API_BASE": base_url,
               "PMBOT_SYNC_CLOSED_DAYS": "400"}  # fmt: skip
    settings = Settings.from_env(environ, env_file=None)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = open_database(settings.db_path)
    ensure_default_workspace(conn)
    client = GitHubClient.from_settings(settings)
    db = settings.db_path

    def say(line: str) -> None:
        print(f"{prefix}{line}", flush=True)

    def import_big() -> int:
        repo_id = operations.add_repo(conn, "bench/big").repo_id
        started = time.perf_counter()
        sync_repo(conn, client, repo_id, settings=settings)
        say(f"import: {_items(conn, repo_id)} items in {time.perf_counter() - started:.1f} s")
        return repo_id

    big = import_big()
    payload, wal = _payload_bytes(conn, big), _wal(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file, for its size
    size = _db_bytes(db)
    say(f"after import: WAL {wal / MIB:.1f} MiB  [≤ 64 MiB]; DB file {size / 1e6:.1f} MB for"
        f" {payload / 1e6:.1f} MB of payload JSON (×{size / payload:.2f})  [≤ 1.3×]")  # fmt: skip

    started = time.perf_counter()
    operations.reset_cache(conn, [big])
    seconds = time.perf_counter() - started
    say(f"after reset ({seconds:.1f} s): WAL {_wal(db) / MIB:.1f} MiB  [≤ 64 MiB];"
        f" DB file {_db_bytes(db) / 1e6:.1f} MB (was {size / 1e6:.1f})  [space back]")  # fmt: skip

    operations.remove_repo(conn, big)  # the reset repo, empty: its name is free again
    big = import_big()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = _db_bytes(db)
    started = time.perf_counter()
    operations.remove_repo(conn, big)
    seconds = time.perf_counter() - started
    say(f"after removal ({seconds:.1f} s): WAL {_wal(db) / MIB:.1f} MiB  [≤ 64 MiB];"
        f" DB file {_db_bytes(db) / 1e6:.1f} MB (was {size / 1e6:.1f})  [space back]")  # fmt: skip
    conn.close()


def _items(conn, repo_id: int) -> int:
    return sum(
        conn.execute(f"SELECT count(*) FROM {t} WHERE repo_id = ?", (repo_id,)).fetchone()[0]
        for t in ("github_issues", "github_pull_requests")
    )


def _payload_bytes(conn, repo_id: int) -> int:
    return sum(
        conn.execute(
            f"SELECT sum(length(CAST(payload_json AS BLOB))) FROM {t} WHERE repo_id = ?",
            (repo_id,),
        ).fetchone()[0]
        or 0
        for t in ("github_issues", "github_pull_requests")
    )


def _db_bytes(db: Path) -> int:
    return db.stat().st_size


def _wal(db: Path) -> int:
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


def _baseline(args) -> None:
    """The same measures on another checkout's code (its pmbot and its fake)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--code", args.baseline,
               "--issues", str(args.issues), "--prs", str(args.prs),
               "--prefix", f"baseline ({args.baseline}) "]  # fmt: skip
    subprocess.run(command, cwd=args.baseline, check=True, timeout=1800)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--prs", type=int, default=5_000)
    parser.add_argument("--baseline", help="another checkout to measure first")
    parser.add_argument("--code", help=argparse.SUPPRESS)  # the checkout whose code runs
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
