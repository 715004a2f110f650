"""github/status.py: the one `github_status` row, what GitHub last told any process."""

from __future__ import annotations

from pmbot.control_plane.github import status
from pmbot.control_plane.github.client import ExchangeInfo, RateLimit
from tests.fake_github.clock import T0


def test_status_keeps_the_rate_limit_through_a_network_failure(conn):
    rate = RateLimit(limit=5000, remaining=12, used=4988, reset_at=T0, resource="core")
    status.save_response(conn, ExchangeInfo(T0, "GET", "u", 200, rate, None, None, 0.1))
    failure = ExchangeInfo(T0, "GET", "u", None, None, "cannot reach GitHub", "network", 1.0)
    status.save_response(conn, failure)
    seen = status.read_status(conn)
    assert seen["reachable"] is False and seen["last_error"] == "cannot reach GitHub"
    assert seen["rate_limit"]["remaining"] == 12


def test_status_before_any_request(conn):
    assert status.read_status(conn)["reachable"] is None
