"""API benchmark (issue 5): pmbot's cache list and search vs a naive bottle endpoint.

    python bench/bench_api.py                 # builds /tmp/pmbot-bench once (~30 s)
    python bench/bench_api.py --threads 4 8 16   # compare waitress thread counts

Conditions: 100,000 cached items across 20 repos (bench/gen_api_db.py) while a
writer process commits a 100-item page with its audit event every 0.2 s, as
the worker would. Servers are real processes (`pmbot serve --no-worker` and
bench/naive_app.py with the same thread count); load is wrk (Lua script for
percentiles) on the same machine, rotating over the 20 repos. Prints requests/s,
p50 and p99 per case, `serve` readiness time, and "database is locked" counts.
Then search in-process (issue 15 item 3: p99 ≤ 25 ms for common words): each
query of SEARCHES, a page and its count as the API asks them, on this code
and, with `--baseline DIR`, on DIR's code (another checkout, e.g. the commit
before the change) over the same DB in the same run, or over its own DB with
`--baseline-data-dir` (when the schemas differ: a copy of the DB this code
migrated, with its own writer). Issue 15 item 3's size, 60,000 items:

    python bench/gen_api_db.py /tmp/pmbot-search-60k/data --items-per-repo 3000
    python bench/bench_api.py --search-only --data-dir /tmp/pmbot-search-60k/data
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WRK_SCRIPT = """
local paths = {}
local i = 0
init = function(args) for _, p in ipairs(args) do table.insert(paths, p) end end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local errors = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
"""
SEARCHES = ("crash", "parser error", "memory leak", "unicode emoji", "slow query index", "login")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 30) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"{url} not ready after {timeout} s")


def wrk(port: int, paths: list[str], connections: int, seconds: int, script: Path) -> dict:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(script), f"http://127.0.0.1:{port}", "--", *paths]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT"))
    if line.split()[1] == "0":
        print(f"wrk made no request: {done.stdout[-300:]} {done.stderr[-300:]}", file=sys.stderr)
    requests, duration_us, p50, p99, errors = line.split()[1:]
    rps = int(requests) / (int(duration_us) / 1e6)
    return {"rps": rps, "p50": float(p50), "p99": float(p99), "errors": int(errors)}


def start_pmbot(data_dir: Path, port: int, threads: int, log) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PMBOT_DATA_DIR": str(data_dir),
           "PMBOT_LOG_LEVEL": "WARNING", "GITHUB_TOKEN": ""}  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "pmbot", "serve", "--no-worker", "--port", str(port),
         "--threads", str(threads)],
        cwd=data_dir.parent, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return process, time.perf_counter() - started


def start_naive(db_path: Path, port: int, threads: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "naive_app.py"), str(db_path), "--port", str(port),
         "--threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    wait_ready(f"http://127.0.0.1:{port}/api/repos/1/issues")
    return process


def run_writer(db_path: Path) -> None:
    """The stand-in worker: a page of 100 upserts + its audit event every 0.2 s."""
    from datetime import UTC, datetime

    from bench.gen_api_db import load_template, make_item
    from pmbot.control_plane import audit
    from pmbot.control_plane.audit import events as ev
    from pmbot.control_plane.cache import store as cache
    from pmbot.control_plane.db import connect, transaction

    conn, template, rng = connect(db_path), load_template(), random.Random(11)
    while True:
        repo_id = rng.randrange(1, 21)
        numbers = rng.sample(range(1, 5001), 100)
        now = datetime.now(UTC)
        items = [
            make_item(template, rng, f"bench-org/repo-{repo_id - 1:02d}", n, now) for n in numbers
        ]
        with transaction(conn):
            write = cache.upsert_issue_page(conn, repo_id, items)
            page = ev.SyncPageCommitted(repo_id=repo_id, stream="issues", delta=write.delta)
            audit.record(conn, page)
        time.sleep(0.2)


def bench_threads(args, db_path: Path, script: Path, threads: int) -> dict:
    pm_port, naive_port = free_port(), free_port()
    # stderr goes to a file: an unread pipe fills up with waitress's queue warnings
    # and then blocks the server mid-benchmark.
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (handed to two processes, closed below)
    pmbot, ready = start_pmbot(args.data_dir, pm_port, threads, log)
    naive = start_naive(db_path, naive_port, threads, log)
    lists = [f"/api/repos/{r}/issues?limit=50" for r in range(1, 21)]
    searches = [f"/api/search?q={q.replace(' ', '%20')}" for q in SEARCHES]
    # The repo-scoped search paths (issue 16 item 2): `repo_id=` and a list filtered by `q`.
    words = [q.replace(" ", "%20") for q in SEARCHES]
    in_repo = [f"/api/search?q={q}&repo_id={r}" for r in range(1, 21) for q in words]
    lists_q = [f"/api/repos/{r}/issues?limit=50&q={q}" for r in range(1, 21) for q in words]
    try:
        wrk(pm_port, lists, 4, 2, script)  # warm-up: page cache, connections
        wrk(naive_port, lists, 4, 2, script)
        results = {
            "ready_s": ready,
            "pmbot_1": wrk(pm_port, lists, 1, args.seconds, script),
            "pmbot_16": wrk(pm_port, lists, 16, args.seconds, script),
            "naive_16": wrk(naive_port, lists, 16, args.seconds, script),
            "naive_1": wrk(naive_port, lists, 1, args.seconds, script),
            "search_1": wrk(pm_port, searches, 1, args.seconds, script),
            "search_repo_1": wrk(pm_port, in_repo, 1, args.seconds, script),
            "list_q_1": wrk(pm_port, lists_q, 1, args.seconds, script),
        }
    finally:
        for process in (pmbot, naive):
            process.terminate()
            process.wait(timeout=10)
        log.seek(0)
        results["locked"] = log.read().count("database is locked")
        log.close()
    return results


def report(threads: int, r: dict) -> None:
    print(f"\n== waitress threads: {threads}   (serve ready in {r['ready_s'] * 1000:.0f} ms)")
    print(f"{'case':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    names = {
        "pmbot_1": "pmbot list, 1 client",
        "naive_1": "naive list, 1 client",
        "pmbot_16": "pmbot list, 16 clients",
        "naive_16": "naive list, 16 clients",
        "search_1": "pmbot search, 1 client",
        "search_repo_1": "pmbot search in a repo, 1 client",
        "list_q_1": "pmbot list with q, 1 client",
    }
    for key, name in names.items():
        x = r[key]
        print(f"{name:<34}{x['rps']:>9.0f}{x['p50']:>9.2f}{x['p99']:>9.2f}{x['errors']:>8}")
    ratio = r["pmbot_16"]["rps"] / r["naive_16"]["rps"]
    print(
        f"pmbot / naive at 16 clients: {ratio:.2f}x  [≥ 3x]   pmbot list p99 at 1 client"
        f" {r['pmbot_1']['p99']:.2f} ms  [≤ 5 ms unloaded]   'database is locked': {r['locked']}"
    )


SEARCH_SCRIPT = """
import json, sys, time
from pmbot.control_plane.cache import browse
from pmbot.control_plane.db import connect
conn, rounds, times = connect(sys.argv[1]), int(sys.argv[2]), []
for q in sys.argv[3:]:
    query = browse.SearchQuery(text=q)
    browse.search(conn, query, 1)
    for _ in range(rounds):
        started = time.perf_counter()
        browse.search(conn, query, 1)
        browse.count_matches(conn, query, 1)
        times.append((time.perf_counter() - started) * 1000)
print(json.dumps(sorted(times)))
"""


def search_in_process(db_path: Path, code: Path, rounds: int = 20) -> tuple[float, float]:
    """p50 and p99 (ms) of a search page + its count over SEARCHES, on `code`'s pmbot."""
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_SCRIPT, str(db_path), str(rounds), *SEARCHES],
        env={**os.environ, "PYTHONPATH": str(code)}, cwd=code,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    times = json.loads(done.stdout)
    return times[len(times) // 2], times[int(len(times) * 0.99)]


def report_search(db_path: Path, baseline: str | None, baseline_db: Path | None = None) -> None:
    """This code's search, and `baseline`'s (on `baseline_db` if given: a DB of that code's
    schema), each run twice, alternating, so both see the same load."""
    print("\n== search in-process, page + count, common words  [p99 ≤ 25 ms]")
    runs = [("this code", ROOT, db_path)]
    if baseline is not None:
        runs.insert(0, ("baseline " + baseline, Path(baseline), baseline_db or db_path))
    for name, code, db in runs * 2:
        with only_writer_of(db.parent.parent):
            p50, p99 = search_in_process(db, code)
        print(f"{name:<40} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


# The writer of each DB, by data dir: while one DB is timed, the others' writers are
# paused, so every figure is taken with one writer committing (two writers and the reader
# on this 2-core machine made the p99 of both codes a figure of CPU contention).
WRITERS: dict[Path, subprocess.Popen] = {}


@contextlib.contextmanager
def only_writer_of(data_dir: Path) -> Iterator[None]:
    others = [w for d, w in WRITERS.items() if d != data_dir]
    for writer in others:
        writer.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for writer in others:
            writer.send_signal(signal.SIGCONT)


def start_writer(code: Path, data_dir: Path, log, script: str = "bench_api.py") -> subprocess.Popen:
    """`code`'s bench `script` as the writer process (`--writer`) on `data_dir`."""
    return subprocess.Popen(
        [sys.executable, str(code / "bench" / script), "--writer", "--data-dir", str(data_dir)],
        cwd=code, stderr=log,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pmbot-bench/data"))
    parser.add_argument("--threads", type=int, nargs="+", default=[8])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--baseline", help="another checkout whose search to time too")
    parser.add_argument("--baseline-data-dir", type=Path, help="its data dir (its own schema)")
    parser.add_argument("--search-only", action="store_true", help="skip the wrk cases")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db_path = args.data_dir / "control_plane" / "pm_bot.sqlite3"
    if args.writer:
        run_writer(db_path)
        return
    if not db_path.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen_api_db.py"), str(args.data_dir)],
                       check=True)  # fmt: skip
    writer_log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in the finally)
    # One writer per DB, each of the code that made it (the schemas may differ).
    writers = {args.data_dir: ROOT}
    if args.baseline and args.baseline_data_dir:
        writers[args.baseline_data_dir] = Path(args.baseline).resolve()
    for data_dir, code in writers.items():
        WRITERS[data_dir] = start_writer(code, data_dir, writer_log)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT)
    try:
        for threads in [] if args.search_only else args.threads:
            with only_writer_of(args.data_dir):
                report(threads, bench_threads(args, db_path, Path(handle.name), threads))
        baseline_db = args.baseline_data_dir and args.baseline_data_dir / db_path.relative_to(
            args.data_dir
        )
        report_search(db_path, args.baseline, baseline_db)
    finally:
        for writer in WRITERS.values():
            writer.send_signal(signal.SIGCONT)
            writer.terminate()
            writer.wait(timeout=10)
        writer_log.seek(0)
        locked = writer_log.read().count("database is locked")
        writer_log.close()
        print(f"writer 'database is locked' errors: {locked}")
        os.unlink(handle.name)


if __name__ == "__main__":
    main()
