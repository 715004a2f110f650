"""The plane boundaries and the layer order, checked by scanning every module's AST.

Rules: `pmbot/control_plane/**` never imports `langgraph` or `langchain`;
`pmbot/execution_plane/**` never imports `pmbot.control_plane` (absolute or
relative). Every import form counts: `import x`, `from x import y`,
`importlib.import_module("x")` and `__import__("x")`.

Layers (ARCHITECTURE.md, refined in ADR 0001): `shared < db < audit < github,
cache < registry < sync < artifacts < context < orchestration < operations,
approvals < api < cli`.
A module imports only its own room or rooms of lower layers (two rooms of one
layer do not import each other); every module belongs to a room; the API
never imports `sync/` and imports `github/` only for discovery (the client
and its errors) and status.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "pmbot"
FORBIDDEN = {
    "control_plane": ("langgraph", "langchain"),
    "execution_plane": ("pmbot.control_plane",),
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """Dotted name of the module at `path` and whether it is a package `__init__`."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _resolve_relative(module: str | None, level: int, current: str, is_package: bool) -> str:
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def imported_modules(source: str, current: str = "", is_package: bool = False):
    """Yield `(line, module)` for every import in `source`, relative ones resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(node.module, node.level, current, is_package)
                if node.level
                else node.module or ""
            )
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            yield node.lineno, node.args[0].value


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    named = (isinstance(func, ast.Name) and func.id in ("__import__", "import_module")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    first = node.args[0] if node.args else None
    return named and isinstance(first, ast.Constant) and isinstance(first.value, str)


def _matches(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def scan(root: Path = PACKAGE_ROOT) -> list[Violation]:
    """Every boundary violation under the package `root`."""
    violations = []
    for plane, banned in FORBIDDEN.items():
        for path in sorted((root / plane).rglob("*.py")):
            current, is_package = _module_name(path, root)
            source = path.read_text(encoding="utf-8")
            for line, module in imported_modules(source, current, is_package):
                if any(_matches(module, b) for b in banned):
                    violations.append(Violation(str(path.relative_to(root.parent)), line, module))
    return violations


def test_package_respects_plane_boundaries():
    violations = scan()
    assert not violations, "import boundary violated:\n" + "\n".join(map(str, violations))


def test_scan_covers_both_planes():
    assert list((PACKAGE_ROOT / "control_plane").rglob("*.py"))
    assert list((PACKAGE_ROOT / "execution_plane").rglob("*.py"))


# (file, source, the module reported, its line)
VIOLATING = [
    ("control_plane/a.py", "import langgraph\n", "langgraph", 1),
    ("control_plane/a.py", "import os, langchain.chains as c\n", "langchain.chains", 1),
    ("control_plane/x/b.py", "from langgraph.graph import StateGraph\n", "langgraph.graph", 1),
    ("control_plane/a.py", "import json\n\nfrom langchain import hub\n", "langchain", 3),
    ("control_plane/a.py", "import importlib\nimportlib.import_module('langgraph')\n",
     "langgraph", 2),
    ("control_plane/a.py", "from importlib import import_module\nimport_module('langchain')\n",
     "langchain", 2),
    ("control_plane/a.py", "def f():\n    return __import__('langgraph.pregel')\n",
     "langgraph.pregel", 2),
    ("execution_plane/langgraph/run.py", "import pmbot.control_plane.db\n",
     "pmbot.control_plane.db", 1),
    ("execution_plane/langgraph/run.py", "from pmbot.control_plane import audit\n",
     "pmbot.control_plane", 1),
    ("execution_plane/langgraph/run.py", "from pmbot import control_plane\n",
     "pmbot.control_plane", 1),
    ("execution_plane/langgraph/run.py", "from ...control_plane import registry\n",
     "pmbot.control_plane", 1),
    ("execution_plane/langgraph/__init__.py", "from ...control_plane.db import connect\n",
     "pmbot.control_plane.db", 1),
    ("execution_plane/run.py", "\nfrom ..control_plane import db\n", "pmbot.control_plane", 2),
    ("execution_plane/run.py", "__import__('pmbot.control_plane.github')\n",
     "pmbot.control_plane.github", 1),
]  # fmt: skip


def _package_with(tmp_path: Path, relpath: str, source: str) -> Path:
    root = tmp_path / "pmbot"
    target = root / relpath
    target.parent.mkdir(parents=True)
    target.write_text(source)
    (root / "control_plane").mkdir(exist_ok=True)
    (root / "execution_plane").mkdir(exist_ok=True)
    return root


@pytest.mark.parametrize(("relpath", "source", "module", "line"), VIOLATING)
def test_scan_reports_each_violation_with_file_and_line(tmp_path, relpath, source, module, line):
    violations = scan(_package_with(tmp_path, relpath, source))

    assert Violation(f"pmbot/{relpath}", line, module) in violations
    assert all(v.path == f"pmbot/{relpath}" and v.line == line for v in violations)


ALLOWED = [
    ("control_plane/a.py", "import json\nfrom pmbot.shared import settings\n"),
    ("control_plane/a.py", "import langgraph_helpers_not_really\n"),
    ("control_plane/a.py", "x = 'import langgraph'\n"),
    ("execution_plane/run.py", "from pmbot.shared.contracts import validate_agent_run_spec\n"),
    ("execution_plane/run.py", "from ..shared import contracts\n"),
    ("execution_plane/langgraph/run.py", "import langgraph\n"),
]


@pytest.mark.parametrize(("relpath", "source"), ALLOWED)
def test_scan_accepts_allowed_imports(tmp_path, relpath, source):
    assert scan(_package_with(tmp_path, relpath, source)) == []


# -- layers ------------------------------------------------------------------------------------

CP = "pmbot.control_plane"
# Lowest first: (rooms of one layer). A room is a module or package prefix.
LAYERS: list[tuple[str, ...]] = [
    ("pmbot.shared",),
    ("pmbot.execution_plane",),
    (f"{CP}.db",),
    (f"{CP}.audit",),
    (f"{CP}.github", f"{CP}.cache"),
    (f"{CP}.registry",),
    (f"{CP}.sync",),
    # The run rooms, in their own order: a plan takes a context pack into the artifact
    # store; approvals decide a run's interrupts; removing a repo asks about its runs.
    (f"{CP}.artifacts",),
    (f"{CP}.context",),
    (f"{CP}.orchestration",),
    (
        f"{CP}.operations", f"{CP}.repo_status", f"{CP}.approvals",
        f"{CP}.models", f"{CP}.doctor", f"{CP}.backup",
    ),
    (f"{CP}.api",),
    ("pmbot.cli",),
    ("pmbot.__main__",),
]  # fmt: skip
# Empty namespace packages: importing them means importing one of their rooms.
ROOTS = ("pmbot", CP)
API_GITHUB_ALLOWED = (f"{CP}.github.client", f"{CP}.github.protocol", f"{CP}.github.status")


def room_of(module: str) -> tuple[int, str] | None:
    """(layer index, room) of a module, None when it is in no room."""
    for index, rooms in enumerate(LAYERS):
        for room in rooms:
            if _matches(module, room):
                return index, room
    return None


def _imported_room(module: str) -> tuple[int, str] | None:
    """The room of an imported name; `from pkg import attr` falls back to pkg's room."""
    while module and module not in ROOTS:
        found = room_of(module)
        if found is not None:
            return found
        module = module.rpartition(".")[0]
    return None  # a root package's own attribute (`pmbot.__version__`): no layer to break


def layer_violations(root: Path = PACKAGE_ROOT) -> list[str]:
    """Every module in no room, and every import that breaks the layer rules."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        current, is_package = _module_name(path, root)
        where = str(path.relative_to(root.parent))
        if current in ROOTS:
            continue
        own = room_of(current)
        if own is None:
            problems.append(f"{where}: {current} is in no layer")
            continue
        reported = set()  # one problem per import statement (`from a import b` yields a, a.b)
        for line, module in imported_modules(path.read_text(encoding="utf-8"), current, is_package):
            problem = _import_problem(own, module) if module.startswith("pmbot") else None
            if problem and line not in reported:
                reported.add(line)
                problems.append(f"{where}:{line} imports {module}: {problem}")
    return problems


def _import_problem(own: tuple[int, str], module: str) -> str | None:
    target = _imported_room(module)
    if target is None or target[1] == own[1]:
        return None
    if target[0] > own[0]:
        return f"a higher layer ({target[1]} above {own[1]})"
    if target[0] == own[0]:
        return f"another room of the same layer ({target[1]} beside {own[1]})"
    if own[1] == f"{CP}.api" and target[1] == f"{CP}.sync":
        return "the API never imports the sync engine"
    api_github = own[1] == f"{CP}.api" and target[1] == f"{CP}.github"
    if (
        api_github
        and module != target[1]
        and not any(_matches(module, m) for m in API_GITHUB_ALLOWED)
    ):
        return "the API imports github/ only for discovery and status"
    return None


def test_package_respects_the_layer_order():
    problems = layer_violations()
    assert not problems, "layer order violated:\n" + "\n".join(problems)


LAYER_VIOLATING = [
    # a back-import into a lower layer
    ("control_plane/registry.py", "from pmbot.control_plane.sync import schedule\n",
     "a higher layer"),
    ("control_plane/db/connect.py", "from ..audit import log\n", "a higher layer"),
    ("control_plane/cache/store.py", "import pmbot.control_plane.operations\n",
     "a higher layer"),
    # two rooms of one layer
    ("control_plane/cache/browse.py", "from pmbot.control_plane.github import client\n",
     "same layer"),
    # the API and the engine / github
    ("control_plane/api/handlers.py", "from pmbot.control_plane.sync.worker import Worker\n",
     "never imports the sync engine"),
    ("control_plane/api/handlers.py", "from pmbot.control_plane.sync import schedule\n",
     "never imports the sync engine"),
    ("control_plane/api/handlers.py", "from pmbot.control_plane.github import mirror\n",
     "only for discovery and status"),
    # a module in no layer
    ("control_plane/stray.py", "import json\n", "in no layer"),
    ("control_plane/newroom/thing.py", "from pmbot.shared import settings\n", "in no layer"),
]  # fmt: skip


@pytest.mark.parametrize(("relpath", "source", "problem"), LAYER_VIOLATING)
def test_layer_scan_rejects_each_violating_snippet(tmp_path, relpath, source, problem):
    problems = layer_violations(_package_with(tmp_path, relpath, source))

    assert len(problems) == 1 and problem in problems[0]
    assert problems[0].startswith(f"pmbot/{relpath}")


LAYER_ALLOWED = [
    ("control_plane/api/handlers.py", "from pmbot.control_plane.cache import browse\n"),
    ("control_plane/api/handlers.py", "from pmbot.control_plane.github import status\n"),
    ("control_plane/api/app.py", "from pmbot.control_plane.github.client import GitHubClient\n"),
    ("control_plane/sync/sync.py", "from pmbot.control_plane.cache import store\n"),
    ("control_plane/sync/sync.py", "from . import listing\nfrom pmbot import __version__\n"),
    ("control_plane/operations.py", "from pmbot.control_plane import audit, registry\n"),
    ("control_plane/orchestration/runs.py", "from pmbot.control_plane.sync import schedule\n"),
    ("cli/x.py", "from pmbot.control_plane.api.app import create_app\n"),
]


@pytest.mark.parametrize(("relpath", "source"), LAYER_ALLOWED)
def test_layer_scan_accepts_allowed_imports(tmp_path, relpath, source):
    assert layer_violations(_package_with(tmp_path, relpath, source)) == []
