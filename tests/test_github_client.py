"""GitHubClient against the real fake GitHub server: paging, ETags, retries, limits, redirects.

Waits never happen in real time: the client's `sleep` is a list that records what it was
asked to wait.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from pmbot import __version__
from pmbot.control_plane.github.client import (
    GitHubClient,
    GitHubError,
    Gone,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimited,
    RedirectRefused,
    ServerError,
    Unauthorized,
)
from pmbot.shared.settings import Secret, Settings
from tests.fake_github import FakeGitHub
from tests.fake_github.clock import T0
from tests.fake_github.clock import ManualClock as Clock

REPO = "acme/widgets"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(fake, clock, sleeps):
    def make(**options) -> GitHubClient:
        defaults = {"sleep": sleeps.append, "clock": clock, "random": lambda: 0.5}
        return GitHubClient(
            options.pop("base_url", fake.base_url), fake.token, **defaults | options
        )

    return make


@pytest.fixture
def client(make_client) -> GitHubClient:
    return make_client()


def add_issues(fake, count: int, repo: str = REPO) -> list[int]:
    return [
        fake.add_issue(repo, title=f"issue {i}", updated_at=T0 - timedelta(minutes=count - i))
        for i in range(count)
    ]


# -- reading --------------------------------------------------------------------------------


def test_get_sends_github_headers_and_returns_parsed_json(fake, client):
    response = client.get(f"/repos/{REPO}")
    assert (response.status, response.data["full_name"], response.not_modified) == (
        200,
        REPO,
        False,
    )
    record = fake.requests[-1]
    assert record.has_auth
    assert record.headers == {
        "accept": "application/vnd.github+json",
        "user-agent": f"pmbot/{__version__}",
        "x-github-api-version": "2022-11-28",
        "accept-encoding": "gzip",
    }
    assert response.rate_limit == client.last_rate_limit and response.rate_limit.used == 1


def test_params_are_encoded_and_full_urls_used_verbatim(fake, client):
    client.get(f"/repos/{REPO}/issues", {"state": "all", "per_page": 100})
    assert fake.requests[-1].query == {"state": "all", "per_page": "100"}
    client.get(f"{fake.base_url}/repos/{REPO}/issues?sort=updated")
    assert fake.requests[-1].query == {"sort": "updated"}


def test_paginate_follows_link_through_the_switch_to_after_cursors(clock, sleeps):
    with FakeGitHub(clock=clock, cursor_after_page=2) as fake:
        fake.add_repo(REPO)
        numbers = add_issues(fake, 550)
        client = GitHubClient(fake.base_url, fake.token, sleep=sleeps.append)
        pages = list(client.paginate(f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
        served = [item["number"] for page in pages for item in page.data]
        assert served == sorted(numbers, reverse=True)
        assert [r.status for r in fake.requests] == [200] * 6
        assert [("after" in r.query, r.query.get("page")) for r in fake.requests[1:3]] == [
            (False, "2"),
            (True, None),
        ]
        assert pages[-1].next_url is None


def test_etag_round_trip_answers_304_and_spends_no_rate_limit(fake, client):
    add_issues(fake, 3)
    first = client.get(f"/repos/{REPO}/issues")
    used = fake.rate_used
    again = client.get(f"/repos/{REPO}/issues", etag=first.etag)
    assert (again.status, again.not_modified, again.data, again.next_url) == (304, True, None, None)
    assert again.etag == first.etag and fake.rate_used == used
    assert fake.requests[-1].if_none_match == first.etag


def test_gzip_bodies_are_decoded(clock, sleeps):
    with FakeGitHub(clock=clock, gzip=True) as fake:
        fake.add_repo(REPO)
        add_issues(fake, 5)
        client = GitHubClient(fake.base_url, fake.token, sleep=sleeps.append)
        response = client.get(f"/repos/{REPO}/issues")
        assert response.headers["content-encoding"] == "gzip" and len(response.data) == 5
        # each item's text, decompressed and as sent
        assert [json.loads(t) for t in response.item_texts] == response.data


def test_get_user_and_iter_repos(fake, client):
    fake.add_repo("acme/gadgets")
    fake.add_repo("other/thing")
    assert client.get_user()["login"] == "octocat"
    assert [r["full_name"] for r in client.iter_repos()] == ["acme/gadgets", REPO, "other/thing"]
    assert [r["full_name"] for r in client.iter_repos(org="acme")] == ["acme/gadgets", REPO]


# -- retries ----------------------------------------------------------------------------------


def test_server_error_then_success_backs_off_once(fake, client, sleeps):
    fake.inject(502)
    assert client.get(f"/repos/{REPO}").status == 200
    assert sleeps == [0.75]  # attempt 1: 1 s ceiling, jitter 0.5 → 0.75 s


def test_malformed_json_then_success(fake, client, sleeps):
    add_issues(fake, 3)
    fake.inject(malformed=True)
    assert len(client.get(f"/repos/{REPO}/issues").data) == 3
    assert len(sleeps) == 1


def test_connection_reset_then_success(fake, client, sleeps):
    fake.inject(reset_connection=True)
    assert client.get(f"/repos/{REPO}").status == 200
    assert [r.status for r in fake.requests] == [None, 200]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 503}, ServerError),
        ({"malformed": True}, MalformedResponse),
        ({"reset_connection": True}, NetworkError),
    ],
)
def test_exhausted_retries_raise_the_typed_error(fake, make_client, sleeps, fault, error):
    fake.inject(times=3, **fault)
    with pytest.raises(error) as caught:
        make_client(max_attempts=3).get(f"/repos/{REPO}")
    assert len(fake.requests) == 3 and sleeps == [0.75, 1.5]
    assert "\n" not in str(caught.value)


def test_timeout_is_a_network_error(fake, make_client):
    fake.inject(delay=0.5, times=2)
    with pytest.raises(NetworkError, match="cannot reach GitHub"):
        make_client(timeout=0.1, max_attempts=2).get(f"/repos/{REPO}")


def test_unreachable_server_is_a_network_error(fake, client):
    fake.go_down(refuse=True)
    with pytest.raises(NetworkError) as caught:
        client.get(f"/repos/{REPO}")
    assert caught.value.code == "network" and caught.value.status is None


@pytest.mark.parametrize(
    ("setup", "error", "code"),
    [
        (lambda fake: fake.inject(401), Unauthorized, "unauthorized"),
        (lambda fake: fake.inject(403), GitHubError, "forbidden"),
        (lambda fake: fake.inject(422), GitHubError, "client_error"),
        (lambda fake: None, NotFound, "not_found"),
    ],
)
def test_client_errors_are_raised_without_retry(fake, client, sleeps, setup, error, code):
    setup(fake)
    with pytest.raises(error) as caught:
        client.get("/repos/acme/private-thing")
    assert (caught.value.code, len(fake.requests), sleeps) == (code, 1, [])


def test_wrong_token_is_unauthorized(fake, client):
    fake.token = "ghp_rotated"
    with pytest.raises(Unauthorized, match="token missing or invalid"):
        client.get(f"/repos/{REPO}")
    assert len(fake.requests) == 1


def test_deleted_item_is_gone(fake, client):
    (number,) = add_issues(fake, 1)
    fake.delete_item(REPO, number)
    with pytest.raises(Gone):
        client.get(f"/repos/{REPO}/issues/{number}")


@pytest.mark.parametrize("token", [None, "", Secret("")])
def test_missing_token_is_unauthorized_without_a_request(fake, token):
    with pytest.raises(Unauthorized, match="token missing or invalid"):
        GitHubClient(fake.base_url, token).get(f"/repos/{REPO}")
    assert fake.requests == []


def test_from_settings_uses_api_base_and_secret_token(fake, tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path,
        db_path=tmp_path / "db",
        github_token=Secret(fake.token),
        github_api_base=fake.base_url,
    )
    assert GitHubClient.from_settings(settings).get(f"/repos/{REPO}").status == 200


# -- rate limits ------------------------------------------------------------------------------


def test_exhausted_rate_limit_waits_until_reset_then_retries(clock):
    with FakeGitHub(clock=clock, rate_limit=1) as fake:
        fake.add_repo(REPO)
        asked = []

        def sleep(seconds: float) -> None:
            asked.append(seconds)
            fake.reset_rate_limit()

        client = GitHubClient(
            fake.base_url, fake.token, sleep=sleep, clock=clock, max_wait_seconds=4000
        )
        client.get(f"/repos/{REPO}")
        assert client.get(f"/repos/{REPO}").status == 200
        assert asked == [3601.0]  # reset is an hour after T0, plus one second of margin
        assert [r.status for r in fake.requests] == [200, 403, 200]


def test_rate_limit_fails_fast_when_the_wait_exceeds_the_maximum(clock, sleeps):
    with FakeGitHub(clock=clock, rate_limit=1, rate_limit_status=429) as fake:
        fake.add_repo(REPO)
        client = GitHubClient(
            fake.base_url, fake.token, sleep=sleeps.append, clock=clock, max_wait_seconds=300
        )
        client.get(f"/repos/{REPO}")
        with pytest.raises(RateLimited) as caught:
            client.get(f"/repos/{REPO}")
        assert str(caught.value) == "rate limited until 13:00 UTC"
        assert caught.value.reset_at == T0 + timedelta(hours=1) and sleeps == []
        assert client.last_rate_limit.remaining == 0


def test_rate_limit_wait_uses_githubs_clock_not_a_skewed_local_one(clock):
    with FakeGitHub(clock=clock, rate_limit=1) as fake:
        fake.add_repo(REPO)
        asked = []

        def sleep(seconds: float) -> None:
            asked.append(seconds)
            fake.reset_rate_limit()

        local = Clock()
        local.now = T0 - timedelta(hours=3)
        client = GitHubClient(
            fake.base_url, fake.token, sleep=sleep, clock=local, max_wait_seconds=4000
        )
        client.get(f"/repos/{REPO}")
        assert client.get(f"/repos/{REPO}").status == 200
        assert asked == [3601.0]  # not 4 h: the reset is an hour away on GitHub's Date clock


def test_after_failing_fast_nothing_is_sent_until_the_reset(clock, sleeps):
    with FakeGitHub(clock=clock, rate_limit=1) as fake:
        fake.add_repo(REPO)
        client = GitHubClient(
            fake.base_url, fake.token, sleep=sleeps.append, clock=clock, max_wait_seconds=60
        )
        client.get(f"/repos/{REPO}")
        for _ in range(3):
            with pytest.raises(RateLimited):
                client.get(f"/repos/{REPO}")
        assert len(fake.requests) == 2 and sleeps == []
        clock.now = T0 + timedelta(hours=1, seconds=1)
        fake.reset_rate_limit()
        assert client.get(f"/repos/{REPO}").status == 200


def test_secondary_limit_honours_retry_after(fake, client, sleeps):
    fake.inject(403, secondary=True, retry_after=7)
    assert client.get(f"/repos/{REPO}").status == 200
    assert sleeps == [7.0]


def test_secondary_limit_without_retry_after_waits_a_minute_then_doubles(fake, client, sleeps):
    fake.inject(429, times=3)
    assert client.get(f"/repos/{REPO}").status == 200
    assert sleeps == [60.0, 120.0, 240.0]


def test_secondary_wait_beyond_the_maximum_is_raised(fake, make_client, sleeps):
    fake.inject(429, retry_after=600)
    with pytest.raises(RateLimited) as caught:
        make_client().get(f"/repos/{REPO}")
    assert not caught.value.primary and caught.value.retry_after == 600 and sleeps == []


# -- redirects --------------------------------------------------------------------------------


def test_renamed_repo_is_followed_and_reported(fake, client):
    fake.rename_repo(REPO, "acme/gizmos")
    response = client.get(f"/repos/{REPO}")
    assert response.data["full_name"] == "acme/gizmos"
    # GitHub redirects by repository id, not to the new name.
    assert response.url == f"{fake.base_url}/repositories/{response.data['id']}"
    assert response.redirected_from == f"{fake.base_url}/repos/{REPO}"
    assert [r.has_auth for r in fake.requests] == [True, True]


def test_transferred_issue_is_followed_and_reported(fake, client):
    fake.add_repo("acme/other")
    (number,) = add_issues(fake, 1)
    new_number = fake.transfer_item(REPO, number, "acme/other")
    response = client.get(f"/repos/{REPO}/issues/{number}")
    assert response.url.endswith(
        f"/repositories/{fake.resolve('acme/other').id}/issues/{new_number}"
    )
    assert (response.data["number"], response.data["repository_url"]) == (
        new_number,
        f"{fake.base_url}/repos/acme/other",
    )  # the new home is in the body
    assert response.redirected_from.endswith(f"/repos/{REPO}/issues/{number}")


def test_authorization_is_never_sent_to_another_origin(fake, client, clock):
    with FakeGitHub(token=None, clock=clock) as elsewhere:
        elsewhere.add_repo(REPO)
        fake.inject(302, location=f"{elsewhere.base_url}/repos/{REPO}")
        response = client.get(f"/repos/{REPO}")
        assert response.data["full_name"] == REPO and response.redirected_from is None
        assert fake.requests[0].has_auth is True
        assert [r.has_auth for r in elsewhere.requests] == [False]


def test_redirect_loops_are_cut(fake, client):
    fake.inject(307, location=f"{fake.base_url}/repos/{REPO}", times=10)
    with pytest.raises(RedirectRefused, match="redirects"):
        client.get(f"/repos/{REPO}")


def test_https_to_http_redirect_is_refused():
    calls = []

    def transport(method, url, headers, body, timeout):
        calls.append(url)
        return 301, {"location": "http://api.github.test/repos/a/b"}, b""

    client = GitHubClient("https://api.github.test", "ghp_x", transport=transport)
    with pytest.raises(RedirectRefused, match="https to http") as caught:
        client.get("/repos/a/b")
    assert caught.value.code == "redirect_refused" and calls == [
        "https://api.github.test/repos/a/b"
    ]


@pytest.mark.parametrize("base", ["http://api.example.com", "http://192.168.1.5:8080"])
def test_plain_http_base_is_refused_for_non_loopback_hosts(base):
    with pytest.raises(ValueError, match="loopback"):
        GitHubClient(base, "ghp_x")


# -- hygiene and reporting ----------------------------------------------------------------------


def test_token_never_appears_in_repr_errors_or_logs(fake, make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="pmbot.github")
    infos = []
    client = make_client(on_response=infos.append)
    fake.inject(502)
    client.get(f"/repos/{REPO}")
    with pytest.raises(NotFound) as missing:
        client.get("/repos/acme/missing")
    fake.inject(401)
    with pytest.raises(Unauthorized) as refused:
        client.get(f"/repos/{REPO}")
    errors = [missing.value, refused.value]
    texts = [repr(client), str(vars(client)), caplog.text, *map(repr, infos)]
    texts += [f"{e!s} {e!r} {e.args}" for e in errors]
    assert caplog.text and all(fake.token not in text for text in texts)


def test_on_response_reports_every_exchange(fake, make_client):
    infos = []
    client = make_client(on_response=infos.append)
    fake.inject(502)
    client.get(f"/repos/{REPO}")
    fake.go_down(refuse=True)
    with pytest.raises(NetworkError):
        make_client(on_response=infos.append, max_attempts=1).get(f"/repos/{REPO}")
    assert [(i.status, i.error_code) for i in infos] == [
        (502, "server_error"),
        (200, None),
        (None, "network"),
    ]
    assert infos[0].error == f"GitHub server error 502 (GET /repos/{REPO})"
    assert infos[1].rate_limit.used == 1 and infos[1].at == T0  # injected faults are free


def test_one_request_in_flight_per_process(fake, make_client):
    fake.inject(delay=0.15, times=2)
    raw = [threading.Thread(target=_raw_get, args=(fake,)) for _ in range(2)]
    _run_all(raw)
    assert fake.max_in_flight == 2  # the fake does see concurrency when the client is bypassed
    fake.max_in_flight = 0
    fake.inject(delay=0.15, times=2)
    clients = [make_client(), make_client()]
    _run_all([threading.Thread(target=c.get, args=(f"/repos/{REPO}",)) for c in clients])
    assert fake.max_in_flight == 1 and [r.status for r in fake.requests[-2:]] == [200, 200]


def _raw_get(fake) -> None:
    request = urllib.request.Request(
        f"{fake.base_url}/repos/{REPO}", headers={"Authorization": f"Bearer {fake.token}"}
    )
    urllib.request.urlopen(request, timeout=5).close()


def _run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
