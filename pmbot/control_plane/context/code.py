"""Read side of the git mirrors: branches, commits and files, with plain local `git`.

Reads only the bare mirror under `data/repos/` (no network, no token), so it
works while GitHub is down. Callers pin a commit id first (`resolve`) and
read at that id, so what they read cannot move under them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from pmbot.control_plane.sync import mirrors

README_EXCERPT_CHARS = 4000
_GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


class CodeReadError(Exception):
    """A ref or file cannot be read from the mirror."""


def _git(path: Path, *args: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(path), *args], env=_GIT_ENV, capture_output=True, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise CodeReadError(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def mirror_for(conn: sqlite3.Connection, data_dir: Path, repo_id: int) -> Path | None:
    """The repo's mirror folder when one has been cloned, else None."""
    row = conn.execute(
        "SELECT github_id FROM mirror_state WHERE repo_id = ? AND github_id IS NOT NULL", (repo_id,)
    ).fetchone()
    if row is None:
        return None
    path = mirrors.mirror_path(data_dir, row[0])
    return path if path.is_dir() else None


def list_branches(path: Path) -> list[tuple[str, str]]:
    """(branch name, commit id) of every branch, by name."""
    out = _git(path, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return [tuple(line.split(" ", 1)) for line in out.decode().splitlines()]


def default_branch(path: Path) -> str | None:
    """The branch the mirror's HEAD names (GitHub's default branch)."""
    try:
        return _git(path, "symbolic-ref", "--short", "HEAD").decode().strip() or None
    except CodeReadError:
        return None


def resolve(path: Path, ref: str) -> str:
    """The commit id a branch, tag or id names."""
    return (
        _git(path, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
        .decode()
        .strip()
    )


def read_file(path: Path, ref: str, file_path: str) -> bytes:
    """A file's bytes at a ref (`git cat-file blob <ref>:<path>`)."""
    return _git(path, "cat-file", "blob", f"{ref}:{file_path}")


def readme_name(path: Path, commit: str) -> str | None:
    """The README at the top of the tree at `commit` (first by name), if any."""
    names = _git(path, "ls-tree", "--name-only", commit).decode().splitlines()
    readmes = sorted(n for n in names if n.lower().startswith("readme"))
    return readmes[0] if readmes else None


def code_section(path: Path, mirror_uri: str) -> dict | None:
    """The pack's `code` section: default branch head and its README, pinned to the commit."""
    branch = default_branch(path)
    if branch is None:
        return None
    try:
        commit = resolve(path, f"refs/heads/{branch}")
    except CodeReadError:
        return None  # an empty mirror: nothing to pin
    name = readme_name(path, commit)
    readme = None
    if name is not None:
        try:
            text = read_file(path, commit, name).decode("utf-8", errors="replace")
        except CodeReadError:  # a partial mirror without this blob yet (no token here)
            text = None
        readme = {"path": name, "excerpt": None if text is None else text[:README_EXCERPT_CHARS]}
    return {"mirror": mirror_uri, "branch": branch, "commit": commit, "readme": readme}
