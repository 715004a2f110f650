"""Benchmark the sync against the fake GitHub in its own process; prints figures.

    python bench/bench_sync.py [--issues 40000] [--prs 10000] [--repos 100] [--baseline DIR]

Measures (issue 4 and issue 11 targets in brackets): import of bench/big [≤ 10 s, peak RSS ≤
80 MiB, ≤ 610 requests]; a no-change refresh [0 rate limit, ≤ 0.3 s]; an idle poll of a
quiet repo [≤ 2 requests, 0 points] and of one whose overlap window holds 250 items [≤ 4
requests, 0 points]; a no-change refresh of 100 small repos [≤ 200 requests, 0 points, ≤ 3
s]; a refresh after 500 edits [≤ 12 requests] and the idle poll after it [0 points];
`--baseline DIR` first runs DIR's own bench_sync.py (another checkout, e.g. the code before
a change) for its import figure, so before and after come from one run on one machine; and
the floor under the import: the same pages parsed and written with no HTTP (recorded once,
then replayed from files through the client's transport seam). RSS is `ru_maxrss` of this
process, which does the import first, before anything else grows it.
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
from pmbot.control_plane.github.client import GitHubClient, urllib_transport  # noqa: E402
from pmbot.control_plane.operations import add_repo  # noqa: E402
from pmbot.control_plane.registry import ensure_default_workspace  # noqa: E402
from pmbot.control_plane.sync.sync import sync_repo  # noqa: E402
from pmbot.shared.settings import Settings  # noqa: E402


def main() -> int:
    args = _parse()
    if args.baseline:
        _baseline(args)
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


def _settings(fake: _Fake, data_dir: Path) -> Settings:
    environ = {
        "PMBOT_DATA_DIR": str(data_dir),
        "GITHUB_TOKEN": fake.token,
        "GITHUB_API_BASE": fake.base_url,
        "PMBOT_SYNC_CLOSED_DAYS": "400",
    }
    return Settings.from_env(environ, env_file=None)


def _fresh(settings: Settings, transport=urllib_transport):
    conn = open_database(settings.db_path)
    ensure_default_workspace(conn)
    client = GitHubClient.from_settings(settings, transport=transport)
    return conn, client, add_repo(conn, "bench/big").repo_id


def _bench(args, fake: _Fake, tmp: Path) -> None:
    settings = _settings(fake, tmp / "main")
    conn, client, big = _fresh(settings)

    result, seconds, points = _timed(
        client, lambda: sync_repo(conn, client, big, settings=settings)
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    items = _count(conn, big)
    print(
        f"import: {items} items in {seconds:.2f} s, {result.requests} requests,",
        f"{points} rate-limit points, peak RSS {rss:.1f} MiB  [≤ 10 s, ≤ 80 MiB, ≤ 610]",
    )

    result, seconds, points = _timed(
        client, lambda: sync_repo(conn, client, big, settings=settings)
    )
    print(
        f"no-change refresh: {seconds:.3f} s, {result.requests} requests",
        f"({result.not_modified} answered 304), {points} rate-limit points  [≤ 0.3 s, 0 points]",
    )

    for name, target in (("small/quiet", "≤ 2 requests, 0 points"),
                         ("small/window", "≤ 4 requests, 0 points")):  # fmt: skip
        repo_id = add_repo(conn, name).repo_id
        sync_repo(conn, client, repo_id, settings=settings)
        result, seconds, points = _timed(
            client, lambda r=repo_id: sync_repo(conn, client, r, settings=settings)
        )
        print(f"idle poll of {name}: {result.requests} requests ({result.not_modified} answered "
              f"304), {points} rate-limit points  [{target}]")  # fmt: skip

    _bench_many(args, conn, client, settings)

    fake.edit(500)
    time.sleep(2)  # a poll comes after the edits, not within their second
    result, seconds, points = _timed(
        client, lambda: sync_repo(conn, client, big, settings=settings)
    )
    print(f"refresh after 500 edits: {result.requests} requests, {result.changed_items} rows "
          f"changed, {seconds:.2f} s, {points} rate-limit points  [≤ 12 requests]")  # fmt: skip
    result, seconds, points = _timed(
        client, lambda: sync_repo(conn, client, big, settings=settings)
    )
    print(f"idle poll after the edits: {result.requests} requests ({result.not_modified} "
          f"answered 304), {points} rate-limit points  [0 points]")  # fmt: skip
    conn.close()
    if not args.no_floor:
        _bench_floor(fake, tmp)


def _baseline(args) -> None:
    """Run another checkout's bench_sync.py (its own code and fake) and print its import."""
    script = Path(args.baseline) / "bench" / "bench_sync.py"
    command = [sys.executable, str(script), "--no-floor", "--repos", "0",
               "--issues", str(args.issues), "--prs", str(args.prs)]  # fmt: skip
    output = subprocess.run(
        command, cwd=args.baseline, env={**os.environ, "PYTHONPATH": args.baseline},
        capture_output=True, text=True, check=True, timeout=900,
    ).stdout  # fmt: skip
    for line in output.splitlines():
        if line.startswith("import:"):
            print(f"baseline ({args.baseline}) {line}")


def _bench_floor(fake: _Fake, tmp: Path) -> None:
    """Record every exchange of one more import into files, then time a replay of them into
    a fresh DB: JSON parsing, serialising and SQLite writes, with no HTTP and no fake."""
    bodies = tmp / "recorded"
    bodies.mkdir()
    recorded: dict[str, tuple[int, dict, Path]] = {}

    def record(method, url, headers, body, timeout):
        status, answer_headers, data = urllib_transport(method, url, headers, body, timeout)
        path = bodies / f"{len(recorded)}.json"
        path.write_bytes(data)
        recorded[url] = (status, answer_headers, path)
        return status, answer_headers, data

    def replay(method, url, headers, body, timeout):
        status, answer_headers, path = recorded[url]
        return status, answer_headers, path.read_bytes()

    conn, client, big = _fresh(_settings(fake, tmp / "record"), record)
    sync_repo(conn, client, big, settings=_settings(fake, tmp / "record"))
    conn.close()
    settings = _settings(fake, tmp / "replay")
    conn, client, big = _fresh(settings, replay)
    started = time.perf_counter()
    result = sync_repo(conn, client, big, settings=settings)
    seconds = time.perf_counter() - started
    print(f"floor (same import replayed from files, no HTTP): {_count(conn, big)} items in "
          f"{seconds:.2f} s, {result.requests} responses")  # fmt: skip
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
          f"{points} rate-limit points  [≤ 3 s, ≤ 200 requests, 0 points]")  # fmt: skip


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
    parser.add_argument("--no-floor", action="store_true", help="skip the no-HTTP floor")
    parser.add_argument("--baseline", help="another checkout whose import to time first")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
