"""`pmbot serve`: the HTTP API and UI on waitress, with the sync worker in-process.

Binds `PMBOT_HOST` (127.0.0.1 by default; `--host 0.0.0.0` is for containers)
and stops cleanly on SIGTERM or SIGINT: the server closes its sockets, the
worker finishes the page in flight, and the exit code is 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from pmbot.cli import start
from pmbot.cli.checks import listen, port_number, thread_count
from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.api.server import DEFAULT_THREADS, HttpLimits

log = logging.getLogger("pmbot.serve")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("serve", help="serve the API and UI (and run the sync worker)")
    parser.add_argument("--host", help="address to bind (default PMBOT_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=port_number, help="port to bind (default PMBOT_PORT, 8000)")
    parser.add_argument(
        "--threads", type=thread_count, default=DEFAULT_THREADS, help="HTTP threads"
    )
    parser.add_argument("--no-worker", action="store_true", help="do not run the sync worker")
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    settings, conn = start("api")
    conn.close()
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    app = create_app(settings, db_path=settings.db_path)
    try:
        server = listen(
            app,
            host=host,
            port=port,
            threads=args.threads,
            limits=HttpLimits.from_settings(settings),
            host_from="--host" if args.host else "PMBOT_HOST",
            port_from="--port" if args.port is not None else "PMBOT_PORT",
        )
    except Exception:
        app.close()
        raise
    stop = _stop_on_signals()
    worker = None if args.no_worker else _start_worker(settings)
    server.start()
    print(f"pmbot serving on http://{server.host}:{server.port}", flush=True)
    log.info(
        "serving on %s:%s (worker %s)", server.host, server.port, "off" if not worker else "on"
    )
    while not stop.wait(0.5):
        pass
    server.stop()
    if worker is not None:
        worker.stop()
    app.close()
    log.info("stopped")
    return 0


def _start_worker(settings):
    from pmbot.control_plane.sync.worker import Worker

    return Worker.from_settings(settings).start()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
