"""Process settings: one frozen dataclass read from the environment.

A `.env` file in the working directory is read first if present; real
environment variables win over it. Every value is checked at start-up so a
typo stops the process with one line naming the variable and the accepted
form, instead of failing later in the middle of a sync.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_GITHUB_API_BASE = "https://api.github.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A variable has a value pmbot cannot use; the message names it."""


class Secret:
    """Holds the GitHub token; repr, str and format never show it, JSON refuses it."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def reveal(self) -> str:
        """The real value, for the one place that sends it (the HTTP header)."""
        return self._value

    def fingerprint(self) -> str | None:
        """A short one-way digest: tells tokens apart in the DB without storing one."""
        if not self._value:
            return None
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]


def _positive_int(name: str, raw: str, *, allow_zero: bool = False) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if value < 0 or (value == 0 and not allow_zero):
        form = "a whole number ≥ 0" if allow_zero else "a whole number > 0"
        raise SettingsError(f"{name}={raw!r} is invalid: expected {form}")
    return value


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise SettingsError(f"{name}={raw!r} is invalid: expected 1 or 0")
    return value in ("1", "true", "yes", "on")


def _port(name: str, raw: str) -> int:
    value = _positive_int(name, raw)
    if value > 65535:
        raise SettingsError(f"{name}={raw!r} is invalid: expected a port from 1 to 65535")
    return value


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{name}={raw!r} is invalid: expected one of {', '.join(LOG_LEVELS)}")
    return level


def _allowed_hosts(name: str, raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        if any(c in host for c in "/ @?#") or (host.count(":") > 1 and not host.startswith("[")):
            raise SettingsError(
                f"{name} entry {host!r} is invalid: expected comma-separated host[:port] entries"
            )
    return hosts


def _api_base(name: str, raw: str) -> str:
    base = raw.strip().rstrip("/")
    if not base.startswith(("https://", "http://")) or len(base.split("/")) < 3:
        raise SettingsError(f"{name}={raw!r} is invalid: expected an http(s):// URL")
    return base


def db_path_from_url(url: str) -> Path:
    """The file path of a `sqlite:///` URL (`sqlite:////abs/path` is absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise SettingsError(
            f"PMBOT_DB_URL={url!r} is invalid: only sqlite:///<path> URLs are supported"
        )
    return Path(url[len(prefix) :])


@dataclass(frozen=True)
class Settings:
    """Everything a pmbot process needs to know about its environment."""

    data_dir: Path
    db_path: Path
    github_token: Secret = field(default_factory=lambda: Secret(""))
    github_api_base: str = DEFAULT_GITHUB_API_BASE
    sync_poll_seconds: int = 300
    sync_overlap_seconds: int = 300
    sync_closed_days: int = 90
    reconcile_closed_days: int = 7
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ()
    log_level: str = "INFO"
    run_max_total_tokens: int = 200_000
    run_max_tool_calls: int = 50
    run_max_wall_seconds: int = 1800
    artifact_max_bytes: int = 50 * 1024 * 1024
    # HTTP limits (waitress's are for a public server: 100 connections, 2 min idle).
    http_connection_limit: int = 100
    http_head_timeout_seconds: int = 5
    http_channel_timeout_seconds: int = 30
    http_cleanup_interval_seconds: int = 5
    http_max_header_bytes: int = 64 * 1024
    http_max_body_bytes: int = 2 * 1024 * 1024  # above the API's own 1 MiB (a 413 problem)
    # Local git mirrors under data/repos/ (opt-in; a per-repo toggle overrides `mirrors`).
    mirrors: bool = False
    mirror_fetch_seconds: int = 900
    mirror_partial_clone: bool = False
    mirror_low_speed_seconds: int = 60
    mirror_git_timeout_seconds: int = 3600

    @property
    def token_present(self) -> bool:
        return bool(self.github_token)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings from `environ` (default `os.environ`) over an optional `.env` file."""
        merged = dict(read_env_file(env_file)) if env_file else {}
        merged.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for var, (attr, parse) in _VARIABLES.items():
            raw = merged.get(var)
            if raw is not None and (raw.strip() or var == "GITHUB_TOKEN"):
                values[attr] = parse(var, raw)
        data_dir = Path(merged.get("PMBOT_DATA_DIR", "").strip() or "./data")
        db_url = merged.get("PMBOT_DB_URL", "").strip()
        db_path = (
            db_path_from_url(db_url) if db_url else data_dir / "control_plane" / "pm_bot.sqlite3"
        )
        return cls(data_dir=data_dir, db_path=db_path, **values)


_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "GITHUB_TOKEN": ("github_token", lambda _n, raw: Secret(raw.strip())),
    "GITHUB_API_BASE": ("github_api_base", _api_base),
    "PMBOT_SYNC_POLL_SECONDS": ("sync_poll_seconds", _positive_int),
    "PMBOT_SYNC_OVERLAP_SECONDS": (
        "sync_overlap_seconds",
        lambda n, raw: _positive_int(n, raw, allow_zero=True),
    ),
    "PMBOT_SYNC_CLOSED_DAYS": (
        "sync_closed_days",
        lambda n, raw: _positive_int(n, raw, allow_zero=True),
    ),
    "PMBOT_RECONCILE_CLOSED_DAYS": (
        "reconcile_closed_days",
        lambda n, raw: _positive_int(n, raw, allow_zero=True),
    ),
    "PMBOT_HOST": ("host", lambda _n, raw: raw.strip()),
    "PMBOT_PORT": ("port", _port),
    "PMBOT_ALLOWED_HOSTS": ("allowed_hosts", _allowed_hosts),
    "PMBOT_LOG_LEVEL": ("log_level", _log_level),
    "PMBOT_RUN_MAX_TOTAL_TOKENS": ("run_max_total_tokens", _positive_int),
    "PMBOT_RUN_MAX_TOOL_CALLS": ("run_max_tool_calls", _positive_int),
    "PMBOT_RUN_MAX_WALL_SECONDS": ("run_max_wall_seconds", _positive_int),
    "PMBOT_ARTIFACT_MAX_BYTES": ("artifact_max_bytes", _positive_int),
    "PMBOT_HTTP_CONNECTION_LIMIT": ("http_connection_limit", _positive_int),
    "PMBOT_HTTP_HEAD_TIMEOUT_SECONDS": ("http_head_timeout_seconds", _positive_int),
    "PMBOT_HTTP_CHANNEL_TIMEOUT_SECONDS": ("http_channel_timeout_seconds", _positive_int),
    "PMBOT_HTTP_CLEANUP_INTERVAL_SECONDS": ("http_cleanup_interval_seconds", _positive_int),
    "PMBOT_HTTP_MAX_HEADER_BYTES": ("http_max_header_bytes", _positive_int),
    "PMBOT_HTTP_MAX_BODY_BYTES": ("http_max_body_bytes", _positive_int),
    "PMBOT_MIRRORS": ("mirrors", _flag),
    "PMBOT_MIRROR_FETCH_SECONDS": ("mirror_fetch_seconds", _positive_int),
    "PMBOT_MIRROR_PARTIAL_CLONE": ("mirror_partial_clone", _flag),
    "PMBOT_MIRROR_LOW_SPEED_SECONDS": ("mirror_low_speed_seconds", _positive_int),
    "PMBOT_MIRROR_GIT_TIMEOUT_SECONDS": ("mirror_git_timeout_seconds", _positive_int),
}


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv file: `KEY=value` lines, `#` comments, optional quotes, `export `."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values
