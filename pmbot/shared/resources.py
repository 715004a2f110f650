"""Where the SQL migrations and static UI files are, from a checkout or a wheel.

In the checkout they sit at the top level (`migrations/`, `static/`); an
installed wheel carries them inside the package (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pmbot cannot find its {name}/ folder next to {_PACKAGE}")


def migrations_dir() -> Path:
    return _find("migrations")


def static_dir() -> Path:
    return _find("static")
