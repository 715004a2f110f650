"""sync/schedule.py: the worker's slots and leases, as SQL and pure policy."""

from __future__ import annotations

from datetime import timedelta

from pmbot.control_plane import operations
from pmbot.control_plane.sync import schedule as w
from tests.fake_github.clock import T0


def _add(conn, *names):
    return [operations.add_repo(conn, name).repo_id for name in names]


def test_next_slot_is_stable_and_at_least_half_an_interval_away():
    for repo_id in (1, 2, 7, 1000):
        first = w.next_slot(repo_id, T0, 300)
        assert 150 <= (first - T0).total_seconds() <= 450
        assert w.next_slot(repo_id, first, 300) == first + timedelta(seconds=300)


def test_claim_is_exclusive_between_two_owners(conn, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    assert w.claim_lease(conn, repo_id, "a", clock(), 60)
    assert not w.claim_lease(conn, repo_id, "b", clock(), 60)
    assert w.claim_lease(conn, repo_id, "a", clock(), 60)  # re-entrant for its owner
    assert not w.renew_lease(conn, repo_id, "b", clock(), 60)
