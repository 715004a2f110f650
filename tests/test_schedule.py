"""sync/schedule.py: the worker's slots and leases, as SQL and pure policy."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from pmbot.control_plane import operations
from pmbot.control_plane.sync import holder
from pmbot.control_plane.sync import schedule as w
from pmbot.shared.timeutil import to_rfc3339
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


# -- the lease holder's process (issue 16 item 9) --------------------------------------------


@pytest.fixture
def killed_holder():
    """The Holder of a real process on this host that was then killed with SIGKILL."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        here = holder.this_process()
        alive = holder.Holder(here.host, child.pid, holder._started(child.pid))
        assert not holder.is_gone(alive, here)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(5)
    return alive


def test_a_lease_whose_process_was_killed_on_this_host_is_taken_at_once(conn, clock, killed_holder):
    (repo_id,) = _add(conn, "acme/widgets")
    assert w.claim_lease(conn, repo_id, "killed", clock(), 60, holder=killed_holder)

    assert w.claim_lease(conn, repo_id, "restarted", clock(), 60)

    row = w.read_schedule(conn, repo_id)
    assert (row["lease_owner"], row["lease_pid"]) == ("restarted", os.getpid())


def test_a_lease_of_a_live_process_or_another_host_waits_for_its_expiry(conn, clock, killed_holder):
    one, two = _add(conn, "acme/one", "acme/two")
    elsewhere = dataclasses.replace(killed_holder, host="other-host/pid:[1]")
    assert w.claim_lease(conn, one, "other host", clock(), 60, holder=elsewhere)
    assert w.claim_lease(conn, two, "this process", clock(), 60)

    assert not w.claim_lease(conn, one, "restarted", clock(), 60)
    assert not w.claim_lease(conn, two, "restarted", clock(), 60)
    clock.advance(60)
    assert w.claim_lease(conn, one, "restarted", clock(), 60)
    assert w.claim_lease(conn, two, "restarted", clock(), 60)


def test_a_reused_pid_is_not_taken_for_the_holder(conn, clock):
    (repo_id,) = _add(conn, "acme/widgets")
    here = holder.this_process()
    earlier = dataclasses.replace(here, started="another-boot:1")  # our pid, another process
    assert w.claim_lease(conn, repo_id, "before reboot", clock(), 60, holder=earlier)

    assert w.claim_lease(conn, repo_id, "restarted", clock(), 60)


def test_reschedule_moves_nothing_while_the_interval_is_unchanged(conn, clock):
    one, two = _add(conn, "acme/one", "acme/two")
    for repo_id in (one, two):
        w.claim_lease(conn, repo_id, "a", clock(), 60)
        w.mark_success(conn, repo_id, clock(), w.next_slot(repo_id, clock(), 300), False)

    assert w.reschedule(conn, 300) == 0
    assert w.reschedule(conn, 7200) == 2
    later = w.read_schedule(conn, one)["next_sync_at"]
    assert later == to_rfc3339(w.next_slot(one, clock(), 7200))
    assert w.reschedule(conn, 7200) == 0
