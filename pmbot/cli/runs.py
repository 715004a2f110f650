"""`pmbot runs ...`: plans, approvals, decisions and artifacts on the DB, no server needed.

The commands call the same services as the API, so a plan made here shows
in the UI and is audited the same way. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pmbot.cli import session
from pmbot.cli.checks import whole_number
from pmbot.control_plane import registry
from pmbot.control_plane.approvals import decisions
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.orchestration.states import STATES


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("runs", help="plan runs, approve them, decide interrupts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list runs, newest first")
    listing.add_argument("--repo", help="only runs of owner/name")
    listing.add_argument("--state", choices=STATES, help="only runs in this state")
    listing.add_argument(
        "--limit", type=whole_number(1, 500), default=50, help="how many, 1-500 (default 50)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="a run's spec, interrupts, artifacts and events")
    show.add_argument("run_id")
    show.set_defaults(func=run_show)

    plan = actions.add_parser("plan", help="create a plan (a draft run) from the cache")
    plan.add_argument("--repo", required=True, help="owner/name (a registered repo)")
    plan.add_argument("--goal", required=True, help="what the run should achieve")
    plan.add_argument("--graph", required=True, help="graph id, e.g. triage@1")
    plan.add_argument("--tool", action="append", default=[], help="an allowed tool (repeat)")
    for key in ("max-total-tokens", "max-tool-calls", "max-wall-seconds"):
        plan.add_argument(f"--{key}", type=int, help="budget (default from settings)")
    plan.add_argument("--json", action="store_true", help="print the run as JSON")
    plan.set_defaults(func=run_plan)

    for name, help_text in (("approve", "approve a draft"), ("cancel", "cancel a run")):
        command = actions.add_parser(name, help=help_text)
        command.add_argument("run_id")
        if name == "cancel":
            command.add_argument("--reason", help="why")
        command.set_defaults(func=run_move, move=name)
    reject = actions.add_parser("reject", help="reject a draft, with a reason")
    reject.add_argument("run_id")
    reject.add_argument("--reason", required=True, help="why")
    reject.set_defaults(func=run_move, move="reject")

    decide = actions.add_parser("decide", help="decide a pending interrupt")
    decide.add_argument("interrupt_id")
    decide.add_argument("decision", choices=tuple(decisions.DECISIONS))
    decide.add_argument("--payload", type=Path, help="JSON file: the edited payload (edit)")
    decide.add_argument("--comment", help="a note kept with the decision")
    decide.set_defaults(func=run_decide)

    artifact = actions.add_parser("artifact", help="write an artifact's content to a file")
    artifact.add_argument("artifact_id")
    artifact.add_argument("-o", "--output", required=True, type=Path, help="file to write")
    artifact.set_defaults(func=run_artifact)


def run_list(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        repo_id = None
        if args.repo:
            repo = registry.find_repo(conn, registry.parse_full_name(args.repo))
            if repo is None:
                return _fail(f"{args.repo} is not tracked (see `pmbot repos list`)")
            repo_id = repo.repo_id
        items, _ = runs.list_runs(conn, repo_id=repo_id, state=args.state, limit=args.limit)
    if args.json:
        print(json.dumps(items, indent=2))
    elif not items:
        print("no runs; plan one with `pmbot runs plan --repo owner/name --goal ... --graph ...`")
    for item in [] if args.json else items:
        print(f"{item['run_id']}  {item['state']:<10} {item['repo']:<30} {item['goal'][:60]}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        print(json.dumps(runs.get_run(conn, args.run_id), indent=2))
    return 0


def run_plan(args: argparse.Namespace) -> int:
    budget = {
        key: value
        for key in ("max_total_tokens", "max_tool_calls", "max_wall_seconds")
        if (value := getattr(args, key)) is not None
    }
    execution = {"graph_id": args.graph, "scopes": {"repo": args.repo}, "budget": budget}
    execution["tools_allowed"] = args.tool
    with session("cli") as (settings, conn):
        run = runs.plan_run(conn, settings, {"goal": args.goal, "execution": execution})
    if args.json:
        print(json.dumps(run, indent=2))
    else:
        pack = run["context_pack"]
        print(
            f"planned {run['run_id']} (draft) on {run['repo']};"
            f" context pack: {pack['issues']} issues, {pack['prs']} PRs"
        )
    return 0


def run_move(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        if args.move == "approve":
            run = runs.approve_run(conn, args.run_id)
        elif args.move == "reject":
            run = runs.reject_run(conn, args.run_id, args.reason)
        else:
            run = runs.cancel_run(conn, args.run_id, args.reason)
    print(f"{run['run_id']} is now {run['state']}")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"decision": args.decision}
    if args.comment is not None:
        body["comment"] = args.comment
    if args.payload is not None:
        try:
            body["edited_payload"] = json.loads(args.payload.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return _fail(f"cannot read the payload from {args.payload}: {exc}")
    with session("cli") as (_, conn):
        decided = decisions.decide_interrupt(conn, args.interrupt_id, body)
    print(f"interrupt {decided['interrupt_id']} is {decided['status']}")
    return 0


def run_artifact(args: argparse.Namespace) -> int:
    with session("cli") as (settings, conn):
        content, _ = runs.artifact_content(conn, settings.data_dir, args.artifact_id)
    try:
        args.output.write_bytes(content)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}")
    print(f"wrote {len(content)} bytes to {args.output}")
    return 0


def _fail(message: str) -> int:
    print(f"pmbot: {message}", file=sys.stderr)
    return 2
