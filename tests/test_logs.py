"""waitress logs through pmbot's logging: its queue-depth chatter never reaches the console."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from pmbot.shared.logs import setup_console_logging, setup_logging

ROOT = Path(__file__).resolve().parent.parent
QUEUE_DEPTH = "Task queue depth is"


def _file_entries(logs_dir) -> list[dict]:
    return [json.loads(line) for line in (logs_dir / "api.log").read_text().splitlines()]


def test_waitress_warnings_go_to_the_log_file_and_queue_depth_is_debug(tmp_path, capsys):
    setup_logging("api", tmp_path, "INFO")

    logging.getLogger("waitress.queue").warning("Task queue depth is %d", 2)
    logging.getLogger("waitress").warning("server accept() threw an exception")
    logging.getLogger("waitress").error("Exception while serving /x")

    err = capsys.readouterr().err
    assert QUEUE_DEPTH not in err and "accept()" not in err
    assert "ERROR waitress: Exception while serving /x" in err
    entries = _file_entries(tmp_path)
    assert [(e["level"], e["logger"]) for e in entries] == [
        ("WARNING", "waitress"),
        ("ERROR", "waitress"),
    ]


def test_queue_depth_is_kept_as_debug_in_the_file_when_debug_is_on(tmp_path):
    setup_logging("api", tmp_path, "DEBUG")

    logging.getLogger("waitress.queue").warning("Task queue depth is %d", 1)

    assert [(e["level"], e["msg"]) for e in _file_entries(tmp_path)] == [
        ("DEBUG", "Task queue depth is 1")
    ]


def test_console_only_logging_shows_waitress_warnings_but_not_queue_depth(capsys):
    setup_console_logging("INFO")

    logging.getLogger("waitress.queue").warning("Task queue depth is %d", 3)
    logging.getLogger("waitress").warning("server accept() threw an exception")

    err = capsys.readouterr().err
    assert QUEUE_DEPTH not in err and "WARNING waitress: server accept()" in err


# pytest puts its own handlers on the root logger, which would swallow what a real
# process prints through logging's last-resort handler; so this runs in a child.
BUSY_SERVER = """
import sys, threading, time, urllib.request
from pmbot.control_plane.api.server import ServerThread
from pmbot.shared.logs import setup_logging

def slow(environ, start_response):
    time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

setup_logging("api", sys.argv[1], "INFO")
server = ServerThread(slow, host="127.0.0.1", port=0, threads=1).start()
url = f"http://127.0.0.1:{server.port}/"
clients = [threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read())
           for _ in range(3)]
for client in clients:
    client.start()
for client in clients:
    client.join(10)
server.stop()
print("served")
"""


def test_a_busy_server_does_not_print_queue_depth(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", BUSY_SERVER, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.stdout == "served\n", done.stderr
    assert QUEUE_DEPTH not in done.stderr
