"""What every command checks the same way: repo names, number options, binding a port.

Each check fails with one line that names the bad value (and, for a setting,
the option or variable it came from) and says what to do; `pmbot.cli.main`
prints it and exits 2, like a bad setting. Never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import sqlite3
from collections.abc import Callable
from typing import Any

from pmbot.control_plane.api.server import HttpLimits, ServerThread
from pmbot.control_plane.registry import (
    InvalidRepoName,
    Repo,
    RepoNotFound,
    find_repo,
    parse_full_name,
)

MAX_THREADS = 64


class ListenError(Exception):
    """The server could not bind its host and port; the message names the setting."""


def repo_name(text: str) -> str:
    """`owner/name` from what the user typed; the error names the bad value."""
    try:
        return parse_full_name(text)
    except InvalidRepoName as exc:
        if repr(text.strip()[:120]) in str(exc):
            raise
        raise InvalidRepoName(f"{text!r} is not a repo name: {exc}") from exc


def tracked_repo(conn: sqlite3.Connection, text: str) -> Repo:
    """The tracked repo `text` names; any other name is "not tracked" (exit 2, everywhere)."""
    repo = find_repo(conn, repo_name(text))
    if repo is None:
        raise RepoNotFound(f"{text} is not tracked (see `pmbot repos list`)")
    return repo


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: a whole number from `low` (to `high`), else a usage error."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            upper = f" to {high}" if high is not None else " or more"
            raise argparse.ArgumentTypeError(f"{raw!r}: expected a whole number from {low}{upper}")
        return value

    return parse


def positive_seconds(raw: str) -> float:
    """An argparse `type`: seconds, a number above 0."""
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a number of seconds above 0")
    return value


port_number = whole_number(0, 65535)  # 0: any free port (the tests use it)
thread_count = whole_number(1, MAX_THREADS)


def listen(
    app: Any,
    *,
    host: str,
    port: int,
    threads: int,
    limits: HttpLimits,
    host_from: str,
    port_from: str,
) -> ServerThread:
    """Bind `host:port` for `app`; `host_from`/`port_from` name where each value came from.

    waitress raises `ValueError("Invalid host/port specified.")` for a host it
    cannot resolve, and `OSError` from bind(); both become one `ListenError`.
    """
    try:
        return ServerThread(app, host=host, port=port, threads=threads, limits=limits)
    except ValueError as exc:
        raise ListenError(
            f"{host_from}={host!r} is invalid: expected an address of this machine, such as"
            " 127.0.0.1 (or 0.0.0.0 in a container)"
        ) from exc
    except OSError as exc:
        raise ListenError(_bind_failure(exc, host, port, host_from, port_from)) from exc


def _bind_failure(exc: OSError, host: str, port: int, host_from: str, port_from: str) -> str:
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is in use (is pmbot already running?); stop the other"
            f" server or choose another port with {port_from}"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied; choose a port above 1023 with {port_from}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: {host} is not an address of this machine; fix {host_from}"
    return f"{where}: {exc.strerror or exc}; check {host_from} and {port_from}"
