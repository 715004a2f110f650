"""Cache lists (filters, sorts, keyset pages), single items and full-text search."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmbot.control_plane.operations import add_repo
from tests.conftest import insert_cached_item


@pytest.fixture
def repo_id(conn) -> int:
    return add_repo(conn, "octo/hello").repo_id


def _day(n: int) -> str:
    return f"2026-01-{n:02d}T00:00:00Z"


@pytest.fixture
def seeded(conn, repo_id) -> int:
    """Issues 1–6 (5, 6 closed; odd ones labelled bug), PRs 7–8, one gone issue (9)."""
    for n in range(1, 7):
        state = "closed" if n > 4 else "open"
        labels = ("bug",) if n % 2 else ()
        insert_cached_item(conn, repo_id, n, title=f"Issue {n}", state=state, labels=labels,
                           updated_at=_day(n), created_at=_day(20 - n),
                           body=f"body of issue {n}")  # fmt: skip
    insert_cached_item(
        conn, repo_id, 7, kind="pr", title="PR seven", draft=True, updated_at=_day(7)
    )
    insert_cached_item(conn, repo_id, 8, kind="pr", title="PR eight", updated_at=_day(8))
    insert_cached_item(conn, repo_id, 9, title="Gone issue", gone="deleted", updated_at=_day(9))
    return repo_id


def _numbers(reply) -> list[int]:
    assert reply.status == 200, reply.text
    return [item["number"] for item in reply.json()["items"]]


def test_issues_list_leaves_out_prs_and_gone_items(client, seeded):
    reply = client.get(f"/api/repos/{seeded}/issues")
    assert _numbers(reply) == [4, 3, 2, 1]
    item = reply.json()["items"][1]
    assert item == {
        "number": 3, "state": "open", "title": "Issue 3", "user": "octocat", "labels": ["bug"],
        "comments": 0, "created_at": _day(17), "updated_at": _day(3), "closed_at": None,
        "html_url": "https://github.com/o/r/issues/3",
    }  # fmt: skip
    assert reply.json()["next"] is None


def test_prs_list_has_pr_fields(client, seeded):
    items = client.get(f"/api/repos/{seeded}/prs").json()["items"]
    assert [i["number"] for i in items] == [8, 7]
    assert (items[1]["draft"], items[1]["head_ref"], items[1]["base_ref"]) == (
        True,
        "feature",
        "main",
    )
    assert items[0]["draft"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=closed", [6, 5]),
        ("state=all", [6, 5, 4, 3, 2, 1]),
        ("state=all&sort=created", [1, 2, 3, 4, 5, 6]),
        ("state=all&sort=number", [6, 5, 4, 3, 2, 1]),
        ("state=all&label=bug", [5, 3, 1]),
        ("state=all&q=issue%203", [3]),
        ("state=all&include_gone=1", [9, 6, 5, 4, 3, 2, 1]),
    ],
)
def test_list_filters_and_sorts(client, seeded, query, expected):
    assert _numbers(client.get(f"/api/repos/{seeded}/issues?{query}")) == expected


def test_gone_items_carry_gone_when_included(client, seeded):
    items = client.get(f"/api/repos/{seeded}/issues?include_gone=1").json()["items"]
    assert items[0]["gone"] == "deleted" and items[1]["gone"] is None
    assert items[0]["gone_reason"].startswith("deleted") and items[1]["gone_reason"] is None


def test_a_not_visible_item_says_what_a_404_can_mean(client, conn, seeded):
    insert_cached_item(conn, seeded, 10, gone="not_visible", updated_at="2027-01-01T00:00:00Z")
    items = client.get(f"/api/repos/{seeded}/issues?include_gone=1").json()["items"]
    assert (items[0]["number"], items[0]["gone"]) == (10, "not_visible")
    assert items[0]["gone_reason"] == (
        "no longer visible (deleted, transferred to a repo the token cannot see, or access lost)"
    )


def test_full_adds_the_payload(client, seeded):
    item = client.get(f"/api/repos/{seeded}/issues?full=1&limit=1").json()["items"][0]
    assert item["payload"]["title"] == "Issue 4" and item["payload"]["body"] == "body of issue 4"


@pytest.mark.parametrize("sort", ["updated", "created", "number"])
def test_keyset_pages_cover_everything_once(client, seeded, sort):
    seen, cursor = [], ""
    for _ in range(10):
        reply = client.get(f"/api/repos/{seeded}/issues?state=all&limit=4&sort={sort}{cursor}")
        seen += _numbers(reply)
        if reply.json()["next"] is None:
            break
        cursor = "&cursor=" + reply.json()["next"]
    assert sorted(seen) == [1, 2, 3, 4, 5, 6] and len(seen) == 6


def test_pages_stay_correct_when_an_item_moves_between_requests(client, conn, seeded):
    first = client.get(f"/api/repos/{seeded}/issues?state=all&limit=3").json()
    # Issue 1 (on the second page) is edited: it jumps to the top, already served.
    insert_cached_item(conn, seeded, 1, title="Issue 1", updated_at=_day(28))
    second = client.get(f"/api/repos/{seeded}/issues?state=all&limit=3&cursor={first['next']}")
    assert [i["number"] for i in first["items"]] == [6, 5, 4]
    assert _numbers(second) == [3, 2]


def test_same_second_items_page_by_number(client, conn, repo_id):
    for n in range(1, 8):
        insert_cached_item(conn, repo_id, n, updated_at=_day(1))
    seen, cursor = [], ""
    while True:
        reply = client.get(f"/api/repos/{repo_id}/issues?limit=2{cursor}").json()
        seen += [i["number"] for i in reply["items"]]
        if not reply["next"]:
            break
        cursor = "&cursor=" + reply["next"]
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_pages_of_one_page_on_even_when_titles_look_like_the_json_between_items(
    client, conn, repo_id
):
    """The list's array is built with one item too many and cut between two items."""
    for n in range(1, 4):
        insert_cached_item(conn, repo_id, n, title=f'x"}},{{"number":{n + 10},', updated_at=_day(n))
    for limit in (1, 2):
        seen, cursor = [], ""
        while True:
            reply = client.get(f"/api/repos/{repo_id}/issues?limit={limit}{cursor}").json()
            seen += [(i["number"], i["title"]) for i in reply["items"]]
            if not reply["next"]:
                break
            cursor = "&cursor=" + reply["next"]
        assert seen == [(n, f'x"}},{{"number":{n + 10},') for n in (3, 2, 1)]


def test_unknown_repo_is_404_and_empty_repo_is_empty(client, repo_id):
    assert client.get("/api/repos/999/issues").status == 404
    assert client.get(f"/api/repos/{repo_id}/prs").json() == {"items": [], "next": None}


def test_single_items_are_the_cached_payload(client, seeded):
    reply = client.get(f"/api/repos/{seeded}/issues/3")
    assert reply.content_type.startswith("application/json")
    assert reply.json()["title"] == "Issue 3" and reply.json()["body"] == "body of issue 3"
    pr = client.get(f"/api/repos/{seeded}/prs/7").json()
    assert pr["draft"] is True and pr["head"] == {"ref": "feature"}
    assert client.get(f"/api/repos/{seeded}/issues/77").json()["code"] == "item_not_found"
    assert client.get("/api/repos/999/issues/1").json()["code"] == "repo_not_found"


def test_search_ranks_and_returns_snippet_segments(client, conn, seeded):
    other = add_repo(conn, "octo/world").repo_id
    insert_cached_item(
        conn, other, 1, title="Crash on start", body="the parser crashes <b>hard</b>"
    )

    reply = client.get("/api/search?q=crashes")

    assert reply.status == 200
    [result] = reply.json()["items"]
    assert (result["repo_id"], result["full_name"], result["kind"], result["number"]) == (
        other,
        "octo/world",
        "issue",
        1,
    )
    assert {"text": "crashes", "hit": True} in result["snippet"]
    assert "".join(s["text"] for s in result["snippet"]) == "the parser crashes <b>hard</b>"


def test_search_filters_by_repo_and_state_and_skips_gone(client, conn, seeded):
    def kinds(query):
        return [
            (r["kind"], r["number"]) for r in client.get(f"/api/search?{query}").json()["items"]
        ]

    assert sorted(kinds("q=issue&state=closed")) == [("issue", 5), ("issue", 6)]
    assert kinds(f"q=PR%20seven&repo_id={seeded}") == [("pr", 7)]
    assert kinds("q=gone") == []
    assert kinds("q=seven&repo_id=999") == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(min_size=1, max_size=60))
def test_no_search_query_causes_a_500(client, seeded, q):
    from urllib.parse import quote

    reply = client.get(f"/api/search?q={quote(q)}")
    assert reply.status in (200, 422), reply.text
    listing = client.get(f"/api/repos/{seeded}/issues?q={quote(q)}")
    assert listing.status in (200, 422), listing.text
    json.loads(reply.body)


@pytest.mark.parametrize(
    "q",
    ['"', "AND", "NOT x", "a OR", "*", "NEAR(a b)", "title:x", "^x", "'; DROP TABLE x;--", "(("],
)
def test_fts_operators_are_plain_text(client, seeded, q):
    from urllib.parse import quote

    assert client.get(f"/api/search?q={quote(q)}").status == 200


@pytest.mark.parametrize("big_id", [1 << 30, 1 << 40, (1 << 63) - 2])
def test_search_and_q_lists_work_for_any_repo_id_sqlite_can_hold(client, conn, seeded, big_id):
    """Issue 16 item 2: search row ids once packed repo_id (`<< 33`) and overflowed."""
    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'repos'", (big_id - 1,))
    big = add_repo(conn, "octo/big").repo_id
    assert big == big_id
    insert_cached_item(conn, big, 3, title="Crash in the big repo", body="kaboom")
    insert_cached_item(conn, big, 3, title="Crash in the big repo", body="kaboom again")
    insert_cached_item(conn, big, 4, kind="pr", title="Fix the crash", body="kaboom fix")

    found = client.get(f"/api/search?q=kaboom&repo_id={big}")
    listed = client.get(f"/api/repos/{big}/issues?q=kaboom")
    prs = client.get(f"/api/repos/{big}/prs?q=kaboom")
    anywhere = client.get("/api/search?q=kaboom")

    assert found.status == 200, found.text
    assert sorted((r["repo_id"], r["kind"], r["number"]) for r in found.json()["items"]) == [
        (big, "issue", 3),
        (big, "pr", 4),
    ]
    assert _numbers(listed) == [3] and _numbers(prs) == [4]
    assert len(anywhere.json()["items"]) == 2
    assert client.get(f"/api/search?q=issue&repo_id={big}").json()["items"] == []
    assert _numbers(client.get(f"/api/repos/{seeded}/issues?q=kaboom")) == []
    assert client.get(f"/api/search?q=kaboom&repo_id={(1 << 63) - 1}").json()["items"] == []


def test_ids_past_what_sqlite_holds_are_refused_not_overflowed(client, seeded):
    """The document says ids are 1 to 2**63 - 1: a query id beyond is a 422 naming it, a
    path id beyond names nothing (404), and a 19-digit id in range is routed."""
    refused = client.get(f"/api/search?q=x&repo_id={1 << 63}")
    assert (refused.status, refused.json()["field"]) == (422, "repo_id")
    for path in (f"/api/repos/{1 << 63}/issues?q=x", "/api/repos/99999999999999999999/prs"):
        reply = client.get(path)
        assert (reply.status, reply.json()["code"]) == (404, "not_found"), reply.text
    in_range = client.get(f"/api/repos/{(1 << 63) - 1}/issues?q=x")
    assert (in_range.status, in_range.json()["code"]) == (404, "repo_not_found")


def test_search_says_the_total_and_pages_through_every_result(client, conn, repo_id):
    """Issue 13 item 6: 45 titles match, the first page of 20 says 45 and pages on."""
    for number in range(1, 46):
        insert_cached_item(conn, repo_id, number, title=f"logging fault {number}")
    insert_cached_item(conn, repo_id, 99, title="unrelated")

    seen, cursor, totals = [], "", set()
    for _ in range(5):
        page = client.get(f"/api/search?q=logging&limit=20{cursor}").json()
        seen += [r["number"] for r in page["items"]]
        totals.add((page["total"], page["total_capped"]))
        if not page["next"]:
            break
        cursor = f"&cursor={page['next']}"

    assert totals == {(45, False)}
    assert sorted(seen) == list(range(1, 46))


def test_search_puts_the_best_match_first_and_pages_across_title_and_body_matches(
    client, conn, repo_id
):
    """Issue 15 item 3: title matches come first, each group by bm25; a page that
    reaches past the title matches goes on with the body matches, none twice."""
    insert_cached_item(conn, repo_id, 1, title="Login page", body="a timeout on login")
    insert_cached_item(conn, repo_id, 2, title="Unrelated", body="timeout " * 3)
    insert_cached_item(conn, repo_id, 3, title="Timeout", body="")
    insert_cached_item(conn, repo_id, 4, title="Other", body="one timeout, then " + "words " * 40)
    insert_cached_item(conn, repo_id, 5, title="Timeout after login", body="timeout again")
    insert_cached_item(conn, repo_id, 6, title="Nothing to see", body="no match here")

    def numbers(query: str) -> list[int]:
        return [r["number"] for r in client.get(f"/api/search?{query}").json()["items"]]

    assert numbers("q=timeout") == [3, 5, 2, 1, 4]  # titles first, the shortest best
    pages, cursor = [], ""
    while True:
        page = client.get(f"/api/search?q=timeout&limit=2{cursor}").json()
        pages.append([r["number"] for r in page["items"]])
        if not page["next"]:
            break
        cursor = f"&cursor={page['next']}"
    assert pages == [[3, 5], [2, 1], [4]]
    assert numbers("q=timeout%20login") == [5, 1]  # both words in the title first


def test_search_past_the_count_cap_says_more_than(client, conn, repo_id, monkeypatch):
    from pmbot.control_plane.cache import browse

    monkeypatch.setattr(browse, "SEARCH_COUNT_CAP", 10)
    for number in range(1, 16):
        insert_cached_item(conn, repo_id, number, title=f"logging fault {number}")

    page = client.get("/api/search?q=logging&limit=5").json()

    assert (page["total"], page["total_capped"], len(page["items"])) == (10, True, 5)
    assert page["next"] is not None


def test_a_search_cursor_not_given_out_is_422(client, seeded):
    reply = client.get("/api/search?q=issue&cursor=eyJvZmZzZXQiOi0xfQ")
    assert reply.status == 422 and reply.json()["field"] == "cursor"
