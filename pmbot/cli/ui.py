"""`pmbot ui`: serve the UI pages and forward `/api/*` to a running `pmbot serve`.

The compose stack runs it as its own container so the browser has one origin
(see `pmbot/control_plane/api/proxy.py`). It needs no data dir and no token.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pmbot.cli.checks import listen, port_number
from pmbot.control_plane.api.proxy import ProxyConfigError, Upstream, create_proxy_app
from pmbot.control_plane.api.security import HostAllowlist
from pmbot.control_plane.api.server import HttpLimits
from pmbot.shared.logs import setup_console_logging
from pmbot.shared.resources import static_dir
from pmbot.shared.settings import Settings

DEFAULT_PORT = 8080
PROXY_THREADS = 8  # each forwarded request holds a thread while the api answers


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ui", help="serve the UI and proxy /api/* to the api service")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="port (default 8080)"
    )
    parser.add_argument(
        "--api-url",
        help="where `pmbot serve` listens, http://host:port (default http://127.0.0.1:PMBOT_PORT)",
    )
    parser.set_defaults(func=run_ui)


def run_ui(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    setup_console_logging(settings.log_level)
    try:
        upstream = Upstream.parse(args.api_url or f"http://127.0.0.1:{settings.port}")
    except ProxyConfigError as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    app = create_proxy_app(upstream, static_dir(), HostAllowlist(settings.allowed_hosts))
    server = listen(
        app,
        host=args.host,
        port=args.port,
        threads=PROXY_THREADS,
        limits=HttpLimits.from_settings(settings),
        host_from="--host",
        port_from="--port",
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    logging.getLogger("pmbot.ui").info(
        "ui on http://%s:%s, forwarding /api/* to %s", server.host, server.port, upstream.url
    )
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0
