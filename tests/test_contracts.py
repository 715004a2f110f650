"""The plain-dict contract validators, their documented examples and their JSON Schemas.

Docs and code must not drift: every example in docs/contracts/ validates clean,
every mutated example is rejected at the right path, and each JSON Schema names
the same fields, required fields, enums and defaults as the validator.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from pmbot.shared.contracts import (
    ContractError,
    Problem,
    agent_run_spec,
    normalise_agent_run_spec,
    run_artifact,
    run_interrupt,
    validate_agent_run_spec,
    validate_run_artifact,
    validate_run_interrupt,
)
from pmbot.shared.contracts.shapes import MISSING, Nullable, Obj, OneOf, child

DOCS = Path(__file__).resolve().parent.parent / "docs" / "contracts"
CONTRACTS = {
    "agent-run-spec-v2": (validate_agent_run_spec, agent_run_spec.SHAPE),
    "run-interrupt-v1": (validate_run_interrupt, run_interrupt.SHAPE),
    "run-artifact-v1": (validate_run_artifact, run_artifact.SHAPE),
}
DELETE = object()


def documented_examples() -> list[tuple[str, str, dict]]:
    """Every ```json block of the prose docs and every file in examples/, with its contract."""
    found = []
    for name in CONTRACTS:
        doc = (DOCS / f"{name}.md").read_text(encoding="utf-8")
        for index, block in enumerate(re.findall(r"```json\n(.*?)```", doc, re.DOTALL)):
            found.append((name, f"{name}.md#{index}", json.loads(block)))
    for path in sorted((DOCS / "examples").glob("*.json")):
        found.append((path.name.split(".")[0], path.name, json.loads(path.read_text())))
    return found


def example(file_name: str) -> dict:
    return json.loads((DOCS / "examples" / file_name).read_text(encoding="utf-8"))


def mutated(document: dict, pointer: str, value: object) -> dict:
    """Return a copy of `document` with the value at `pointer` replaced (or deleted)."""
    out = copy.deepcopy(document)
    *parents, last = pointer.lstrip("/").split("/")
    target = out
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return out


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def test_docs_have_examples_for_every_contract():
    names = [name for name, _, _ in documented_examples()]
    for contract in CONTRACTS:
        assert names.count(contract) >= 3, f"{contract} needs examples in its doc and examples/"


@pytest.mark.parametrize(
    ("contract", "where", "document"),
    documented_examples(),
    ids=[where for _, where, _ in documented_examples()],
)
def test_every_documented_example_validates_clean(contract, where, document):
    validate, _ = CONTRACTS[contract]
    assert validate(document) == []


SPEC = "agent-run-spec-v2.full.json"
SPEC_CASES = [
    ("/run_id", DELETE, ["/run_id"]),
    ("/run_id", "", ["/run_id"]),
    ("/run_id", 42, ["/run_id"]),
    ("/run_id", "run/../../etc", ["/run_id"]),
    ("/schema_version", 1, ["/schema_version"]),
    ("/goal", None, ["/goal"]),
    ("/inputs", [], ["/inputs"]),
    ("/execution", "langgraph", ["/execution"]),
    ("/execution/engine", "crewai", ["/execution/engine"]),
    ("/execution/graph_id", "triage", ["/execution/graph_id"]),
    ("/execution/graph_id", "triage@0", ["/execution/graph_id"]),
    ("/execution/graph_id", "triage:v1", ["/execution/graph_id"]),
    ("/execution/thread_id", 7, ["/execution/thread_id"]),
    ("/execution/thread_id", "", ["/execution/thread_id"]),
    ("/execution/budget", [], ["/execution/budget"]),
    ("/execution/budget/max_total_tokens", -1, ["/execution/budget/max_total_tokens"]),
    ("/execution/budget/max_total_tokens", 0, ["/execution/budget/max_total_tokens"]),
    ("/execution/budget/max_tool_calls", 1.5, ["/execution/budget/max_tool_calls"]),
    ("/execution/budget/max_tool_calls", True, ["/execution/budget/max_tool_calls"]),
    ("/execution/budget/max_wall_seconds", "600", ["/execution/budget/max_wall_seconds"]),
    ("/execution/budget/max_wall_seconds", DELETE, ["/execution/budget/max_wall_seconds"]),
    ("/execution/tools_allowed", "repo.read_file", ["/execution/tools_allowed"]),
    ("/execution/tools_allowed/2", "repo.read_file", ["/execution/tools_allowed/2"]),
    ("/execution/tools_allowed/0", "Read File", ["/execution/tools_allowed/0"]),
    ("/execution/scopes", DELETE, ["/execution/scopes"]),
    ("/execution/scopes/repo", "widgets", ["/execution/scopes/repo"]),
    ("/execution/scopes/repo", "octo-org/..", ["/execution/scopes/repo"]),
]


@pytest.mark.parametrize(("pointer", "value", "expected"), SPEC_CASES)
def test_agent_run_spec_rejects_mutation_at_its_path(pointer, value, expected):
    assert paths(validate_agent_run_spec(mutated(example(SPEC), pointer, value))) == expected


PENDING, EDITED = "run-interrupt-v1.pending.json", "run-interrupt-v1.edited.json"
INTERRUPT_CASES = [
    (PENDING, "/interrupt_id", DELETE, ["/interrupt_id"]),
    (PENDING, "/thread_id", None, ["/thread_id"]),
    (PENDING, "/kind", "Tool Call", ["/kind"]),
    (PENDING, "/risk", "critical", ["/risk"]),
    (PENDING, "/risk", True, ["/risk"]),
    (PENDING, "/status", "done", ["/status"]),
    (PENDING, "/payload", "approve?", ["/payload"]),
    (PENDING, "/created_at", "2024-06-03 09:14:05", ["/created_at"]),
    (PENDING, "/created_at", "2024-13-03T09:14:05Z", ["/created_at"]),
    (
        PENDING,
        "/decision",
        {"decided_by": "operator", "decided_at": "2024-06-03T09:15:00Z"},
        ["/decision"],
    ),
    (PENDING, "/status", "approved", ["/decision"]),
    (EDITED, "/decision", DELETE, ["/decision"]),
    (EDITED, "/decision", "yes", ["/decision"]),
    (EDITED, "/status", "approved", ["/decision/edited_payload"]),
    (EDITED, "/decision/edited_payload", DELETE, ["/decision/edited_payload"]),
    (EDITED, "/decision/decided_by", DELETE, ["/decision/decided_by"]),
    (EDITED, "/decision/decided_at", 1717406441, ["/decision/decided_at"]),
    (EDITED, "/decision/comment", "", ["/decision/comment"]),
]


@pytest.mark.parametrize(("base", "pointer", "value", "expected"), INTERRUPT_CASES)
def test_run_interrupt_rejects_mutation_at_its_path(base, pointer, value, expected):
    assert paths(validate_run_interrupt(mutated(example(base), pointer, value))) == expected


ADDRESSED = "run-artifact-v1.content-addressed.json"
ARTIFACT_CASES = [
    ("/uri", "data:text/x-diff;base64,ZGlmZg==", ["/uri"]),
    ("/uri", "https://example.com/patch.diff", ["/uri"]),
    ("/uri", "/data/artifacts/sha256/df/9172", ["/uri"]),
    ("/uri", "artifacts/../control_plane/pm_bot.sqlite3", ["/uri"]),
    ("/uri", "artifacts/runs//x", ["/uri"]),
    ("/uri", "cache/render.html", ["/uri"]),
    ("/uri", "artifacts/sha256/df/" + "0" * 62, ["/uri"]),
    ("/uri", "artifacts/runs/run_other/patch.diff", ["/uri"]),
    ("/uri", "artifacts/patch.diff", ["/uri"]),
    ("/uri", "file://example.com/data/artifacts/x", ["/uri"]),
    ("/uri", "artifacts/x?raw=1", ["/uri"]),
    ("/sha256", "DF" + "9" * 62, ["/sha256"]),
    ("/size_bytes", -1, ["/size_bytes"]),
    ("/media_type", "diff", ["/media_type"]),
    ("/metadata", [], ["/metadata"]),
    ("/artifact_id", DELETE, ["/artifact_id"]),
]


@pytest.mark.parametrize(("pointer", "value", "expected"), ARTIFACT_CASES)
def test_run_artifact_rejects_mutation_at_its_path(pointer, value, expected):
    assert paths(validate_run_artifact(mutated(example(ADDRESSED), pointer, value))) == expected


def test_run_artifact_named_by_run_id_is_accepted():
    document = mutated(example(ADDRESSED), "/uri", "artifacts/runs/run_01HZX4A2MC/fix.diff")
    assert validate_run_artifact(document) == []


def test_file_uri_is_checked_against_the_data_dir_when_given(tmp_path):
    digest = example(ADDRESSED)["sha256"]
    inside = f"file://{tmp_path}/artifacts/sha256/{digest[:2]}/{digest[2:]}"
    document = mutated(example(ADDRESSED), "/uri", inside)
    assert validate_run_artifact(document) == []
    assert validate_run_artifact(document, data_dir=tmp_path) == []
    assert paths(validate_run_artifact(document, data_dir=tmp_path / "other")) == ["/uri"]
    wrong = mutated(document, "/uri", f"file://{tmp_path}/artifacts/sha256/00/{digest[2:]}")
    assert paths(validate_run_artifact(wrong, data_dir=tmp_path)) == ["/uri"]


def test_every_problem_is_reported_not_just_the_first():
    document = mutated(example(SPEC), "/run_id", DELETE)
    document = mutated(document, "/execution/engine", "other")
    document = mutated(document, "/execution/budget/max_total_tokens", -5)
    document = mutated(document, "/execution/tools_allowed", ["a", "a"])
    assert paths(validate_agent_run_spec(document)) == [
        "/run_id",
        "/execution/engine",
        "/execution/budget/max_total_tokens",
        "/execution/tools_allowed/1",
    ]


@pytest.mark.parametrize("validate", [v for v, _ in CONTRACTS.values()])
@pytest.mark.parametrize("document", [None, [], "{}", 3])
def test_a_non_object_document_is_one_problem_at_the_root(validate, document):
    assert validate(document) == [Problem("", "must be an object")]


@pytest.mark.parametrize(
    ("file_name", "pointer"),
    [
        (SPEC, "/x_future"),
        (SPEC, "/execution/priority"),
        (SPEC, "/execution/budget/max_cost_usd"),
        (SPEC, "/execution/scopes/paths"),
        (EDITED, "/decision/x_reason_code"),
        (ADDRESSED, "/x_encoding"),
    ],
)
def test_unknown_fields_are_accepted(file_name, pointer):
    contract = file_name.split(".")[0]
    validate, _ = CONTRACTS[contract]
    assert validate(mutated(example(file_name), pointer, {"anything": [1, 2]})) == []


def test_normalise_fills_defaults_and_keeps_unknown_fields_without_touching_input():
    original = mutated(example("agent-run-spec-v2.minimal.json"), "/execution/lane", "fast")
    before = copy.deepcopy(original)
    spec = normalise_agent_run_spec(original)
    assert original == before
    assert spec["inputs"] == {}
    assert spec["execution"]["thread_id"] is None
    assert spec["execution"]["tools_allowed"] == []
    assert spec["execution"]["lane"] == "fast"
    spec["execution"]["budget"]["max_tool_calls"] = 1
    assert original["execution"]["budget"]["max_tool_calls"] == 40


def test_normalise_refuses_an_invalid_spec_with_every_problem():
    document = mutated(example(SPEC), "/goal", "")
    document = mutated(document, "/execution/graph_id", "triage")
    with pytest.raises(ContractError) as caught:
        normalise_agent_run_spec(document)
    assert paths(caught.value.problems) == ["/goal", "/execution/graph_id"]
    assert "/goal: must not be empty" in str(caught.value)


def test_pointer_segments_are_escaped():
    assert child("/a", "b/c~d") == "/a/b~1c~0d"
    assert child("", 3) == "/3"


# --- JSON Schemas must say what the validators check -------------------------------


def schema(contract: str) -> dict:
    return json.loads((DOCS / "schemas" / f"{contract}.schema.json").read_text(encoding="utf-8"))


def validator_objects(check, path=""):
    """Yield (path, Obj) for every object shape a validator knows, nested ones included."""
    check = check.inner if isinstance(check, Nullable) else check
    if isinstance(check, Obj):
        yield path, check
        for name, field in check.fields.items():
            yield from validator_objects(field.check, f"{path}/{name}")


def schema_objects(node, path=""):
    """Yield (path, node) for every schema node that declares properties."""
    if "properties" in node:
        yield path, node
        for name, sub in node["properties"].items():
            yield from schema_objects(sub, f"{path}/{name}")


@pytest.mark.parametrize("contract", CONTRACTS)
def test_schema_is_json_schema_2020_12(contract):
    document = schema(contract)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["type"] == "object"
    assert document.get("additionalProperties", True) is True


@pytest.mark.parametrize("contract", CONTRACTS)
def test_schema_and_validator_agree_on_fields_and_required_fields(contract):
    _, shape = CONTRACTS[contract]
    ours = dict(validator_objects(shape))
    theirs = dict(schema_objects(schema(contract)))
    assert sorted(ours) == sorted(theirs)
    for path, obj in ours.items():
        assert set(theirs[path]["properties"]) == set(obj.fields), path
        assert set(theirs[path].get("required", [])) == obj.required_names(), path


@pytest.mark.parametrize("contract", CONTRACTS)
def test_schema_and_validator_agree_on_enums_and_defaults(contract):
    _, shape = CONTRACTS[contract]
    theirs = dict(schema_objects(schema(contract)))
    for path, obj in validator_objects(shape):
        for name, field in obj.fields.items():
            prop = theirs[path]["properties"][name]
            if isinstance(field.check, OneOf):
                assert tuple(prop.get("enum", [prop.get("const")])) == field.check.choices
            if "default" in prop:
                assert prop["default"] == field.default, f"{path}/{name}"
            assert ("default" in prop) == (field.default is not MISSING), f"{path}/{name}"


@pytest.mark.parametrize("contract", CONTRACTS)
def test_prose_doc_names_every_field(contract):
    doc = (DOCS / f"{contract}.md").read_text(encoding="utf-8")
    _, shape = CONTRACTS[contract]
    for path, obj in validator_objects(shape):
        for name in obj.fields:
            dotted = f"{path}/{name}".lstrip("/").replace("/", ".")
            assert f"| `{dotted}` |" in doc, f"{contract}.md has no table row for `{dotted}`"


def test_a_timestamp_must_be_a_real_date():
    document = mutated(example(PENDING), "/created_at", "2024-02-30T09:14:05Z")
    assert validate_run_interrupt(document) == [
        Problem("/created_at", "is not a real date and time: '2024-02-30T09:14:05Z'")
    ]


def test_a_constant_must_have_the_right_json_type():
    document = mutated(example(SPEC), "/schema_version", 2.0)
    assert paths(validate_agent_run_spec(document)) == ["/schema_version"]
