"""Run the README's everyday commands exactly as written, on a fresh data dir.

    .venv/bin/python -m tests.readme_commands

The commands are the code spans of the README's "Everyday use" table, in table
order, so this breaks as soon as the README and pmbot drift apart. Each one is
run by bash, after the table's own `source .venv/bin/activate`, from a fresh
folder that holds what the top of a checkout gives a command: `.env.example`
and `.venv` (a link to this checkout's). Its `./data` starts empty.

GitHub is the test fake, holding `owner/name`, the README's placeholder repo;
`GITHUB_TOKEN` and `GITHUB_API_BASE` point at it as `.env` would. `PMBOT_PORT`
is a free port so a server someone else runs on 8000 does not get in the way.

`serve`, `worker` and `ui` run until stopped: each must come up (its page
answers, or it is still running after a few seconds), then exit 0 on SIGTERM.
Every other command must exit 0. No command may print a traceback. `make …`
and `docker …` are not run here: `.ci/run` runs `make test`, and
`tests/test_deploy.py` the compose file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = "## Everyday use"
PLACEHOLDER_REPO = "owner/name"
UI_PORT = 8080  # `pmbot ui`'s default, as the README's link says
LONG_RUNNING = ("serve", "worker", "ui")
NOT_RUN_HERE = ("make", "docker")
COMMAND_SECONDS = 120.0
START_SECONDS = 20.0

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_COMMAND_WORDS = ("pmbot", "cp", "mkdir", "source", *NOT_RUN_HERE)


def everyday_rows(text: str) -> list[tuple[str, str]]:
    """The (task, command cell) rows of the README's "Everyday use" table."""
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and not set(cells[1]) <= {"-", " "}:
            rows.append((cells[0], cells[1]))
    return rows[1:]  # the first row is the header


def everyday_commands(text: str) -> list[str]:
    """Every command the table shows, in order: code spans that start with a command word."""
    return [
        span
        for _, cell in everyday_rows(text)
        for span in _CODE_SPAN.findall(cell)
        if span.split()[0] in _COMMAND_WORDS
    ]


@dataclass
class Outcome:
    command: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark}  {self.command}  {self.detail}".rstrip()


def run_all(workdir: Path, env: dict[str, str]) -> Iterator[Outcome]:
    """Run the README's commands in `workdir`, one outcome per command."""
    setup = []
    for command in everyday_commands(README.read_text()):
        words = shlex.split(command)
        if words[0] in NOT_RUN_HERE:
            yield Outcome(command, True, "(not run here)")
        elif words[0] == "source":
            setup.append(command)
            yield Outcome(command, True, "(each later command runs after it)")
        else:
            script = " && ".join([*setup, f"exec {command}"])
            if words[0] == "pmbot" and len(words) > 1 and words[1] in LONG_RUNNING:
                yield _run_server(command, script, workdir, env)
            else:
                yield _run_once(command, script, workdir, env)


def _run_once(command: str, script: str, workdir: Path, env: dict[str, str]) -> Outcome:
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    problem = _problem(done.returncode, done.stderr)
    return Outcome(command, problem is None, problem or "")


def _run_server(command: str, script: str, workdir: Path, env: dict[str, str]) -> Outcome:
    url = _ready_url(command, env)
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            ["bash", "-c", script], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        came_up = _wait_up(process, url)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if not came_up:
        return Outcome(command, False, f"did not come up (exit {code}): {_tail(stderr)}")
    problem = _problem(code, stderr)
    return Outcome(command, problem is None, problem or "(came up, stopped on SIGTERM)")


def _ready_url(command: str, env: dict[str, str]) -> str | None:
    word = shlex.split(command)[1]
    if word == "serve":
        return f"http://127.0.0.1:{env['PMBOT_PORT']}/healthz"
    if word == "ui":
        return f"http://127.0.0.1:{UI_PORT}/"
    return None


def _wait_up(process: subprocess.Popen, url: str | None) -> bool:
    """True once `url` answers (or, without one, if still running after a few seconds)."""
    deadline = time.monotonic() + (START_SECONDS if url else 3.0)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if url:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return True
            except OSError:
                pass
        time.sleep(0.2)
    return url is None and process.poll() is None


def _problem(code: int, stderr: str) -> str | None:
    if "Traceback" in stderr:
        return f"printed a traceback: {_tail(stderr)}"
    if code != 0:
        return f"exit {code}: {_tail(stderr)}"
    return None


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-3:])


def fresh_workdir(parent: Path) -> Path:
    """A folder like the top of a fresh checkout: `.env.example` and `.venv`, no data."""
    workdir = parent / "checkout"
    workdir.mkdir()
    shutil.copy(ROOT / ".env.example", workdir / ".env.example")
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    return workdir


def command_env(api_base: str, token: str, port: int) -> dict[str, str]:
    """The caller's environment without pmbot's settings, its venv or its PYTHONPATH."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PMBOT_", "GITHUB_"))}
    for name in ("PYTHONPATH", "VIRTUAL_ENV"):
        keep.pop(name, None)
    venv_bin = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(p for p in keep.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return {
        **keep,
        "PATH": path,
        "GITHUB_API_BASE": api_base,
        "GITHUB_TOKEN": token,
        "PMBOT_PORT": str(port),
    }


def run_with_fake(parent: Path, report=lambda outcome: None) -> list[Outcome]:
    """`run_all` in a fresh folder under `parent`, against a fake GitHub holding `owner/name`."""
    from tests.fake_github import FakeGitHub
    from tests.fake_github.demo import free_port

    outcomes = []
    with FakeGitHub() as fake:
        fake.add_repo(PLACEHOLDER_REPO)
        fake.add_issue(PLACEHOLDER_REPO, title="an issue for the README's commands")
        env = command_env(fake.base_url, fake.token, free_port())
        for outcome in run_all(fresh_workdir(parent), env):
            report(outcome)
            outcomes.append(outcome)
    return outcomes


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run_with_fake(Path(tmp), lambda o: print(o.line(), flush=True))
    failed = [o for o in outcomes if not o.ok]
    print(f"README commands: {len(outcomes) - len(failed)} of {len(outcomes)} ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
