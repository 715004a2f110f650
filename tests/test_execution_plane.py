"""The v7 executor interface: input checks every executor runs, and the plane boundary."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pmbot.execution_plane.langgraph import Executor, prepare_resume, prepare_run
from pmbot.shared.contracts import ContractError

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "contracts" / "examples"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def fresh_spec() -> dict:
    return example("agent-run-spec-v2.minimal.json")


class RecordingExecutor:
    """The smallest executor the control plane could be tested against before v8."""

    def __init__(self) -> None:
        self.started: list[dict] = []

    def start(self, spec: dict) -> dict:
        accepted = prepare_run(spec)
        accepted["execution"]["thread_id"] = f"thr_{accepted['run_id']}"
        self.started.append(accepted)
        return accepted

    def resume(self, interrupt: dict) -> dict:
        return prepare_resume(interrupt)

    def cancel(self, run_id: str) -> None:
        self.started = [s for s in self.started if s["run_id"] != run_id]


def test_prepare_run_returns_the_spec_with_defaults_filled_in():
    spec = fresh_spec()
    prepared = prepare_run(spec)
    assert prepared["inputs"] == {}
    assert prepared["execution"]["thread_id"] is None
    assert prepared["execution"]["tools_allowed"] == []
    assert prepared["execution"]["budget"] == spec["execution"]["budget"]


def test_prepare_run_never_alters_the_callers_spec():
    spec = fresh_spec()
    before = copy.deepcopy(spec)
    prepared = prepare_run(spec)
    prepared["execution"]["scopes"]["repo"] = "someone/else"
    assert spec == before


def test_prepare_run_refuses_a_spec_that_already_has_a_thread():
    spec = fresh_spec()
    spec["execution"]["thread_id"] = "thr_1"
    with pytest.raises(ContractError) as caught:
        prepare_run(spec)
    assert [p.path for p in caught.value.problems] == ["/execution/thread_id"]


def test_prepare_run_reports_every_problem_of_an_invalid_spec():
    spec = fresh_spec()
    spec["execution"]["engine"] = "crewai"
    del spec["execution"]["budget"]["max_tool_calls"]
    with pytest.raises(ContractError) as caught:
        prepare_run(spec)
    assert [p.path for p in caught.value.problems] == [
        "/execution/engine",
        "/execution/budget/max_tool_calls",
    ]


def test_prepare_resume_refuses_a_pending_interrupt():
    with pytest.raises(ContractError) as caught:
        prepare_resume(example("run-interrupt-v1.pending.json"))
    assert [p.path for p in caught.value.problems] == ["/status"]


def test_prepare_resume_refuses_an_invalid_interrupt():
    interrupt = example("run-interrupt-v1.edited.json")
    del interrupt["decision"]["edited_payload"]
    with pytest.raises(ContractError) as caught:
        prepare_resume(interrupt)
    assert [p.path for p in caught.value.problems] == ["/decision/edited_payload"]


def test_prepare_resume_returns_an_independent_copy_of_a_decided_interrupt():
    interrupt = example("run-interrupt-v1.edited.json")
    prepared = prepare_resume(interrupt)
    assert prepared == interrupt
    prepared["decision"]["edited_payload"]["title"] = "changed"
    assert interrupt["decision"]["edited_payload"]["title"] != "changed"


def test_an_executor_built_on_the_checks_satisfies_the_interface():
    executor = RecordingExecutor()
    assert isinstance(executor, Executor)
    accepted = executor.start(fresh_spec())
    assert accepted["execution"]["thread_id"] == "thr_run_01HZX3K7Q9"
    assert executor.resume(example("run-interrupt-v1.edited.json"))["status"] == "edited"
    executor.cancel(accepted["run_id"])
    assert executor.started == []


def test_an_object_missing_a_method_is_not_an_executor():
    class StartOnly:
        def start(self, spec: dict) -> dict:
            return spec

    assert not isinstance(StartOnly(), Executor)


def test_importing_the_execution_plane_loads_neither_control_plane_nor_langgraph():
    code = (
        "import sys, pmbot.execution_plane.langgraph;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('langgraph', 'langchain')"
        " or m.startswith('pmbot.control_plane')];"
        "print(bad)"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
