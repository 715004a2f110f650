"""`pmbot doctor`, `pmbot backup` and `pmbot compact`: check an installation, copy its
database online, turn on auto-vacuum in a database made before it was the default."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pmbot.control_plane import doctor
from pmbot.control_plane.audit.verify import format_head
from pmbot.control_plane.backup import BackupError, backup_database
from pmbot.control_plane.db import open_checked, space
from pmbot.control_plane.db.health import storage_errors
from pmbot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "doctor", help="check data dir, database, audit chain, token and rate limit"
    )
    check.set_defaults(func=run_doctor)
    backup = commands.add_parser("backup", help="copy the database online to PATH")
    backup.add_argument("path", type=Path, help="file to write (must not exist unless --force)")
    backup.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    backup.set_defaults(func=run_backup)
    compact = commands.add_parser(
        "compact",
        help="rewrite the database without its free pages and turn on auto-vacuum"
        " (needs twice its size free)",
    )
    compact.set_defaults(func=run_compact)


def run_doctor(args: argparse.Namespace) -> int:
    """Print one PASS/FAIL line per check; exit 1 when any fails."""
    settings = Settings.from_env()
    checks = doctor.run_checks(settings)
    for check in checks:
        print(check.line(secrets=(settings.github_token.reveal(),)))
    failed = sum(not check.ok for check in checks)
    print(f"doctor: {failed} of {len(checks)} checks failed" if failed else "doctor: all passed")
    return 1 if failed else 0


def run_backup(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        result = backup_database(settings.db_path, args.path, force=args.force)
    except BackupError as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    print(f"backup: {result.path} ({result.size_bytes:,} bytes)")
    print(f"audit head of the copy: {format_head((result.head_seq, result.head_hash))}")
    return 0


def run_compact(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    conn = open_checked(settings.db_path)
    try:
        with storage_errors(settings.db_path):
            result = space.compact(conn, settings.db_path)
    except space.SpaceError as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    print(f"compact: {settings.db_path} {result.before_bytes:,} → {result.after_bytes:,} bytes")
    print("auto-vacuum is on: removals and cache resets give their space back from now on")
    return 0
