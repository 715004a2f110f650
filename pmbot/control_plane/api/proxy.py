"""The `pmbot ui` process: the static UI plus a pass-through proxy to the api service.

In the compose stack the browser talks to one origin (the ui, on
localhost:8080) and the ui forwards `/api/*` to the api container. The proxy
is transparent on purpose: method, body, status and headers go through as
they are (`X-PMBot-Request`, `Origin`, `Sec-Fetch-Site`, `Content-Type`,
`If-None-Match` included), so the api takes every security decision itself.
Only `Host` is rewritten, to the api's own host:port, which its allowlist
accepts. Because the browser's `Host` never reaches the api, the ui checks it
against its own allowlist first (the DNS-rebinding defence).

The forwarding uses `http.client`, the layer under urllib: urllib would
follow redirects, add a form `Content-Type` to a body sent without one and
its own `User-Agent`, and a proxy must do none of that.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bottle

from pmbot import __version__
from pmbot.control_plane.api.problems import problem_body, problem_response
from pmbot.control_plane.api.security import SECURITY_HEADERS, HostAllowlist

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # the api's own limit; larger bodies stop here with the same 413
UPSTREAM_TIMEOUT_SECONDS = 30
HEALTH_TIMEOUT_SECONDS = 3
PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Headers that describe one connection, not the message (RFC 9110 §7.6.1),
# plus those the server on each side computes itself.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)
_ERROR_CODES = {403: "forbidden", 404: "not_found", 405: "method_not_allowed", 500: "internal"}


class ProxyConfigError(ValueError):
    """The api URL cannot be proxied to; the message says which form is accepted."""


@dataclass(frozen=True)
class Upstream:
    """Where the api listens: `http://host:port`, no path."""

    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ProxyConfigError(f"--api-url {url!r} is invalid: expected http://host:port")
        return cls(parts.hostname, parts.port or 80)

    @property
    def authority(self) -> str:
        """The `Host` header the api sees (its own host:port)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def forward(
    upstream: Upstream,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
    timeout: float = UPSTREAM_TIMEOUT_SECONDS,
) -> UpstreamResponse:
    """Send one request to the api as given (Host rewritten) and return its answer.

    Raises OSError (refused, reset, timed out) when the api cannot answer.
    """
    sent = {name: value for name, value in headers if name.lower() not in _NOT_FORWARDED}
    sent["Host"] = upstream.authority
    conn = http.client.HTTPConnection(upstream.host, upstream.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=sent)
        answer = conn.getresponse()
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _NOT_FORWARDED]
        return UpstreamResponse(answer.status, kept, answer.read())
    finally:
        conn.close()


def create_proxy_app(upstream: Upstream, static_root: Path, hosts: HostAllowlist) -> bottle.Bottle:
    """The ui's WSGI app: `/healthz`, `/api/*` forwarded to `upstream`, and the pages at the
    same paths as the api serves them (`/` and `/static/…`)."""
    app = bottle.Bottle()
    app.add_hook("before_request", lambda: _check_host(hosts))
    app.add_hook("after_request", _add_security_headers)
    app.route("/healthz", "GET", lambda: _healthz(upstream))
    app.route("/api/<path:path>", PROXIED_METHODS, lambda path: _proxy(upstream))
    app.route("/", "GET", lambda: bottle.static_file("index.html", root=static_root))
    app.route("/static/<path:path>", "GET", lambda path: bottle.static_file(path, root=static_root))
    for status in (403, 404, 405, 500):
        app.error(status)(_error_page)
    return app


def _check_host(hosts: HostAllowlist) -> None:
    """The api's own Host rule (loopback on the port served, plus PMBOT_ALLOWED_HOSTS)."""
    host = bottle.request.get_header("Host", "")
    if not hosts.allows(host, bottle.request.environ.get("SERVER_PORT", "")):
        detail = f"Host {host[:100]!r} is not allowed; add it to PMBOT_ALLOWED_HOSTS"
        raise _problem(403, "host_not_allowed", detail)


def _add_security_headers() -> None:
    for name, value in SECURITY_HEADERS.items():
        if name not in bottle.response.headers:
            bottle.response.set_header(name, value)


def _proxy(upstream: Upstream) -> bottle.HTTPResponse:
    request = bottle.request
    body = request.body.read(MAX_BODY_BYTES + 1) if request.content_length else None
    if body is not None and len(body) > MAX_BODY_BYTES:
        return _problem(413, "body_too_large", "the body is over 1 MiB")
    raw_path = request.environ.get("bottle.raw_path", request.path).encode("latin-1")
    target = urllib.parse.quote(raw_path, safe="/%:@!$&'()*+,;=-._~")
    if request.query_string:
        target += "?" + request.query_string
    try:
        answer = forward(upstream, request.method, target, request.headers.items(), body)
    except TimeoutError:
        log.warning("api at %s timed out on %s %s", upstream.url, request.method, request.path)
        return _problem(504, "api_timeout", f"the api at {upstream.url} timed out")
    except OSError as exc:
        log.warning("api at %s unreachable: %s", upstream.url, exc)
        detail = f"the pmbot api at {upstream.url} is not reachable; is it running?"
        return _problem(502, "api_unreachable", detail)
    response = bottle.HTTPResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response.add_header(name, value)
    return response


def _healthz(upstream: Upstream) -> dict:
    """The ui is up; says whether the api answers its own `/healthz` (for the operator)."""
    try:
        answer = forward(upstream, "GET", "/healthz", [], None, timeout=HEALTH_TIMEOUT_SECONDS)
        api = "ok" if answer.status == 200 else f"status {answer.status}"
    except OSError:
        api = "unreachable"
    return {
        "ok": True,
        "version": __version__,
        "process": "ui",
        "api_url": upstream.url,
        "api": api,
    }


def _problem(status: int, code: str, detail: str) -> bottle.HTTPResponse:
    """The api's error shape (`application/problem+json`), for what the ui answers itself."""
    return problem_response(status, problem_body(status, code, detail))


def _error_page(error: bottle.HTTPError) -> str:
    """bottle's own 404/405/500 pages, in the api's error shape."""
    status = error.status_code
    detail = "unexpected error" if status == 500 else str(error.body)
    bottle.response.content_type = "application/problem+json"
    return json.dumps(problem_body(status, _ERROR_CODES.get(status, "error"), detail))
