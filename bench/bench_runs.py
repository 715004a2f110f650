"""Runs benchmark (issue 12): plan creation with a big context pack, the runs list, a whole run.

    python bench/bench_runs.py            # builds a scratch data dir under /tmp (~1 min)

Cases, each on a real SQLite file through the real services:
- plan creation on a repo of 25,000 cached items, all open (the worst case for a
  pack: every item goes in), 80% issues and 20% PRs with realistic payloads
  (bench/gen_api_db.py's generator): wall time of `POST /api/runs` without a
  pack (so one is taken), and the pack's size;
- `GET /api/runs?limit=50` (first page, a state filter, and a deep keyset page)
  over 10,000 runs, through the WSGI app in-process: p50 / p99 of 300 calls each;
- a scripted run end to end over the API and the port (plan with an existing pack,
  approve, start, interrupt, decide over HTTP, one artifact, finish): p50 / max of 20.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gen_api_db import load_template, make_item  # noqa: E402

from pmbot.control_plane.api.app import create_app  # noqa: E402
from pmbot.control_plane.cache import store as cache  # noqa: E402
from pmbot.control_plane.context import packs  # noqa: E402
from pmbot.control_plane.db import open_database, transaction  # noqa: E402
from pmbot.control_plane.orchestration import runs  # noqa: E402
from pmbot.control_plane.registry import add_repo, ensure_default_workspace  # noqa: E402
from pmbot.shared.datadir import ensure_layout  # noqa: E402
from pmbot.shared.settings import Settings  # noqa: E402
from tests.conftest import WsgiClient  # noqa: E402
from tests.scripted_executor import ScriptedExecutor  # noqa: E402

BIG_REPO, SMALL_REPO = "bench-org/big", "bench-org/small"
ITEMS, RUNS, BATCH = 25_000, 10_000, 500


def fill_big_repo(conn, repo_id: int) -> None:
    template, rng = load_template(), random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for start in range(1, ITEMS + 1, BATCH):
        items = [make_item(template, rng, BIG_REPO, n, base) for n in range(start, start + BATCH)]
        for item in items:
            item["state"], item["closed_at"] = "open", None
        with transaction(conn):
            cache.upsert_issue_page(conn, repo_id, items)


def plan_body(repo: str, **extra) -> dict:
    return {"goal": "Triage", "execution": {"graph_id": "triage@1", "scopes": {"repo": repo}},
            **extra}  # fmt: skip


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms"


def bench_plan(client: WsgiClient, conn) -> None:
    reply = {}
    ms = timed(lambda: reply.update(r=client.post("/api/runs", json_body=plan_body(BIG_REPO))))
    run = reply["r"].json()
    pack = packs.get_pack(conn, run["context_pack"]["pack_id"])
    print(
        f"plan with a context pack of {ITEMS:,} open items: {ms:.0f} ms;"
        f" pack {pack['size_bytes'] / 1e6:.1f} MB ({pack['issues']:,} issues, {pack['prs']:,} PRs)"
    )


def make_runs(conn, settings: Settings, pack_id: str) -> None:
    started = time.perf_counter()
    states = ("draft", "approved", "rejected")
    for n in range(RUNS):
        run = runs.plan_run(conn, settings, plan_body(SMALL_REPO, context_pack_id=pack_id))
        if states[n % 3] == "approved":
            runs.approve_run(conn, run["run_id"])
        elif states[n % 3] == "rejected":
            runs.reject_run(conn, run["run_id"], "bench")
    print(f"made {RUNS:,} runs in {time.perf_counter() - started:.0f} s")


def bench_list(client: WsgiClient) -> None:
    cursor = None
    for _ in range(100):  # a deep page: 5,000 runs in
        cursor = client.get("/api/runs?limit=50" + (f"&cursor={cursor}" if cursor else "")).json()[
            "next_cursor"
        ]
    cases = {
        "first page": "/api/runs?limit=50",
        "state=approved": "/api/runs?limit=50&state=approved",
        "page 101": f"/api/runs?limit=50&cursor={cursor}",
    }
    for name, path in cases.items():
        samples = [timed(lambda p=path: client.get(p)) for _ in range(300)]
        print(f"list {RUNS:,} runs, {name} (50 items): {percentiles(samples)}")


def bench_scripted_run(client: WsgiClient, conn, settings: Settings, pack_id: str) -> None:
    executor = ScriptedExecutor(settings)
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        body = plan_body(SMALL_REPO, context_pack_id=pack_id)
        run_id = client.post("/api/runs", json_body=body).json()["run_id"]
        client.post(f"/api/runs/{run_id}/approve")
        runs.start_run(conn, run_id, executor)
        interrupt = executor.raise_interrupt(run_id)
        decision = {"decision": "approve"}
        client.post(f"/api/interrupts/{interrupt['interrupt_id']}/decision", json_body=decision)
        executor.file_artifact(run_id, json.dumps({"run": run_id}).encode() * 100)
        executor.finish(run_id)
        assert client.get(f"/api/runs/{run_id}").json()["state"] == "completed"
        samples.append((time.perf_counter() - started) * 1000)
    executor.close()
    print(
        f"scripted run end to end (API + port, 9 steps): p50 {statistics.median(samples):.1f} ms,"
        f" max {max(samples):.1f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pmbot-bench-runs-") as folder:
        data_dir = ensure_layout(Path(folder) / "data")
        settings = Settings.from_env({"PMBOT_DATA_DIR": str(data_dir)}, env_file=None)
        conn = open_database(settings.db_path)
        ensure_default_workspace(conn)
        started = time.perf_counter()
        fill_big_repo(conn, add_repo(conn, BIG_REPO).repo_id)
        small = add_repo(conn, SMALL_REPO).repo_id
        print(f"cached {ITEMS:,} items in {time.perf_counter() - started:.0f} s")
        app = create_app(settings, db_path=settings.db_path)
        client = WsgiClient(app)
        bench_plan(client, conn)
        pack_id = packs.take_pack(conn, settings.data_dir, small)["pack_id"]
        make_runs(conn, settings, pack_id)
        conn.execute("ANALYZE")
        bench_list(client)
        bench_scripted_run(client, conn, settings, pack_id)
        app.close()
        conn.close()


if __name__ == "__main__":
    main()
