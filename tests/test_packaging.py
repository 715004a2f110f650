"""The installed wheel works on its own: migrations and static files travel with it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_every_package_in_the_tree_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(REPO_ROOT).parts)
        for p in (REPO_ROOT / "pmbot").rglob("__init__.py")
    }

    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"
    assert {"pmbot.migrations", "pmbot.static"} <= listed


def test_every_folder_of_static_files_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        ".".join(("pmbot", top, *folder.relative_to(REPO_ROOT / top).parts))
        for top in ("static", "migrations")
        for folder in [REPO_ROOT / top, *(REPO_ROOT / top).rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }

    assert folders <= listed, f"add to pyproject.toml packages: {sorted(folders - listed)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    """The wheel built from the checkout, and everything the build printed."""
    work = tmp_path_factory.mktemp("wheel")
    build = _run(
        sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps", "-v", "-w", str(work)
    )
    return next(work.glob("pmbot-*.whl")), build.stdout + build.stderr


@pytest.mark.slow
def test_the_wheel_builds_without_packaging_warnings_and_holds_every_static_file(built_wheel):
    wheel, output = built_wheel
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())

    assert "absent from the `packages` configuration" not in output
    assert "absent from the packages configuration" not in output
    static = {
        "pmbot/static/" + p.relative_to(REPO_ROOT / "static").as_posix()
        for p in (REPO_ROOT / "static").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"pmbot/static/pages/repos.js", "pmbot/static/pages/org_picker.js"} <= static
    assert static <= names, sorted(static - names)


@pytest.fixture(scope="module")
def installed_pmbot(built_wheel, tmp_path_factory) -> Path:
    """A fresh venv with the built wheel installed; returns its `pmbot` script."""
    wheel, _ = built_wheel
    work = tmp_path_factory.mktemp("venv")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel))
    return venv / "bin" / "pmbot"


def _env(data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PMBOT_", "GITHUB_"))}
    keep.pop("PYTHONPATH", None)
    return {**keep, "PMBOT_DATA_DIR": str(data_dir)}


@pytest.mark.slow
def test_installed_wheel_migrates_and_serves_the_ui(installed_pmbot, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = _env(tmp_path / "data")

    migrated = _run(str(installed_pmbot), "migrate", cwd=outside, env=env)
    again = _run(str(installed_pmbot), "migrate", cwd=outside, env=env)

    assert "applied 0001_init.sql" in migrated.stdout
    assert "nothing to apply" in again.stdout
    port = _free_port()
    server = subprocess.Popen(
        [str(installed_pmbot), "serve", "--port", str(port), "--no-worker"],
        cwd=outside,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = _get_when_ready(f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert b"<html" in body.lower()


def _get_when_ready(url: str, deadline_s: float = 15.0) -> bytes:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
