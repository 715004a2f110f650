"""`pmbot repos add|list|remove|mirror|closed-window` and `pmbot status`: the registry on the
DB, no server.

They call the same services as the API, so a repo added here is picked up
by a running worker like one added in the UI. `repos list` prints one line
per repo; `status owner/name` prints everything pmbot knows about one.
"""

from __future__ import annotations

import argparse
import json

from pmbot.cli import session
from pmbot.cli.checks import repo_name, tracked_repo, whole_number
from pmbot.control_plane import operations, repo_status
from pmbot.control_plane.registry import MAX_CLOSED_DAYS


def register(commands: argparse._SubParsersAction) -> None:
    repos = commands.add_parser("repos", help="add, list or remove tracked repos")
    actions = repos.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="track owner/name (the worker imports it)")
    add.add_argument("full_name", help="owner/name or a github.com URL")
    add.add_argument("--branch", help="default branch, if you want it recorded")
    add.set_defaults(func=run_add)
    listing = actions.add_parser(
        "list", help="one line per tracked repo (`pmbot status owner/name` for the detail)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)
    remove = actions.add_parser("remove", help="stop tracking a repo and drop its cache")
    remove.add_argument("full_name", help="owner/name")
    remove.set_defaults(func=run_remove)
    mirror = actions.add_parser(
        "mirror", help="turn a repo's local git mirror (data/repos/) on or off"
    )
    mirror.add_argument("full_name", help="owner/name")
    mirror.add_argument("state", choices=("on", "off"), help="on: clone and fetch; off: stop")
    mirror.set_defaults(func=run_mirror)
    window = actions.add_parser(
        "closed-window",
        help="how many days back a repo's closed items are cached (overrides"
        " PMBOT_SYNC_CLOSED_DAYS; widening backfills, narrowing deletes nothing)",
    )
    window.add_argument("full_name", help="owner/name")
    window.add_argument("days", type=whole_number(0, MAX_CLOSED_DAYS), help="whole days")
    window.set_defaults(func=run_closed_window)

    status_parser = commands.add_parser(
        "status", help="the detail of one repo (`pmbot repos list` for one line per repo)"
    )
    status_parser.add_argument("full_name", metavar="owner/name", help="a tracked repo")
    status_parser.add_argument("--json", action="store_true", help="print JSON")
    status_parser.set_defaults(func=run_status)


def run_add(args: argparse.Namespace) -> int:
    name = repo_name(args.full_name)
    with session("cli") as (_, conn):
        repo = operations.add_repo(conn, name, args.branch)
    print(f"added {repo.full_name} (id {repo.repo_id}); the worker will import it")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        repo = tracked_repo(conn, args.full_name)
        operations.remove_repo(conn, repo.repo_id)
    print(f"removed {repo.full_name} and its cached items (its audit history stays)")
    return 0


def run_mirror(args: argparse.Namespace) -> int:
    with session("cli") as (settings, conn):
        repo = tracked_repo(conn, args.full_name)
        operations.set_mirror(conn, repo.repo_id, args.state == "on")
    if args.state == "on":
        print(
            f"mirror of {repo.full_name} on; the worker clones it into {settings.data_dir}/repos/"
        )
    else:
        print(f"mirror of {repo.full_name} off; it is no longer fetched (kept until removed)")
    return 0


def run_closed_window(args: argparse.Namespace) -> int:
    with session("cli") as (settings, conn):
        repo = tracked_repo(conn, args.full_name)
        operations.set_closed_window(conn, repo.repo_id, args.days)
        row = repo_status.repo_status(conn, repo.repo_id, settings=settings)
    start = row["closed_window_start"][:10]
    if row["closed_window_backfilling"]:
        print(
            f"{repo.full_name} keeps closed items updated in the last {args.days} days; the"
            f" worker backfills them (cached now: closed, updated since {start})"
        )
    else:
        print(f"{repo.full_name}: closed, updated since {start} ({args.days} days)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with session("cli") as (settings, conn):
        rows = repo_status.list_statuses(conn, settings=settings)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no repos yet; add one with `pmbot repos add owner/name`")
    else:
        print(
            f"{'ID':>4}  {'REPO':<40} {'STATUS':<12} {'ISSUES o/c':>12} {'PRS o/c':>10}"
            "  CLOSED SINCE  LAST SYNC"
        )
        for row in rows:
            print(_list_line(row))
    return 0


def run_status(args: argparse.Namespace) -> int:
    with session("cli") as (settings, conn):
        repo_id = tracked_repo(conn, args.full_name).repo_id
        row = repo_status.repo_status(conn, repo_id, settings=settings)
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print("\n".join(detail_lines(row)))
    return 0


def _list_line(row: dict) -> str:
    """Closed counts with the start of what is cached ("closed, updated since")."""
    counts = row["counts"]
    issues = f"{counts['issues_open']}/{counts['issues_closed']}"
    prs = f"{counts['prs_open']}/{counts['prs_closed']}"
    return (
        f"{row['repo_id']:>4}  {row['full_name']:<40} {row['status']:<12} {issues:>12}"
        f" {prs:>10}  {row['closed_window_start'][:10]:<12}  {row['last_sync_at'] or 'never'}"
    )


def detail_lines(row: dict) -> list[str]:
    """`pmbot status owner/name`: one `label: value` line per fact about the repo."""
    counts, cursors, progress = row["counts"], row["cursors"], row["progress"]
    since = f"closed, updated since {row['closed_window_start'][:10]}"
    window = f"{row['closed_window_days']} days" + (
        " (PMBOT_SYNC_CLOSED_DAYS)" if row["closed_window_default"] else " (this repo's)"
    )
    if row["closed_window_backfilling"]:
        window += ", backfilling"
    facts = [
        ("status", row["status"]),
        ("added", row["added_at"]),
        ("default branch", row["default_branch"] or "not recorded"),
        ("last sync", row["last_sync_at"] or "never"),
        ("next sync", row["next_sync_at"] or "not scheduled"),
        ("issues", f"{counts['issues_open']} open, {counts['issues_closed']} {since}"),
        ("pull requests", f"{counts['prs_open']} open, {counts['prs_closed']} {since}"),
        ("closed window", window),
        ("issues cursor", cursors["issues"] or "none yet"),
        ("PRs cursor", cursors["prs"] or "none yet"),
    ]
    if progress:
        facts.append(
            (
                "in progress",
                f"{progress['items']} items, {progress['pages']} pages,"
                f" {progress['requests']} requests",
            )
        )
    if row["last_error"]:
        code = f" ({row['last_error_code']})" if row["last_error_code"] else ""
        facts.append(("last error", f"{row['last_error']}{code}"))
    facts.append(("git mirror", _mirror_text(row.get("mirror"))))
    return [f"{row['full_name']} (id {row['repo_id']})"] + [
        f"  {label + ':':<15} {value}" for label, value in facts
    ]


def _mirror_text(mirror: dict | None) -> str:
    if not mirror or not mirror["enabled"]:
        kept = f" (kept at data/{mirror['path']})" if mirror and mirror["path"] else ""
        return f"off{kept}"
    if mirror["last_error"]:
        return f"on, failing: {mirror['last_error']} ({mirror['last_error_code']})"
    if not mirror["path"]:
        return "on, not cloned yet"
    size = f"{(mirror['size_bytes'] or 0) / 1e6:.1f} MB"
    return f"on, data/{mirror['path']}, {size}, last fetch {mirror['last_fetch_at']}"
