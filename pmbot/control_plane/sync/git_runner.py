"""Running Debian's `git` for the mirrors, with the token only in the child's environment.

Policy:
- Credentials: when the git server answers 401, git asks `GIT_ASKPASS`, a tiny
  shell script with no secret in it, for a username and a password. It answers
  `x-access-token` and the token it reads from its environment, and only when
  git's prompt names the one allowed origin: the clone URL's, which must be the
  configured GitHub host (`allowed_origin`). So a redirect to another host gets
  nothing. The token is never in a URL, in `git config`, in argv (what `ps`
  shows) or in a credential helper: helpers are reset for the invocation and
  the global and system git config are ignored.
- Bounds: `GIT_TERMINAL_PROMPT=0` (never wait for a human);
  `GIT_HTTP_LOW_SPEED_LIMIT/TIME` abort a stalled transfer; the process is
  killed (with its helpers: its own process group) after `timeout` seconds,
  or at once when `keep_going()` says stop.
- Errors: stderr (`LC_ALL=C`) becomes a `GitError` with a code and one
  operator sentence: auth_failed, not_found, disk_full, timed_out, unreachable,
  git_failed. Messages are redacted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pmbot.shared.logs import redact
from pmbot.shared.settings import Secret

GIT_USER = "x-access-token"
LOW_SPEED_BYTES = 1000  # bytes/s below which a transfer counts as stalled
POLL_SECONDS = 1.0  # how often a running git is checked against `keep_going`

ASKPASS_SCRIPT = """#!/bin/sh
# pmbot's GIT_ASKPASS: answers git's prompts from the environment. No secret here.
case "$1" in
  "Username for '$PMBOT_GIT_ORIGIN'"*) printf '%s\\n' "$PMBOT_GIT_USER" ;;
  "Password for '$PMBOT_GIT_USER_ORIGIN'"*) printf '%s\\n' "$PMBOT_GIT_TOKEN" ;;
  *) exit 1 ;;
esac
"""

_ERRORS = (
    # (code, stderr fragments (lower case), operator sentence with {origin})
    (
        "auth_failed",
        ("authentication failed", "could not read username", "could not read password",
         "returned error: 401", "returned error: 403"),
        "authentication failed: {origin} refused the token (check it can read this repository)",
    ),
    ("disk_full", ("no space left on device", "disk quota exceeded"),
     "disk full: no space left under the mirrors folder"),
    ("not_found", ("not found", "returned error: 404"),
     "not found: {origin} has no such repository (or the token cannot see it)"),
    ("timed_out", ("operation too slow", "timed out", "timeout"),
     "timed out: the transfer from {origin} stalled"),
    (
        "unreachable",
        ("could not resolve host", "failed to connect", "connection refused",
         "couldn't connect", "network is unreachable", "empty reply from server"),
        "unreachable: cannot connect to {origin}",
    ),
)  # fmt: skip


class GitError(Exception):
    """A git command failed; `code` names the kind, `str()` is one line for the operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class GitAuth:
    """Who may receive the token: `origin` (scheme://host[:port]) and the token itself."""

    origin: str
    token: Secret


def allowed_origin(clone_url: str, api_base: str) -> str:
    """The clone URL's origin, if it is the configured GitHub host; else GitError.

    The git host is the API host itself (GitHub Enterprise: `https://ghe/api/v3`)
    or the API host without its `api.` prefix (`api.github.com` → `github.com`).
    Plain http only when the API itself is plain http (local tests).
    """
    url, api = urlsplit(clone_url), urlsplit(api_base)
    api_host = (api.hostname or "").lower()
    hosts = {api_host, api_host.removeprefix("api.")}
    schemes = {"https", "http"} if api.scheme == "http" else {"https"}
    if url.scheme not in schemes or (url.hostname or "").lower() not in hosts or url.username:
        raise GitError(
            "bad_clone_url",
            f"clone URL {redact(clone_url)!r} is not on the configured GitHub host {api_host}",
        )
    return f"{url.scheme}://{url.netloc}"


def write_askpass(folder: Path) -> Path:
    """Write the askpass script (idempotent, owner-only) and return its path."""
    path = folder / ".pmbot-askpass"
    if not path.exists() or path.read_text() != ASKPASS_SCRIPT:
        path.write_text(ASKPASS_SCRIPT)
    path.chmod(stat.S_IRWXU)
    return path


def git_env(auth: GitAuth | None, askpass: Path, *, low_speed_seconds: int) -> dict[str, str]:
    """The environment of one git invocation: inherited minus any GIT_* or token variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "PMBOT_GIT_")) and k not in ("GITHUB_TOKEN", "SSH_ASKPASS")
    }
    env.update(
        LC_ALL="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS=str(askpass),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_HTTP_LOW_SPEED_LIMIT=str(LOW_SPEED_BYTES),
        GIT_HTTP_LOW_SPEED_TIME=str(low_speed_seconds),
        # An empty credential.helper clears any helper, so git never stores the token.
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="credential.helper",
        GIT_CONFIG_VALUE_0="",
    )
    if auth is not None and auth.token:
        scheme, _, hostport = auth.origin.partition("://")
        env.update(
            PMBOT_GIT_ORIGIN=auth.origin,
            PMBOT_GIT_USER=GIT_USER,
            PMBOT_GIT_USER_ORIGIN=f"{scheme}://{GIT_USER}@{hostport}",
            PMBOT_GIT_TOKEN=auth.token.reveal(),
        )
    return env


def run_git(
    args: Sequence[str],
    *,
    env: dict[str, str],
    timeout: float,
    keep_going: Callable[[], bool] = lambda: True,
    origin: str = "the git server",
) -> str:
    """Run `git *args`; its stdout, or GitError from its stderr.

    `keep_going` is called about every POLL_SECONDS (the caller renews its lease
    there); False kills git.
    """
    started = time.monotonic()
    # Its own process group, so a kill reaches git's helpers (git-remote-http, index-pack)
    # too: they hold the pipes, and would keep a stalled transfer alive.
    proc = subprocess.Popen(
        ["git", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started > timeout:
                    raise GitError(
                        "timed_out", f"timed out: git ran over {timeout:.0f} s"
                    ) from None
                if not keep_going():
                    raise GitError("stopped", "git was stopped (worker stopping)") from None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    if proc.returncode != 0:
        raise classify(err, origin, env.get("PMBOT_GIT_TOKEN", ""))
    return out


def classify(stderr: str, origin: str, token: str = "") -> GitError:
    """The GitError a failed git's stderr describes."""
    lowered = stderr.lower()
    for code, fragments, sentence in _ERRORS:
        if any(fragment in lowered for fragment in fragments):
            return GitError(code, sentence.format(origin=origin))
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    return GitError("git_failed", redact(f"git failed: {last}", (token,))[:300])
