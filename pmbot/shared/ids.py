"""Ids that sort by creation time.

Stored times have whole seconds, so rows made in one second tie on their
`created_at`; an id that starts with the creation time keeps "newest first"
and "oldest first" exact, as a tie-breaker.
"""

from __future__ import annotations

import secrets
import time


def time_ordered_id(prefix: str) -> str:
    """`prefix-` + microseconds since the epoch (13 hex digits) + 16 random hex digits."""
    return f"{prefix}-{time.time_ns() // 1000:013x}{secrets.token_hex(8)}"
