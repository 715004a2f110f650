"""FakeGitHub: a real HTTP server on 127.0.0.1 speaking enough of GitHub's REST API for pmbot.

Sync, worker, API and browser tests, the benchmarks and `make demo` all run against it, so
the client under test goes through real sockets, headers and JSON. Each request passes, in
order: down switch → injected fault → auth (401) → primary rate limit (403/429) → route →
conditional check (304, free) → rate-limit charge; every response carries the rate-limit
headers (a 401 the anonymous caller's 60, as GitHub's do) and, for a classic token, its
`X-OAuth-Scopes` (`oauth_scopes=None` plays a fine-grained token, which GitHub names no
scopes for). See the package docstring for the API.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import struct
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tests.fake_github.controls import (
    PRIMARY_MESSAGE,
    RECORDED_HEADERS,
    SECONDARY_MESSAGE,
    Fault,
    FaultQueue,
    RateLimiter,
    RequestRecord,
)
from tests.fake_github.payloads import SAMPLE_HTML, Payloads
from tests.fake_github.routes import Config, Reply, Routes, error_reply
from tests.fake_github.state import GitHubState, utc_now

DEFAULT_TOKEN = "ghp_test0000000000000000000000000000fake"
# What GitHub sends with a 401 (bad credentials): the anonymous caller's limit.
UNAUTHENTICATED_RATE_HEADERS = {
    "x-ratelimit-limit": "60",
    "x-ratelimit-remaining": "59",
    "x-ratelimit-used": "1",
    "x-ratelimit-resource": "core",
}
_GZIP_MIN_BYTES = 1024


class FakeGitHub(GitHubState):
    """GitHub on 127.0.0.1: ground truth you mutate (see GitHubState) plus fault controls."""

    def __init__(
        self,
        token: str | None = DEFAULT_TOKEN,
        *,
        since_inclusive: bool = True,
        per_page_max: int = 100,
        cursor_after_page: int | None = None,
        rate_limit: int = 5000,
        rate_limit_status: int = 403,
        clock: Callable[[], datetime] = utc_now,
        gzip: bool = False,
        login: str = "octocat",
        oauth_scopes: str | None = "repo",
        port: int = 0,
        html_base: str = SAMPLE_HTML,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.oauth_scopes = oauth_scopes  # None: a fine-grained token (GitHub names no scopes)
        self.gzip = gzip
        self.port = port
        self.html_base = html_base
        self.rate_limit_status = rate_limit_status
        self.config = Config(login, since_inclusive, per_page_max, cursor_after_page)
        self.requests: list[RequestRecord] = []
        self.errors: list[BaseException] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._flight_lock = threading.Lock()
        self._rate = RateLimiter(rate_limit, clock)
        self._faults = FaultQueue()
        self._callbacks: list[Callable[[RequestRecord], None]] = []
        self._down = False
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.routes: Routes | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (ephemeral port unless `port` was given); returns the base URL."""
        self._stopping.clear()
        self._listen()
        self.routes = Routes(self, Payloads(self.base_url, self.html_base), self.config)
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        self._close_listener()

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def go_down(self, *, refuse: bool = False) -> None:
        """Every request answers 503, or (`refuse=True`) the port stops listening."""
        self._down = True
        if refuse:
            self._close_listener()

    def come_up(self) -> None:
        self._down = False
        if self._server is None:
            self._listen()

    # -- controls ----------------------------------------------------------------------------

    def inject(self, status: int | None = None, **options) -> Fault:
        """Queue a fault: status, malformed, retry_after, secondary, reset_connection, delay,
        location (a redirect target), times (default 1) and path (a substring filter)."""
        return self._faults.add(Fault(status=status, **options))

    def clear_faults(self) -> None:
        self._faults.clear()

    def on_request(self, callback: Callable[[RequestRecord], None]) -> None:
        """Call `callback(record)` after each listing page is computed, before it is sent,
        so a mutation it makes is visible to the very next request."""
        self._callbacks.append(callback)

    @property
    def rate_remaining(self) -> int:
        return self._rate.remaining

    @property
    def rate_used(self) -> int:
        return self._rate.used

    @property
    def rate_reset(self) -> int:
        """Epoch second at which the current rate-limit window ends."""
        return self._rate.reset_at

    def reset_rate_limit(self) -> None:
        self._rate.reset()

    # -- serving -----------------------------------------------------------------------------

    def _listen(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-github-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        record = _record(handler)
        self.requests.append(record)
        fault = self._faults.take(record.path)
        with self._flight():
            if fault and fault.delay:
                self._stopping.wait(fault.delay)
            reply = self._reply(record, handler.headers, fault)
        if reply is None:
            _reset_connection(handler)
            return
        reply.headers.update(self._identity_headers(reply))
        record.status = reply.status
        self._send(handler, reply)

    @contextlib.contextmanager
    def _flight(self):
        with self._flight_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def _identity_headers(self, reply: Reply) -> dict[str, str]:
        """A 401 is answered as to an anonymous caller: the unauthenticated limit (60),
        not the token's. Otherwise the token's limit, and a classic token's scopes."""
        if reply.status == 401:
            return UNAUTHENTICATED_RATE_HEADERS | {"x-ratelimit-reset": str(self._rate.reset_at)}
        headers = self._rate.headers()
        if self.token is not None and self.oauth_scopes is not None:
            headers["x-oauth-scopes"] = self.oauth_scopes
        return headers

    def _reply(self, record: RequestRecord, headers, fault: Fault | None) -> Reply | None:
        """The answer, in GitHub's order of checks; None means drop the connection."""
        if self._down:
            return error_reply(503, "Service Unavailable")
        if fault and fault.reset_connection:
            return None
        if fault and fault.status:
            return _fault_reply(fault)
        if self.token is not None and not _token_matches(headers, self.token):
            return error_reply(401, "Bad credentials")
        if record.path == "/rate_limit":
            return self.routes.rate_limit(self._rate.headers())
        if self.rate_remaining == 0:
            return error_reply(self.rate_limit_status, PRIMARY_MESSAGE)
        reply = self.routes.dispatch(record.method, record.path, record.query)
        if reply.listing:
            for callback in self._callbacks:
                callback(record)
        reply = _truncated(reply) if fault and fault.malformed else _conditional(reply, headers)
        if reply.status != 304:
            self._rate.charge()
        return reply

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        body = reply.body or b""
        headers = {"Content-Type": "application/json; charset=utf-8"} | reply.headers
        headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
        if self.gzip and len(body) >= _GZIP_MIN_BYTES and _accepts_gzip(handler.headers):
            body = gzip.compress(body, compresslevel=1)
            headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        if reply.status != 304:
            headers["Content-Length"] = str(len(body))
        with contextlib.suppress(ConnectionError, TimeoutError):
            handler.send_response(reply.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        try:
            self.server.fake._handle(self)
        except Exception as err:  # a fake bug must fail the test, not hang it
            self.server.fake.errors.append(err)
            self.close_connection = True
            raise

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # answered 404, as GitHub would

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header follows the fake's clock, as GitHub's follows GitHub's."""
        return formatdate(self.server.fake.clock().timestamp(), usegmt=True)

    def log_message(self, format: str, *args) -> None:
        """Silent: tests read `fake.requests` instead."""


def _fault_reply(fault: Fault) -> Reply:
    rate_limited = fault.secondary or fault.status == 429
    reply = error_reply(fault.status, SECONDARY_MESSAGE if rate_limited else None)
    if fault.status == 502:
        reply.body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        reply.headers["Content-Type"] = "text/html"
    if fault.retry_after is not None:
        reply.headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.location:
        reply.headers["Location"] = fault.location
    return reply


def _record(handler: BaseHTTPRequestHandler) -> RequestRecord:
    parts = urlsplit(handler.path)
    headers = {name: handler.headers[name] for name in RECORDED_HEADERS if name in handler.headers}
    return RequestRecord(
        method=handler.command,
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        has_auth="Authorization" in handler.headers,
        headers=headers,
    )


def _token_matches(headers, token: str) -> bool:
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return scheme.lower() in ("bearer", "token") and value.strip() == token


def _conditional(reply: Reply, request_headers) -> Reply:
    """Add ETag/Last-Modified to a 200; answer 304 (no body) when the client's copy is current."""
    if reply.status != 200 or reply.body is None:
        return reply
    etag = f'"{hashlib.sha1(reply.body).hexdigest()}"'
    reply.headers["ETag"] = etag
    if reply.last_modified is not None:
        reply.headers["Last-Modified"] = formatdate(reply.last_modified, usegmt=True)
    if _etag_matches(request_headers.get("If-None-Match"), etag) or _unmodified(
        request_headers, reply
    ):
        kept = {k: v for k, v in reply.headers.items() if k in ("ETag", "Last-Modified")}
        return Reply(304, None, kept)
    return reply


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


def _unmodified(request_headers, reply: Reply) -> bool:
    since = request_headers.get("If-Modified-Since")
    if not since or reply.last_modified is None or request_headers.get("If-None-Match"):
        return False
    try:
        return reply.last_modified <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


def _truncated(reply: Reply) -> Reply:
    body = reply.body if reply.status == 200 and reply.body else b'{"message":"trunc'
    return Reply(200, body[: max(1, len(body) // 2)], {"Content-Type": "application/json"})


def _accepts_gzip(headers) -> bool:
    return "gzip" in (headers.get("Accept-Encoding") or "")


def _reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Abort with a TCP RST and no response, like a dropped proxy connection."""
    handler.close_connection = True
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
