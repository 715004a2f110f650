"""What tests turn and read on the fake: injected faults, the rate-limit window, the request log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0001."
)
PRIMARY_MESSAGE = (
    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
    "please include the request ID FAKE:0002."
)
WINDOW_SECONDS = 3600
RECORDED_HEADERS = (
    "accept",
    "user-agent",
    "x-github-api-version",
    "accept-encoding",
    "if-none-match",
    "if-modified-since",
)


@dataclass
class Fault:
    """One injected misbehaviour, used `times` times on requests whose path contains `path`."""

    status: int | None = None
    malformed: bool = False
    retry_after: float | None = None
    secondary: bool = False
    reset_connection: bool = False
    delay: float = 0.0
    location: str | None = None
    times: int = 1
    path: str | None = None

    def matches(self, path: str) -> bool:
        return self.times > 0 and (self.path is None or self.path in path)


class FaultQueue:
    """Faults in injection order; the first matching one with uses left fires."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        with self._lock:
            fault = next((f for f in self._faults if f.matches(path)), None)
            if fault:
                fault.times -= 1
            self._faults = [f for f in self._faults if f.times > 0]
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class RateLimiter:
    """GitHub's primary limit: `limit` requests per hour-long window, reset at an epoch."""

    def __init__(self, limit: int, clock: Callable[[], datetime]) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self.used = 0
        self.reset_at = self._now() + WINDOW_SECONDS

    @property
    def remaining(self) -> int:
        with self._lock:
            self._roll()
            return max(0, self.limit - self.used)

    def charge(self) -> None:
        with self._lock:
            self._roll()
            self.used += 1

    def reset(self) -> None:
        """Start a fresh window now (tests call this from an injected sleep)."""
        with self._lock:
            self.used = 0
            self.reset_at = self._now() + WINDOW_SECONDS

    def headers(self) -> dict[str, str]:
        remaining = self.remaining
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-resource": "core",
        }

    def _roll(self) -> None:
        if self._now() >= self.reset_at:
            self.used = 0
            self.reset_at = self._now() + WINDOW_SECONDS

    def _now(self) -> int:
        return int(self._clock().timestamp())


@dataclass
class RequestRecord:
    """One request as the fake saw it; `status` is None for a reset connection."""

    method: str
    path: str
    query: dict[str, str]
    has_auth: bool
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None

    @property
    def if_none_match(self) -> str | None:
        return self.headers.get("if-none-match")
