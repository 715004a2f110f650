"""`pmbot repos add|list|remove` and `pmbot status` on the DB, without a server."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from pmbot.cli import main
from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.db import open_database


@pytest.fixture
def env(settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    return settings


def test_add_list_status_remove(env, capsys):
    assert main(["repos", "add", "https://github.com/Octo/Hello"]) == 0
    assert "added Octo/Hello (id 1)" in capsys.readouterr().out

    assert main(["repos", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Octo/Hello" in listing and "queued" in listing and "never" in listing

    assert main(["status", "octo/hello", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["repo_id"], row["status"], row["counts"]["issues_open"]) == (1, "queued", 0)

    assert main(["repos", "remove", "octo/hello"]) == 0
    assert "removed Octo/Hello" in capsys.readouterr().out
    assert main(["repos", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    conn = open_database(env.db_path)
    types = [e.type for e in audit.iter_events(conn)]
    conn.close()
    assert types == [ev.WorkspaceCreated.type, ev.RepoAdded.type, ev.RepoRemoved.type]


def test_user_errors_are_one_line_and_exit_nonzero(env, capsys):
    assert main(["repos", "add", "not a repo"]) == 2
    assert main(["repos", "add", "octo/x"]) == 0
    assert main(["repos", "add", "OCTO/X"]) == 2
    err = capsys.readouterr().err
    assert "pmbot: " in err and "Traceback" not in err and "already registered" in err
    assert main(["repos", "remove", "octo/missing"]) == 2
    assert main(["status", "octo/missing"]) == 2
    assert "not tracked" in capsys.readouterr().err


def test_empty_list_says_what_to_do(env, capsys):
    assert main(["repos", "list"]) == 0
    assert "pmbot repos add owner/name" in capsys.readouterr().out


def test_list_is_one_line_per_repo_and_status_the_detail_of_one(env, capsys):
    for name in ("octo/one", "octo/two"):
        assert main(["repos", "add", name, "--branch", "main"]) == 0
    conn = open_database(env.db_path)
    conn.execute("UPDATE repos SET last_error = 'boom', last_error_code = 'server_error'")
    conn.commit()
    conn.close()
    capsys.readouterr()

    assert main(["repos", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert main(["status", "octo/one"]) == 0
    detail = capsys.readouterr().out.splitlines()

    assert len(listing) == 3 and listing[0].split()[:3] == ["ID", "REPO", "STATUS"]
    assert [line.split()[1] for line in listing[1:]] == ["octo/one", "octo/two"]
    assert detail[0] == "octo/one (id 1)"
    facts = dict(line.strip().split(": ", 1) for line in detail[1:])
    assert facts["default branch"].strip() == "main"
    assert facts["last sync"].strip() == "never"
    assert facts["last error"].strip() == "boom (server_error)"
    assert re.fullmatch(r"0 open, 0 closed, updated since \d{4}-\d\d-\d\d", facts["issues"].strip())
    assert "list one line per tracked repo" in _help(["repos"])
    assert "status the detail of one repo" in _help([])


def _help(path: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*path, "--help"])
    return " ".join(out.getvalue().split())
