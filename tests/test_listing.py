"""sync/listing.py: the typed resume state and the pure listing rules, without sockets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.listing import ResumeState

# sync_resume.state_json as the sync stored it before ResumeState existed
STORED_BEFORE = [
    {"phase": "backlog"},
    {"phase": "backlog", "since": "2026-01-01T00:00:00Z", "next_url": None,
     "window_start": "2025-10-03T12:00:00Z"},
    {"phase": "pass", "basis": "2026-01-02T00:00:00Z", "since": "2026-01-01T23:55:00Z",
     "pass_cursor": "2026-01-03T00:00:00Z", "next_url": "https://api.github.com/x?page=2"},
    {"floor": "2026-01-01T00:00:00Z", "top": "2026-01-05T00:00:00Z",
     "next_url": "https://api.github.com/repos/o/r/pulls?page=2"},
]  # fmt: skip


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_stored_states_read_back_and_write_the_same_keys(stored):
    state = ResumeState.from_json(stored)
    assert state.to_json() == {k: v for k, v in stored.items() if v is not None}
    assert ResumeState.from_json(state.to_json()) == state
    assert ResumeState.from_json(None) is None


@dataclass
class Page:
    data: list[dict]
    next_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _items(*stamps: str) -> list[dict]:
    return [{"updated_at": stamp} for stamp in stamps]


def test_a_pass_overlaps_below_its_cursor():
    state = ls.pass_state("2026-01-02T00:00:00Z", 300)
    assert (state.phase, state.since) == (ls.PASS, "2026-01-01T23:55:00Z")


def test_the_pass_cursor_moves_one_second_once_githubs_clock_passed_it():
    page = Page(_items("2026-01-02T00:00:00Z"), headers={"date": "Fri, 02 Jan 2026 00:00:05 GMT"})
    assert ls.pass_cursor("2026-01-01T00:00:00Z", page) == "2026-01-02T00:00:01Z"
    page.headers = {"date": "Fri, 02 Jan 2026 00:00:01 GMT"}
    assert ls.pass_cursor("2026-01-01T00:00:00Z", page) == "2026-01-02T00:00:00Z"
    assert ls.pass_cursor("2026-01-01T00:00:00Z", Page([])) == "2026-01-01T00:00:00Z"


def test_the_backlog_restarts_its_query_or_pages_through_a_same_second_burst():
    state = ResumeState(phase=ls.BACKLOG, window_start="2026-02-01T00:00:00Z")
    moved = ls.backlog_next(state, Page(_items("2026-01-05T00:00:00Z"), "https://n/2"))
    assert (moved.since, moved.next_url) == ("2026-01-04T23:59:59Z", None)
    burst = ls.backlog_next(moved, Page(_items("2026-01-05T00:00:00Z"), "https://n/3"))
    assert (burst.since, burst.next_url) == (moved.since, "https://n/3")
    assert ls.backlog_next(moved, Page(_items("2026-02-01T00:00:00Z"), "https://n/4")) is None


def test_pulls_stop_below_the_oldest_stale_pr_and_remember_the_first_top():
    state = ResumeState(floor="2026-01-03T00:00:00Z")
    page = Page(_items("2026-01-09T00:00:00Z", "2026-01-04T00:00:00Z"), "https://n/2")
    following = ls.pulls_next(state, page)
    assert (following.top, following.next_url) == ("2026-01-09T00:00:00Z", "https://n/2")
    older = Page(_items("2026-01-02T00:00:00Z"), "https://n/3")
    assert ls.pulls_next(following, older) is None
    assert ls.with_top(following, older).top == "2026-01-09T00:00:00Z"


def test_urls():
    assert ls.issues_url(ls.by_name("o/r"), "open", "asc", None) == (
        "/repos/o/r/issues?state=open&sort=updated&direction=asc&per_page=100"
    )
    assert ls.pulls_url(ls.by_id(7)).startswith("/repositories/7/pulls?state=all&")
    assert ls.repo_path("https://api.github.com/repos/o/r/issues/3") == ("o/r", "issues/3")
    assert ls.repo_path("https://api.github.com/user") is None
