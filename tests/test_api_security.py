"""Host allowlist, CSRF rules, security headers, bind address and token hygiene.

Every rejection is checked to happen before any side effect: the audit head
and the registry are compared before and after.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from pmbot.control_plane import audit
from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.operations import add_repo
from pmbot.control_plane.registry import list_repos
from tests.conftest import TEST_TOKEN, WsgiClient


def _snapshot(conn):
    return audit.head(conn), list_repos(conn), conn.execute("SELECT count(*) FROM sync_requests")


def _state(conn):
    head, repos, requests = _snapshot(conn)
    return head, repos, requests.fetchone()[0]


WRITES = [
    ("POST", "/api/repos", {"full_name": "octo/new"}),
    ("POST", "/api/repos/1/sync", None),
    ("DELETE", "/api/repos/1", None),
    ("POST", "/api/cache/reset", {"confirm": "reset", "all": True}),
    ("POST", "/api/workspaces/default", None),
]


@pytest.fixture
def repo(conn):
    return add_repo(conn, "octo/hello")


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "127.0.0.1:9999", "localhost", "", "[::2]:8000"]
)
def test_foreign_host_is_403_even_for_reads_and_404s(client, host):
    for path in ("/api/repos", "/nope", "/"):
        reply = client.get(path, headers={"Host": host})
        assert reply.status == 403 and reply.json()["code"] == "host_not_allowed"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST:8000"]
)
def test_loopback_hosts_with_the_serving_port_pass(client, host):
    assert client.get("/api/repos", headers={"Host": host}).status == 200


def test_allowed_hosts_setting_extends_the_list(settings, db_path, conn):
    extended = dataclasses.replace(settings, allowed_hosts=("pmbot.lan", "box:8080"))
    app = create_app(extended, db_path=db_path)
    client = WsgiClient(app)
    try:
        assert client.get("/healthz", headers={"Host": "pmbot.lan:1234"}).status == 200
        assert client.get("/healthz", headers={"Host": "box:8080"}).status == 200
        assert client.get("/healthz", headers={"Host": "box:8081"}).status == 403
    finally:
        app.close()


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "csrf_header_missing"),
        ({"X-PMBot-Request": "0"}, "csrf_header_missing"),
        ({"X-PMBot-Request": "1", "Origin": "http://evil.example"}, "origin_not_allowed"),
        ({"X-PMBot-Request": "1", "Origin": "null"}, "origin_not_allowed"),
        ({"X-PMBot-Request": "1", "Origin": "http://127.0.0.1:8001"}, "origin_not_allowed"),
        ({"X-PMBot-Request": "1", "Sec-Fetch-Site": "cross-site"}, "cross_site_request"),
        ({"X-PMBot-Request": "1", "Sec-Fetch-Site": "same-site"}, "cross_site_request"),
        ({"X-PMBot-Request": "1", "Host": "attacker.example"}, "host_not_allowed"),
    ],
)
def test_state_changes_are_refused_before_any_side_effect(
    client, conn, repo, method, path, body, headers, code
):
    before = _state(conn)
    reply = client.request(method, path, json_body=body, headers=headers, csrf=False)
    assert reply.status == 403
    assert reply.json()["code"] == code
    if code == "csrf_header_missing":
        assert "X-PMBot-Request" in reply.json()["detail"]
    assert _state(conn) == before


@pytest.mark.parametrize(("method", "path", "_body"), WRITES)
def test_a_body_that_is_not_json_is_415_before_any_side_effect(
    client, conn, repo, method, path, _body
):
    before = _state(conn)
    reply = client.request(
        method,
        path,
        body=b"full_name=octo/x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415
    assert _state(conn) == before


def test_same_origin_write_passes(client, repo):
    headers = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/api/repos/{repo.repo_id}/sync", headers=headers).status == 202


def test_security_headers_and_no_cors_or_cookies(client):
    for path in ("/", "/api/repos", "/nope"):
        reply = client.get(path, headers={"Origin": "http://evil.example"})
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert not any(h.startswith("access-control-") for h in reply.headers)
        assert "set-cookie" not in reply.headers


def test_options_preflight_is_not_granted(client):
    reply = client.request(
        "OPTIONS", "/api/repos", headers={"Access-Control-Request-Method": "POST"}
    )
    assert reply.status == 405
    assert not any(h.startswith("access-control-") for h in reply.headers)


def test_live_server_binds_loopback_only(live_server):
    sockets = live_server.server.server.socket
    assert sockets.getsockname()[0] == "127.0.0.1"
    assert (
        live_server.request(
            "GET", "/healthz", headers={"Host": f"127.0.0.1:{live_server.port}"}
        ).status
        == 200
    )
    foreign = live_server.request("GET", "/healthz", headers={"Host": f"evil:{live_server.port}"})
    assert foreign.status == 403


def test_token_never_appears_in_responses_or_logs(client, conn, repo, caplog):
    caplog.set_level(logging.DEBUG, logger="pmbot")
    bodies = [
        client.get(path).body
        for path in ("/api/setup", "/api/repos", f"/api/repos/{repo.repo_id}/status", "/api/audit",
                     "/api/openapi.json", "/healthz", "/api/github/repos", "/api/audit/verify")
    ]  # fmt: skip
    setup = client.get("/api/setup").json()
    assert setup["token_present"] is True
    for body in bodies:
        assert TEST_TOKEN.encode() not in body
    assert TEST_TOKEN not in caplog.text
    for event in audit.iter_events(conn):
        assert TEST_TOKEN not in str(event.payload)
