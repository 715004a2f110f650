"""`pmbot worker` and `pmbot sync`: the sync loop in the foreground, and one-off syncs.

`pmbot sync` takes each repo's lease like the worker does, so it never syncs
a repo at the same time as a running worker; a repo leased elsewhere is
reported as busy. Without a token it stops before opening the database: a
missing token is the operator's to fix, not a sync failure to record.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import threading
from typing import Any, TextIO

from pmbot.cli import session, start
from pmbot.cli.checks import positive_seconds, tracked_repo, whole_number
from pmbot.control_plane.db import connect
from pmbot.control_plane.github import status
from pmbot.control_plane.registry import Repo, list_repos
from pmbot.control_plane.sync.sync import failure_message
from pmbot.control_plane.sync.worker import LEASE_SECONDS, SyncOutcome, Worker
from pmbot.shared.settings import Settings

DEFAULT_MAX_AGE_SECONDS = 60
SHUTDOWN_SECONDS = 5.0


def register(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser("worker", help="run the sync worker in the foreground")
    worker.add_argument(
        "--check", action="store_true", help="exit 0 if a worker heartbeat is fresh (healthcheck)"
    )
    worker.add_argument(
        "--max-age",
        type=positive_seconds,
        default=DEFAULT_MAX_AGE_SECONDS,
        metavar="S",
        help=f"with --check: the oldest acceptable heartbeat (default {DEFAULT_MAX_AGE_SECONDS})",
    )
    worker.add_argument(
        "--lease-seconds",
        type=whole_number(1),
        default=None,
        metavar="S",
        help=f"how long a repo lease outlives a crashed worker (default {LEASE_SECONDS})",
    )
    worker.set_defaults(func=run_worker)

    sync = commands.add_parser("sync", help="sync repos now, in the foreground")
    sync.add_argument("full_name", nargs="?", metavar="owner/name", help="the repo to sync")
    sync.add_argument("--all", action="store_true", help="sync every registered repo")
    sync.add_argument(
        "--reconcile", action="store_true", help="also re-check the open set (all repos if none)"
    )
    sync.set_defaults(func=run_sync)


def run_worker(args: argparse.Namespace) -> int:
    if args.check:
        return check_worker(Settings.from_env(), args.max_age)
    settings, conn = start("worker")
    conn.close()
    worker = Worker(settings, lease_seconds=args.lease_seconds or LEASE_SECONDS)
    stop_requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_requested.set())
    worker.start()
    stop_requested.wait()
    stopped = worker.stop(SHUTDOWN_SECONDS)
    return 0 if stopped else 1


def check_worker(settings: Settings, max_age: float) -> int:
    """The healthcheck: one line, exit 0 when some worker beat recently."""
    if not settings.db_path.exists():
        print(f"unhealthy: no database at {settings.db_path}", file=sys.stderr)
        return 1
    conn = connect(settings.db_path)
    try:
        ok, reason = Worker.check(conn, max_age)
    except sqlite3.Error as exc:
        ok, reason = False, f"cannot read heartbeats: {exc}"
    finally:
        conn.close()
    print(reason, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def run_sync(args: argparse.Namespace) -> int:
    if args.full_name and args.all:
        print("pmbot sync: give owner/name or --all, not both", file=sys.stderr)
        return 2
    if not (args.full_name or args.all or args.reconcile):
        print("pmbot sync: give owner/name, --all or --reconcile", file=sys.stderr)
        return 2
    if not Settings.from_env().token_present:
        print(
            "pmbot: GITHUB_TOKEN is not set; put a token in .env (nothing was synced)",
            file=sys.stderr,
        )
        return 2
    with session("sync") as (settings, conn):
        repos = _chosen_repos(conn, args)
    worker = Worker(settings)
    try:
        outcomes = [_sync_one(worker, repo, args.reconcile) for repo in repos]
    finally:
        worker.close()
    return 0 if all(o.status == "synced" for o in outcomes) else 1


def _chosen_repos(conn: sqlite3.Connection, args: argparse.Namespace) -> list[Repo]:
    if args.full_name:
        return [tracked_repo(conn, args.full_name)]
    return list_repos(conn)


def _sync_one(worker: Worker, repo: Repo, reconcile: bool) -> SyncOutcome:
    line = ProgressLine(worker, repo.full_name, sys.stderr)
    outcome = worker.sync_repo(repo.repo_id, reconcile=reconcile, on_progress=line.update)
    line.finish()
    stream = sys.stdout if outcome.status == "synced" else sys.stderr
    print(summary(repo.full_name, outcome, status.read_status(worker.conn)), file=stream)
    return outcome


class ProgressLine:
    """A live `\\r` progress line, shown only when the stream is a terminal."""

    def __init__(self, worker: Worker, full_name: str, stream: TextIO) -> None:
        self.worker, self.full_name, self.stream = worker, full_name, stream
        self.shown = False

    def update(self, progress: Any) -> None:
        if not self.stream.isatty():
            return
        left = status.read_status(self.worker.conn)["rate_limit"]["remaining"]
        self.stream.write(
            f"\r{self.full_name}: {progress.items} items, {progress.pages} pages,"
            f" {progress.requests} requests, rate limit left {_or_unknown(left)}\033[K"
        )
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def summary(full_name: str, outcome: SyncOutcome, github: dict) -> str:
    """One line saying what a sync did."""
    if outcome.status == "busy":
        return f"{full_name}: busy — another worker is syncing it; try again shortly"
    if outcome.status == "failed":
        return f"{full_name}: failed — {failure_message(outcome.error)[1]}"
    if outcome.status == "stopped":
        return f"{full_name}: stopped before the end; committed pages are kept"
    result = outcome.result
    rate = github["rate_limit"]
    return (
        f"{full_name}: synced — {result.changed_items} items changed, {result.pages} pages,"
        f" {result.requests} requests ({result.not_modified} not modified),"
        f" rate limit left {_or_unknown(rate['remaining'])}/{_or_unknown(rate['limit'])}"
    )


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)
