"""A clock that moves only when a test says so, for the fake and for pmbot's injected clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class ManualClock:
    """Callable like `utc_now`; whole seconds, as GitHub's timestamps are."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start.replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
