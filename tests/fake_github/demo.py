"""`make demo`: pmbot against the test fake GitHub, with a throwaway data dir.

    python -m tests.fake_github.demo [--port 8000]

Starts `python -m tests.fake_github --demo` (sample repos that change every ~20 s)
and `python -m pmbot serve` pointed at it, adds the demo repos through the HTTP
API (plus one that does not exist, to show the error path), prints the URL, and
on Ctrl-C stops both processes and deletes the temp folder. No token or internet
needed. The process helpers here are shared with the browser tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.fake_github.datasets import DEMO_REPOS

ROOT = Path(__file__).resolve().parents[2]
MISSING_REPO = "acme/private-thing"
READY_TIMEOUT = 15.0


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pmbot_env(data_dir: Path, api_base: str, token: str, **extra: str) -> dict[str, str]:
    """The environment for a pmbot process that talks to the fake and keeps data in `data_dir`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.update(
        GITHUB_API_BASE=api_base,
        GITHUB_TOKEN=token,
        PMBOT_DATA_DIR=str(data_dir),
        PMBOT_DB_URL=f"sqlite:///{data_dir / 'control_plane' / 'pm_bot.sqlite3'}",
        **extra,
    )
    return env


def start_pmbot(env: dict[str, str], port: int, cwd: Path, log_path: Path) -> subprocess.Popen:
    """Run `python -m pmbot serve --port PORT` (with its worker thread), output to `log_path`.

    `cwd` should be a folder without a `.env`, so only `env` configures the process.
    """
    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pmbot", "serve", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def wait_ready(url: str, process: subprocess.Popen, timeout: float = READY_TIMEOUT) -> None:
    """Poll `url` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def add_repo(base_url: str, full_name: str) -> dict:
    """POST /api/repos as the UI does (JSON + the CSRF header); returns the JSON answer."""
    request = urllib.request.Request(
        f"{base_url}/api/repos",
        data=json.dumps({"full_name": full_name}).encode(),
        headers={"Content-Type": "application/json", "X-PMBot-Request": "1"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read() or b"{}")


def start_fake() -> tuple[subprocess.Popen, dict]:
    """Start the standalone fake in demo mode; returns it and its `{base_url, token}` line."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_github", "--demo", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    line = fake.stdout.readline()
    if not line:
        stop_process(fake)
        raise RuntimeError("the fake GitHub exited before printing its address")
    return fake, json.loads(line)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_github.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="pmbot's port (0: a free one)")
    parser.add_argument("--poll-seconds", default="30", help="PMBOT_SYNC_POLL_SECONDS")
    return parser.parse_args(argv)


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _wait_for_signal() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM.

    Both handlers are set explicitly: a background job starts with SIGINT ignored.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def run(args: argparse.Namespace, workdir: Path) -> int:
    fake, fake_info = start_fake()
    processes = [fake]
    try:
        port = args.port or free_port()
        env = pmbot_env(
            workdir / "data",
            fake_info["base_url"],
            fake_info["token"],
            PMBOT_SYNC_POLL_SECONDS=args.poll_seconds,
        )
        server = start_pmbot(env, port, workdir, workdir / "pmbot.log")
        processes.append(server)
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(f"{base_url}/healthz", server)
        for full_name in (*DEMO_REPOS, MISSING_REPO):
            add_repo(base_url, full_name)
        print(f"pmbot demo: open {base_url}/  (fake GitHub at {fake_info['base_url']})")
        print(f"data and logs in {workdir} (deleted on exit); Ctrl-C to stop", flush=True)
        _wait_for_signal()
        return 0
    finally:
        for process in reversed(processes):
            stop_process(process)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pmbot-demo-"))
    try:
        return run(args, workdir)
    except RuntimeError as exc:
        print(f"demo: {exc}; see {workdir / 'pmbot.log'}", file=sys.stderr)
        log = workdir / "pmbot.log"
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
