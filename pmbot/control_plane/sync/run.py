"""One sync call's state, and what the caller lends it (`SyncContext`).

`Run` carries the connection, the client, the repo and the running totals
through the streams of `sync.py` and `reconcile.py`. Its `fetch` is the only
method the helper threads call (no DB access); everything else runs on the
caller's thread, where `check_stop` asks the caller's `SyncContext.tick()`.

Fencing: every write of a sync goes through `Run.commit()`, which checks the
repo's cache generation inside the transaction. A cache reset since the sync
started bumps it, and the sync then stops (`CacheWasReset`) without writing
anything: the reset wins, and the sync it queued is a full import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import ISSUES, PRS, Kind
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.protocol import GitHubError, pages_left, server_time
from pmbot.control_plane.registry import closed_window_days, finish_purges, get_repo
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.fetch_ahead import call_waiting, pages
from pmbot.shared.settings import Settings


@dataclass
class SyncProgress:
    """Passed to `SyncContext.progress` after each committed page (running totals).

    `estimate`: the items the issues listings hold in all, as far as GitHub's `Link`
    headers tell (`SizeEstimate`); meaningful for an import."""

    items: int
    pages: int
    requests: int
    stream: str
    estimate: int | None = None


@dataclass
class SizeEstimate:
    """How many items the issues listings of this call hold, from their `Link` headers.

    Items read by finished queries, plus the current query's items read and what its
    `Link` rel="last" says is left (pages × page size). A new query (another state or
    `since`: the import's keyset restarts, the window pass) ends the previous one at what
    it read, so a listing left early (the backlog stops at the window) is not counted
    whole. Cursor pages (`after=`) carry no rel="last": the last figure stands, at least
    one page more while there is a next. A list paged by cursor from its first page
    (past GitHub's large-dataset threshold) never says its size: then `open_count`, the
    repo's `open_issues_count` (open issues *and* PRs, as the issues listing holds them),
    plus the closed items read so far, is the floor. The `/pulls` stream is not counted:
    its PRs are the issues listing's, read again. Pure; runs on the caller's thread.
    """

    done: int = 0
    query: tuple | None = None
    read: int = 0
    left: int = 0
    closed: int = 0
    open_count: int | None = None
    needs_open_count: bool = False

    def see(self, response: Any) -> None:
        if response.not_modified or not isinstance(response.data, list):
            return
        parts = urlsplit(response.url)
        if not parts.path.endswith("/issues"):
            return
        params = parse_qs(parts.query)
        key = tuple(sorted((k, v[0]) for k, v in params.items() if k not in _PAGING_PARAMS))
        first_page = key != self.query
        if first_page:
            self.done, self.query, self.read, self.left = self.done + self.read, key, 0, 0
        items = len(response.data)
        self.read += items
        self.closed += sum(1 for item in response.data if item.get("state") == "closed")
        per_page = max(items, int((params.get("per_page") or ["30"])[0]))
        pages = pages_left(response.url, response.headers.get("link"))
        if pages is not None:
            self.left = pages * per_page
        elif response.next_url:
            self.left = max(self.left - items, per_page)
            self.needs_open_count = self.needs_open_count or first_page

    @property
    def total(self) -> int:
        listed = self.done + self.read + self.left
        if self.open_count is None:
            return listed
        return max(listed, self.open_count + self.closed)


_PAGING_PARAMS = frozenset({"page", "after", "before"})


@dataclass
class SyncResult:
    changed_items: int
    pages: int
    requests: int
    not_modified: int
    issues_cursor: str | None
    prs_cursor: str | None
    event_recorded: bool


class SyncContext:
    """What the caller lends one sync; both methods run on the caller's thread only.

    The default never stops and watches nothing (the CLI's offline paths, tests).
    """

    def tick(self) -> bool:
        """Keep the caller's claims alive (lease, status, heartbeat); False: stop now."""
        return True

    def progress(self, progress: SyncProgress) -> None:
        """A page was committed."""


class Stopped(Exception):
    """`tick()` returned False: unwind to `sync_repo`, which returns what was committed."""


class CacheWasReset(Stopped):
    """The repo's cache was reset after this sync started: it must write nothing more."""


@dataclass
class Run:
    """One call's connection, client, repo, context and running totals."""

    conn: sqlite3.Connection
    client: Any
    settings: Settings
    repo_id: int
    full_name: str
    context: SyncContext
    generation: int
    closed_days: int  # the repo's closed-items window (its own, or PMBOT_SYNC_CLOSED_DAYS)
    base: str = ""  # the repo's API path, `/repositories/{id}` once known (`identity.py`)
    items: int = 0
    changed: int = 0
    pages: int = 0
    requests: int = 0
    not_modified: int = 0
    events: int = 0
    size: SizeEstimate = field(default_factory=SizeEstimate)
    served_at: datetime | None = None  # GitHub's Date on the latest response

    def fetch(self, url: str, *, etag: str | None = None) -> Any:
        """One request. Thread-safe (no DB access): the helper threads call it."""
        self.requests += 1
        response = self.client.get(url, etag=etag)
        self.not_modified += bool(response.not_modified)
        self.served_at = server_time(response.headers) or self.served_at
        return response

    def fetch_waiting(self, url: str, *, etag: str | None = None) -> Any:
        return call_waiting(lambda: self.fetch(url, etag=etag), self.check_stop)

    def listing(self, state, url_of, advance, *, ahead: bool):
        """The pages of one listing (`fetch_ahead.pages`), each feeding the size estimate."""
        for page_state, response in pages(
            self.fetch, state, url_of, advance, self.check_stop, ahead=ahead
        ):
            yield page_state, self.note(response)

    def _open_count(self) -> int:
        """The repo's `open_issues_count`, asked once when a listing will not say its size
        (0 when GitHub does not answer: the estimate then stays the listings' own)."""
        try:
            data = self.fetch(self.base).data
        except GitHubError:
            return 0
        count = data.get("open_issues_count") if isinstance(data, dict) else None
        return count if isinstance(count, int) else 0

    def check_stop(self) -> None:
        if not self.context.tick():
            raise Stopped

    def between_pages(self) -> None:
        """`check_stop` unless nothing was requested yet."""
        if self.requests:
            self.check_stop()

    def note(self, response: Any) -> Any:
        """A listing page: feed the size estimate (asking the repo's open count once if
        the listing will not say its size)."""
        self.size.see(response)
        if self.size.needs_open_count and self.size.open_count is None:
            self.size.open_count = self._open_count()
        return response

    @contextmanager
    def commit(self) -> Iterator[None]:
        """A write transaction of this sync, refused (`CacheWasReset`) after a reset."""
        with transaction(self.conn):
            if cache.generation(self.conn, self.repo_id) != self.generation:
                raise CacheWasReset
            yield

    def record(self, event: audit.AuditEvent) -> None:
        audit.record(self.conn, event)
        self.events += 1

    def save_resume(self, kind: Kind, state: ls.ResumeState | None) -> None:
        """Where the stream goes on after this page (None: its pass is done)."""
        cache.save_resume(self.conn, self.repo_id, kind.stream, state and state.to_json())

    def record_page(
        self, kind: Kind, items: int, changed: int, delta: dict, cursor: str | None
    ) -> None:
        """`sync.page_committed` for a page that changed something or moved the cursor."""
        if changed or cursor is not None:
            committed = ev.SyncPageCommitted(
                repo_id=self.repo_id,
                stream=kind.stream,
                cursor=cursor,
                items=items,
                changed=changed,
                delta={k: v for k, v in delta.items() if v},
            )
            self.record(committed)

    def page_done(self, kind: Kind, items: int, changed: int) -> None:
        self.pages += 1
        self.items += items
        self.changed += changed
        self.context.progress(
            SyncProgress(self.items, self.pages, self.requests, kind.stream, self.size.total)
        )

    def cursor(self, kind: Kind) -> str | None:
        row = self.conn.execute(
            f"SELECT {kind.cursor} FROM repo_sync_state WHERE repo_id = ?", (self.repo_id,)
        ).fetchone()
        return None if row is None else row[0]

    def closed_since(self) -> str | None:
        """Since when every closed item is cached (`sync.closed_window_filled`)."""
        row = self.conn.execute(
            "SELECT closed_since FROM repo_sync_state WHERE repo_id = ?", (self.repo_id,)
        ).fetchone()
        return None if row is None else row[0]

    def overlap(self) -> int:
        """At least one second, so an exclusive `since` still re-reads the cursor's second."""
        return max(1, self.settings.sync_overlap_seconds)

    def result(self) -> SyncResult:
        return SyncResult(
            changed_items=self.changed,
            pages=self.pages,
            requests=self.requests,
            not_modified=self.not_modified,
            issues_cursor=self.cursor(ISSUES),
            prs_cursor=self.cursor(PRS),
            event_recorded=self.events > 0,
        )


def start(conn, client, repo_id: int, settings: Settings, context: SyncContext | None) -> Run:
    finish_purges(conn, repo_id)  # a reset's or removal's leftovers go before any write
    generation = cache.generation(conn, repo_id)  # before anything else is read
    full_name = get_repo(conn, repo_id).full_name
    days = closed_window_days(conn, repo_id)
    days = settings.sync_closed_days if days is None else days
    context = context or SyncContext()
    run = Run(conn, client, settings, repo_id, full_name, context, generation, days)
    run.base = ls.by_name(full_name)
    return run
