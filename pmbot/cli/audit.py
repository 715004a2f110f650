"""`pmbot audit …`: rebuild or check the projections, verify the chain, read the log."""

from __future__ import annotations

import argparse
import json
import sys

from pmbot.cli import session
from pmbot.cli.checks import whole_number
from pmbot.control_plane import audit
from pmbot.control_plane.audit import rebuild, verify
from pmbot.control_plane.audit.events import EVENT_TYPES, StoredEvent, canonical_json


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("audit", help="the audit log: verify, rebuild, head, tail")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    rebuilding = actions.add_parser("rebuild", help="replay the log into the projections")
    rebuilding.add_argument(
        "--check", action="store_true", help="only compare; exit 1 if anything differs"
    )
    rebuilding.set_defaults(func=run_rebuild)
    verifying = actions.add_parser("verify", help="walk the hash chain")
    verifying.add_argument(
        "--head", metavar="SEQ:HASH", help="a head recorded earlier (`pmbot audit head`)"
    )
    verifying.set_defaults(func=run_verify)
    actions.add_parser("head", help="print the newest event as SEQ:HASH").set_defaults(
        func=run_head
    )
    tail = actions.add_parser("tail", help="show the newest events, oldest first")
    tail.add_argument(
        "-n", type=whole_number(0), default=20, metavar="N", help="how many (default 20)"
    )
    tail.add_argument("--repo", metavar="OWNER/NAME", help="only this repo's events")
    tail.add_argument("--type", choices=EVENT_TYPES, help="only events of this type")
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.set_defaults(func=run_tail)


def run_rebuild(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        try:
            result = rebuild.check(conn) if args.check else rebuild.rebuild(conn)
        except rebuild.RebuildError as exc:
            print(f"pmbot: {exc}", file=sys.stderr)
            return 1
    for difference in result.differences:
        print(difference.describe())
    found = len(result.differences)
    if args.check:
        print(f"replayed {result.events} events: {found or 'no'} difference(s)")
        return 1 if found else 0
    print(f"replayed {result.events} events; swapped in ({found} row(s) differed before)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    try:
        head = verify.parse_head(args.head) if args.head else None
    except verify.HeadFormatError as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    with session("cli") as (_, conn):
        result = verify.verify(conn, head=head)
    if not result.ok:
        print(f"audit log broken at event {result.first_bad_seq}: {result.reason}", file=sys.stderr)
        return 1
    print(f"ok: {result.checked} events verified")
    return 0


def run_head(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        print(verify.format_head(audit.head(conn)))
    return 0


def run_tail(args: argparse.Namespace) -> int:
    with session("cli") as (_, conn):
        repo_id = audit.find_repo_id(conn, args.repo) if args.repo else None
        if args.repo and repo_id is None:
            print(f"pmbot: no repo named {args.repo!r} in the audit log", file=sys.stderr)
            return 2
        page = audit.list_events(conn, limit=max(args.n, 0), aggregate_id=repo_id, type=args.type)
    for event in reversed(page):
        print(json.dumps(event.as_dict(), ensure_ascii=False) if args.json else _line(event))
    return 0


def _line(event: StoredEvent) -> str:
    return (
        f"{event.seq:>8}  {event.occurred_at}  {event.type:<20} "
        f"{event.aggregate}:{event.aggregate_id}  {event.actor}  {canonical_json(event.payload)}"
    )
