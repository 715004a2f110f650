"""One error shape everywhere, and bad input to every endpoint changes nothing.

For each endpoint the sweep sends malformed bodies, wrong types, huge values,
unicode, SQL-ish strings and path tricks, and asserts the status, the
problem+json shape, and that the audit head, the registry and the cache are
exactly as before.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

from pmbot.control_plane import audit
from pmbot.control_plane.api import handlers
from pmbot.control_plane.api.parsers import encode_cursor
from pmbot.control_plane.operations import add_repo
from pmbot.control_plane.registry import list_repos
from tests.conftest import insert_cached_item

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@pytest.fixture
def repo(conn):
    repo = add_repo(conn, "octo/hello")
    insert_cached_item(conn, repo.repo_id, 1, title="cached")
    return repo


def _stored(conn):
    cache = conn.execute("SELECT count(*) FROM github_issues").fetchone()[0]
    requests = conn.execute("SELECT count(*) FROM sync_requests").fetchone()[0]
    return audit.head(conn), list_repos(conn), cache, requests


def assert_problem(reply, status: int) -> dict:
    assert reply.status == status, reply.text
    assert reply.content_type == "application/problem+json"
    body = reply.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    assert "Traceback" not in reply.text
    return body


HOSTILE = ["'; DROP TABLE repos; --", "ü/ñ", "a" * 10_000, "../../etc/passwd", "%00", "\u202e"]

BAD_BODIES = [
    (b"{", 400),
    (b"", 400),
    (b"null", 422),
    (b'"text"', 422),
    (b"\xff", 400),
    (b'{"full_name": ' + b"1" * 5000 + b"}", 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
@pytest.mark.parametrize("path", ["/api/repos", "/api/cache/reset"])
def test_malformed_bodies(client, conn, repo, path, body, status):
    before = _stored(conn)
    reply = client.post(path, body=body, headers={"Content-Type": "application/json"})
    assert_problem(reply, status)
    assert _stored(conn) == before


@pytest.mark.parametrize(
    "value", [None, 5, 1.5, True, [], {"a": 1}, *HOSTILE, "owner/", "/name", "a/b/c", "-a/b"]
)
def test_repo_names_of_every_wrong_kind_are_422(client, conn, repo, value):
    before = _stored(conn)
    body = assert_problem(client.post("/api/repos", json_body={"full_name": value}), 422)
    assert body["field"] == "full_name"
    assert _stored(conn) == before


@pytest.mark.parametrize(
    "repo_id", [0, -1, "1", 1.5, 2**63, 10**30, None, True, "'; DROP TABLE repos;--"]
)
def test_reset_with_wrong_repo_ids(client, conn, repo, repo_id):
    before = _stored(conn)
    reply = client.post("/api/cache/reset", json_body={"confirm": "reset", "repo_id": repo_id})
    assert_problem(reply, 422)  # null never means "all repos": that takes "all": true
    assert _stored(conn) == before


def test_a_repo_id_written_as_a_whole_float_is_an_integer_as_json_schema_says(client, conn, repo):
    reply = client.post("/api/cache/reset", json_body={"confirm": "reset", "repo_id": 1.0})
    assert reply.status == 200 and reply.json() == {"reset_repo_ids": [repo.repo_id]}


def test_body_over_one_mib_is_413(client, conn, repo):
    before = _stored(conn)
    big = json.dumps({"full_name": "a/b", "pad": "x" * (1 << 20)}).encode()
    assert_problem(
        client.post("/api/repos", body=big, headers={"Content-Type": "application/json"}), 413
    )
    assert _stored(conn) == before


PATH_TRICKS = [
    "/api/repos/abc/status",
    "/api/repos/1.5/status",
    "/api/repos/-1/status",
    "/api/repos/99999999999999999999999/status",
    "/api/repos/1/issues/0x1",
    "/api/repos/1/../../etc/passwd",
    "/api/repos/1/issues/99999999999999999999",
    "/static/../pmbot/__init__.py",
    "/static/%2e%2e/pyproject.toml",
    "/static/..%2fpyproject.toml",
    "/api/nope",
    "/api/repos/١/status",
]


@pytest.mark.parametrize("path", PATH_TRICKS)
def test_path_tricks_are_404_or_403_problems(client, conn, repo, path):
    before = _stored(conn)
    reply = client.get(path)
    assert reply.status in (403, 404), (path, reply.status)
    assert_problem(reply, reply.status)
    assert _stored(conn) == before


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=501", "limit=-5", "limit=1e3", "limit=" + "9" * 50, "state=merged",
        "sort=DROP", "full=maybe", "cursor=%FF%FE", "cursor=" + "A" * 5000, "label=" + "x" * 300,
        "include_gone=2", "q=" + "x" * 600,
    ],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["issues", "prs"])
def test_bad_list_queries_are_422_naming_the_field(client, conn, repo, kind, query):
    reply = client.get(f"/api/repos/{repo.repo_id}/{kind}?{query}")
    body = assert_problem(reply, 422)
    assert body["field"] == query.split("=", 1)[0]


@pytest.mark.parametrize(
    "values",
    [
        {"sort": "updated", "after": ["\ud800", 1]},
        {"runs_after": ["\udfff", "run-1"]},
        {"before": 1, "x": {"\ud800": 1}},
    ],
)
@pytest.mark.parametrize("list_path", ["/api/repos/{repo_id}/issues", "/api/runs", "/api/audit"])
def test_a_cursor_holding_an_unpaired_surrogate_is_422_not_500(client, repo, list_path, values):
    cursor = encode_cursor(values)
    reply = client.get(list_path.format(repo_id=repo.repo_id) + f"?cursor={cursor}")
    assert assert_problem(reply, 422)["field"] == "cursor"


@pytest.mark.parametrize("query", ["", "q=", "q=%20%20", "limit=0&q=x", "repo_id=abc&q=x"])
def test_bad_search_queries_are_422(client, query):
    assert_problem(client.get(f"/api/search?{query}"), 422)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_in_queries_never_500(client, repo, value):
    for path in (
        f"/api/search?q={quote(value)}",
        f"/api/repos/{repo.repo_id}/issues?label={quote(value)}&q={quote(value)}",
        f"/api/audit?type={quote(value)}",
        f"/api/github/repos?org={quote(value)}",
        f"/api/audit/verify?head={quote(value)}",
    ):
        reply = client.get(path)
        assert reply.status in (200, 422), (path, reply.status, reply.text[:200])


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/repos"), ("PATCH", "/api/repos/1"), ("GET", "/api/cache/reset")],
)
def test_wrong_method_is_405_problem(client, repo, method, path):
    assert_problem(client.request(method, path), 405)


def test_unexpected_error_is_a_generic_500_with_a_logged_request_id(client, monkeypatch, caplog):
    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handlers.repo_status, "list_statuses", explode)
    caplog.set_level(logging.ERROR, logger="pmbot.api")

    body = assert_problem(client.get("/api/repos"), 500)

    assert "secret internals" not in json.dumps(body)
    assert body["request_id"] in caplog.text and "secret internals" in caplog.text
