"""Peak memory of `pmbot serve` importing a large repo; prints figures.

    python bench/bench_import_rss.py [--issues 40000] [--prs 10000] [--baseline DIR]

Starts the fake GitHub (`bench/sync_fake.py`), adds `bench/big` with `pmbot repos add`, then
runs `python -m pmbot serve` (API and worker in one process, as deployed) until the worker
has imported every item, and reads the serve process's peak RSS (`VmHWM` in
/proc/<pid>/status) [issue 15 item 2: ≤ 64 MiB for 50,000 items]. Also prints the import's
seconds (from the serve process's start to the last page, so they include the worker's
start) and the database's bytes per byte of cached payload JSON [issue 15 item 4: ≤ 1.3].
`--baseline DIR` does the same first with another checkout's code (e.g. the code before a
change), against the same fake, so before and after come from one run on one machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_sync import _disk_ratio, _start_fake  # noqa: E402

MIB = 1 << 20


def main() -> int:
    args = _parse()
    fake = _start_fake(argparse.Namespace(issues=args.issues, prs=args.prs, repos=0))
    try:
        checkouts = ([Path(args.baseline).resolve()] if args.baseline else []) + [ROOT]
        for checkout in checkouts:
            with tempfile.TemporaryDirectory() as tmp:
                _measure(checkout, fake, Path(tmp), args.issues + args.prs)
    finally:
        fake.process.stdin.close()
        fake.process.terminate()
        fake.process.wait(10)
    return 0


def _measure(checkout: Path, fake, data_dir: Path, expected: int) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "PMBOT_DATA_DIR": str(data_dir),
        "GITHUB_TOKEN": fake.token,
        "GITHUB_API_BASE": fake.base_url,
        "PMBOT_SYNC_CLOSED_DAYS": "400",
    }
    pmbot = [sys.executable, "-m", "pmbot"]
    subprocess.run([*pmbot, "repos", "add", "bench/big"], cwd=data_dir, env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    started = time.monotonic()
    serve = subprocess.Popen([*pmbot, "serve", "--port", "0"], cwd=data_dir, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        items = _wait_for_import(data_dir / "control_plane" / "pm_bot.sqlite3", expected, serve)
        seconds = time.monotonic() - started
        peak = _vm_hwm(serve.pid)
    finally:
        serve.terminate()
        serve.wait(30)
    ratio = _disk_ratio(data_dir / "control_plane" / "pm_bot.sqlite3")
    label = "" if checkout == ROOT else f"baseline ({checkout}) "
    print(f"{label}serve import: {items} items in {seconds:.1f} s, peak RSS {peak / MIB:.1f} MiB"
          f" [≤ 64 MiB], database {ratio:.2f}× its payload JSON [≤ 1.3]")  # fmt: skip


def _wait_for_import(db: Path, expected: int, serve: subprocess.Popen) -> int:
    """Until every item is cached and both streams are done (no resume row, both cursors)."""
    while True:
        if serve.poll() is not None:
            raise RuntimeError(f"pmbot serve exited with {serve.returncode}")
        time.sleep(0.5)
        if not db.exists():
            continue
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                items = sum(
                    conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                    for table in ("github_issues", "github_pull_requests")
                )
                resumes = conn.execute("SELECT count(*) FROM sync_resume").fetchone()[0]
                cursors = conn.execute(
                    "SELECT count(*) FROM repo_sync_state"
                    " WHERE issues_cursor IS NOT NULL AND prs_cursor IS NOT NULL"
                ).fetchone()[0]
        except sqlite3.OperationalError:  # not migrated yet, or busy
            continue
        if items >= expected and resumes == 0 and cursors:
            return items


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc status")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=40_000)
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--baseline", help="another checkout to measure first")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
