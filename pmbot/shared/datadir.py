"""The data directory layout: the one place on disk pmbot owns.

The DB holds URIs to files under these folders, never large blobs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SUBDIRS = ("control_plane", "artifacts", "checkpoints", "repos", "cache", "logs")


class DataDirError(RuntimeError):
    """The data directory cannot be created or written; the message names the path."""


def ensure_layout(data_dir: Path) -> Path:
    """Create the data dir and its sub-folders (idempotent) and prove it is writable."""
    root = Path(data_dir).resolve()
    try:
        for name in SUBDIRS:
            (root / name).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root / "control_plane", prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataDirError(
            f"data directory {root} is not writable ({reason}); "
            "set PMBOT_DATA_DIR to a folder this user can write"
        ) from None
    return root


def layout_problems(data_dir: Path) -> list[str]:
    """What is missing or not writable in the layout (for `pmbot doctor`)."""
    root = Path(data_dir)
    problems = []
    for name in SUBDIRS:
        path = root / name
        if not path.is_dir():
            problems.append(f"{path} is missing")
        elif not os.access(path, os.W_OK | os.X_OK):
            problems.append(f"{path} is not writable")
    return problems
