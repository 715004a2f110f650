"""Run the app on waitress in a thread, and stop it cleanly.

The host is always passed explicitly: waitress's own default is 0.0.0.0.
`stop()` closes the listening socket and every open connection from inside
waitress's event loop (the one thread allowed to touch them), then joins
the handler threads, whose thread-local DB connections close as they end.
"""

from __future__ import annotations

import threading
from typing import Any

from waitress.server import create_server

# Chosen by bench/bench_api.py on a 2-core machine: 4 threads list as fast as 8
# (more threads only add GIL hand-offs), while one slow request (a discovery
# call to GitHub) still leaves others free to answer.
DEFAULT_THREADS = 4


class ServerThread:
    """waitress bound at construction (so the port is known), serving once started."""

    def __init__(self, app: Any, *, host: str, port: int, threads: int = DEFAULT_THREADS) -> None:
        self.server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="pmbot",
            clear_untrusted_proxy_headers=True,
        )
        self._thread = threading.Thread(target=self.server.run, name="pmbot-http", daemon=True)

    @property
    def host(self) -> str:
        return self.server.effective_host

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.server.trigger.pull_trigger(self._close_everything)
            self._thread.join(timeout)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown(timeout=timeout)

    def _close_everything(self) -> None:
        """Runs in the event loop: with nothing left in its map, the loop returns."""
        for dispatcher in list(self.server._map.values()):
            dispatcher.close()
