"""A flood of slow connections cannot take the control plane down.

Real waitress, real sockets: `connection_limit` + 50 clients that drip one
header line at a time; a normal client still gets answers, long before the
slow ones would give up. The limits are small (from settings) to keep it fast.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.api.server import HttpLimits, ServerThread
from pmbot.shared.settings import Settings

GIVE_UP_SECONDS = 60
DRIP_SECONDS = 0.5


class SlowClients:
    """`count` connections, each sending a request head one line every DRIP_SECONDS."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, args=(port,), daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()

    def _drip(self, port: int) -> None:
        lines = [f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()]
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while not self._stop.wait(DRIP_SECONDS) and time.monotonic() < deadline:
            for sock in list(self.sockets):
                try:
                    sock.sendall(lines[0] if len(lines) == 1 else b"X-Slow: 1\r\n")
                except OSError:
                    self.sockets.remove(sock)
                    sock.close()
                    self.closed_by_server += 1
            lines.append(b"")


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GIVE_UP_SECONDS)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        reply = connection.getresponse()
        reply.read()
        return reply.status
    finally:
        connection.close()


def test_limits_come_from_settings():
    environ = {
        "PMBOT_HTTP_CONNECTION_LIMIT": "7",
        "PMBOT_HTTP_HEAD_TIMEOUT_SECONDS": "3",
        "PMBOT_HTTP_CHANNEL_TIMEOUT_SECONDS": "11",
        "PMBOT_HTTP_CLEANUP_INTERVAL_SECONDS": "2",
        "PMBOT_HTTP_MAX_HEADER_BYTES": "4096",
        "PMBOT_HTTP_MAX_BODY_BYTES": "9000",
    }
    limits = HttpLimits.from_settings(Settings.from_env(environ, env_file=None))
    assert limits == HttpLimits(7, 3, 11, 2, 4096, 9000)
    defaults = HttpLimits.from_settings(Settings.from_env({}, env_file=None))
    assert defaults == HttpLimits() and defaults.connection_limit == 100
    assert defaults.head_timeout <= 10 and defaults.channel_timeout <= 60


@pytest.fixture
def flood_server(tmp_path, conn, db_path):
    environ = {
        "PMBOT_DATA_DIR": str(tmp_path / "data"),
        "PMBOT_HTTP_CONNECTION_LIMIT": "40",
        "PMBOT_HTTP_HEAD_TIMEOUT_SECONDS": "1",
    }
    settings = Settings.from_env(environ, env_file=None)
    app = create_app(settings, db_path=db_path)
    limits = HttpLimits.from_settings(settings)
    server = ServerThread(app, host="127.0.0.1", port=0, threads=4, limits=limits).start()
    yield server
    server.stop()
    app.close()


def test_slow_header_drippers_cannot_starve_a_normal_client(flood_server):
    port = flood_server.port
    limit = flood_server.server.adj.connection_limit
    assert limit == 40

    with SlowClients(port, limit + 50) as slow:
        started = time.monotonic()
        assert _get(port, "/healthz") == 200
        assert _get(port, "/api/repos") == 200
        elapsed = time.monotonic() - started
        assert elapsed < GIVE_UP_SECONDS / 2  # generous: the deadline is 1 s
    assert slow.closed_by_server > 0  # by the server's deadline, not by giving up


def test_a_complete_request_is_not_cut_by_the_head_deadline(flood_server):
    """A client that sends its head in time and then idles keeps its keep-alive connection."""
    port = flood_server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(2):
            connection.request("GET", "/healthz", headers={"Host": f"127.0.0.1:{port}"})
            reply = connection.getresponse()
            assert reply.status == 200
            reply.read()
            time.sleep(2)  # idle longer than the 1 s head deadline
    finally:
        connection.close()
