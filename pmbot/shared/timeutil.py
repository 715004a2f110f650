"""UTC time helpers. Every timestamp pmbot stores or serves is RFC 3339 with `Z`,
in one form: whole seconds, as GitHub writes them (`2026-11-25T10:11:52Z`). One
form means stored times compare correctly as text, wherever they came from."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """`2026-11-25T10:11:52Z`: whole seconds (a fraction is dropped, never rounded up)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse `...Z` or `...+00:00` into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now_rfc3339() -> str:
    return to_rfc3339(utc_now())
