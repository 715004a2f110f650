"""The plane boundaries, checked by scanning every module's AST.

Rules: `pmbot/control_plane/**` never imports `langgraph` or `langchain`;
`pmbot/execution_plane/**` never imports `pmbot.control_plane` (absolute or
relative). Every import form counts: `import x`, `from x import y`,
`importlib.import_module("x")` and `__import__("x")`.
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
