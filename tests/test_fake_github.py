"""The fake GitHub behaves like GitHub where pmbot's sync depends on it.

These tests speak raw HTTP (urllib, no pmbot code), so a bug in the client cannot hide a bug
in the fake.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.fake_github import DEFAULT_TOKEN, FakeGitHub
from tests.fake_github.clock import T0
from tests.fake_github.paging import PAGE_422

REPO = "acme/widgets"
SAMPLES = Path(__file__).parent / "fake_github" / "samples"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def get(fake, path_or_url: str, *, token: str | None = DEFAULT_TOKEN, **headers):
    """(status, lower-case headers, body bytes) of one raw GET; redirects are not followed."""
    url = path_or_url if path_or_url.startswith("http") else fake.base_url + path_or_url
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with _OPENER.open(request, timeout=5) as answer:
            return answer.status, _lower(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, _lower(err.headers), err.read()


def _lower(message) -> dict[str, str]:
    return {name.lower(): value for name, value in message.items()}


def links(headers: dict[str, str]) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers.get("link", ""))}


def add_issues(fake, count: int, *, start: datetime = T0, step: int = 60) -> list[int]:
    return [
        fake.add_issue(REPO, title=f"issue {i}", updated_at=start + timedelta(seconds=i * step))
        for i in range(count)
    ]


def walk(fake, path: str) -> list[dict]:
    """Follow Link next from `path`; every item served, in order."""
    items, url = [], path
    while url:
        status, headers, body = get(fake, url)
        assert status == 200, body
        items.extend(json.loads(body))
        url = links(headers).get("next")
    return items


# -- listings and paging ---------------------------------------------------------------------


def test_listing_pages_carry_next_and_last_links(fake):
    add_issues(fake, 250)
    status, headers, body = get(fake, f"/repos/{REPO}/issues?per_page=100")
    assert status == 200 and len(json.loads(body)) == 100
    rels = links(headers)
    assert rels["next"].endswith("per_page=100&page=2")
    assert rels["last"].endswith("per_page=100&page=3")
    repo_id = fake.resolve(REPO).id  # GitHub's Link headers name the repo by its id
    assert rels["next"].startswith(fake.base_url + f"/repositories/{repo_id}/issues?")


def test_single_page_listing_has_no_link_header(fake):
    add_issues(fake, 3)
    status, headers, body = get(fake, f"/repos/{REPO}/issues")
    assert (status, len(json.loads(body))) == (200, 3)
    assert "link" not in headers


def test_per_page_defaults_to_30_and_caps_at_the_maximum(fake):
    add_issues(fake, 120)
    assert len(json.loads(get(fake, f"/repos/{REPO}/issues")[2])) == 30
    assert len(json.loads(get(fake, f"/repos/{REPO}/issues?per_page=500")[2])) == 100


def test_issues_listing_includes_prs_marked_with_pull_request(fake):
    issue = fake.add_issue(REPO, title="plain")
    pr = fake.add_pr(REPO, title="change", head_ref="feat", base_ref="main", draft=True)
    by_number = {i["number"]: i for i in json.loads(get(fake, f"/repos/{REPO}/issues")[2])}
    assert "pull_request" not in by_number[issue]
    assert by_number[pr]["pull_request"]["url"] == f"{fake.base_url}/repos/{REPO}/pulls/{pr}"
    pulls = json.loads(get(fake, f"/repos/{REPO}/pulls")[2])
    assert [(p["number"], p["head"]["ref"], p["base"]["ref"], p["draft"]) for p in pulls] == [
        (pr, "feat", "main", True)
    ]


def test_payloads_keep_every_key_of_the_samples(fake):
    issue = fake.add_issue(REPO, labels=["bug"], user="alice")
    pr = fake.add_pr(REPO)
    sample = {
        name: json.loads((SAMPLES / f"{name}.json").read_text())
        for name in ("issue", "pull_request_simple", "pull_request", "repository")
    }
    plain = json.loads(get(fake, f"/repos/{REPO}/issues/{issue}")[2])
    assert list(plain) == [k for k in sample["issue"] if k != "pull_request"]
    assert list(json.loads(get(fake, f"/repos/{REPO}/issues/{pr}")[2])) == list(sample["issue"])
    assert list(json.loads(get(fake, f"/repos/{REPO}/pulls")[2])[0]) == list(
        sample["pull_request_simple"]
    )
    assert list(json.loads(get(fake, f"/repos/{REPO}/pulls/{pr}")[2])) == list(
        sample["pull_request"]
    )
    assert list(json.loads(get(fake, f"/repos/{REPO}")[2])) == list(sample["repository"])
    assert (plain["user"]["login"], plain["labels"][0]["name"]) == ("alice", "bug")
    assert plain["url"] == f"{fake.base_url}/repos/{REPO}/issues/{issue}"


def test_state_sort_and_direction(fake):
    first, second, third = add_issues(fake, 3)
    fake.close(REPO, second, at=T0 + timedelta(hours=1))
    numbers = [i["number"] for i in json.loads(get(fake, f"/repos/{REPO}/issues")[2])]
    assert numbers == [third, first]  # open only, newest created first
    query = "state=all&sort=updated&direction=asc"
    numbers = [i["number"] for i in json.loads(get(fake, f"/repos/{REPO}/issues?{query}")[2])]
    assert numbers == [first, third, second]
    closed = json.loads(get(fake, f"/repos/{REPO}/issues?state=closed")[2])
    assert [(i["number"], i["state"]) for i in closed] == [(second, "closed")]
    assert get(fake, f"/repos/{REPO}/issues?sort=bogus")[0] == 422


@pytest.mark.parametrize(("inclusive", "expected"), [(True, [1, 2]), (False, [2])])
@pytest.mark.parametrize("order", ["sort=updated", "sort=updated&direction=asc", "sort=created"])
def test_since_filters_on_updated_at(clock, inclusive, expected, order):
    with FakeGitHub(clock=clock, since_inclusive=inclusive) as fake:
        fake.add_repo(REPO)
        fake.add_issue(REPO, updated_at="2026-03-01T12:00:00Z")
        fake.add_issue(REPO, updated_at="2026-03-01T12:00:01Z")
        fake.add_issue(REPO, updated_at="2026-03-01T11:59:59Z")
        body = get(fake, f"/repos/{REPO}/issues?since=2026-03-01T12:00:00Z&{order}")[2]
        assert sorted(i["number"] for i in json.loads(body)) == expected


def test_page_past_the_cursor_threshold_answers_422_and_links_switch_to_after(clock):
    with FakeGitHub(clock=clock, cursor_after_page=2) as fake:
        fake.add_repo(REPO)
        numbers = add_issues(fake, 55)
        status, _, body = get(fake, f"/repos/{REPO}/issues?per_page=10&page=3")
        assert (status, json.loads(body)["message"]) == (422, PAGE_422)
        _, headers, _ = get(fake, f"/repos/{REPO}/issues?per_page=10&page=2")
        assert "after=" in links(headers)["next"] and "last" not in links(headers)
        served = walk(fake, f"/repos/{REPO}/issues?per_page=10&state=all")
        assert [i["number"] for i in served] == sorted(numbers, reverse=True)


def test_listing_is_computed_per_request_so_an_update_shifts_later_pages(fake, clock):
    numbers = add_issues(fake, 6)  # updated_at ascending with number
    query = f"/repos/{REPO}/issues?sort=updated&direction=desc&per_page=3"
    _, headers, body = get(fake, query)
    assert [i["number"] for i in json.loads(body)] == numbers[5:2:-1]
    clock.advance(3600)
    fake.update(REPO, numbers[0], title="edited")  # jumps to the front
    second = json.loads(get(fake, links(headers)["next"])[2])
    assert [i["number"] for i in second] == [numbers[3], numbers[2], numbers[1]]


def test_on_request_runs_before_the_page_is_sent(fake, clock):
    numbers = add_issues(fake, 4)
    seen = []

    def edit_once(record):
        seen.append(record.query.get("page", "1"))
        if len(seen) == 1:
            clock.advance(3600)
            fake.update(REPO, numbers[0], title="moved")

    fake.on_request(edit_once)
    served = walk(fake, f"/repos/{REPO}/issues?sort=updated&direction=asc&per_page=2")
    assert seen == ["1", "2"]
    assert [i["number"] for i in served] == [numbers[0], numbers[1], numbers[3], numbers[0]]


# -- single items, gone items, renames -----------------------------------------------------


def test_deleted_item_leaves_listings_and_answers_410(fake):
    keep, drop = add_issues(fake, 2)
    fake.delete_item(REPO, drop)
    assert [i["number"] for i in json.loads(get(fake, f"/repos/{REPO}/issues")[2])] == [keep]
    assert get(fake, f"/repos/{REPO}/issues/{drop}")[0] == 410
    assert set(fake.truth(REPO)) == {keep}


def test_transferred_item_answers_301_to_its_new_home(fake):
    fake.add_repo("acme/other")
    (number,) = add_issues(fake, 1)
    new_number = fake.transfer_item(REPO, number, "acme/other")
    status, headers, _ = get(fake, f"/repos/{REPO}/issues/{number}")
    assert status == 301
    other_id = fake.resolve("acme/other").id
    assert headers["location"] == f"{fake.base_url}/repositories/{other_id}/issues/{new_number}"
    moved = json.loads(get(fake, headers["location"])[2])
    assert moved["repository_url"] == f"{fake.base_url}/repos/acme/other"
    assert moved["number"] == new_number
    assert fake.truth(REPO) == {} and list(fake.truth("acme/other")) == [new_number]


def test_renamed_repo_redirects_every_old_path(fake):
    add_issues(fake, 1)
    fake.rename_repo(REPO, "acme/gizmos")
    status, headers, _ = get(fake, f"/repos/{REPO}/issues?state=all")
    assert status == 301
    repo_id = fake.resolve("acme/gizmos").id
    assert headers["location"] == f"{fake.base_url}/repositories/{repo_id}/issues?state=all"
    doc = json.loads(get(fake, headers["location"])[2])[0]
    assert doc["repository_url"] == f"{fake.base_url}/repos/acme/gizmos"
    assert json.loads(get(fake, f"/repositories/{repo_id}")[2])["full_name"] == "acme/gizmos"


def test_a_new_repo_under_a_renamed_repos_old_name_takes_the_name_over(fake):
    (old,) = add_issues(fake, 1)
    renamed_id = fake.resolve(REPO).id
    fake.rename_repo(REPO, "acme/gizmos")
    fake.add_repo(REPO)
    fake.add_issue(REPO, title="someone else's")
    status, _, body = get(fake, f"/repos/{REPO}/issues")  # no redirect any more
    assert status == 200 and [i["title"] for i in json.loads(body)] == ["someone else's"]
    assert json.loads(get(fake, f"/repos/{REPO}")[2])["id"] != renamed_id
    by_id = json.loads(get(fake, f"/repositories/{renamed_id}/issues")[2])
    assert [i["number"] for i in by_id] == [old]


def test_unknown_repo_and_issue_answer_404(fake):
    assert get(fake, "/repos/acme/private-thing")[0] == 404
    assert get(fake, f"/repos/{REPO}/issues/999")[0] == 404


def test_truth_holds_the_fields_a_cache_keeps(fake, clock):
    issue = fake.add_issue(REPO, title="Bug", labels=["bug"], user="alice", comments=2)
    pr = fake.add_pr(REPO, title="Fix", head_ref="fix", base_ref="main")
    clock.advance(60)
    fake.close(REPO, pr, merged=True)
    later = "2026-03-01T12:01:00Z"
    assert fake.truth(REPO) == {
        issue: dict(
            kind="issue",
            state="open",
            title="Bug",
            updated_at="2026-03-01T12:00:00Z",
            labels=["bug"],
            user="alice",
            comments=2,
            closed_at=None,
            draft=None,
            merged_at=None,
            head_ref=None,
            base_ref=None,
        ),
        pr: dict(
            kind="pr",
            state="closed",
            title="Fix",
            updated_at=later,
            labels=[],
            user="octocat",
            comments=0,
            closed_at=later,
            draft=False,
            merged_at=later,
            head_ref="fix",
            base_ref="main",
        ),
    }


def test_update_bumps_updated_at_to_the_clock_unless_given(fake, clock):
    (number,) = add_issues(fake, 1)
    clock.advance(90)
    fake.update(REPO, number, title="new")
    assert fake.truth(REPO)[number]["updated_at"] == "2026-03-01T12:01:30Z"
    fake.update(REPO, number, labels=["x"], updated_at="2026-03-02T00:00:00Z")
    assert fake.truth(REPO)[number]["updated_at"] == "2026-03-02T00:00:00Z"


# -- auth, conditional requests, rate limit ------------------------------------------------


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic abc"])
def test_bad_or_missing_credentials_answer_401(fake, auth):
    headers = {"Authorization": auth} if auth else {}
    status, response_headers, body = get(fake, f"/repos/{REPO}", token=None, **headers)
    assert (status, json.loads(body)["message"]) == (401, "Bad credentials")
    # GitHub answers a 401 as to an anonymous caller: its limit (60), not the token's.
    assert response_headers["x-ratelimit-limit"] == "60"
    assert "x-oauth-scopes" not in response_headers
    assert fake.requests[-1].has_auth is bool(auth)


def test_a_classic_token_is_told_its_scopes_a_fine_grained_one_none(fake):
    assert get(fake, f"/repos/{REPO}")[1]["x-oauth-scopes"] == "repo"
    fake.oauth_scopes = None
    assert "x-oauth-scopes" not in get(fake, f"/repos/{REPO}")[1]


def test_token_scheme_is_accepted_too(fake):
    assert get(fake, f"/repos/{REPO}", token=None, Authorization=f"token {fake.token}")[0] == 200


def test_etag_304_has_no_body_and_costs_no_rate_limit(fake):
    add_issues(fake, 2)
    _, headers, _ = get(fake, f"/repos/{REPO}/issues")
    used = fake.rate_used
    again = get(fake, f"/repos/{REPO}/issues", **{"If-None-Match": headers["etag"]})
    assert (again[0], again[2], fake.rate_used) == (304, b"", used)
    assert again[1]["x-ratelimit-remaining"] == str(5000 - used)
    assert fake.requests[-1].if_none_match == headers["etag"]


def test_last_modified_answers_if_modified_since(fake):
    (number,) = add_issues(fake, 1)
    _, headers, _ = get(fake, f"/repos/{REPO}/issues/{number}")
    conditional = {"If-Modified-Since": headers["last-modified"]}
    assert get(fake, f"/repos/{REPO}/issues/{number}", **conditional)[0] == 304


def test_every_response_carries_rate_limit_headers_and_rate_limit_is_free(fake):
    _, headers, _ = get(fake, f"/repos/{REPO}")
    assert headers["x-ratelimit-used"] == "1" and headers["x-ratelimit-resource"] == "core"
    assert int(headers["x-ratelimit-reset"]) == int(T0.timestamp()) + 3600
    _, _, body = get(fake, "/rate_limit")
    assert json.loads(body)["resources"]["core"]["remaining"] == 4999
    assert fake.rate_used == 1


@pytest.mark.parametrize("status", [403, 429])
def test_exhausted_rate_limit_answers_with_remaining_zero_until_reset(clock, status):
    with FakeGitHub(clock=clock, rate_limit=2, rate_limit_status=status) as fake:
        fake.add_repo(REPO)
        assert [get(fake, f"/repos/{REPO}")[0] for _ in range(2)] == [200, 200]
        code, headers, _ = get(fake, f"/repos/{REPO}")
        assert (code, headers["x-ratelimit-remaining"]) == (status, "0")
        assert headers["x-ratelimit-reset"] == str(fake.rate_reset)
        clock.advance(3600)
        assert get(fake, f"/repos/{REPO}")[0] == 200
        fake.reset_rate_limit()
        assert (fake.rate_used, fake.rate_remaining) == (0, 2)


# -- faults ----------------------------------------------------------------------------------


def test_injected_status_fires_the_given_number_of_times_on_matching_paths(fake):
    fake.inject(502, times=2, path="/issues")
    assert get(fake, f"/repos/{REPO}")[0] == 200
    assert [get(fake, f"/repos/{REPO}/issues")[0] for _ in range(3)] == [502, 502, 200]


def test_malformed_fault_sends_truncated_json_with_200(fake):
    add_issues(fake, 3)
    fake.inject(malformed=True)
    status, _, body = get(fake, f"/repos/{REPO}/issues")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_rate_limit_faults_carry_retry_after_and_the_secondary_message(fake):
    fake.inject(429, retry_after=2)
    fake.inject(403, secondary=True, retry_after=1)
    first, second = get(fake, f"/repos/{REPO}"), get(fake, f"/repos/{REPO}")
    assert (first[0], first[1]["retry-after"], second[0], second[1]["retry-after"]) == (
        429,
        "2",
        403,
        "1",
    )
    assert "secondary rate limit" in json.loads(second[2])["message"]
    assert second[1]["x-ratelimit-remaining"] != "0"


def test_reset_connection_drops_the_socket_without_a_response(fake):
    fake.inject(reset_connection=True)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        get(fake, f"/repos/{REPO}")
    assert fake.requests[-1].status is None
    assert get(fake, f"/repos/{REPO}")[0] == 200


def test_delay_holds_the_response(fake):
    fake.inject(delay=0.3)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(fake.base_url + f"/repos/{REPO}", timeout=0.05)


def test_down_answers_503_or_refuses_then_comes_back(fake):
    fake.go_down()
    assert get(fake, f"/repos/{REPO}")[0] == 503
    fake.go_down(refuse=True)
    with pytest.raises(urllib.error.URLError):
        get(fake, f"/repos/{REPO}")
    fake.come_up()
    assert get(fake, f"/repos/{REPO}")[0] == 200


def test_requests_are_recorded_with_query_and_selected_headers(fake):
    get(fake, f"/repos/{REPO}/issues?state=all&per_page=5", **{"User-Agent": "pmbot/test"})
    record = fake.requests[-1]
    assert (record.method, record.path, record.query) == (
        "GET",
        f"/repos/{REPO}/issues",
        {"state": "all", "per_page": "5"},
    )
    assert (record.has_auth, record.headers["user-agent"], record.status) == (
        True,
        "pmbot/test",
        200,
    )


def test_gzip_when_enabled_and_accepted(clock):
    with FakeGitHub(clock=clock, gzip=True) as fake:
        fake.add_repo(REPO)
        add_issues(fake, 3)
        _, headers, body = get(fake, f"/repos/{REPO}/issues", **{"Accept-Encoding": "gzip"})
        assert headers["content-encoding"] == "gzip"
        assert len(json.loads(gzip.decompress(body))) == 3


# -- user and repo discovery ---------------------------------------------------------------


def test_user_and_repo_listings(fake):
    fake.add_repo("acme/archive", private=True, archived=True)
    fake.add_repo("someone/else")
    add_issues(fake, 2)
    assert json.loads(get(fake, "/user")[2])["login"] == "octocat"
    repos = json.loads(get(fake, "/user/repos?per_page=100")[2])
    assert [r["full_name"] for r in repos] == ["acme/archive", REPO, "someone/else"]
    assert (repos[0]["private"], repos[0]["archived"], repos[1]["open_issues_count"]) == (
        True,
        True,
        2,
    )
    assert all("pushed_at" in r for r in repos)
    org = json.loads(get(fake, "/orgs/acme/repos")[2])
    assert [r["full_name"] for r in org] == ["acme/archive", REPO]
    _, headers, _ = get(fake, "/user/repos?per_page=2")
    assert links(headers)["next"].endswith("per_page=2&page=2")


# -- standalone process --------------------------------------------------------------------


def test_module_prints_base_url_and_token_then_serves_the_demo():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_github", "--demo"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        info = json.loads(process.stdout.readline())
        fake_view = type("Remote", (), {"base_url": info["base_url"]})
        status, headers, body = get(
            fake_view, "/repos/acme/widgets/issues?state=all&per_page=100", token=info["token"]
        )
        assert status == 200 and len(json.loads(body)) == 100 and "next" in links(headers)
        assert get(fake_view, "/repos/acme/private-thing", token=info["token"])[0] == 404
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_a_repository_is_also_served_by_its_id_with_a_conditional_etag(fake):
    _, headers, body = get(fake, f"/repos/{REPO}")
    repo = json.loads(body)
    assert repo["clone_url"] == f"https://github.com/{REPO}.git"  # html host + name + .git
    by_id = get(fake, f"/repositories/{repo['id']}")
    assert (by_id[0], json.loads(by_id[2])) == (200, repo)
    assert get(fake, f"/repositories/{repo['id']}", **{"If-None-Match": headers["etag"]})[0] == 304
    assert get(fake, "/repositories/999999")[0] == 404
    fake.rename_repo(REPO, "acme/gizmos")  # the id keeps answering, with the new name
    renamed = json.loads(get(fake, f"/repositories/{repo['id']}")[2])
    assert (renamed["full_name"], renamed["clone_url"]) == (
        "acme/gizmos", "https://github.com/acme/gizmos.git"
    )  # fmt: skip


def test_clone_urls_point_at_the_html_host_the_fake_was_given():
    with FakeGitHub(html_base="http://127.0.0.1:9") as server:
        server.add_repo("acme/x")
        doc = json.loads(get(server, "/repos/acme/x")[2])
    assert doc["clone_url"] == "http://127.0.0.1:9/acme/x.git"


def test_an_item_listed_late_appears_behind_newer_items_once_its_lag_is_over(fake, clock):
    late, *_ = add_issues(fake, 3)
    clock.advance(5)
    fake.update(REPO, late, title="changed")
    fake.list_late(REPO, late, 20)
    query = f"/repos/{REPO}/issues?sort=updated&direction=desc"
    assert late not in [i["number"] for i in json.loads(get(fake, query)[2])]
    assert json.loads(get(fake, f"/repos/{REPO}/issues/{late}")[2])["title"] == "changed"
    clock.advance(20)
    assert [i["number"] for i in json.loads(get(fake, query)[2])][-1] == late  # behind newer


def test_pushed_commits_move_a_pr_in_pulls_but_not_in_issues(fake, clock):
    pr = fake.add_pr(REPO, title="topic")
    issue = fake.add_issue(REPO, title="newer")
    clock.advance(30)
    fake.push_commits(REPO, pr)
    pulls = json.loads(get(fake, f"/repos/{REPO}/pulls?state=all&sort=updated&direction=desc")[2])
    issues = {i["number"]: i for i in json.loads(get(fake, f"/repos/{REPO}/issues")[2])}
    assert pulls[0]["updated_at"] > issues[pr]["updated_at"] == issues[issue]["updated_at"]


def test_assignees_are_per_item_and_assignee_is_the_first(fake):
    """GitHub's `assignees` (user objects) and `assignee` (the first, or null), in the issue
    and /pulls views; items made without the field keep the samples' octocat."""
    nobody = fake.add_issue(REPO, assignees=[])
    two = fake.add_pr(REPO, assignees=["alice", "bob"])
    plain = fake.add_issue(REPO)
    fake.update(REPO, nobody, assignees=["carol"])
    for path in (f"/repos/{REPO}/issues/{two}", f"/repos/{REPO}/pulls/{two}"):
        body = json.loads(get(fake, path)[2])
        assert [a["login"] for a in body["assignees"]] == ["alice", "bob"]
        assert body["assignee"]["login"] == "alice"
    assert (
        json.loads(get(fake, f"/repos/{REPO}/issues/{nobody}")[2])["assignee"]["login"] == "carol"
    )
    assert [
        a["login"] for a in json.loads(get(fake, f"/repos/{REPO}/issues/{plain}")[2])["assignees"]
    ] == ["octocat"]
    fake.update(REPO, plain, assignees=[])
    body = json.loads(get(fake, f"/repos/{REPO}/issues/{plain}")[2])
    assert body["assignees"] == [] and body["assignee"] is None


def test_the_issue_view_of_a_pr_links_to_the_pr_page(fake):
    """GitHub's issues endpoint gives a PR the html_url of its /pull/ page."""
    issue, pr = fake.add_issue(REPO), fake.add_pr(REPO)
    listed = {i["number"]: i for i in json.loads(get(fake, f"/repos/{REPO}/issues")[2])}
    assert listed[pr]["html_url"].endswith(f"/{REPO}/pull/{pr}")
    assert listed[pr]["html_url"] == listed[pr]["pull_request"]["html_url"]
    assert listed[issue]["html_url"].endswith(f"/{REPO}/issues/{issue}")
