"""Listings, as pure rules: where a stream's next page is, and where its cursor moves.

No I/O here: the functions take a stored `ResumeState` and a `Response` and
say what comes next, so the sync (`sync.py`) and the fetch-ahead thread
(`fetch_ahead.py`) can both call them. The design these rules implement is in
`sync.py`'s docstring.

`ResumeState` is what `sync_resume.state_json` holds between two pages (and
across a crash): one frozen value per stream. Its JSON is the one the sync
stored before this type existed (absent keys for unset fields), so a
database written by older code resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from pmbot.control_plane.github.protocol import server_time
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

PER_PAGE = 100
BACKLOG, PASS, BACKFILL = "backlog", "pass", "backfill"


@dataclass(frozen=True)
class ResumeState:
    """Where a stream's listing continues. Issues: `phase` is BACKLOG (the import's keyset
    listing: `since`, `window_start`), PASS (a descending refresh pass from `basis`, the
    cursor it started at, asking `since`, to commit `pass_cursor`) or BACKFILL (a widened
    closed window's keyset listing of closed items from `basis`, the new window start, up to
    `window_start`, the old one). PR details: `floor`
    (the oldest stale PR) and `top` (the pass's newest item, its cursor). Both: `next_url`,
    GitHub's `Link` next, followed verbatim."""

    phase: str | None = None
    basis: str | None = None
    since: str | None = None
    pass_cursor: str | None = None
    next_url: str | None = None
    window_start: str | None = None
    floor: str | None = None
    top: str | None = None
    bursts: tuple[str, ...] | None = None  # backlog seconds paged through by `Link`

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, stored: dict[str, Any] | None) -> ResumeState | None:
        if stored is None:
            return None
        bursts = stored.get("bursts")
        return cls(**{**stored, "bursts": tuple(bursts) if bursts else None})

    def at(self, next_url: str | None) -> ResumeState:
        return replace(self, next_url=next_url)


# -- URLs --------------------------------------------------------------------------------------


def by_id(github_id: int) -> str:
    """The path of a repo by GitHub's numeric id (the form of GitHub's redirects and `Link`)."""
    return f"/repositories/{github_id}"


def by_name(full_name: str) -> str:
    return f"/repos/{full_name}"


# The refresh pass's chain and the closed reconciliation's chain of `/issues` validators:
# each drops only its own stale chains (`cache.drop_other_chains`).
PASS_LISTING = "/issues?state=all&sort=updated&direction=desc"
CLOSED_LISTING = "/issues?state=all&sort=updated&direction=asc"


def since_param(url: str) -> str:
    """The `since=` parameter of a listing URL, as it is written there."""
    return next(p for p in url.split("?", 1)[1].split("&") if p.startswith("since="))


def since_of(url: str | None) -> str | None:
    """The `since` time of a listing URL (None without a URL or a `since`)."""
    if url is None:
        return None
    return parse_qs(urlsplit(url).query).get("since", [None])[0]


def issues_url(base: str, state: str, direction: str, since: str | None) -> str:
    """`base` is the repo's path (`by_id`, or `by_name` before its id is known)."""
    params = {"state": state, "sort": "updated", "direction": direction, "per_page": PER_PAGE}
    if since is not None:  # "everything" omits since (since=1970 has returned nothing)
        params["since"] = since
    return f"{base}/issues?{urlencode(params)}"


def pulls_url(base: str) -> str:
    params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
    return f"{base}/pulls?{urlencode(params)}"


def issue_url(base: str, number: int) -> str:
    return f"{base}/issues/{number}"


def pull_url(base: str, number: int) -> str:
    return f"{base}/pulls/{number}"


def repo_path(url: str) -> tuple[str, str] | None:
    """(`owner/name`, rest of the path) of a `/repos/owner/name/...` URL, else None."""
    parts = urlsplit(url).path.split("/")
    if len(parts) < 4 or parts[1] != "repos":
        return None
    return f"{parts[2]}/{parts[3]}", "/".join(parts[4:])


# -- issues: refresh passes ----------------------------------------------------------------


def pass_state(basis: str, overlap: int, head: str | None = None) -> ResumeState:
    """A refresh pass from cursor `basis`, re-reading `overlap` seconds below it.

    `head` is the `since` of the stored chain, when there is one: the listing since an
    earlier, lower point holds the window as its first pages (it is sorted newest first),
    so the chain stays valid while the cursor moves, and the pass stops below the window
    (`pass_next`)."""
    bottom = shift(basis, -overlap)
    since = head if head is not None and head <= bottom else bottom
    return ResumeState(phase=PASS, basis=basis, since=since)


def pass_next(response: Any, bottom: str) -> str | None:
    """A pass's next page: GitHub's `Link` next, unless this page reached below `bottom`
    (the window's start), where the window is covered."""
    items = response.data
    if items and items[-1]["updated_at"] < bottom:
        return None
    return response.next_url


def reaches(response: Any, bottom: str) -> bool:
    """Whether a page holds an item at or after `bottom` (it belongs to that window's chain)."""
    return not response.data or response.data[0]["updated_at"] >= bottom


def pass_cursor(basis: str, response: Any) -> str:
    """The cursor this pass will commit: the newest `updated_at` on page 1, plus one second
    when GitHub's own clock (the page's Date) was already 2 s past it. Then every later update
    is stamped after that second, so the next pass need not re-read the whole second (a
    burst there can be larger than a page)."""
    items = response.data
    if not items:
        return basis
    top = items[0]["updated_at"]
    served_at = server_time(response.headers)
    if served_at is not None and to_rfc3339(served_at) >= shift(top, 2):
        top = shift(top, 1)
    return max(basis, top)


# -- issues: the import's backlog ----------------------------------------------------------


def backlog_url(base: str, state: ResumeState) -> str:
    """The keyset listing's page: open items for the import, closed ones for a backfill."""
    return state.next_url or issues_url(base, _keyset_state(state), "asc", state.since)


def _keyset_state(state: ResumeState) -> str:
    return "closed" if state.phase == BACKFILL else "open"


def backfill_state(target: str, covered: str) -> ResumeState:
    """A widened closed window: closed items updated in [target, covered), oldest first."""
    return ResumeState(phase=BACKFILL, basis=target, since=target, window_start=covered)


def with_window(state: ResumeState, response: Any, closed_days: int) -> ResumeState:
    if state.window_start:
        return state
    return replace(state, window_start=window_start(response, closed_days))


def backlog_next(state: ResumeState, response: Any) -> ResumeState | None:
    """Where the keyset listing continues, or None when the backlog is done."""
    items = response.data
    if not items or not response.next_url or items[-1]["updated_at"] >= state.window_start:
        return None
    since = shift(items[-1]["updated_at"], -1)
    if state.since is None or since > state.since:
        return replace(state, since=since, next_url=None)
    # A same-second burst: page through it, and remember it for `burst_relists`.
    seconds = state.bursts or ()
    if items[-1]["updated_at"] not in seconds:
        seconds = (*seconds, items[-1]["updated_at"])
    return replace(state, next_url=response.next_url, bursts=seconds)


def burst_url(base: str, state: ResumeState, second: str) -> str:
    """The backlog's listing from just before a same-second burst, to page through it again
    once the backlog is done: a close inside it while it was paged can have hidden one item
    (the offset shift), which this second reading finds."""
    return issues_url(base, _keyset_state(state), "asc", shift(second, -1))


def window_start(response: Any, closed_days: int) -> str:
    """`closed_days` before GitHub's own clock (the Date header), whole seconds."""
    return window_start_at(server_time(response.headers), closed_days)


def window_start_at(served_at: datetime | None, closed_days: int) -> str:
    # No usable Date: the local clock is all we have.
    return to_rfc3339((served_at or utc_now()) - timedelta(days=closed_days))


# -- pull request details ------------------------------------------------------------------


def pulls_next(state: ResumeState, response: Any) -> ResumeState | None:
    """The next /pulls page, or None once past the oldest stale PR (or at the end)."""
    items = response.data
    if not response.next_url or not items or items[-1]["updated_at"] < state.floor:
        return None
    return with_top(state, response).at(response.next_url)


def with_top(state: ResumeState, response: Any) -> ResumeState:
    """Remember the newest `updated_at` of the pass's first page (the prs cursor)."""
    if state.top is not None or not response.data:
        return state
    return replace(state, top=response.data[0]["updated_at"])


# -- time ----------------------------------------------------------------------------------


def shift(stamp: str, seconds: int) -> str:
    return to_rfc3339(parse_rfc3339(stamp) + timedelta(seconds=seconds))
