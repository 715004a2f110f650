"""Benchmark the sync against the fake GitHub in its own process; prints figures.

    python bench/bench_sync.py [--issues 40000] [--prs 10000] [--repos 100]

Measures (issue 4 targets in brackets): import of bench/big [≤ 10 s, peak RSS ≤ 80 MiB,
≤ 610 requests]; a no-change refresh [≤ 2 requests, 0 rate limit, ≤ 0.3 s]; a no-change
refresh of 100 small repos [≤ 3 s]; a refresh after 500 edits [≤ 9 requests]. RSS is
`ru_maxrss` of this process, which does the import first, before anything else grows it.
`PMBOT_SYNC_CLOSED_DAYS` is set to 400 so the import takes every item of the fake's year
(its newest item is dated 2026-01-01).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pmbot.control_plane.db import open_database  # noqa: E402
from pmbot.control_plane.github.client import GitHubClient  # noqa: E402
from pmbot.control_plane.github.sync import sync_repo  # noqa: E402
from pmbot.control_plane.registry import add_repo, ensure_default_workspace  # noqa: E402
from pmbot.shared.settings import Settings  # noqa: E402


def main() -> int:
    args = _parse()
    fake = _start_fake(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _bench(args, fake, Path(tmp))
    finally:
        fake.process.stdin.close()
        fake.process.terminate()
        fake.process.wait(10)
    return 0


class _Fake:
    def __init__(self, process: subprocess.Popen, base_url: str, token: str) -> None:
        self.process, self.base_url, self.token = process, base_url, token

    def edit(self, count: int) -> None:
        self.process.stdin.write(f"edit {count}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"


def _start_fake(args) -> _Fake:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sync_fake.py"),
         str(args.issues), str(args.prs), str(args.repos)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    hello = json.loads(process.stdout.readline())
    print(f"fake GitHub ready in {time.monotonic() - started:.1f} s at {hello['base_url']}")
    return _Fake(process, hello["base_url"], hello["token"])


def _bench(args, fake: _Fake, tmp: Path) -> None:
    environ = {
        "PMBOT_DATA_DIR": str(tmp),
        "GITHUB_TOKEN": fake.token,
        "GITHUB_API_BASE": fake.base_url,
        "PMBOT_SYNC_CLOSED_DAYS": "400",
    }
    settings = Settings.from_env(environ, env_file=None)
    conn = open_database(settings.db_path)
    ensure_default_workspace(conn)
    client = GitHubClient.from_settings(settings)
    big = add_repo(conn, "bench/big").repo_id

    result, seconds, points = _timed(client, lambda: sync_repo(conn, client, big, settings=settings))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    items = _count(conn, big)
    print(f"import: {items} items in {seconds:.2f} s, {result.requests} requests, "
          f"{points} rate-limit points, peak RSS {rss:.1f} MiB  [≤ 10 s, ≤ 80 MiB, ≤ 610]")  # fmt: skip

    result, seconds, points = _timed(client, lambda: sync_repo(conn, client, big, settings=settings))
    print(f"no-change refresh: {seconds:.3f} s, {result.requests} requests "
          f"({result.not_modified} answered 304), {points} rate-limit points  [≤ 0.3 s, ≤ 2, 0]")  # fmt: skip

    _bench_many(args, conn, client, settings)

    fake.edit(500)
    time.sleep(2)  # a poll comes after the edits, not within their second
    result, seconds, points = _timed(client, lambda: sync_repo(conn, client, big, settings=settings))
    print(f"refresh after 500 edits: {result.requests} requests, {result.changed_items} rows "
          f"changed, {seconds:.2f} s, {points} rate-limit points  [≤ 9 requests]")  # fmt: skip
    conn.close()


def _bench_many(args, conn, client, settings) -> None:
    ids = [add_repo(conn, f"small/repo{i:03d}").repo_id for i in range(args.repos)]
    for repo_id in ids:
        sync_repo(conn, client, repo_id, settings=settings)

    def refresh_all() -> list:
        return [sync_repo(conn, client, repo_id, settings=settings) for repo_id in ids]

    results, seconds, points = _timed(client, refresh_all)
    requests = sum(r.requests for r in results)
    print(f"no-change refresh of {len(ids)} repos: {seconds:.2f} s, {requests} requests, "
          f"{points} rate-limit points  [≤ 3 s]")  # fmt: skip


def _timed(client, action):
    used = _rate_used(client)
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    return result, seconds, _rate_used(client) - used


def _rate_used(client) -> int:
    """From GET /rate_limit, which costs no rate limit."""
    return client.get("/rate_limit").data["rate"]["used"]


def _count(conn, repo_id: int) -> int:
    return sum(
        conn.execute(f"SELECT count(*) FROM {t} WHERE repo_id = ?", (repo_id,)).fetchone()[0]
        for t in ("github_issues", "github_pull_requests")
    )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=40_000)
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--repos", type=int, default=100)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
