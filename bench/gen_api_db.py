"""Build the API benchmark DB: 20 repos, 100,000 cached items with realistic payloads.

Items are GitHub's issue view from the fake's samples (copies of
shared/github-examples), varied per item, written through the real write side
(`cache.store.upsert_issue_page`) so columns, search rows and payloads are
exactly what a sync stores. 80% issues, 20% PRs, ~30% open.

    python bench/gen_api_db.py /tmp/pmbot-bench/data   # prints the DB path
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import open_database, transaction
from pmbot.control_plane.operations import add_repo
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.shared.datadir import ensure_layout

SAMPLES = [Path(__file__).parent.parent / "tests/fake_github/samples"]
WORDS = (
    "crash", "parser", "error", "timeout", "login", "cache", "sync", "widget", "render",
    "memory", "leak", "button", "docs", "typo", "install", "upgrade", "regression", "flaky",
    "test", "config", "token", "api", "webhook", "release", "build", "windows", "linux",
    "macos", "unicode", "emoji", "performance", "slow", "query", "index", "migration",
    "schema", "export", "import",
)  # fmt: skip
SYLLABLES = ("ka", "lo", "mi", "ter", "so", "vin", "dra", "pel", "qu", "ris", "no", "bax", "el")


def vocabulary(size: int = 4000) -> list[str]:
    """Pseudo-words in Zipf rank order, with the real WORDS spread over ranks 20–400,
    so text has realistic term frequencies (a few words everywhere, most rare)."""
    rng = random.Random(3)
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 5)))] = None
    words = list(words)
    for i, word in enumerate(WORDS):
        words[20 + i * 10] = word
    return words


VOCABULARY = vocabulary()
ZIPF = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))
LABELS = ("bug", "enhancement", "docs", "good first issue", "help wanted", "question", "p1")
REPOS, ITEMS_PER_REPO, BATCH = 20, 5_000, 500


def load_template() -> dict:
    for folder in SAMPLES:
        path = folder / "issue.json"
        if path.exists():
            return json.loads(path.read_text())
    raise SystemExit("no issue.json sample found")


def make_item(template: dict, rng: random.Random, repo: str, number: int, base: datetime) -> dict:
    item = copy.deepcopy(template)
    created = base + timedelta(seconds=rng.randrange(0, 365 * 86400))
    updated = created + timedelta(seconds=rng.randrange(0, 30 * 86400))
    words = rng.choices(VOCABULARY, cum_weights=ZIPF, k=6)
    item.update(
        number=number, id=10_000_000 + number, title=" ".join(words).capitalize(),
        body=" ".join(rng.choices(VOCABULARY, cum_weights=ZIPF, k=80)),
        state="open" if rng.random() < 0.3 else "closed",
        labels=[{"name": n, "color": "ededed"} for n in rng.sample(LABELS, rng.randrange(0, 3))],
        created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        updated_at=updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        html_url=f"https://github.com/{repo}/issues/{number}",
        comments=rng.randrange(0, 40),
    )  # fmt: skip
    item["closed_at"] = item["updated_at"] if item["state"] == "closed" else None
    if number % 5 == 0:
        item["pull_request"] = {"url": f"https://api.github.com/repos/{repo}/pulls/{number}"}
    else:
        item.pop("pull_request", None)
    return item


def generate(data_dir: Path, items_per_repo: int = ITEMS_PER_REPO) -> Path:
    ensure_layout(data_dir)
    db_path = data_dir / "control_plane" / "pm_bot.sqlite3"
    conn = open_database(db_path)
    ensure_default_workspace(conn)
    template, rng = load_template(), random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for r in range(REPOS):
        name = f"bench-org/repo-{r:02d}"
        repo_id = add_repo(conn, name).repo_id
        for start in range(1, items_per_repo + 1, BATCH):
            items = [make_item(template, rng, name, n, base) for n in range(start, start + BATCH)]
            with transaction(conn):
                cache.upsert_issue_page(conn, repo_id, items)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return db_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--items-per-repo", type=int, default=ITEMS_PER_REPO)
    args = parser.parse_args()
    started = time.perf_counter()
    path = generate(args.data_dir, args.items_per_repo)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
