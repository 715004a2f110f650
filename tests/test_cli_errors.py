"""Every CLI command answers bad input with one line and a non-zero exit, never a traceback.

The sweep finds the commands in the argparse parser itself, so a new command
or option is swept as soon as it exists (an option taking a value also needs
a bad value in `BAD_VALUES`, or the sweep says so).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmbot.cli import build_parser, main
from pmbot.control_plane import audit, registry
from pmbot.control_plane.db import open_database
from tests.conftest import TEST_TOKEN

ROOT = Path(__file__).resolve().parent.parent
BAD_NAME = "-x/y"
# A bad value for each option that takes text; None: any text is valid (a branch name).
BAD_VALUES = {
    "--host": "no such host!",
    "--api-url": "ftp://nowhere",
    "--head": "nonsense",
    "--repo": BAD_NAME,
    "--type": "no.such.event",
    "--branch": None,
    "--goal": "",
    "--graph": "no-such-graph@1",
    "--tool": "Not A Tool!",
    "--reason": "",
    "--comment": None,
}
BAD_NUMBERS = ("x", "-1")
# Values a number type accepts but the command must still refuse.
EXTRA_CASES = (
    ("serve", "--port", "70000"),
    ("serve", "--threads", "100000"),
    ("ui", "--port", "70000"),
    ("worker", "--lease-seconds", "0"),
    ("worker", "--max-age", "0"),
)
PLACEHOLDERS = {"full_name": "octo/demo", "path": "copy.sqlite3"}


def _subcommands(action: argparse.Action) -> bool:
    return isinstance(action, argparse._SubParsersAction)


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator:
    """(path, parser) for the top level, every group and every command under it."""
    yield path, parser
    for action in parser._actions:
        if _subcommands(action):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def _bad_inputs(path: tuple[str, ...], parser: argparse.ArgumentParser) -> Iterator[list[str]]:
    yield [*path, "--no-such-option"]
    if any(_subcommands(a) for a in parser._actions):
        yield list(path)  # a group without its command
        return
    positionals = [a for a in parser._actions if not a.option_strings]
    filled = [PLACEHOLDERS.get(a.dest, "octo/demo") for a in positionals if a.nargs != "?"]
    if filled:
        yield list(path)  # a required argument missing
    for action in positionals:
        yield [*path, BAD_NAME] if action.nargs == "?" else [*path, *filled[:-1], BAD_NAME]
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        option = action.option_strings[-1]
        if action.type not in (None, str):
            yield from ([*path, *filled, option, value] for value in BAD_NUMBERS)
        elif action.choices:
            yield [*path, *filled, option, "no-such-choice"]
        else:
            assert option in BAD_VALUES, f"add a bad value for {option} to BAD_VALUES"
            if BAD_VALUES[option] is not None:
                yield [*path, *filled, option, BAD_VALUES[option]]
    for command, option, value in EXTRA_CASES:
        if path == (command,):
            yield [*path, option, value]


def _all_bad_inputs() -> list[list[str]]:
    return [
        argv for path, parser in _commands(build_parser()) for argv in _bad_inputs(path, parser)
    ]


def _parse(argv: list[str]) -> tuple[bool, str]:
    """Parse only; (parsed, stderr). Anything but SystemExit is a traceback, and fails."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code != 0, f"pmbot {' '.join(argv)} exited 0"
        return False, errors.getvalue()
    return True, errors.getvalue()


def test_the_sweep_reaches_every_command():
    swept = {tuple(argv[:2]) for argv in _all_bad_inputs()}

    for expected in (("serve", "--no-such-option"), ("repos", "add"), ("audit", "tail")):
        assert expected in swept
    assert ["repos", "add", BAD_NAME] in _all_bad_inputs()


def test_every_command_refuses_bad_input_without_a_traceback(tmp_path):
    """Parse errors are checked in-process; input that parses runs in a process with a
    timeout, so a command that wrongly accepts it cannot hang the suite."""
    reaches_command = []
    for argv in _all_bad_inputs():
        parsed, stderr = _parse(argv)
        if parsed:
            reaches_command.append(argv)
        else:
            assert "Traceback" not in stderr and "error:" in stderr, (argv, stderr)

    assert len(reaches_command) >= 10, reaches_command
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMBOT_", "GITHUB_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PMBOT_DATA_DIR=str(tmp_path / "data"),
        GITHUB_TOKEN=TEST_TOKEN,
        GITHUB_API_BASE="http://127.0.0.1:9",
    )
    failures = []
    for argv in reaches_command:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pmbot", *argv],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            failures.append(f"pmbot {' '.join(argv)}: accepted the bad input and kept running")
            continue
        lines = done.stderr.strip().splitlines()
        if "Traceback" in done.stderr or done.returncode == 0 or len(lines) != 1:
            failures.append(f"pmbot {' '.join(argv)}: exit {done.returncode}: {done.stderr!r}")
    assert failures == []


# -- the port and host of `serve` and `ui` (item 7) --------------------------------------


@pytest.fixture
def env(settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("PMBOT_DB_URL", "PMBOT_HOST", "PMBOT_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GITHUB_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("GITHUB_API_BASE", "http://127.0.0.1:9")
    return settings


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_serve_on_a_port_in_use_names_the_setting(env, busy_port, capsys, monkeypatch):
    assert main(["serve", "--no-worker", "--port", str(busy_port)]) == 2
    err = _one_line(capsys)
    assert f"cannot listen on 127.0.0.1:{busy_port}: the port is in use" in err
    assert "--port" in err

    monkeypatch.setenv("PMBOT_PORT", str(busy_port))
    assert main(["serve", "--no-worker"]) == 2
    assert "another port with PMBOT_PORT" in _one_line(capsys)


def test_serve_with_an_invalid_host_names_the_setting(env, capsys, monkeypatch):
    assert main(["serve", "--no-worker", "--host", "no such host!"]) == 2
    assert "--host='no such host!' is invalid" in _one_line(capsys)

    monkeypatch.setenv("PMBOT_HOST", "no such host!")
    assert main(["serve", "--no-worker"]) == 2
    assert "PMBOT_HOST='no such host!' is invalid" in _one_line(capsys)


def test_ui_on_a_port_in_use_or_a_bad_host_says_so(env, busy_port, capsys):
    assert main(["ui", "--port", str(busy_port)]) == 2
    assert "the port is in use" in _one_line(capsys)
    assert main(["ui", "--host", "no such host!", "--port", "0"]) == 2
    assert "--host='no such host!' is invalid" in _one_line(capsys)


# -- pmbot sync without a token (item 8) -------------------------------------------------


def test_sync_without_a_token_says_so_and_touches_nothing(env, conn, capsys, monkeypatch):
    repo = registry.add_repo(conn, "octo/demo")
    head = audit.head(conn)
    row = dict(conn.execute("SELECT * FROM repos WHERE repo_id = ?", (repo.repo_id,)).fetchone())
    monkeypatch.setenv("GITHUB_TOKEN", "")

    assert main(["sync", "octo/demo"]) == 2

    assert "GITHUB_TOKEN is not set" in _one_line(capsys)
    fresh = open_database(env.db_path)
    try:
        assert audit.head(fresh) == head
        after = fresh.execute("SELECT * FROM repos WHERE repo_id = ?", (repo.repo_id,))
        assert dict(after.fetchone()) == row
    finally:
        fresh.close()


# -- one word and one exit code for a repo that is not tracked (item 9) ------------------


@pytest.mark.parametrize(
    "argv",
    [["status", "octo/missing"], ["repos", "remove", "octo/missing"], ["sync", "octo/missing"]],
)
def test_an_untracked_repo_is_not_tracked_everywhere(env, argv, capsys):
    assert main(argv) == 2
    assert _one_line(capsys) == "pmbot: octo/missing is not tracked (see `pmbot repos list`)\n"


def test_repos_add_with_a_dash_name_names_the_bad_value(env, capsys):
    assert main(["repos", "add", BAD_NAME]) == 2
    err = _one_line(capsys)
    assert f"{BAD_NAME!r} is not a repo name" in err
    assert "required" not in err
