"""GitHub REST rules as pure functions: headers, Link and rate-limit parsing, errors, redirects.

No I/O here, so every rule the client relies on is unit-tested without a socket
(tests/test_github_protocol.py). Header mappings are expected with lower-case names, as the
client's transport returns them.

Error tree (each carries a one-line operator-facing message, `status`, and a stable `code`):
    GitHubError                code given per case: forbidden, client_error, redirect_refused
    ├── Unauthorized           unauthorized        401, or no token configured
    ├── NotFound               not_found           404 (private repos without access too)
    ├── Gone                   gone                410 (deleted issue)
    ├── RateLimited            rate_limited        403/429 primary or secondary limit
    ├── ServerError            server_error        5xx
    ├── MalformedResponse      malformed_response  body that is not the JSON it claims
    ├── NetworkError           network             refused, reset, timed out
    └── RedirectRefused        redirect_refused    https→http, no Location, too many hops
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from pmbot import __version__

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
USER_AGENT = f"pmbot/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
SECONDARY_DEFAULT_WAIT = 60.0
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";]+)"?')
_DEFAULT_PORTS = {"http": 80, "https": 443}


class GitHubError(Exception):
    """A GitHub request failed; `str(err)` is one line fit for the operator."""

    code = "github_error"

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        if code is not None:
            self.code = code


class Unauthorized(GitHubError):
    code = "unauthorized"

    def __init__(self, message: str = "token missing or invalid", status: int | None = 401):
        super().__init__(message, status)


class NotFound(GitHubError):
    code = "not_found"


class Gone(GitHubError):
    code = "gone"


class ServerError(GitHubError):
    code = "server_error"


class MalformedResponse(GitHubError):
    code = "malformed_response"


class NetworkError(GitHubError):
    code = "network"


class RedirectRefused(GitHubError):
    code = "redirect_refused"


class RateLimited(GitHubError):
    """Primary (`primary=True`: quota spent until `reset_at`) or secondary limit.

    `wait_seconds` is how long GitHub asks us to wait, measured on GitHub's clock (its `Date`
    header), so a local clock hours off does not stretch or skip the wait.
    """

    code = "rate_limited"

    def __init__(
        self,
        reset_at: datetime,
        retry_after: float | None = None,
        *,
        status: int | None = None,
        primary: bool = True,
        wait_seconds: float = 0.0,
    ) -> None:
        super().__init__(f"rate limited until {reset_at.astimezone(UTC):%H:%M} UTC", status)
        self.reset_at = reset_at
        self.retry_after = retry_after
        self.primary = primary
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class RateLimit:
    """The `x-ratelimit-*` headers of one response."""

    limit: int
    remaining: int
    used: int
    reset_at: datetime
    resource: str


def request_headers(
    token: str, *, etag: str | None = None, last_modified: str | None = None
) -> dict[str, str]:
    """Headers for one GET; pass an empty token to leave `Authorization` out."""
    headers = {
        "Accept": MEDIA_TYPE,
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def parse_link_next(header: str | None) -> str | None:
    """The `rel="next"` URL of a `Link` header, verbatim, or None."""
    return parse_link(header, "next")


def parse_link(header: str | None, rel: str) -> str | None:
    """The URL of one relation (`next`, `last`, …) of a `Link` header, verbatim, or None."""
    for match in _LINK.finditer(header or ""):
        rels = _REL.search(match.group(2))
        if rels and rel in rels.group(1).split():
            return match.group(1)
    return None


def pages_left(url: str, link_header: str | None) -> int | None:
    """How many pages follow the page at `url`, from `Link` rel="last" (`page=` numbers);
    None when GitHub does not say: cursor pages (`after=`) carry no `last`."""
    last = parse_link(link_header, "last")
    if last is None:
        return None if parse_link(link_header, "next") else 0
    last_page, page = _page_number(last), _page_number(url) or 1
    return None if last_page is None else max(0, last_page - page)


def _page_number(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("page")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate-limit headers, or None when a response lacks them (or they are garbled)."""
    try:
        return RateLimit(
            limit=int(headers["x-ratelimit-limit"]),
            remaining=int(headers["x-ratelimit-remaining"]),
            used=int(headers.get("x-ratelimit-used", "0")),
            reset_at=datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC),
            resource=headers.get("x-ratelimit-resource", "core"),
        )
    except (KeyError, ValueError, OverflowError):
        return None


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """`Retry-After` as seconds (it may be a number or an HTTP date), or None."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def error_for_response(
    status: int, headers: Mapping[str, str], body: bytes, where: str, now: datetime
) -> GitHubError | None:
    """The typed error for a final (non-redirect) response, or None if it is a success.

    `where` names the request in messages (e.g. "GET /repos/o/r"); never pass a token.
    `now` is the local time, used only when the response has no `Date` header.
    """
    if status < 400:
        return None
    message = _body_message(body)
    if status in (403, 429):
        limited = _rate_limit_error(status, headers, message, server_time(headers) or now)
        if limited is not None:
            return limited
    return _status_error(status, message, where)


def _status_error(status: int, message: str, where: str) -> GitHubError:
    if status == 401:
        return Unauthorized()
    if status == 404:
        return NotFound(f"not found or the token lacks access ({where})", status)
    if status == 410:
        return Gone(f"deleted on GitHub ({where})", status)
    if status >= 500:
        return ServerError(f"GitHub server error {status} ({where})", status)
    if status == 403:
        return GitHubError(f"forbidden: {message} ({where})", status, code="forbidden")
    return GitHubError(f"GitHub refused {where} with {status}: {message}", status, "client_error")


def _rate_limit_error(
    status: int, headers: Mapping[str, str], message: str, now: datetime
) -> RateLimited | None:
    rate = parse_rate_limit(headers)
    retry_after = retry_after_seconds(headers, now)
    if rate is not None and rate.remaining == 0:
        wait = max(retry_after or 0.0, (rate.reset_at - now).total_seconds(), 0.0)
        return RateLimited(rate.reset_at, retry_after, status=status, wait_seconds=wait)
    if status == 429 or retry_after is not None or "rate limit" in message.lower():
        wait = SECONDARY_DEFAULT_WAIT if retry_after is None else retry_after
        reset_at = now + timedelta(seconds=wait)
        return RateLimited(reset_at, retry_after, status=status, primary=False, wait_seconds=wait)
    return None


def repos_path(org: str | None) -> str:
    """The listing of the repos a token can see, or of an organisation's."""
    return f"/orgs/{quote(org, safe='')}/repos" if org else "/user/repos"


def server_time(headers: Mapping[str, str]) -> datetime | None:
    """GitHub's own clock, from the `Date` header, or None."""
    try:
        return parsedate_to_datetime(headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _body_message(body: bytes) -> str:
    """GitHub's `message` field, on one short line; tolerant of HTML or broken bodies."""
    try:
        doc = json.loads(body)
        text = str(doc.get("message", "")) if isinstance(doc, dict) else ""
    except (ValueError, UnicodeDecodeError):
        text = ""
    return " ".join(text.split())[:200] or "no message"


def check_base_url(url: str) -> str:
    """Validate an API base (https, or http on a loopback host only); returns it without `/`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"GitHub API base {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"GitHub API base {url!r}: plain http is allowed only for loopback hosts "
            "(127.0.0.0/8, localhost, ::1); use https"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"GitHub API base {url!r} must not carry a query or fragment")
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_origin(url: str, other: str) -> bool:
    """Scheme, host and port equal (default ports filled in)."""
    return _origin(url) == _origin(other)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def redirect_target(current_url: str, location: str | None) -> str:
    """Where a redirect leads, refusing https→http downgrades and non-http schemes."""
    if not location:
        raise RedirectRefused(f"redirect without a Location header ({_path(current_url)})")
    target = urljoin(current_url, location)
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise RedirectRefused(f"refused redirect to a {scheme or 'schemeless'} URL")
    if urlsplit(current_url).scheme.lower() == "https" and scheme == "http":
        raise RedirectRefused(f"refused redirect from https to http ({_path(current_url)})")
    return target


def backoff_seconds(attempt: int, jitter: float, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with equal jitter: attempt 1 → 0.5–1 s, 2 → 1–2 s, … (capped)."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + ceiling / 2 * jitter


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


_DECODER = json.JSONDecoder()
_BLANK = re.compile(r"[ \t\n\r]*")


def parse_json_texts(text: str) -> tuple[Any, list[str] | None]:
    """A JSON document and, when it is an array, each element's own text as sent.

    One parse gives both (the C scanner, element by element), so the cache stores
    an item's payload as GitHub wrote it instead of serialising the parsed item
    again or asking SQLite to cut it from the page. GitHub sends compact JSON (in
    the recorded traffic of @octokit/fixtures, each Content-Length is the compact
    serialisation's), so the texts carry no whitespace to strip; a sender that
    indents still gets valid payloads, only larger. Raises ValueError as
    `json.loads` does for anything that is not exactly one JSON document.
    """
    at = _BLANK.match(text).end()
    if not text.startswith("[", at):
        return json.loads(text), None
    items: list[Any] = []
    texts: list[str] = []
    at = _BLANK.match(text, at + 1).end()
    if not text.startswith("]", at):
        while True:
            item, end = _DECODER.raw_decode(text, at)
            items.append(item)
            texts.append(text[at:end])
            at = _BLANK.match(text, end).end()
            if text.startswith(",", at):
                at = _BLANK.match(text, at + 1).end()
            elif text.startswith("]", at):
                break
            else:
                raise ValueError(f"expected ',' or ']' at offset {at}")
    if _BLANK.match(text, at + 1).end() != len(text):
        raise ValueError(f"extra data after the array at offset {at + 1}")
    return items, texts
