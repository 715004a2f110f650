"""Context packs: built from the cache alone, deterministic, content-addressed."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from pmbot.control_plane.api.app import create_app
from pmbot.control_plane.context import packs
from tests.conftest import WsgiClient, insert_cached_item
from tests.runs_support import add_repo_with_cache, plan_body


@pytest.fixture
def repo_id(conn) -> int:
    return add_repo_with_cache(conn)


@pytest.fixture
def fake_client(settings, db_path, conn, fake):
    """The app with GitHub pointed at the fake, to count what it is asked."""
    app = create_app(dataclasses.replace(settings, github_api_base=fake.base_url), db_path=db_path)
    yield WsgiClient(app)
    app.close()


def test_the_pack_holds_open_items_sorted_by_kind_and_number(conn, repo_id):
    content, issues, prs = packs.build_content(conn, repo_id)
    document = json.loads(content)

    assert (issues, prs) == (2, 1)
    assert [(i["kind"], i["number"]) for i in document["items"]] == [
        ("issue", 1),
        ("issue", 2),
        ("pr", 4),
    ]
    first = document["items"][0]
    assert set(first) == {
        "kind", "number", "title", "labels", "assignees", "state", "updated_at", "body_excerpt",
    }  # fmt: skip
    assert first["labels"] == ["bug"] and first["state"] == "open"
    assert first["body_excerpt"] == "b" * 500


def test_the_same_cache_gives_byte_identical_content_and_one_file(conn, repo_id, settings):
    first = packs.take_pack(conn, settings.data_dir, repo_id)
    second = packs.take_pack(conn, settings.data_dir, repo_id)

    assert first["pack_id"] != second["pack_id"]
    assert first["sha256"] == second["sha256"]
    path = settings.data_dir / first["uri"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first["sha256"]
    assert len(list((settings.data_dir / "artifacts" / "sha256").rglob("*"))) == 2  # dir + file


def test_a_changed_cache_gives_another_pack(conn, repo_id, settings):
    before = packs.take_pack(conn, settings.data_dir, repo_id)
    insert_cached_item(conn, repo_id, 5, title="New")
    after = packs.take_pack(conn, settings.data_dir, repo_id)
    assert after["sha256"] != before["sha256"] and after["issues"] == 3


def test_taking_a_pack_and_planning_make_zero_github_requests(fake_client, fake, repo_id):
    assert fake_client.post(f"/api/repos/{repo_id}/context-packs").status == 201
    assert fake_client.post("/api/runs", json_body=plan_body()).status == 201
    assert fake.requests == []


def test_packs_and_plans_work_while_github_is_down(fake_client, fake, repo_id):
    fake.go_down(refuse=True)
    assert fake_client.post(f"/api/repos/{repo_id}/context-packs").status == 201
    reply = fake_client.post("/api/runs", json_body=plan_body())
    assert reply.status == 201 and reply.json()["context_pack"]["issues"] == 2


def test_a_pack_of_an_unknown_repo_is_404(client, repo_id):
    assert client.post(f"/api/repos/{repo_id + 50}/context-packs").status == 404
