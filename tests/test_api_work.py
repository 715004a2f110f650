"""GET /api/items and the saved Work views: filters over HTTP, bad input, audit and rebuild."""

from __future__ import annotations

import pytest

from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.operations import add_repo
from tests.test_work_items import item, put


@pytest.fixture
def repos(conn) -> tuple[int, int]:
    one, two = add_repo(conn, "octo/one").repo_id, add_repo(conn, "octo/two").repo_id
    put(conn, one, item(1, labels=["bug"]), item(2, kind="pr", labels=["bug", "p1"]))
    put(conn, two, item(3, labels=["bug"], assignees=["ann"], day=9))
    return one, two


def _ok(reply) -> dict:
    assert reply.status == 200, reply.text
    return reply.json()


def test_items_span_repos_with_counts_per_repo(client, repos):
    one, two = repos
    body = _ok(client.get("/api/items?label=bug"))
    assert [(i["full_name"], i["number"]) for i in body["items"]] == [
        ("octo/two", 3), ("octo/one", 2), ("octo/one", 1),
    ]  # fmt: skip
    assert body["counts"] == [
        {"repo_id": one, "full_name": "octo/one", "count": 2},
        {"repo_id": two, "full_name": "octo/two", "count": 1},
    ]
    assert body["total"] == 3 and body["next"] is None


def test_repeated_parameters_combine(client, repos):
    _, two = repos
    both = _ok(client.get("/api/items?label=bug&label=p1&kind=pr"))
    assert [i["number"] for i in both["items"]] == [2]
    chosen = _ok(client.get(f"/api/items?repo_id={two}&repo_id={two}"))
    assert [i["number"] for i in chosen["items"]] == [3]
    nobody = _ok(client.get("/api/items?no_assignee=1&sort=created&direction=asc"))
    assert [i["number"] for i in nobody["items"]] == [1, 2]


def test_an_empty_result_is_a_200_with_no_items(client, repos):
    assert _ok(client.get("/api/items?assignee=nobody")) == {
        "items": [], "next": None, "counts": [], "total": 0,
    }  # fmt: skip


def test_pages_carry_a_cursor_good_only_for_their_filter(client, repos):
    first = _ok(client.get("/api/items?limit=1&label=bug"))
    second = _ok(client.get(f"/api/items?limit=1&label=bug&cursor={first['next']}"))
    assert [i["number"] for i in first["items"] + second["items"]] == [3, 2]
    other = client.get(f"/api/items?limit=1&label=p1&cursor={first['next']}")
    assert other.status == 422 and other.json()["field"] == "cursor"
    assert "another filter" in other.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("repo_id=999", "repo_id"),
        ("repo_id=0", "repo_id"),
        ("repo_id=abc", "repo_id"),
        ("sort=stars", "sort"),
        ("direction=up", "direction"),
        ("kind=discussion", "kind"),
        ("state=merged", "state"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-02-30", "updated_since"),
        ("updated_since=2026-01-01T10:00:00", "updated_since"),
        ("updated_since=", "updated_since"),
        ("&".join(f"label=l{n}" for n in range(11)), "label"),
        ("draft=yes", "draft"),
        ("no_assignee=true", "no_assignee"),
        ("limit=201", "limit"),
        ("q=a%00b", "q"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_bad_input_is_a_422_naming_the_parameter(client, repos, query, field):
    reply = client.get(f"/api/items?{query}")
    assert reply.status == 422, reply.text
    assert reply.content_type.startswith("application/problem+json")
    assert reply.json()["field"] == field


def test_updated_since_takes_a_date_or_a_zoned_time(client, repos):
    dates = _ok(client.get("/api/items?updated_since=2026-01-09"))
    zoned = _ok(client.get("/api/items?updated_since=2026-01-09T01:00:00%2B02:00"))
    assert [i["number"] for i in dates["items"]] == [3] == [i["number"] for i in zoned["items"]]


def test_saved_views_are_audited_listed_deleted_and_rebuilt(client, conn, repos):
    one, _ = repos
    body = {"name": "My bugs", "filter": {"label": ["bug"], "repo_id": str(one), "state": "open"}}
    saved = client.post("/api/work/views", json_body=body)
    assert saved.status == 201, saved.text
    view = saved.json()
    assert view["name"] == "My bugs"
    assert view["filter"] == {"label": ["bug"], "repo_id": [str(one)]}  # canonical: no defaults
    assert client.post("/api/work/views", json_body={"name": "my BUGS"}).status == 409
    assert _ok(client.get("/api/work/views"))["items"] == [view]
    assert rebuild.check(conn).differences == []
    types = [r[0] for r in conn.execute("SELECT type FROM audit_events ORDER BY seq")]
    assert types[-1] == "work_view.saved"
    deleted = client.delete(f"/api/work/views/{view['view_id']}")
    assert deleted.status == 200 and deleted.json()["deleted"] is True
    assert _ok(client.get("/api/work/views"))["items"] == []
    assert client.delete(f"/api/work/views/{view['view_id']}").status == 404
    assert rebuild.check(conn).differences == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "v", "filter": {"cursor": "x"}}, "filter"),
        ({"name": "v", "filter": {"label": [1]}}, "filter.label"),
        ({"name": "v", "filter": {"repo_id": ["999"]}}, "repo_id"),
        ({"name": "v", "filter": {"sort": "stars"}}, "sort"),
    ],
)
def test_a_bad_saved_view_is_a_422_and_records_nothing(client, conn, repos, body, field):
    events = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    reply = client.post("/api/work/views", json_body=body)
    assert reply.status == 422 and reply.json()["field"] == field, reply.text
    assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] == events
