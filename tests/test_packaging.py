"""The installed wheel works on its own: migrations and static files travel with it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed_pmbot(tmp_path_factory) -> Path:
    """A fresh venv with the built wheel installed; returns its `pmbot` script."""
    work = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps", "-q", "-w", str(work))
    wheel = next(work.glob("pmbot-*.whl"))
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
