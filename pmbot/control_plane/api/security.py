"""Checks every request passes before any handler runs, and headers every response gets.

- DNS rebinding: the `Host` must be a loopback name with the serving port,
  or an entry of `PMBOT_ALLOWED_HOSTS` (`host` for any port, `host:port`).
- CSRF, for every state-changing method, body or not: the custom header
  `X-PMBot-Request: 1` (a cross-site page cannot send it without a CORS
  preflight, which this server never grants), `Origin` (when sent) equal to
  this server's or named in `PMBOT_ALLOWED_HOSTS` (the compose ui proxy's),
  `Sec-Fetch-Site` absent or `same-origin`, and a JSON content type whenever
  there is a body.
- Fetch Metadata resource isolation, for every method: `/api/*` answers 403
  unless `Sec-Fetch-Site` is absent (older browsers, scripts, curl),
  `same-origin` or `none` (typed into the address bar), so a cross-site page
  cannot make a GET that spends the operator's GitHub rate limit.
- No CORS headers and no cookies are ever sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pmbot.control_plane.api.parsers import has_body, is_json_type
from pmbot.control_plane.api.problems import ApiProblem

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"
API_FETCH_SITES = frozenset({None, "same-origin", "none"})
CSRF_HEADER = "X-PMBot-Request"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
        " frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class HostAllowlist:
    """The `Host` values this server answers to, for the port it serves on."""

    def __init__(self, extra_hosts: Iterable[str]) -> None:
        self._any_port = frozenset(h for h in extra_hosts if not _has_port(h))
        self._exact = frozenset(h for h in extra_hosts if _has_port(h))
        self._by_port: dict[str, frozenset[str]] = {}

    def allows(self, host: str, server_port: str) -> bool:
        host = host.lower()
        if host in self._exact or _strip_port(host) in self._any_port:
            return True
        allowed = self._by_port.get(server_port)
        if allowed is None:
            allowed = self._by_port[server_port] = _loopback_hosts(server_port)
        return host in allowed


def _loopback_hosts(port: str) -> frozenset[str]:
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == "80":
        names.update(LOOPBACK_NAMES)
    return frozenset(names)


def _has_port(host: str) -> bool:
    return host.rsplit("]", 1)[-1].count(":") == 1


def _strip_port(host: str) -> str:
    return host.rsplit(":", 1)[0] if _has_port(host) else host


def check_request(environ: Mapping[str, Any], hosts: HostAllowlist) -> None:
    """Raise a 403 (or 415) problem for a request that must not reach a handler."""
    host = environ.get("HTTP_HOST", "")
    if not hosts.allows(host, environ.get("SERVER_PORT", "")):
        raise _forbidden("host_not_allowed", "this Host is not allowed (set PMBOT_ALLOWED_HOSTS)")
    path = environ.get("PATH_INFO", "")
    if path.startswith(API_PREFIX) and environ.get("HTTP_SEC_FETCH_SITE") not in API_FETCH_SITES:
        raise _forbidden("cross_site_request", "cross-site requests to the API are refused")
    if environ.get("REQUEST_METHOD", "GET") in SAFE_METHODS:
        return
    if environ.get("HTTP_X_PMBOT_REQUEST") != "1":
        raise _forbidden("csrf_header_missing", f"state-changing requests need {CSRF_HEADER}: 1")
    if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") != "same-origin":
        raise _forbidden("cross_site_request", "cross-site requests are refused")
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not _allowed_origin(origin, host, environ, hosts):
        raise _forbidden("origin_not_allowed", "this Origin is not allowed")
    if has_body(environ) and not is_json_type(environ.get("CONTENT_TYPE", "")):
        raise ApiProblem(415, "unsupported_media_type", "send the body as application/json")


def _allowed_origin(
    origin: str, host: str, environ: Mapping[str, Any], hosts: HostAllowlist
) -> bool:
    """This server's own origin, or one the allowlist names: behind the compose ui proxy
    the api is reached as `api:8000` while the browser's Origin is the ui's."""
    if _same_origin(origin, host, environ):
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and not parts.path
        and hosts.allows(parts.netloc, environ.get("SERVER_PORT", ""))
    )


def _same_origin(origin: str, host: str, environ: Mapping[str, Any]) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    scheme = environ.get("wsgi.url_scheme", "http")
    return parts.scheme == scheme and parts.netloc.lower() == host.lower() and not parts.path


def _forbidden(code: str, detail: str) -> ApiProblem:
    return ApiProblem(403, code, detail)
