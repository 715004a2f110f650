"""Real recorded api.github.com traffic (`tests/recorded/octokit-fixtures/`) replayed through
the client's transport seam; the project's fake GitHub must answer in the same shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.github.protocol import GitHubError, NotFound
from tests.conftest import FAKE_REPO

RECORDED = Path(__file__).parent / "recorded" / "octokit-fixtures"
API = "https://api.github.com"
TOKEN = "ghp_" + "RecordedTrafficToken0123" * 2
BY_ID = re.compile(r"/repositories/\d+(/|$)")


def replaying(*scenarios: str):
    """A transport answering each recorded (method, path and query) with its recorded answer;
    a path recorded only for another method (the 422 of a POST) answers a GET too."""
    answers = {}
    for scenario in scenarios:
        for exchange in json.loads((RECORDED / f"{scenario}.json").read_text()):
            headers = {k.lower(): str(v) for k, v in exchange["headers"].items()}
            if "x-ratelimit-reset" in headers:  # the package's normaliser writes a fixed
                headers["x-ratelimit-reset"] = "1507651200"  # placeholder in milliseconds
            body = exchange["response"]
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            answer = (exchange["status"], headers, data)
            answers.setdefault((exchange["method"].upper(), exchange["path"]), answer)
            answers.setdefault(("*", exchange["path"]), answer)
    asked = []

    def transport(method, url, headers, body, timeout):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        asked.append(path)
        return answers.get((method, path)) or answers[("*", path)]

    transport.asked = asked
    return transport


def client_for(transport) -> GitHubClient:
    return GitHubClient(API, TOKEN, transport=transport, sleep=lambda _s: None)


def test_recorded_pagination_follows_link_by_repository_id_to_the_end():
    transport = replaying("paginate-issues")
    pages = list(
        client_for(transport).paginate(
            "/repos/octokit-fixture-org/paginate-issues/issues", {"per_page": 3}
        )
    )
    numbers = [item["number"] for page in pages for item in page.data]
    assert numbers == list(range(13, 0, -1))
    assert all(BY_ID.match(path) for path in transport.asked[1:])  # GitHub's Link form
    assert pages[0].rate_limit.limit == 5000 and pages[0].rate_limit.remaining == 4999


def test_recorded_rename_redirects_by_repository_id_and_is_followed():
    response = client_for(replaying("rename-repository")).get(
        "/repos/octokit-fixture-org/rename-repository"
    )
    assert response.redirected_from.endswith("/repos/octokit-fixture-org/rename-repository")
    assert response.url == f"{API}/repositories/1000"
    assert response.data["id"] == 1000


def test_recorded_error_bodies_become_clear_errors():
    client = client_for(replaying("branch-protection", "errors"))
    with pytest.raises(NotFound):
        client.get("/repos/octokit-fixture-org/branch-protection/branches/main/protection")
    with pytest.raises(GitHubError) as raised:
        client.get("/repos/octokit-fixture-org/errors/labels")
    assert raised.value.status == 422 and "Validation Failed" in str(raised.value)


# -- the fake agrees with the recording --------------------------------------------------------


def recorded(scenario: str, index: int) -> dict:
    return json.loads((RECORDED / f"{scenario}.json").read_text())[index]


def test_the_fakes_link_headers_name_the_repo_by_id_as_github_does(fake, clock):
    for number in range(5):
        clock.advance(1)
        fake.add_issue(FAKE_REPO, title=f"issue {number}")
    client = GitHubClient(fake.base_url, fake.token, sleep=lambda _s: None)
    pages = list(client.paginate(f"/repos/{FAKE_REPO}/issues", {"per_page": 3}))
    recorded_next = recorded("paginate-issues", 0)["headers"]["link"]
    assert BY_ID.match(urlsplit(recorded_next.split(">")[0].lstrip("<")).path)
    assert BY_ID.match(urlsplit(pages[0].next_url).path)
    used = {"number", "state", "title", "user", "labels", "comments", "created_at", "updated_at"}
    used |= {"closed_at", "html_url", "repository_url", "body"}  # what the cache keeps
    assert used <= set(recorded("paginate-issues", 0)["response"][0]) & set(pages[0].data[0])


def test_the_fakes_rename_301_and_error_bodies_match_githubs(fake):
    fake.rename_repo(FAKE_REPO, "acme/renamed")
    client = GitHubClient(fake.base_url, fake.token, sleep=lambda _s: None)
    response = client.get(f"/repos/{FAKE_REPO}")
    assert BY_ID.match(urlsplit(response.url).path) and response.redirected_from
    moved = recorded("rename-repository", 1)
    assert moved["status"] == 301 and BY_ID.match(urlsplit(moved["headers"]["location"]).path)
    with pytest.raises(NotFound):
        client.get(f"/repos/{FAKE_REPO}/issues/999")
    assert {"message", "documentation_url"} <= set(recorded("branch-protection", 0)["response"])
