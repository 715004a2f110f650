"""`pmbot migrate`: create the data layout and bring the DB schema up to date."""

from __future__ import annotations

import argparse

from pmbot.control_plane.db import migrate, open_checked
from pmbot.control_plane.db.health import storage_errors
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.shared.datadir import ensure_layout
from pmbot.shared.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("migrate", help="create the data layout and apply migrations")
    parser.set_defaults(func=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    data_dir = ensure_layout(settings.data_dir)
    conn = open_checked(settings.db_path)
    try:
        with storage_errors(settings.db_path):
            applied = migrate(conn)
            ensure_default_workspace(conn)
    finally:
        conn.close()
    print(f"data dir: {data_dir}")
    print(f"database: {settings.db_path}")
    for migration in applied:
        print(f"applied {migration.path.name}")
    if not applied:
        print("schema is up to date; nothing to apply")
    return 0
