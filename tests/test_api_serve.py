"""`pmbot serve` as a real process: loopback bind, answers, clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_TOKEN

ROOT = Path(__file__).resolve().parent.parent


def _listening_addresses(pid: int, port: int) -> set[str]:
    """Local addresses of the process's LISTEN sockets on `port` (from /proc)."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PMBOT_DATA_DIR": str(tmp_path / "data"),
           "GITHUB_TOKEN": TEST_TOKEN, "GITHUB_API_BASE": "http://127.0.0.1:9"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "pmbot", "serve", "--port", "0", *extra],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    assert "serving on http://127.0.0.1:" in line, process.stderr.read()
    return process, int(line.rsplit(":", 1)[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    reply = connection.getresponse()
    result = reply.status, reply.read()
    connection.close()
    return result


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_binds_loopback_answers_and_stops_cleanly(tmp_path, signum):
    process, port = _serve(tmp_path)
    try:
        assert _get(port, "/healthz")[0] == 200
        assert _listening_addresses(process.pid, port) == {"0100007F"}  # 127.0.0.1 only
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    assert TEST_TOKEN not in process.stderr.read()
    for log in (tmp_path / "data" / "logs").glob("*.log*"):
        assert TEST_TOKEN not in log.read_text()


@pytest.mark.slow
def test_serve_without_worker_serves_the_ui(tmp_path):
    process, port = _serve(tmp_path, "--no-worker", "--threads", "2")
    try:
        status, body = _get(port, "/")
        assert status == 200 and b"<html" in body.lower()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    for log in (tmp_path / "data" / "logs").glob("*.log*"):
        assert TEST_TOKEN not in log.read_text()
