"""The fake GitHub for bench_sync.py, run in its own process.

`python bench/sync_fake.py ISSUES PRS SMALL_REPOS` loads tests.fake_github's benchmark repo
(`bench/big`, the same loader as `python -m tests.fake_github --bench-issues …`,
prerendered) plus SMALL_REPOS repos of 20 issues, `small/window` (250 issues, all inside the
sync's overlap window) and `small/quiet` (20 items, 5 of them PRs), prints
`{"base_url", "token"}`, then obeys
one command per stdin line: `edit N` comments on N random bench/big items and answers `ok`.
"""

from __future__ import annotations

import json
import random
import sys

from tests.fake_github import FakeGitHub
from tests.fake_github.datasets import BENCH_REPO, load_bench


def main() -> int:
    issues, prs, small = (int(arg) for arg in sys.argv[1:4])
    fake = FakeGitHub()
    load_bench(fake, issues, prs)
    for index in range(small):
        name = f"small/repo{index:03d}"
        fake.add_repo(name)
        for number in range(20):
            fake.add_issue(name, title=f"small issue {number}")
    fake.add_repo("small/quiet")
    for number in range(20):
        add = fake.add_pr if number % 4 == 0 else fake.add_issue
        add("small/quiet", title=f"quiet item {number}")
    fake.add_repo("small/window")
    for number in range(250):
        fake.add_issue("small/window", title=f"window issue {number}")
    fake.start()
    fake.routes.prerender()
    print(json.dumps({"base_url": fake.base_url, "token": fake.token}), flush=True)
    rng = random.Random(5)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "edit":
            for number in rng.sample(range(1, issues + prs + 1), int(argument)):
                fake.add_comment(BENCH_REPO, number)
            print("ok", flush=True)
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
