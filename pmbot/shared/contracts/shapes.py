"""A tiny vocabulary for checking plain-dict contracts without third-party libraries.

Contracts cross the boundary between the control plane and the execution plane as
plain JSON-ready dicts. A *shape* describes one contract; checking a value against
it returns every problem found (never just the first), each with a JSON-pointer
path, so a caller can show the operator all that is wrong at once.

Policy: unknown fields are kept and ignored. A shape only lists the fields it
knows; anything else in the input passes through untouched, so an older reader
accepts a document written by a newer producer that added optional fields.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MISSING: Any = object()
TIMESTAMP_RE = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?Z"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document.

    Attributes:
        path: JSON pointer (RFC 6901) to the offending value; "" is the whole document.
        message: what is wrong, written for a person.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class ContractError(ValueError):
    """Raised when a document that must be valid is not; carries every problem."""

    def __init__(self, contract: str, problems: list[Problem]) -> None:
        self.contract = contract
        self.problems = problems
        super().__init__(f"invalid {contract}: " + "; ".join(str(p) for p in problems))


Check = Callable[[Any, str], list[Problem]]
Invariant = Callable[[dict, str], list[Problem]]


def child(path: str, key: str | int) -> str:
    """Return the JSON pointer to `key` inside the value at `path`."""
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


@dataclass(frozen=True)
class Field:
    """One known field of an object: its check, and whether it may be left out."""

    check: Check
    required: bool = True
    default: Any = MISSING


def required(check: Check) -> Field:
    """A field that must be present."""
    return Field(check)


def optional(check: Check, default: Any = MISSING) -> Field:
    """A field that may be absent; `default` is filled in by `Obj.with_defaults`."""
    return Field(check, required=False, default=default)


@dataclass(frozen=True)
class Obj:
    """An object with known fields and cross-field invariants; other keys are ignored."""

    fields: Mapping[str, Field]
    invariants: tuple[Invariant, ...] = field(default=())

    def __call__(self, value: Any, path: str = "") -> list[Problem]:
        if not isinstance(value, dict):
            return [Problem(path, "must be an object")]
        problems: list[Problem] = []
        for name, spec in self.fields.items():
            if name in value:
                problems += spec.check(value[name], child(path, name))
            elif spec.required:
                problems.append(Problem(child(path, name), "is required"))
        for invariant in self.invariants:
            problems += invariant(value, path)
        return problems

    def required_names(self) -> frozenset[str]:
        """Names of the fields that must be present."""
        return frozenset(name for name, spec in self.fields.items() if spec.required)

    def with_defaults(self, value: dict) -> dict:
        """Return a deep copy of a valid `value` with absent optional fields defaulted."""
        out = copy.deepcopy(value)
        self._fill(out)
        return out

    def _fill(self, value: dict) -> None:
        for name, spec in self.fields.items():
            if name not in value and spec.default is not MISSING:
                value[name] = copy.deepcopy(spec.default)
            inner = value.get(name)
            if isinstance(spec.check, Obj) and isinstance(inner, dict):
                spec.check._fill(inner)


@dataclass(frozen=True)
class Nullable:
    """JSON null, or a value that passes `inner`."""

    inner: Check

    def __call__(self, value: Any, path: str) -> list[Problem]:
        return [] if value is None else self.inner(value, path)


@dataclass(frozen=True)
class OneOf:
    """Exactly one of a fixed set of values (an enum, or a constant when only one)."""

    choices: tuple[Any, ...]

    def __call__(self, value: Any, path: str) -> list[Problem]:
        if not any(type(value) is type(c) and value == c for c in self.choices):
            shown = ", ".join(repr(c) for c in self.choices)
            return [Problem(path, f"must be one of {shown}; got {value!r}")]
        return []


def text(pattern: str | None = None, hint: str = "") -> Check:
    """A non-empty string, optionally matching `pattern` (described by `hint`)."""
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any, path: str) -> list[Problem]:
        if not isinstance(value, str):
            return [Problem(path, f"must be a string; got {type_name(value)}")]
        if not value:
            return [Problem(path, "must not be empty")]
        if compiled and not compiled.fullmatch(value):
            return [Problem(path, f"must be {hint}; got {value!r}")]
        return []

    return check


def integer(minimum: int) -> Check:
    """An integer (not a bool, not a float) no smaller than `minimum`."""

    def check(value: Any, path: str) -> list[Problem]:
        if isinstance(value, bool) or not isinstance(value, int):
            return [Problem(path, f"must be an integer; got {type_name(value)}")]
        if value < minimum:
            return [Problem(path, f"must be at least {minimum}; got {value}")]
        return []

    return check


def timestamp(value: Any, path: str) -> list[Problem]:
    """A UTC RFC 3339 timestamp ending in Z, e.g. 2024-05-01T12:00:00Z."""
    if not isinstance(value, str) or not TIMESTAMP_RE.fullmatch(value):
        return [Problem(path, f"must be a UTC RFC 3339 timestamp ending in Z; got {value!r}")]
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return [Problem(path, f"is not a real date and time: {value!r}")]
    return []


def any_object(value: Any, path: str) -> list[Problem]:
    """Any JSON object; its contents are the producer's business."""
    return [] if isinstance(value, dict) else [Problem(path, "must be an object")]


def unique_list(items: Check) -> Check:
    """A JSON array whose items pass `items` and appear at most once each."""

    def check(value: Any, path: str) -> list[Problem]:
        if not isinstance(value, list):
            return [Problem(path, f"must be an array; got {type_name(value)}")]
        problems: list[Problem] = []
        for index, item in enumerate(value):
            problems += items(item, child(path, index))
            if item in value[:index]:
                problems.append(Problem(child(path, index), f"repeats {item!r}"))
        return problems

    return check


def type_name(value: Any) -> str:
    """Name a Python value by its JSON type, for messages."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    names.update({list: "array", dict: "object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
ID = text(
    ID_PATTERN,
    "1-128 letters, digits, '.', '_' or '-' starting with a letter or digit",
)
KIND = text(
    r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}",
    "lowercase words joined by dots, e.g. 'tool_call.approval'",
)
