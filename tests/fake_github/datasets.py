"""Ready-made worlds for the standalone fake: the `make demo` repos and the benchmark repo.

Both are deterministic (seeded), so two runs serve the same payloads.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from tests.fake_github.state import GitHubState

BENCH_REPO = "bench/big"
BENCH_BURST = 400
DEMO_REPOS = ("acme/widgets", "acme/gadgets")
DEMO_TICK_SECONDS = 20
_USERS = ("alice", "bob", "carol", "dave", "erin")
_LABELS = ("bug", "enhancement", "documentation", "question", "p1", "ui")
_WORDS = [
    "sync",
    "cache",
    "crash",
    "button",
    "label",
    "slow",
    "export",
    "login",
    "race",
    "page",
    "token",
    "retry",
]


def load_demo(fake: GitHubState, *, seed: int = 7) -> None:
    """acme/widgets (~250 items, several pages), acme/gadgets (a few). acme/private-thing is
    deliberately absent, so adding it shows the 404 path."""
    rng = random.Random(seed)
    now = fake.clock().replace(microsecond=0)
    fake.add_repo("acme/widgets", description="Widgets, the flagship")
    fake.add_repo("acme/gadgets", description="Small gadgets")
    for index in range(250):
        _add_random_item(fake, "acme/widgets", rng, now - timedelta(hours=250 - index))
    for index in range(6):
        _add_random_item(fake, "acme/gadgets", rng, now - timedelta(days=6 - index))


def demo_ticker(fake: GitHubState, stop: threading.Event, *, seed: int = 11) -> None:
    """Every DEMO_TICK_SECONDS make one small change a viewer can watch sync pick up."""
    rng = random.Random(seed)
    while not stop.wait(DEMO_TICK_SECONDS):
        repo = rng.choice(DEMO_REPOS)
        numbers = sorted(fake.truth(repo))
        action = rng.choice(("comment", "comment", "retitle", "new"))
        if action == "new" or not numbers:
            _add_random_item(fake, repo, rng, fake.clock().replace(microsecond=0))
        elif action == "comment":
            fake.add_comment(repo, rng.choice(numbers))
        else:
            fake.update(repo, rng.choice(numbers), title=_title(rng))


def load_bench(fake: GitHubState, issues: int, prs: int, *, seed: int = 1) -> None:
    """`bench/big`: `issues + prs` items, one per second of `updated_at` spread over a year,
    plus the last BENCH_BURST items sharing the newest second. Items updated in the last 30
    days are half closed; older ones are open, so "open + closed recently" is everything."""
    rng = random.Random(seed)
    total = issues + prs
    newest = datetime(2026, 1, 1, tzinfo=UTC)
    step = max(1, 365 * 86400 // max(1, total))
    fake.add_repo(BENCH_REPO, description="benchmark repository")
    pr_every = total / prs if prs else None
    for index in range(total):
        offset = max(0, total - BENCH_BURST - index - 1) * step
        updated = newest - timedelta(seconds=offset)
        kind = "pr" if pr_every and int(index % pr_every) == 0 else "issue"
        _add_bench_item(fake, kind, rng, updated, recent=offset < 30 * 86400)


def _add_bench_item(fake, kind: str, rng: random.Random, updated: datetime, *, recent: bool):
    closed = recent and rng.random() < 0.5
    fields = {
        "title": _title(rng),
        "body": f"Steps to reproduce: {_title(rng)}.",
        "user": rng.choice(_USERS),
        "labels": rng.sample(_LABELS, rng.randint(0, 2)),
        "comments": rng.randint(0, 12),
        "created_at": updated - timedelta(days=rng.randint(0, 30)),
        "updated_at": updated,
        "state": "closed" if closed else "open",
    }
    add = fake.add_pr if kind == "pr" else fake.add_issue
    add(BENCH_REPO, **fields)


def _add_random_item(fake, repo: str, rng: random.Random, when: datetime) -> int:
    closed = rng.random() < 0.3
    fields = {
        "title": _title(rng),
        "body": f"{_title(rng)}.\n\nSeen on {when:%Y-%m-%d}.",
        "user": rng.choice(_USERS),
        "labels": rng.sample(_LABELS, rng.randint(0, 2)),
        "comments": rng.randint(0, 5),
        "created_at": when,
        "updated_at": when,
        "state": "closed" if closed else "open",
    }
    if rng.random() < 0.25:
        merged = {"merged_at": when} if closed and rng.random() < 0.7 else {}
        return fake.add_pr(repo, draft=rng.random() < 0.2, **merged, **fields)
    return fake.add_issue(repo, **fields)


def _title(rng: random.Random) -> str:
    words = rng.sample(_WORDS, 3)
    return f"{words[0].capitalize()} {words[1]} when {words[2]}"
