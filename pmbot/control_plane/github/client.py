"""The GitHub REST client: urllib transport, retries, rate limits, redirects, one request at a time.

Stable API (sync.py and worker.py build on it):

    client = GitHubClient(base_url, token, *, timeout=30, max_attempts=5, sleep=time.sleep,
                          clock=utc_now, random=random.random, max_wait_seconds=300,
                          on_response=None, transport=urllib_transport)
    client = GitHubClient.from_settings(settings, **same_keywords)
    r = client.get("/repos/o/r/issues", {"state": "all", "per_page": 100}, etag=…, last_modified=…)
    r.status, r.url, r.data (parsed JSON; None on 304), r.item_texts (when r.data is an
    array: each element's JSON text as sent; else None), r.headers (lower-case names), r.etag,
    r.last_modified, r.not_modified, r.next_url (Link rel="next", verbatim; None on 304),
    r.rate_limit, r.redirected_from (the requested URL when a 301/308 moved it, else None)
    for r in client.paginate(path, params): …      # follows Link next verbatim, never page=
    client.get_user(); client.iter_repos(org=None)  # /user; /user/repos or /orgs/{org}/repos
    client.last_rate_limit                          # RateLimit of the latest response, or None
    on_response(ExchangeInfo)                       # after every HTTP exchange, ok or not

Policy:
- One GitHub request in flight per process (module lock shared by all clients), as GitHub asks.
- 5xx, network failures and malformed JSON: retried with exponential backoff and jitter, up
  to `max_attempts` tries in all, then raised as ServerError / NetworkError / MalformedResponse.
- Primary rate limit (403/429, remaining 0): wait until reset (+1 s, measured on GitHub's
  `Date` clock) through `sleep` when that is at most `max_wait_seconds`, else raise
  RateLimited at once; until the reset, later calls wait or fail fast the same way without
  sending anything. Secondary limits: Retry-After, else 60 s, doubling on each repeat.
- Other 4xx are never retried: 401 Unauthorized, 404 NotFound, 410 Gone, others GitHubError
  (code "forbidden" for a plain 403, "client_error" otherwise).
- Redirects are followed here (urllib's own following is disabled): at most MAX_REDIRECTS hops;
  `Authorization` goes only to the origin of `base_url` (urllib would forward it anywhere,
  CPython issue 77842); https→http is refused.
- The token never appears in repr, exceptions or logs (`pmbot.github` logs URLs and statuses).
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random as _random
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from pmbot.control_plane.github.protocol import (
    PERMANENT_REDIRECTS,
    REDIRECT_STATUSES,
    GitHubError,
    Gone,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimit,
    RateLimited,
    RedirectRefused,
    ServerError,
    Unauthorized,
    backoff_seconds,
    check_base_url,
    error_for_response,
    parse_json_texts,
    parse_link_next,
    parse_rate_limit,
    redirect_target,
    repos_path,
    request_headers,
    same_origin,
)
from pmbot.shared.settings import Secret
from pmbot.shared.timeutil import utc_now

__all__ = [
    "ExchangeInfo",
    "GitHubClient",
    "GitHubError",
    "Gone",
    "MalformedResponse",
    "NetworkError",
    "NotFound",
    "RateLimit",
    "RateLimited",
    "RedirectRefused",
    "Response",
    "ServerError",
    "Unauthorized",
    "urllib_transport",
]

log = logging.getLogger("pmbot.github")

MAX_REDIRECTS = 5
RESET_MARGIN_SECONDS = 1.0
RETRYABLE = (ServerError, NetworkError, MalformedResponse, RateLimited)
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException)
_IN_FLIGHT = threading.Lock()  # one GitHub request at a time in this process

Transport = Callable[[str, str, Mapping[str, str], bytes | None, float], tuple[int, dict, bytes]]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx back as responses: the client decides where (and with which headers) to go."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP exchange; any status is a response. Header names come back lower-case."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return answer.status, _header_dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, _header_dict(err.headers), err.read()


def _header_dict(message) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


@dataclass(frozen=True)
class Response:
    """A successful (2xx or 304) answer; see the module docstring for the fields."""

    status: int
    url: str
    data: Any
    headers: Mapping[str, str]
    etag: str | None
    last_modified: str | None
    not_modified: bool
    next_url: str | None
    rate_limit: RateLimit | None
    redirected_from: str | None = None
    item_texts: list[str] | None = None


@dataclass(frozen=True)
class ExchangeInfo:
    """What `on_response` gets after each HTTP exchange (retries and redirect hops included)."""

    at: datetime
    method: str
    url: str
    status: int | None  # None when no response arrived (network failure)
    rate_limit: RateLimit | None
    error: str | None  # the one-line message when the exchange failed, else None
    error_code: str | None
    elapsed_seconds: float
    api_base: str = ""  # whose exchange: the client's API base and token fingerprint
    token_fingerprint: str | None = None
    scopes: str | None = None  # X-OAuth-Scopes (classic tokens only), as GitHub sent it
    login: str | None = None  # from a `GET /user` answer


class GitHubClient:
    """GitHub REST over urllib for one API base and token. Thread-safe; see module docstring."""

    def __init__(
        self,
        base_url: str,
        token: str | Secret | None,
        *,
        timeout: float = 30,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
        random: Callable[[], float] = _random.random,
        max_wait_seconds: float = 300,
        on_response: Callable[[ExchangeInfo], None] | None = None,
        transport: Transport = urllib_transport,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self._token = token if isinstance(token, Secret) else Secret((token or "").strip())
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_wait_seconds = max_wait_seconds
        self.on_response = on_response
        self.last_rate_limit: RateLimit | None = None
        self._blocked: tuple[datetime, RateLimited] | None = None  # primary limit: until, why
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._transport = transport

    @classmethod
    def from_settings(cls, settings, **options) -> GitHubClient:
        """A client for `settings.github_api_base` and `settings.github_token`."""
        return cls(settings.github_api_base, settings.github_token, **options)

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.base_url!r})"

    # -- public API --------------------------------------------------------------------------

    def get(
        self,
        url_or_path: str,
        params: Mapping[str, Any] | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        """GET a path (joined to the base) or a full URL (used verbatim, e.g. a Link next)."""
        if not self._token:
            raise Unauthorized(status=None)
        self._respect_primary_limit()
        url = self._url(url_or_path, params)
        return self._with_retries(url, etag, last_modified)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Response]:
        """Every page of a listing, following `Link` rel="next" exactly as GitHub gives it."""
        response = self.get(path, params)
        yield response
        while response.next_url:
            response = self.get(response.next_url)
            yield response

    def get_user(self) -> dict:
        """The token's user (`GET /user`)."""
        return self.get("/user").data

    def iter_repos(self, org: str | None = None) -> Iterator[dict]:
        """Repos the token can see (`/user/repos`), or an organisation's (`/orgs/{org}/repos`)."""
        for page in self.paginate(repos_path(org), {"per_page": 100}):
            yield from page.data

    # -- retries -----------------------------------------------------------------------------

    def _with_retries(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        rate_limit_hits = 0
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._follow(url, etag, last_modified)
                self._blocked = None
                return response
            except RETRYABLE as err:
                rate_limit_hits += isinstance(err, RateLimited)
                wait = self._wait_before_retry(err, attempt, rate_limit_hits)
                if attempt == self.max_attempts:
                    raise
                log.warning("GET %s failed (%s); retry %d in %.1f s", url, err, attempt, wait)
                self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait_before_retry(self, err: GitHubError, attempt: int, rate_limit_hits: int) -> float:
        if not isinstance(err, RateLimited):
            return backoff_seconds(attempt, self._random())
        wait = self._rate_limit_wait(err, rate_limit_hits)
        if err.primary:
            self._blocked = (self._clock() + timedelta(seconds=wait), err)
        if wait > self.max_wait_seconds:
            raise err
        return wait

    def _respect_primary_limit(self) -> None:
        """After a primary limit, send nothing before the reset: wait for it or fail fast."""
        if self._blocked is None:
            return
        until, err = self._blocked
        left = (until - self._clock()).total_seconds()
        if left > self.max_wait_seconds:
            raise err
        if left > 0:
            self._sleep(left)
        self._blocked = None

    def _rate_limit_wait(self, err: RateLimited, hits: int) -> float:
        """Primary: until reset plus a second. Secondary: Retry-After or 60 s, doubled for each
        further hit in a row."""
        if err.primary:
            return err.wait_seconds + RESET_MARGIN_SECONDS
        return err.wait_seconds * 2 ** (hits - 1)

    # -- one request, redirects included -----------------------------------------------------

    def _follow(self, url: str, etag: str | None, last_modified: str | None) -> Response:
        current, moved_from = url, None
        for _hop in range(MAX_REDIRECTS + 1):
            status, headers, (data, texts) = self._exchange(current, etag, last_modified)
            if status not in REDIRECT_STATUSES:
                return _response(current, status, headers, data, texts, moved_from)
            if status in PERMANENT_REDIRECTS and moved_from is None:
                moved_from = url
            current = redirect_target(current, headers.get("location"))
            log.info("GET %s redirected (%d) to %s", url, status, current)
        raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects from {urlsplit(url).path}")

    def _exchange(self, url: str, etag: str | None, last_modified: str | None):
        """Send one GET and interpret it: (status, headers, (parsed JSON or None, the array's
        element texts or None)), or raise."""
        started = time.monotonic()
        status, headers, body = None, {}, b""
        try:
            status, headers, body = self._send(url, etag, last_modified)
            data, text = self._interpret(url, status, headers, body)
        except GitHubError as err:
            self._report(url, status, headers, err, started)
            raise
        login = (
            data.get("login") if url == f"{self.base_url}/user" and isinstance(data, dict) else None
        )
        self._report(url, status, headers, None, started, login)
        return status, headers, (data, text)

    def _send(self, url: str, etag: str | None, last_modified: str | None):
        token = self._token.reveal() if same_origin(url, self.base_url) else ""
        headers = request_headers(token, etag=etag, last_modified=last_modified)
        try:
            with _IN_FLIGHT:
                return self._transport("GET", url, headers, None, self.timeout)
        except _TRANSPORT_ERRORS as err:
            reason = str(getattr(err, "reason", None) or err) or type(err).__name__
            raise NetworkError(f"cannot reach GitHub: {reason} ({urlsplit(url).path})") from err

    def _interpret(self, url: str, status: int, headers: Mapping[str, str], body: bytes):
        rate = parse_rate_limit(headers)
        if rate is not None:
            self.last_rate_limit = rate
        log.debug("GET %s -> %d", url, status)
        error = error_for_response(
            status, headers, body, f"GET {urlsplit(url).path}", self._clock()
        )
        if error is not None:
            raise error
        if status in REDIRECT_STATUSES or status in (204, 304):
            return None, None
        return _parse_json(status, body, headers, url)

    def _report(
        self, url, status, headers, error: GitHubError | None, started: float, login=None
    ) -> None:
        if self.on_response is None:
            return
        ours = same_origin(url, self.base_url)
        info = ExchangeInfo(
            at=self._clock(),
            method="GET",
            url=url,
            status=status,
            rate_limit=parse_rate_limit(headers),
            error=str(error) if error else None,
            error_code=error.code if error else None,
            elapsed_seconds=time.monotonic() - started,
            api_base=self.base_url,
            token_fingerprint=self._token.fingerprint(),
            scopes=headers.get("x-oauth-scopes") if ours else None,
            login=login,
        )
        self.on_response(info)

    def _url(self, url_or_path: str, params: Mapping[str, Any] | None) -> str:
        if url_or_path.startswith(("https://", "http://")):
            url = url_or_path
        else:
            url = self.base_url + "/" + url_or_path.lstrip("/")
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return url


def _parse_json(
    status: int, body: bytes, headers: Mapping[str, str], url: str
) -> tuple[Any, list[str] | None]:
    """(parsed JSON, each array element's text): the cache keeps payloads as sent."""
    try:
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        return parse_json_texts(body.decode("utf-8"))
    except (ValueError, EOFError, OSError, zlib.error) as err:
        path = urlsplit(url).path
        raise MalformedResponse(f"GitHub sent malformed JSON ({path})", status) from err


def _response(
    url: str, status: int, headers: Mapping[str, str], data, texts: list[str] | None, moved_from
) -> Response:
    not_modified = status == 304
    return Response(
        status=status,
        url=url,
        data=data,
        headers=headers,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        not_modified=not_modified,
        next_url=None if not_modified else parse_link_next(headers.get("link")),
        rate_limit=parse_rate_limit(headers),
        redirected_from=moved_from,
        item_texts=texts,
    )
