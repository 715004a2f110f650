"""`python -m pmbot <command>` / `pmbot <command>`: argparse over the services.

Each command lives in a small module under `pmbot/cli/` that registers its
subparser; a command function takes the parsed args and returns an exit
code. Errors a user can fix (bad settings, unwritable data dir, refused
migrations, a corrupt database, a bad argument, a repo that is not tracked, a port
in use) print one line to stderr and exit 2, never a traceback; exit 1 means the
command ran and found or hit a problem (a failed sync, a broken audit chain).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sqlite3
import sys
from collections.abc import Iterator, Sequence

from pmbot import __version__
from pmbot.cli.checks import ListenError
from pmbot.control_plane.db import MigrationError, StorageError, open_database
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.shared.datadir import DataDirError, ensure_layout
from pmbot.shared.errors import ServiceError
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
    "pmbot.cli.runs",
)
USER_ERRORS = (
    SettingsError, DataDirError, MigrationError, StorageError, ServiceError, ListenError,
)  # fmt: skip


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


class _Parser(argparse.ArgumentParser):
    """argparse, except that an unknown `-x/y` (a '/' in it) is an argument, not an option.

    So `pmbot repos add -x/y` reaches the repo-name check, which names the bad
    value, instead of argparse's "the following arguments are required". Other
    unknown options stay errors (`backup --forse` must not name a file).
    """

    def _parse_optional(self, arg_string: str):  # argparse's hook; see the class docstring
        found = super()._parse_optional(arg_string)
        # Python 3.11 returns (action, option, arg); 3.12+ a list of such tuples.
        first = found[0] if isinstance(found, list) else found
        unknown = found is not None and first[0] is None
        return None if unknown and "/" in arg_string else found


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
