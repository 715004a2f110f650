"""`python -m pmbot <command>` / `pmbot <command>`: argparse over the services.

Each command lives in a small module under `pmbot/cli/` that registers its
subparser; a command function takes the parsed args and returns an exit
code. Errors a user can fix (bad settings, unwritable data dir, refused
migrations, a corrupt database) print one line to stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sqlite3
import sys
from collections.abc import Iterator, Sequence

from pmbot import __version__
from pmbot.control_plane.db import MigrationError, StorageError, open_database
from pmbot.control_plane.registry import RegistryError, ensure_default_workspace
from pmbot.shared.datadir import DataDirError, ensure_layout
from pmbot.shared.logs import setup_logging
from pmbot.shared.settings import Settings, SettingsError

COMMAND_MODULES = (
    "pmbot.cli.db",
    "pmbot.cli.audit",
    "pmbot.cli.ops",
    "pmbot.cli.ui",
    "pmbot.cli.serve",
    "pmbot.cli.repos",
    "pmbot.cli.sync",
)
USER_ERRORS = (SettingsError, DataDirError, MigrationError, RegistryError, StorageError)


def start(process: str) -> tuple[Settings, sqlite3.Connection]:
    """The start of every command that touches data: settings, layout, logs, DB, workspace."""
    settings = Settings.from_env()
    data_dir = ensure_layout(settings.data_dir)
    setup_logging(
        process,
        data_dir / "logs",
        settings.log_level,
        secrets=(settings.github_token.reveal(),),
    )
    conn = open_database(settings.db_path)
    ensure_default_workspace(conn)
    return settings, conn


@contextlib.contextmanager
def session(process: str) -> Iterator[tuple[Settings, sqlite3.Connection]]:
    """`start()` for one command, closing its connection however the command ends."""
    settings, conn = start(process)
    try:
        yield settings, conn
    finally:
        conn.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmbot", description="Local-first control plane over a cached view of GitHub."
    )
    parser.add_argument("--version", action="version", version=f"pmbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
