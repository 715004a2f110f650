"""The import's size estimate from GitHub's `Link` headers (issue 13 item 5): pure rules."""

from __future__ import annotations

from types import SimpleNamespace

from pmbot.control_plane.github.protocol import pages_left
from pmbot.control_plane.sync.run import SizeEstimate

BASE = "https://api.github.com/repositories/1/issues"
Q = "state=open&sort=updated&direction=asc&per_page=100"


def _link(**rels: str) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in rels.items())


def _page(url: str, items: int, link: str | None = None) -> SimpleNamespace:
    next_url = None
    if link and 'rel="next"' in link:
        next_url = link.split(">")[0].lstrip("<")
    return SimpleNamespace(
        url=url, data=[{}] * items, headers={"link": link} if link else {},
        not_modified=False, next_url=next_url,
    )  # fmt: skip


def test_pages_left_from_last_and_unknown_on_cursor_pages():
    link = _link(next=f"{BASE}?{Q}&page=3", last=f"{BASE}?{Q}&page=7")
    assert pages_left(f"{BASE}?{Q}&page=2", link) == 5
    assert (
        pages_left(f"{BASE}?{Q}", _link(next=f"{BASE}?{Q}&page=2", last=f"{BASE}?{Q}&page=4")) == 3
    )
    assert pages_left(f"{BASE}?{Q}&after=Y3Vyc29y", _link(next=f"{BASE}?{Q}&after=eHh4")) is None
    assert pages_left(f"{BASE}?{Q}", None) == 0  # one page: no Link at all


def test_estimate_keeps_going_when_last_disappears_on_cursor_pages():
    size = SizeEstimate()
    first = _link(next=f"{BASE}?{Q}&page=2", last=f"{BASE}?{Q}&page=150")
    size.see(_page(f"{BASE}?{Q}", 100, first))
    assert size.total == 15_000
    for page in range(2, 101):
        link = _link(next=f"{BASE}?{Q}&page={page + 1}", last=f"{BASE}?{Q}&page=150")
        size.see(_page(f"{BASE}?{Q}&page={page}", 100, link))
    assert size.total == 15_000
    # Past page 100 GitHub pages by cursor and names no `last`: the figure stands.
    size.see(_page(f"{BASE}?{Q}&after=abc", 100, _link(next=f"{BASE}?{Q}&after=def")))
    assert size.total == 15_000
    size.see(_page(f"{BASE}?{Q}&after=def", 40))  # the last page: exact
    assert size.total == 10_140


def test_a_new_query_ends_the_previous_at_what_it_read_and_pulls_are_not_counted():
    size = SizeEstimate()
    backlog = _link(next=f"{BASE}?{Q}&page=2", last=f"{BASE}?{Q}&page=50")
    size.see(_page(f"{BASE}?{Q}", 100, backlog))
    size.see(_page(f"{BASE}?{Q}&page=2", 100, backlog))  # stops early: the window is next
    window = "state=all&sort=updated&direction=desc&since=2026-01-01T00%3A00%3A00Z&per_page=100"
    size.see(_page(f"{BASE}?{window}", 100, _link(next=f"{BASE}?{window}&page=2",
                                                   last=f"{BASE}?{window}&page=3")))  # fmt: skip
    assert size.total == 200 + 300
    size.see(_page("https://api.github.com/repositories/1/pulls?state=all&per_page=100", 100))
    assert size.total == 500


def test_a_list_paged_by_cursor_from_its_first_page_asks_for_the_open_count():
    """Past GitHub's large-dataset threshold no page names `last`: the repo's
    open_issues_count (issues and PRs, as the listing holds them) is the floor."""
    size = SizeEstimate()
    size.see(_page(f"{BASE}?{Q}", 100, _link(next=f"{BASE}?{Q}&after=abc")))
    assert size.needs_open_count and size.total == 200
    size.open_count = 25_000
    assert size.total == 25_000
    window = "state=all&sort=updated&direction=desc&since=2026-01-01T00%3A00%3A00Z&per_page=100"
    closed = SimpleNamespace(url=f"{BASE}?{window}", data=[{"state": "closed"}] * 100,
                             headers={}, not_modified=False, next_url=None)  # fmt: skip
    size.see(closed)
    assert size.total == 25_100  # the closed items read come on top of the open count
