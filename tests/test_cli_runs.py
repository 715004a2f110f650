"""`pmbot runs ...` on the DB, without a server: the whole operator loop, one-line errors."""

from __future__ import annotations

import json

import pytest

from pmbot.cli import main
from pmbot.control_plane.db import open_database
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.registry import ensure_default_workspace
from tests.runs_support import add_repo_with_cache
from tests.scripted_executor import ScriptedExecutor


@pytest.fixture
def env(settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PMBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PMBOT_DB_URL", raising=False)
    conn = open_database(settings.db_path)
    ensure_default_workspace(conn)
    add_repo_with_cache(conn)
    conn.close()
    return settings


def _plan(capsys) -> str:
    args = ["runs", "plan", "--repo", "acme/widgets", "--goal", "Triage", "--graph", "triage@1"]
    assert main([*args, "--max-tool-calls", "5", "--tool", "github.read", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def test_plan_list_show_approve_decide_and_download(env, capsys, tmp_path):
    run_id = _plan(capsys)
    assert main(["runs", "list"]) == 0
    assert run_id in capsys.readouterr().out
    assert main(["runs", "approve", run_id]) == 0
    assert f"{run_id} is now approved" in capsys.readouterr().out

    conn = open_database(env.db_path)
    executor = ScriptedExecutor(env)
    runs.start_run(conn, run_id, executor)
    interrupt = executor.raise_interrupt(run_id)
    payload = tmp_path / "edited.json"
    payload.write_text('{"tool": "github.comment", "args": {"body": "edited"}}')
    decide = ["runs", "decide", interrupt["interrupt_id"], "edit", "--payload", str(payload)]
    assert main(decide) == 0
    assert "is edited" in capsys.readouterr().out
    artifact = executor.file_artifact(run_id, b"the patch\n")
    executor.finish(run_id)
    executor.close()
    conn.close()

    out = tmp_path / "patch.diff"
    assert main(["runs", "artifact", artifact["artifact_id"], "-o", str(out)]) == 0
    assert out.read_bytes() == b"the patch\n"
    assert "wrote 10 bytes" in capsys.readouterr().out
    assert main(["runs", "show", run_id]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "completed"
    assert shown["spec"]["execution"]["budget"]["max_tool_calls"] == 5
    assert shown["interrupts"][0]["decision"]["edited_payload"]["args"] == {"body": "edited"}
    assert main(["runs", "list", "--state", "completed", "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [run_id]
    assert main(["audit", "verify"]) == 0
    assert main(["audit", "rebuild", "--check"]) == 0


def test_reject_and_cancel(env, capsys):
    first, second = _plan(capsys), _plan(capsys)
    assert main(["runs", "reject", first, "--reason", "not now"]) == 0
    assert main(["runs", "cancel", second]) == 0
    assert "is now cancelled" in capsys.readouterr().out


def test_errors_are_one_line_without_a_traceback(env, capsys, tmp_path):
    run_id = _plan(capsys)
    args = ["runs", "plan", "--repo", "acme/nope", "--goal", "", "--graph", "nope@1"]
    assert main([*args, "--max-wall-seconds", "0"]) == 2
    assert main(["runs", "reject", run_id, "--reason", "no"]) == 0
    assert main(["runs", "approve", run_id]) == 2
    assert main(["runs", "show", "run-missing"]) == 2
    assert main(["runs", "artifact", "art-missing", "-o", str(tmp_path / "x")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["runs", "decide", "int-1", "edit", "--payload", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("pmbot: ") for line in lines)
    assert "/execution/scopes/repo" in lines[0] and "/execution/budget/max_wall_seconds" in lines[0]
    assert "cannot become approved" in lines[1]


def test_removing_a_repo_with_an_active_run_is_refused(env, capsys):
    run_id = _plan(capsys)
    assert main(["repos", "remove", "acme/widgets"]) == 2
    assert run_id in capsys.readouterr().err
    assert main(["runs", "cancel", run_id]) == 0
    assert main(["repos", "remove", "acme/widgets"]) == 0
