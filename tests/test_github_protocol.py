"""GitHub protocol rules, checked without any I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from pmbot import __version__
from pmbot.control_plane.github import protocol as p

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
RESET = int(NOW.timestamp()) + 1800  # 12:30 UTC


def rate_headers(remaining: int = 4999, **extra: str) -> dict[str, str]:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(5000 - remaining),
        "x-ratelimit-reset": str(RESET),
        "x-ratelimit-resource": "core",
    }
    return headers | extra


def body(message: str) -> bytes:
    return json.dumps({"message": message, "documentation_url": "https://docs"}).encode()


def error(status: int, headers: dict | None = None, payload: bytes = b"{}"):
    return p.error_for_response(status, headers or {}, payload, "GET /repos/o/r", NOW)


# -- headers, Link, rate limit ---------------------------------------------------------------


def test_request_headers_carry_auth_media_type_version_agent_and_gzip():
    assert p.request_headers("tok") == {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"pmbot/{__version__}",
        "Accept-Encoding": "gzip",
        "Authorization": "Bearer tok",
    }


def test_request_headers_add_validators_and_leave_out_an_empty_token():
    headers = p.request_headers("", etag='"abc"', last_modified="Sun, 01 Mar 2026 12:00:00 GMT")
    assert "Authorization" not in headers
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Sun, 01 Mar 2026 12:00:00 GMT"


def test_parse_link_next_picks_next_among_all_rels():
    header = (
        '<https://api.github.com/repositories/1/issues?page=1>; rel="prev", '
        '<https://api.github.com/repositories/1/issues?page=3>; rel="next", '
        '<https://api.github.com/repositories/1/issues?page=9>; rel="last", '
        '<https://api.github.com/repositories/1/issues?page=1>; rel="first"'
    )
    assert p.parse_link_next(header) == "https://api.github.com/repositories/1/issues?page=3"


def test_parse_link_next_keeps_cursor_urls_verbatim():
    url = "https://api.github.com/repos/o/r/issues?per_page=100&after=Y3Vyc29yOnYyOpLPAAAB%3D%3D"
    assert p.parse_link_next(f'<{url}>; rel="next"') == url


@pytest.mark.parametrize("header", [None, "", '<https://x/?page=1>; rel="prev"'])
def test_parse_link_next_is_none_without_a_next(header):
    assert p.parse_link_next(header) is None


def test_parse_rate_limit_reads_every_header():
    assert p.parse_rate_limit(rate_headers(12)) == p.RateLimit(
        limit=5000, remaining=12, used=4988, reset_at=NOW + timedelta(minutes=30), resource="core"
    )


@pytest.mark.parametrize(
    "headers", [{}, {"x-ratelimit-limit": "5000"}, rate_headers() | {"x-ratelimit-reset": "soon"}]
)
def test_parse_rate_limit_is_none_when_missing_or_garbled(headers):
    assert p.parse_rate_limit(headers) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), ("0", 0.0), ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0), ("whenever", None)],
)
def test_retry_after_accepts_seconds_or_an_http_date(value, seconds):
    assert p.retry_after_seconds({"retry-after": value}, NOW) == seconds


# -- status → error ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 301, 304])
def test_success_redirect_and_not_modified_are_not_errors(status):
    assert error(status) is None


@pytest.mark.parametrize(
    ("status", "kind", "code", "message"),
    [
        (401, p.Unauthorized, "unauthorized", "token missing or invalid"),
        (404, p.NotFound, "not_found", "not found or the token lacks access (GET /repos/o/r)"),
        (410, p.Gone, "gone", "deleted on GitHub (GET /repos/o/r)"),
        (500, p.ServerError, "server_error", "GitHub server error 500 (GET /repos/o/r)"),
        (502, p.ServerError, "server_error", "GitHub server error 502 (GET /repos/o/r)"),
    ],
)
def test_status_maps_to_a_typed_error(status, kind, code, message):
    err = error(status, payload=b"<html>oops</html>")
    assert (type(err), err.code, err.status, str(err)) == (kind, code, status, message)


def test_plain_403_is_forbidden_and_other_4xx_client_errors_with_one_line_messages():
    forbidden = error(403, rate_headers(), body("Resource not accessible\nby integration"))
    assert (type(forbidden), forbidden.code) == (p.GitHubError, "forbidden")
    assert str(forbidden) == "forbidden: Resource not accessible by integration (GET /repos/o/r)"
    invalid = error(422, payload=body("Validation Failed"))
    assert invalid.code == "client_error" and "422" in str(invalid) and "\n" not in str(invalid)


@pytest.mark.parametrize("status", [403, 429])
def test_remaining_zero_is_a_primary_limit_until_reset(status):
    err = error(status, rate_headers(0), body("API rate limit exceeded"))
    assert isinstance(err, p.RateLimited) and err.primary
    assert (err.code, err.status, err.reset_at) == (
        "rate_limited",
        status,
        NOW + timedelta(minutes=30),
    )
    assert str(err) == "rate limited until 12:30 UTC"


def test_primary_wait_is_measured_on_githubs_clock_when_it_sends_a_date():
    github_now = format_datetime(NOW + timedelta(minutes=10), usegmt=True)
    skewed = error(403, rate_headers(0, date=github_now), body("API rate limit exceeded"))
    assert skewed.wait_seconds == 1200.0  # reset 12:30 on GitHub's clock, which says 12:10
    assert error(403, rate_headers(0), body("exceeded")).wait_seconds == 1800.0  # local clock


def test_secondary_limit_honours_retry_after():
    err = error(403, rate_headers(100, **{"retry-after": "7"}), body("secondary rate limit"))
    assert isinstance(err, p.RateLimited) and not err.primary
    assert (err.retry_after, err.reset_at, err.wait_seconds) == (7.0, NOW + timedelta(seconds=7), 7)


@pytest.mark.parametrize(
    ("status", "message"),
    [(403, "You have exceeded a secondary rate limit."), (429, "Too many requests")],
)
def test_secondary_limit_without_retry_after_defaults_to_a_minute(status, message):
    err = error(status, rate_headers(100), body(message))
    assert isinstance(err, p.RateLimited) and not err.primary
    assert (err.retry_after, err.reset_at, err.wait_seconds) == (
        None,
        NOW + timedelta(seconds=60),
        60,
    )


def test_every_error_class_has_a_stable_code():
    codes = {
        cls.code
        for cls in (
            p.Unauthorized,
            p.NotFound,
            p.Gone,
            p.RateLimited,
            p.ServerError,
            p.MalformedResponse,
            p.NetworkError,
            p.RedirectRefused,
        )
    }
    assert codes == {
        "unauthorized",
        "not_found",
        "gone",
        "rate_limited",
        "server_error",
        "malformed_response",
        "network",
        "redirect_refused",
    }
    assert p.GitHubError("x", 418, code="teapot").code == "teapot"


# -- base URL, origins, redirects, backoff ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com/",
        "https://ghe.example.com/api/v3",
        "http://127.0.0.1:8765",
        "http://127.9.9.9",
        "http://localhost:1234",
        "http://[::1]:8080",
    ],
)
def test_https_bases_and_loopback_http_bases_are_accepted(url):
    assert p.check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "http://10.0.0.1", "ftp://api.github.com", "api.github.com"],
)
def test_plain_http_to_other_hosts_and_odd_schemes_are_refused(url):
    with pytest.raises(ValueError, match="GitHub API base"):
        p.check_base_url(url)


def test_same_origin_compares_scheme_host_and_port():
    assert p.same_origin("https://API.github.com/x", "https://api.github.com:443/y")
    assert not p.same_origin("http://127.0.0.1:1/x", "http://127.0.0.1:2/x")
    assert not p.same_origin("https://api.github.com", "http://api.github.com")


def test_redirect_target_resolves_relative_locations():
    assert p.redirect_target("https://h/repos/a/b", "/repositories/9") == "https://h/repositories/9"


@pytest.mark.parametrize(
    ("location", "reason"),
    [("http://h/repos/x", "https to http"), (None, "without a Location"), ("file:///etc", "file")],
)
def test_redirect_target_refuses_downgrades_and_odd_targets(location, reason):
    with pytest.raises(p.RedirectRefused, match=reason) as caught:
        p.redirect_target("https://h/repos/a/b", location)
    assert caught.value.code == "redirect_refused"


def test_backoff_doubles_with_equal_jitter_and_is_capped():
    assert [p.backoff_seconds(n, 0.0) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert [p.backoff_seconds(n, 1.0) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert p.backoff_seconds(20, 1.0) == 60.0


@pytest.mark.parametrize(
    "text",
    [
        '[{"a":1,"t":"caf\\u00e9 \\"q\\""},{"b":[1,2]},3,"x",null]',
        ' [ {"a" : 1} ,\n {"b": {"c": []}} ] \n',
        "[]",
        " [ ] ",
        '{"message": "not a list"}',
    ],
)
def test_parse_json_texts_gives_the_document_and_each_elements_text_as_sent(text):
    data, texts = p.parse_json_texts(text)
    assert data == json.loads(text)
    if not isinstance(data, list):
        assert texts is None
        return
    assert [json.loads(t) for t in texts] == data
    assert all(t in text and t == t.strip() for t in texts)  # verbatim: escapes kept
    if data and isinstance(data[0], dict) and "t" in data[0]:
        assert '\\u00e9 \\"q\\"' in texts[0]


@pytest.mark.parametrize(
    "text",
    ["[", "[{}", "[{},]", "[,{}]", "[{} {}]", "[{}] x", "[{}]]", '[{"a":1', "", "[1,2,"],
)
def test_parse_json_texts_refuses_what_json_loads_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        p.parse_json_texts(text)
