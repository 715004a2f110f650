"""Discovery (`GET /api/github/repos`) against the fake GitHub on 127.0.0.1."""

from __future__ import annotations

import dataclasses

import pytest

from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.operations import add_repo
from pmbot.shared.settings import Secret
from pmbot.shared.timeutil import utc_now
from tests.conftest import WsgiClient
from tests.fake_github import FakeGitHub

FAKE_TOKEN = "ghp_" + "FakeDiscoveryToken42" * 2


def _seed(github: FakeGitHub) -> None:
    for name in ("acme/one", "acme/two", "acme/three", "other/x"):
        github.add_repo(name, private=name.endswith("two"))


@pytest.fixture
def fake_options():
    return {"token": FAKE_TOKEN, "per_page_max": 2, "clock": utc_now, "seed": _seed}


def _app_for(fake, settings, db_path):
    configured = dataclasses.replace(
        settings, github_api_base=fake.base_url, github_token=Secret(FAKE_TOKEN)
    )

    def factory(s, **options):
        return GitHubClient.from_settings(s, sleep=lambda _s: None, **options)

    return create_app(configured, db_path=db_path, github_client_factory=factory)


@pytest.fixture
def github_client(settings, db_path, conn, fake):
    app = _app_for(fake, settings, db_path)
    yield WsgiClient(app)
    app.close()


def test_org_repos_are_listed_paged_and_marked_tracked(github_client, conn, fake):
    add_repo(conn, "ACME/two")
    names, tracked, cursor = [], {}, ""
    for _ in range(5):
        reply = github_client.get(f"/api/github/repos?org=acme{cursor}")
        assert reply.status == 200, reply.text
        for repo in reply.json()["items"]:
            names.append(repo["full_name"])
            tracked[repo["full_name"]] = repo["tracked"]
            assert set(repo) == {"full_name", "private", "archived", "open_issues_count",
                                 "pushed_at", "tracked"}  # fmt: skip
        if not reply.json()["next"]:
            break
        cursor = "&cursor=" + reply.json()["next"]
    assert sorted(names) == ["acme/one", "acme/three", "acme/two"]
    assert tracked == {"acme/one": False, "acme/three": False, "acme/two": True}


def test_rate_limit_is_recorded_like_the_workers(github_client, conn):
    github_client.get("/api/github/repos")
    setup = github_client.get("/api/setup").json()
    assert setup["github"]["reachable"] is True
    assert setup["rate_limit"]["remaining"] is not None


def test_unknown_org_is_404_problem(github_client):
    reply = github_client.get("/api/github/repos?org=nobody")
    assert reply.status == 404 and reply.content_type == "application/problem+json"


def test_bad_token_is_401_problem(github_client, fake):
    fake.token = "ghp_somethingelse"
    reply = github_client.get("/api/github/repos")
    assert reply.status == 401 and reply.json()["code"] == "unauthorized"
    assert FAKE_TOKEN not in reply.text


def test_rate_limited_is_429_with_reset_time(settings, db_path, conn):
    with FakeGitHub(token=FAKE_TOKEN, rate_limit=1) as limited:
        app = _app_for(limited, settings, db_path)
        try:
            client = WsgiClient(app)
            assert client.get("/api/github/repos").status == 200
            reply = client.get("/api/github/repos")
        finally:
            app.close()
    assert reply.status == 429
    assert reply.json()["code"] == "rate_limited" and reply.json()["reset_at"].endswith("Z")


def test_github_down_is_502_problem(github_client, fake):
    fake.inject(502, times=5)
    reply = github_client.get("/api/github/repos")
    assert reply.status == 502 and reply.json()["code"] == "server_error"


def test_foreign_cursor_is_refused(github_client):
    from pmbot.control_plane.api.parsers import encode_cursor

    crafted = encode_cursor({"url": "http://evil.example/steal"})
    reply = github_client.get(f"/api/github/repos?cursor={crafted}")
    assert reply.status == 422 and reply.json()["field"] == "cursor"


@pytest.mark.parametrize("site", ["cross-site", "same-site", "other"])
def test_a_cross_site_get_is_refused_before_it_spends_the_rate_limit(github_client, fake, site):
    reply = github_client.get("/api/github/repos?org=acme", headers={"Sec-Fetch-Site": site})
    assert reply.status == 403 and reply.json()["code"] == "cross_site_request"
    assert fake.requests == []


@pytest.mark.parametrize(
    "headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}]
)
def test_same_origin_direct_and_non_browser_gets_reach_github(github_client, fake, headers):
    assert github_client.get("/api/github/repos?org=acme", headers=headers).status == 200


def _setup(client) -> dict:
    return client.get("/api/setup").json()


def test_token_state_not_yet_checked_then_accepted_with_login_and_scopes(github_client, fake):
    """Issue 13 item 1: the token's state as GitHub last judged it, login and scopes."""
    fresh = _setup(github_client)
    assert fresh["token"] == {"state": "unchecked", "login": None, "scopes": None,
                              "checked_at": None}  # fmt: skip
    assert fresh["rate_limit"] == {"remaining": None, "reset_at": None}

    checked = github_client.post("/api/github/token/check")

    assert checked.status == 200, checked.text
    assert checked.json()["state"] == "accepted"
    assert (checked.json()["login"], checked.json()["scopes"]) == ("octocat", ["repo"])
    assert _setup(github_client)["token"] == checked.json()
    assert _setup(github_client)["rate_limit"]["remaining"] == fake.rate_remaining


def test_a_fine_grained_token_is_accepted_without_scopes(github_client, fake):
    fake.oauth_scopes = None
    assert github_client.post("/api/github/token/check").json()["scopes"] is None


def test_a_rejected_token_shows_no_rate_limit_of_its_own(github_client, fake):
    """A 401 carries the anonymous limit (60): never shown as the token's."""
    github_client.post("/api/github/token/check")
    fake.token = "ghp_somethingelse"

    reply = github_client.post("/api/github/token/check")

    assert reply.status == 200 and reply.json()["state"] == "rejected"
    assert reply.json()["login"] is None and reply.json()["scopes"] is None
    setup = _setup(github_client)
    assert setup["token"]["state"] == "rejected"
    assert setup["rate_limit"]["remaining"] != 59  # not the anonymous caller's figure


def test_facts_of_another_token_or_api_base_are_not_shown(settings, db_path, conn, fake):
    first = _app_for(fake, settings, db_path)
    WsgiClient(first).post("/api/github/token/check")
    first.close()
    other = dataclasses.replace(
        settings, github_api_base=fake.base_url, github_token=Secret("ghp_" + "Other" * 8)
    )
    second = create_app(other, db_path=db_path)
    try:
        setup = _setup(WsgiClient(second))
    finally:
        second.close()
    assert setup["token"]["state"] == "unchecked"
    assert setup["rate_limit"] == {"remaining": None, "reset_at": None}
    assert setup["github"]["reachable"] is None


def test_a_missing_token_is_missing(settings, db_path, conn):
    app = create_app(dataclasses.replace(settings, github_token=Secret("")), db_path=db_path)
    try:
        client = WsgiClient(app)
        assert _setup(client)["token"]["state"] == "missing"
        assert client.post("/api/github/token/check").json()["state"] == "missing"
    finally:
        app.close()
