"""Run the app on waitress in a thread, and stop it cleanly.

The host is always passed explicitly: waitress's own default is 0.0.0.0.
`stop()` closes the listening socket and every open connection from inside
waitress's event loop (the one thread allowed to touch them), then joins
the handler threads, whose thread-local DB connections close as they end.

Limits come from settings (`HttpLimits`). waitress closes idle connections
only after `channel_timeout`, so a client that sends a header line every few
seconds holds a slot forever, and `connection_limit` such clients take the
server down. `HeadDeadlineChannel` closes a connection whose request head is
not complete `head_timeout` seconds after it started (or after the connect).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server

from pmbot.shared.settings import Settings

# Chosen by bench/bench_api.py on a 2-core machine: 4 threads list as fast as 8
# (more threads only add GIL hand-offs), while one slow request (a discovery
# call to GitHub) still leaves others free to answer.
DEFAULT_THREADS = 4
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}


@dataclasses.dataclass(frozen=True)
class HttpLimits:
    """waitress's limits, as pmbot sets them (defaults: `Settings`'s)."""

    connection_limit: int = _DEFAULTS["http_connection_limit"]
    head_timeout: float = _DEFAULTS["http_head_timeout_seconds"]
    channel_timeout: int = _DEFAULTS["http_channel_timeout_seconds"]
    cleanup_interval: int = _DEFAULTS["http_cleanup_interval_seconds"]
    max_request_header_size: int = _DEFAULTS["http_max_header_bytes"]
    max_request_body_size: int = _DEFAULTS["http_max_body_bytes"]

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            connection_limit=settings.http_connection_limit,
            head_timeout=settings.http_head_timeout_seconds,
            channel_timeout=settings.http_channel_timeout_seconds,
            cleanup_interval=settings.http_cleanup_interval_seconds,
            max_request_header_size=settings.http_max_header_bytes,
            max_request_body_size=settings.http_max_body_bytes,
        )

    def adjustments(self) -> dict[str, int]:
        """The keyword arguments waitress knows (all but `head_timeout`)."""
        values = dataclasses.asdict(self)
        del values["head_timeout"]
        return values


class HeadDeadlineChannel(HTTPChannel):
    """waitress's channel, closed when a request head is not complete in time.

    The clock starts at the connect and again at the first byte of each later
    request; it stops when the head is complete (a slow body or an idle
    keep-alive connection is `channel_timeout`'s business). The check runs in
    `writable()`, which the event loop asks every channel at least once a second.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_started: float | None = self.creation_time

    def received(self, data: bytes) -> bool:
        if data and self.request is None and self.head_started is None:
            self.head_started = time.time()
        result = super().received(data)
        if self.request is None or self.request.headers_finished:
            self.head_started = None
        return result

    def writable(self) -> bool:
        started = self.head_started
        if started is not None and time.time() - started > self.server.head_timeout:
            self.will_close = True
        return super().writable()


class ServerThread:
    """waitress bound at construction (so the port is known), serving once started."""

    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        threads: int = DEFAULT_THREADS,
        limits: HttpLimits | None = None,
    ) -> None:
        limits = limits or HttpLimits()
        self.server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="pmbot",
            clear_untrusted_proxy_headers=True,
            **limits.adjustments(),
        )
        self.server.channel_class = HeadDeadlineChannel
        self.server.head_timeout = limits.head_timeout
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
        """Let the requests in flight finish, then close every socket and end the loop.

        The handler threads go first: a finishing request wakes the loop through its
        trigger, which must still be open then (else EBADF in that thread).
        """
        self.server.task_dispatcher.shutdown(timeout=timeout)
        if self._thread.is_alive():
            # EBADF here: the loop already closed its trigger (a second stop, or the
            # loop ending on its own); it is on its way out, so only the join is left.
            with contextlib.suppress(OSError):
                self.server.trigger.pull_trigger(self._close_everything)
            self._thread.join(timeout)
        else:
            self.server.close()

    def _close_everything(self) -> None:
        """Runs in the event loop: with nothing left in its map, the loop returns."""
        for dispatcher in list(self.server._map.values()):
            dispatcher.close()
