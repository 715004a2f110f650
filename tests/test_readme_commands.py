"""The README's everyday commands work exactly as written on a fresh data dir (issue 13, 11)."""

from __future__ import annotations

import socket

import pytest

from tests.readme_commands import README, UI_PORT, everyday_commands, run_with_fake


def test_the_table_shows_the_everyday_commands_in_a_workable_order():
    commands = everyday_commands(README.read_text())

    assert commands.index("source .venv/bin/activate") < min(
        i for i, c in enumerate(commands) if c.startswith("pmbot ")
    )
    for needed in ("pmbot serve", "pmbot worker", "pmbot ui", "pmbot repos add owner/name"):
        assert needed in commands
    assert commands.index("pmbot repos remove owner/name") > commands.index("pmbot sync owner/name")


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_the_readme_everyday_commands_work_as_written(tmp_path):
    if _port_in_use(UI_PORT):
        pytest.skip(f"port {UI_PORT} is in use here; the README's `pmbot ui` needs it")

    outcomes = run_with_fake(tmp_path)

    assert [o.line() for o in outcomes if not o.ok] == []
    ran = [o.command for o in outcomes if "(not run here)" not in o.detail]
    assert "pmbot sync owner/name" in ran and "pmbot ui" in ran
