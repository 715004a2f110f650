"""Work view benchmark (issue 17): `GET /api/items` filters across 20 repos, 100,000 items.

    python bench/bench_items.py            # builds /tmp/pmbot-bench-items once (~2 min)
    python bench/bench_items.py --no-http  # in-process timings only
    python bench/bench_items.py --data-dir /tmp/pmbot-bench-items-q/data \\
        --baseline ../main --baseline-data-dir /tmp/pmbot-bench-items/data  # and main's too

Conditions: 100,000 cached items over 20 repos (bench/gen_api_db.py's items, with
assignees and authors varied: 40% unassigned), written through the real write side,
so the write side filled the Work view's side tables. A writer process commits a
100-item page with its audit event every 0.2 s (items updated "now"), as the worker
would, for the whole run. Measured: the service functions in-process
(`items.list_items` for a 50-item page, `items.count_items` for the counts per repo),
p50 and p99 over rotating parameters, for the commonest filters: open PRs; a label with
no assignee; text with a state; updated in the last 7 days. Then the same filters over
HTTP (`pmbot serve --no-worker`, wrk, 1 client), page and counts in one response.
With `--baseline`, each filter is timed on that checkout's code and DB too (a DB of
its own schema: copy the built one, and let this code migrate its copy), right after
this code's, with a writer on each DB (each paused while the other DB is timed), and
the ratios printed. Also printed: the DB's
size against the cached payload bytes, and what the Work view's side tables and indexes
add (dbstat).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_api import (  # noqa: E402
    SEARCHES,
    WRITERS,
    WRK_SCRIPT,
    free_port,
    only_writer_of,
    start_writer,
    wait_ready,
    wrk,
)
from bench.gen_api_db import BATCH, ITEMS_PER_REPO, LABELS, REPOS, load_template, make_item  # noqa: E402

TARGET_P99_MS = 20.0
ITERATIONS = 300
LOGINS = [f"dev{n:02d}" for n in range(12)]
AUTHORS = [f"user{n:02d}" for n in range(30)]
# The Work view's own tables and indexes (migrations 0014 and 0017).
WORK_OBJECTS = (
    "item_labels", "item_labels_label", "item_assignees", "item_assignees_login",
    "item_versions", "item_versions_item", "github_issues_work_updated",
    "github_issues_work_created", "github_issues_work_comments", "github_issues_work_repo",
    "github_pull_requests_work_updated", "github_pull_requests_work_created",
    "github_pull_requests_work_comments", "github_pull_requests_work_repo",
    "github_issues_work_unassigned", "github_issues_work_unassigned_item",
    "github_pull_requests_work_unassigned", "github_pull_requests_work_unassigned_item",
)  # fmt: skip


def vary(item: dict, rng: random.Random) -> dict:
    """Give the generated item its own author and assignees (the template has octocat)."""
    logins = [] if rng.random() < 0.4 else rng.sample(LOGINS, rng.randrange(1, 3))
    template_user = item["user"]
    item["user"] = {**template_user, "login": rng.choice(AUTHORS)}
    item["assignees"] = [{**template_user, "login": login} for login in logins]
    item["assignee"] = item["assignees"][0] if item["assignees"] else None
    return item


def generate(data_dir: Path) -> Path:
    from pmbot.control_plane.cache import store as cache
    from pmbot.control_plane.db import open_database, transaction
    from pmbot.control_plane.operations import add_repo
    from pmbot.control_plane.registry import ensure_default_workspace
    from pmbot.shared.datadir import ensure_layout

    ensure_layout(data_dir)
    db_path = data_dir / "control_plane" / "pm_bot.sqlite3"
    conn = open_database(db_path)
    ensure_default_workspace(conn)
    template, rng = load_template(), random.Random(7)
    base = datetime.now(UTC) - timedelta(days=400)
    for r in range(REPOS):
        name = f"bench-org/repo-{r:02d}"
        repo_id = add_repo(conn, name).repo_id
        for start in range(1, ITEMS_PER_REPO + 1, BATCH):
            items = [vary(make_item(template, rng, name, n, base), rng)
                     for n in range(start, start + BATCH)]  # fmt: skip
            with transaction(conn):
                cache.upsert_issue_page(conn, repo_id, items)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return db_path


def run_writer(db_path: Path) -> None:
    """The stand-in worker: a page of 100 upserts (updated now) + its audit event every 0.2 s."""
    from pmbot.control_plane import audit
    from pmbot.control_plane.audit import events as ev
    from pmbot.control_plane.cache import store as cache
    from pmbot.control_plane.db import connect, transaction

    conn, template, rng = connect(db_path), load_template(), random.Random(11)
    while True:
        repo_id = rng.randrange(1, REPOS + 1)
        now = datetime.now(UTC) - timedelta(days=30)  # make_item adds up to 30 days
        items = [
            vary(make_item(template, rng, f"bench-org/repo-{repo_id - 1:02d}", n, now), rng)
            for n in rng.sample(range(1, ITEMS_PER_REPO + 1), 100)
        ]
        with transaction(conn):
            write = cache.upsert_issue_page(conn, repo_id, items)
            audit.record(
                conn, ev.SyncPageCommitted(repo_id=repo_id, stream="issues", delta=write.delta)
            )
        time.sleep(0.2)


def cases() -> dict[str, list[dict[str, str]]]:
    """Each filter as rotating query parameters (what the API receives)."""
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "open PRs": [{"kind": "pr"}],
        "label + no assignee": [{"label": label, "no_assignee": "1"} for label in LABELS],
        "text + state": [{"q": words, "state": "open"} for words in SEARCHES],
        "updated since 7 days": [{"updated_since": since, "state": "all"}],
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


# One filter's timings on one checkout's code (run with that checkout on PYTHONPATH): p50,
# p99 (ms) of a page and of the counts, and the most matches counted.
MEASURE_SCRIPT = """
import json, sys, time
from urllib.parse import quote
from pmbot.control_plane.api.work_parsers import parse_work_filter, work_params
from pmbot.control_plane.cache import items
from pmbot.control_plane.db import connect
conn, iterations, variants = connect(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
filters = [parse_work_filter(work_params("&".join(f"{k}={quote(v)}" for k, v in p.items())))
           for p in variants]
out = {}
for what, call in (("page of 50", lambda f: items.list_items(conn, f, 1, 50)),
                   ("counts per repo", lambda f: items.count_items(conn, f, 1))):
    samples, matches = [], 0
    for i in range(iterations):
        started = time.perf_counter()
        result = call(filters[i % len(filters)])
        samples.append((time.perf_counter() - started) * 1000)
        if what == "counts per repo":
            matches = max(matches, sum(c["count"] for c in result))
    out[what] = (sorted(samples), matches)
print(json.dumps(out))
"""


def measure(code: Path, db_path: Path, variants: list[dict[str, str]]) -> dict:
    with only_writer_of(db_path.parent.parent):
        return _measure(code, db_path, variants)


def _measure(code: Path, db_path: Path, variants: list[dict[str, str]]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_SCRIPT, str(db_path), str(ITERATIONS), json.dumps(variants)],
        env={**os.environ, "PYTHONPATH": str(code)}, cwd=code,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def bench_in_process(db_path: Path, baseline: tuple[Path, Path] | None) -> None:
    """Each filter on this code, and on `baseline` (a checkout, its own DB) in the same run,
    one filter after the other: the two see the same load."""
    print(f"\n== in process: {ITERATIONS} calls each, a writer committing every 0.2 s")
    print(f"{'filter':<26}{'what':<16}{'p50 ms':>9}{'p99 ms':>9}{'target p99':>12}{'matches':>9}"
          + ("   baseline p50/p99 ms   ratio p50/p99" if baseline else ""))  # fmt: skip
    for name, variants in cases().items():
        ours = measure(ROOT, db_path, variants)
        theirs = measure(baseline[0], baseline[1], variants) if baseline else None
        for what, (samples, matches) in ours.items():
            p50, p99 = percentiles(samples)
            target = f"<= {TARGET_P99_MS:.0f} " + ("ok" if p99 <= TARGET_P99_MS else "OVER")
            shown = str(matches) if matches else ""
            line = f"{name:<26}{what:<16}{p50:>9.2f}{p99:>9.2f}{target:>12}{shown:>9}"
            if theirs:
                b50, b99 = percentiles(theirs[what][0])
                line += f"   {b50:>9.2f}/{b99:<9.2f}  {p50 / b50:>6.2f}/{p99 / b99:<6.2f}"
                if theirs[what][1] != matches:
                    line += f"  (baseline counted {theirs[what][1]})"
            print(line)


def start_server(code: Path, data_dir: Path, port: int, log) -> subprocess.Popen:
    """`pmbot serve --no-worker` of a checkout's code (8 threads), once it answers."""
    env = {**os.environ, "PYTHONPATH": str(code), "PMBOT_DATA_DIR": str(data_dir),
           "PMBOT_LOG_LEVEL": "WARNING", "GITHUB_TOKEN": ""}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "pmbot", "serve", "--no-worker", "--port", str(port),
         "--threads", "8"],
        cwd=data_dir.parent, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return process


def bench_http(data_dir: Path, seconds: int, baseline: tuple[Path, Path] | None) -> None:
    """Each filter over HTTP on this code, then on `baseline`'s (its server and DB)."""
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed below)
    servers = {"this code": (free_port(), ROOT, data_dir)}
    if baseline:
        servers["baseline"] = (free_port(), baseline[0], baseline[1].parent.parent)
    processes = [start_server(code, d, port, log) for port, code, d in servers.values()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_SCRIPT)
    script = Path(handle.name)
    print(f"\n== over HTTP: wrk, 1 client, {seconds} s each; page of 50 + counts per repo")
    print(f"{'filter':<26}{'code':<11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    try:
        for port, *_ in servers.values():
            wrk(port, ["/api/items?kind=pr"], 2, 2, script)  # warm-up
        for name, variants in cases().items():
            paths = ["/api/items?limit=50&" + "&".join(f"{k}={quote(v)}" for k, v in p.items())
                     for p in variants]  # fmt: skip
            for code, (port, _, served) in servers.items():
                with only_writer_of(served):
                    r = wrk(port, paths, 1, seconds, script)
                print(f"{name:<26}{code:<11}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                      f"{r['errors']:>8}")  # fmt: skip
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        log.close()
        script.unlink()


def report_size(db_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(db_path)
    payload = sum(
        conn.execute(f"SELECT sum(length(payload_json)) FROM {table}").fetchone()[0] or 0
        for table in ("github_issues", "github_pull_requests")
    )
    marks = ",".join("?" * len(WORK_OBJECTS))
    work = conn.execute(
        f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", WORK_OBJECTS
    ).fetchone()[0]
    total = conn.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
    size = total.fetchone()[0]
    conn.close()
    print(f"\n== size: DB {size / 1e6:.0f} MB = {size / payload:.2f}x the {payload / 1e6:.0f} MB"
          f" of payloads (target <= 1.30x); the Work view's tables and indexes:"
          f" {work / 1e6:.1f} MB = {work / payload:.3f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pmbot-bench-items/data"))
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout to time in process too")
    parser.add_argument("--baseline-data-dir", type=Path, help="its data dir (its own schema)")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db_path = args.data_dir / "control_plane" / "pm_bot.sqlite3"
    if args.writer:
        run_writer(db_path)
        return
    if not db_path.exists():
        started = time.perf_counter()
        generate(args.data_dir)
        print(f"built {db_path} in {time.perf_counter() - started:.0f} s")
    report_size(db_path)
    baseline = None
    if args.baseline is not None:
        baseline_db = (args.baseline_data_dir or args.data_dir) / "control_plane" / "pm_bot.sqlite3"
        baseline = (args.baseline.resolve(), baseline_db)
        print(f"baseline {args.baseline} on {baseline_db}:", end="")
        report_size(baseline_db)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally stops the writer
    writer_log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in the finally)
    # Each DB's writer runs its own code: the schemas may differ.
    runs = {args.data_dir: ROOT}
    if baseline is not None:
        runs.setdefault(baseline[1].parent.parent, baseline[0])
    for data_dir, code in runs.items():
        WRITERS[data_dir] = start_writer(code, data_dir, writer_log, "bench_items.py")
    try:
        time.sleep(1)
        bench_in_process(db_path, baseline)
        if not args.no_http:
            bench_http(args.data_dir, args.seconds, baseline)
    finally:
        for writer in WRITERS.values():
            writer.send_signal(signal.SIGCONT)
            writer.terminate()
            writer.wait(timeout=10)
        writer_log.seek(0)
        errors = writer_log.read().strip()
        writer_log.close()
    if errors:
        print(f"writer errors:\n{errors[-2000:]}")


if __name__ == "__main__":
    main()
