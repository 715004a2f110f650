"""`pmbot repos add|list|remove` and `pmbot status`: the registry on the DB, no server needed.

They call the same services as the API, so a repo added here is picked up
by a running worker like one added in the UI.
"""

from __future__ import annotations

import argparse
import json
import sys

from pmbot.cli import session
from pmbot.control_plane import registry, status
from pmbot.control_plane.orchestration import runs


def register(commands: argparse._SubParsersAction) -> None:
    repos = commands.add_parser("repos", help="add, list or remove tracked repos")
    actions = repos.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="track owner/name (the worker imports it)")
    add.add_argument("full_name", help="owner/name or a github.com URL")
    add.add_argument("--branch", help="default branch, if you want it recorded")
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="list tracked repos")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_status, full_name=None)
    remove = actions.add_parser("remove", help="stop tracking a repo and drop its cache")
    remove.add_argument("full_name", help="owner/name")
    remove.set_defaults(func=run_remove)

    status_parser = commands.add_parser("status", help="sync status of every repo, or one")
    status_parser.add_argument("full_name", nargs="?", help="owner/name")
    status_parser.add_argument("--json", action="store_true", help="print JSON")
    status_parser.set_defaults(func=run_status)


def run_add(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        repo = registry.add_repo(conn, args.full_name, args.branch)
    print(f"added {repo.full_name} (id {repo.repo_id}); the worker will import it")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        repo = _find(conn, args.full_name)
        if repo is None:
            return 1
        runs.refuse_if_active_runs(conn, repo.repo_id)
        registry.remove_repo(conn, repo.repo_id)
    print(f"removed {repo.full_name} and its cached items (its audit history stays)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        if args.full_name:
            repo = _find(conn, args.full_name)
            if repo is None:
                return 1
            rows = [status.repo_status(conn, repo.repo_id)]
        else:
            rows = status.list_statuses(conn)
    if args.json:
        print(json.dumps(rows if not args.full_name else rows[0], indent=2))
    else:
        _print_table(rows)
    return 0


def _find(conn, full_name: str) -> registry.Repo | None:
    repo = registry.find_repo(conn, registry.parse_full_name(full_name))
    if repo is None:
        print(f"pmbot: {full_name} is not tracked (see `pmbot repos list`)", file=sys.stderr)
    return repo


def _print_table(rows: list[dict]) -> None:
    if not rows:
        print("no repos yet; add one with `pmbot repos add owner/name`")
        return
    print(f"{'ID':>4}  {'REPO':<40} {'STATUS':<12} {'ISSUES o/c':>12} {'PRS o/c':>10}  LAST SYNC")
    for row in rows:
        counts = row["counts"]
        issues = f"{counts['issues_open']}/{counts['issues_closed']}"
        prs = f"{counts['prs_open']}/{counts['prs_closed']}"
        print(
            f"{row['repo_id']:>4}  {row['full_name']:<40} {row['status']:<12} {issues:>12}"
            f" {prs:>10}  {row['last_sync_at'] or 'never'}"
        )
        if row["last_error"]:
            print(f"      error: {row['last_error']}")
