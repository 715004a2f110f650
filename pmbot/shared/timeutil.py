"""UTC time helpers. Every timestamp pmbot stores or serves is RFC 3339 with `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """`2026-11-25T10:11:52Z` (whole seconds, as GitHub writes them), or with
    microseconds when the moment has them (pmbot's own event times)."""
    moment = moment.astimezone(UTC)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse `...Z` or `...+00:00` into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now_rfc3339() -> str:
    return to_rfc3339(utc_now())
