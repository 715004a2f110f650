"""Benchmark the git mirrors with real git over loopback HTTP; prints figures.

    python bench/bench_mirrors.py [--commits 5000] [--repos 100]

Origins are served by `git http-backend` behind the tests' Basic-auth wrapper
(`tests/git_http.py`), clone URLs come from the fake GitHub's repository
payload, as in the tests. Measures: the clone and a no-change fetch of a
generated repo of `--commits` commits; for `--repos` mirrored idle repos, the
wall time of one mirror cycle when no fetch is due (the interval skips them all:
it should cost a query, no git and no HTTP), and of one cycle when every fetch
is due (each a no-change `git fetch`).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pmbot.control_plane.db import open_database  # noqa: E402
from pmbot.control_plane.github.client import GitHubClient  # noqa: E402
from pmbot.control_plane.operations import add_repo  # noqa: E402
from pmbot.control_plane.registry import ensure_default_workspace  # noqa: E402
from pmbot.control_plane.sync.mirrors import Mirrors, mirror_path, size_on_disk  # noqa: E402
from pmbot.shared.datadir import ensure_layout  # noqa: E402
from pmbot.shared.settings import Secret, Settings  # noqa: E402
from tests.fake_github import FakeGitHub  # noqa: E402
from tests.fake_github.clock import ManualClock  # noqa: E402
from tests.git_http import GIT_ENV, GitHttpServer  # noqa: E402

TOKEN = "ghp_bench000000000000000000000000000000mirror"


def generate(origin: Path, commits: int) -> None:
    """A bare repo with `commits` commits on main (each edits one of 100 files), by fast-import."""
    subprocess.run(["git", "init", "--bare", "--quiet", "--initial-branch=main", str(origin)],
                   env=GIT_ENV, check=True)  # fmt: skip
    lines = []
    for i in range(commits):
        body = f"line {i}\n" * 20
        message = f"commit {i}\n"
        lines.append("commit refs/heads/main\n")
        lines.append(f"committer Bench <bench@example.com> {1_700_000_000 + i} +0000\n")
        lines.append(f"data {len(message)}\n{message}")
        lines.append(f"M 644 inline f{i % 100}.txt\ndata {len(body)}\n{body}\n")
    subprocess.run(["git", "-C", str(origin), "fast-import", "--quiet"],
                   input="".join(lines).encode(), env=GIT_ENV, check=True)  # fmt: skip


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(Path(tmp), args.commits, args.repos)
    return 0


def bench(tmp: Path, commits: int, repos: int) -> None:
    clock = ManualClock()
    with (
        GitHttpServer(tmp / "origins", TOKEN) as git_server,
        FakeGitHub(TOKEN, clock=clock, html_base=git_server.base_url) as fake,
    ):
        generate(git_server.root / "bench" / "big.git", commits)
        fake.add_repo("bench/big")
        for i in range(repos):
            generate(git_server.root / "idle" / f"r{i}.git", 3)
            fake.add_repo(f"idle/r{i}")

        settings = Settings.from_env({"PMBOT_DATA_DIR": str(tmp / "data")}, env_file=None)
        settings = dataclasses.replace(
            settings, github_api_base=fake.base_url, github_token=Secret(TOKEN), mirrors=True
        )
        ensure_layout(settings.data_dir)
        conn = open_database(settings.db_path)
        ensure_default_workspace(conn)
        client = GitHubClient.from_settings(settings, clock=clock, sleep=lambda s: None)
        mirrors = Mirrors(settings, client, clock)

        add_repo(conn, "bench/big")
        [cloned], seconds = timed(lambda: mirrors.run_once(conn))
        assert cloned.status == "cloned", cloned
        size = size_on_disk(mirror_path(settings.data_dir, fake.resolve("bench/big").id))
        print(f"clone of {commits} commits: {seconds:.2f} s ({size / 1e6:.1f} MB on disk)")
        clock.advance(settings.mirror_fetch_seconds)
        [fetched], seconds = timed(lambda: mirrors.run_once(conn))
        assert fetched.status == "unchanged", fetched
        print(f"no-change fetch of {commits} commits: {seconds:.3f} s")

        for i in range(repos):
            add_repo(conn, f"idle/r{i}")
        outcomes, seconds = timed(lambda: mirrors.run_once(conn))
        print(f"first cycle, {len(outcomes)} clones of small repos: {seconds:.2f} s")
        clock.advance(1)
        served = len(git_server.requests)
        outcomes, seconds = timed(lambda: mirrors.run_once(conn))
        assert outcomes == [] and len(git_server.requests) == served
        print(
            f"one worker cycle over {repos + 1} mirrored idle repos (no fetch due):"
            f" {seconds * 1000:.1f} ms, 0 git processes, 0 HTTP requests"
        )
        clock.advance(settings.mirror_fetch_seconds)
        outcomes, seconds = timed(lambda: mirrors.run_once(conn))
        assert {o.status for o in outcomes} == {"unchanged"}, outcomes
        print(
            f"one cycle with every fetch due ({len(outcomes)} no-change fetches):"
            f" {seconds:.2f} s ({seconds / len(outcomes) * 1000:.0f} ms each)"
        )
        conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
