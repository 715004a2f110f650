"""Incremental sync of one repo's issues and pull requests into the local cache.

Interface (worker.py and the CLI build on it):

    sync_repo(conn, client, repo_id, *, settings, reconcile=False, on_progress=None,
              should_stop=None) -> SyncResult
        An import (repo never synced, or after a cache reset) or an incremental refresh.
        Each page commits in ONE transaction: cache upserts, the page's http_cache
        validator, the resume position, the cursor move and its `sync.page_committed`
        event. `sync.completed` is recorded when anything changed or the repo's projected
        status is not 'ok'; a no-change refresh appends no event. `on_progress(SyncProgress)`
        runs after each committed page. `should_stop()` is asked on the caller's thread
        between pages, and every WAIT_CHECK_SECONDS while waiting for one: when it returns
        True, sync_repo RETURNS EARLY with a partial SyncResult of what was committed (no
        `sync.completed`); the next call resumes at the first uncommitted page. GitHub
        failures propagate as the client's GitHubError subclasses (or whatever the client's
        `sleep` raises) after the pages before them were committed; the worker decides
        retries. Threads: long listings are fetched one page ahead on helper threads named
        `pmbot-sync-fetch` (one request in flight still), so the client, its `sleep` and
        `on_response` run there; the DB connection, `on_progress` and `should_stop` are
        only used on the caller's thread. For its duration the connection checkpoints its
        WAL every WAL_CHECKPOINT_PAGES pages instead of 1000 (restored afterwards).
    record_failure(conn, repo_id, error, *, attempt, next_retry_at) -> bool
        Appends `sync.failed` only when the repo's error state changes.
    reconcile_repo(conn, client, repo_id, *, settings) -> int
        Finds cached open items that left GitHub's listings and marks them gone.

Design (ARCHITECTURE.md "Sync semantics"):
- Issues stream, refresh: design (b). One pass lists `state=all&sort=updated&direction=desc
  &since=cursor−overlap`, following `Link` verbatim. The cursor (greatest `updated_at` in
  GitHub's data) moves only on the pass's last page, to the newest `updated_at` of its first
  page (+1 s when GitHub's Date on that page was already 2 s later, see `_pass_cursor`):
  anything changed while the pass pages is newer than that, so the next pass sees it,
  and an update moves an item to the front, which only duplicates later items, never skips
  them. A crash resumes from the next URL stored in `sync_resume` with each page. Page 1's
  ETag is stored with it; after a pass that moved the cursor, page 1 of the new refresh URL
  is fetched once more (it is the next poll's URL), so an unchanged repo then costs one
  request answered 304 (0 rate limit). `since` is inclusive or exclusive on GitHub:
  the overlap (at least 1 s) covers both.
- Issues stream, import: first the open items updated before the window, oldest first by
  keyset (design (a): each query restarts at `since = last updated_at − 1 s`, de-duplicated
  by the idempotent upsert, following `Link` only inside a same-second burst larger than a
  page), so closing or editing an item mid-listing cannot shift another out of view. Then
  the window itself, `settings.sync_closed_days` back from GitHub's `Date` header, as a
  refresh pass with `since = window start`. An empty repo's cursor is window start +
  overlap (GitHub's clock, not ours), so its refresh URL is stable too.
- PR details: `/pulls?state=all&sort=updated&direction=desc`, listed only when the issues
  stream left PRs with stale details, and only down to the oldest of them.
- A stored `Link` that GitHub refuses with 422 on resume (an expired `after=` cursor)
  restarts that listing once from its first page.
- Limits: a close or delete inside a >100-item same-second burst while the keyset listing
  follows `Link` through it can hide one other item of that burst from the import until it
  next changes. A pass stops early at a page that changed nothing once it has read below
  the cursor's second, so the rest of the overlap window is not re-read (a late arrival
  deeper than an unchanged page waits for its next change).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.protocol import GitHubError, Gone, NotFound
from pmbot.control_plane.registry import get_repo
from pmbot.shared.kind import Kind
from pmbot.shared.logs import redact
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339, utc_now

PER_PAGE = 100
MAX_PASSES = 3  # a pass that moved the cursor is followed by one that primes the next URL
ISSUES, PRS = "issues", "prs"
WAL_CHECKPOINT_PAGES = 16384
WAIT_CHECK_SECONDS = 1.0
FAILURE_MESSAGES = {
    "not_found": "repository not found or token lacks access",
    "unauthorized": "token missing or invalid",
}


@dataclass
class SyncProgress:
    """Passed to `on_progress` after each committed page (running totals)."""

    items: int
    pages: int
    requests: int
    stream: str


@dataclass
class SyncResult:
    changed_items: int
    pages: int
    requests: int
    not_modified: int
    issues_cursor: str | None
    prs_cursor: str | None
    event_recorded: bool


class _Stopped(Exception):
    """`should_stop()` returned True: unwind to sync_repo, which returns what was committed."""


@dataclass
class _Run:
    """One call's connection, client, repo and running totals."""

    conn: sqlite3.Connection
    client: Any
    settings: Settings
    repo_id: int
    full_name: str
    on_progress: Callable[[SyncProgress], None] | None = None
    should_stop: Callable[[], bool] | None = None
    items: int = 0
    changed: int = 0
    pages: int = 0
    requests: int = 0
    not_modified: int = 0
    events: int = 0

    def fetch(self, url: str, *, etag: str | None = None) -> Any:
        """One request. Thread-safe (no DB access): a fetch-ahead thread calls it too."""
        self.requests += 1
        response = self.client.get(url, etag=etag)
        self.not_modified += bool(response.not_modified)
        return response

    def check_stop(self) -> None:
        """Between pages, on the caller's thread (should_stop may use its connection)."""
        if self.should_stop is not None and self.should_stop():
            raise _Stopped

    def between_pages(self) -> None:
        """`check_stop` unless nothing was requested yet."""
        if self.requests:
            self.check_stop()

    def note(self, response: Any) -> Any:
        """A listing answered from a new repo path (301): record the rename."""
        if response.redirected_from:
            _note_rename(self, response)
        return response

    def record(self, event: audit.AuditEvent) -> None:
        audit.record(self.conn, event)
        self.events += 1

    def page_done(self, stream: str, items: int, changed: int) -> None:
        self.pages += 1
        self.items += items
        self.changed += changed
        if self.on_progress is not None:
            self.on_progress(SyncProgress(self.items, self.pages, self.requests, stream))

    def cursor(self, stream: str) -> str | None:
        row = self.conn.execute(
            "SELECT issues_cursor, prs_cursor FROM repo_sync_state WHERE repo_id = ?",
            (self.repo_id,),
        ).fetchone()
        return None if row is None else row[0 if stream == ISSUES else 1]

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


def _start(conn, client, repo_id: int, settings: Settings, **callbacks) -> _Run:
    return _Run(conn, client, settings, repo_id, get_repo(conn, repo_id).full_name, **callbacks)


# -- public functions ------------------------------------------------------------------------


def sync_repo(
    conn: sqlite3.Connection,
    client: Any,
    repo_id: int,
    *,
    settings: Settings,
    reconcile: bool = False,
    on_progress: Callable[[SyncProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncResult:
    """Import or refresh one repo; see the module docstring for the contract."""
    run = _start(conn, client, repo_id, settings, on_progress=on_progress, should_stop=should_stop)
    try:
        _sync_issues(run)
        _sync_prs(run)
        if reconcile:
            run.changed += _reconcile(run)
    except _Stopped:
        return run.result()
    if run.changed or get_repo(conn, repo_id).status != "ok":
        with transaction(conn):
            run.record(_completed(run))
    return run.result()


@contextlib.contextmanager
def _checkpoint_less_often(conn: sqlite3.Connection) -> Iterator[None]:
    """An import commits ~1 MB of payloads per page; at SQLite's default (a WAL checkpoint,
    with its fsync, every 1000 pages) nearly every commit would checkpoint. 64 MiB between
    checkpoints took a 50,000-item import from ~19 s to ~13 s. Restored afterwards."""
    previous = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(previous)}")


def _completed(run: _Run) -> ev.SyncCompleted:
    return ev.SyncCompleted(
        repo_id=run.repo_id,
        changed_items=run.changed,
        pages=run.pages,
        requests=run.requests,
        issues_cursor=run.cursor(ISSUES),
        prs_cursor=run.cursor(PRS),
    )


def record_failure(
    conn: sqlite3.Connection,
    repo_id: int,
    error: BaseException,
    *,
    attempt: int,
    next_retry_at: str | None,
) -> bool:
    """Append `sync.failed` when the repo's error state changes; True if it did."""
    code, message = failure_message(error)
    with transaction(conn):
        repo = get_repo(conn, repo_id)
        if (repo.status, repo.last_error_code, repo.last_error) == ("error", code, message):
            return False
        failed = ev.SyncFailed(
            repo_id=repo_id,
            error_code=code,
            message=message,
            attempt=attempt,
            next_retry_at=next_retry_at,
        )
        audit.record(conn, failed)
    return True


def failure_message(error: BaseException) -> tuple[str, str]:
    """(error_code, one-line operator message) for a failed sync; never carries a token."""
    code = getattr(error, "code", None) or "error"  # RateLimited's is "rate_limited"
    text = FAILURE_MESSAGES.get(code) or " ".join(str(error).split()) or type(error).__name__
    return code, redact(text)[:300]


def reconcile_repo(
    conn: sqlite3.Connection, client: Any, repo_id: int, *, settings: Settings
) -> int:
    """Mark cached open items that GitHub no longer lists as gone; returns how many."""
    return _reconcile(_start(conn, client, repo_id, settings))


# -- issues stream ---------------------------------------------------------------------------


def _resuming(run: _Run, stream: str, sync_stream: Callable[[dict | None], None]) -> None:
    """Run a stream from its stored resume state. A stored `Link` that GitHub now refuses
    with 422 (an expired `after=` cursor) restarts that listing once from its first page."""
    state = cache.load_resume(run.conn, run.repo_id, stream)
    try:
        sync_stream(state)
    except GitHubError as error:
        state = cache.load_resume(run.conn, run.repo_id, stream)
        if error.status != 422 or not (state or {}).get("next_url"):
            raise
        state = {k: v for k, v in state.items() if k != "next_url"}
        with transaction(run.conn):
            cache.save_resume(run.conn, run.repo_id, stream, state)
        sync_stream(state)


def _sync_issues(run: _Run) -> None:
    _resuming(run, ISSUES, lambda state: _sync_issues_from(run, state))


def _sync_issues_from(run: _Run, state: dict | None) -> None:
    if state is None and run.cursor(ISSUES) is None:
        state = {"phase": "backlog"}
    if state is not None and state["phase"] == "backlog":
        state = _import_backlog(run, state)
    state = state or _pass_state(run, run.cursor(ISSUES))
    for _ in range(MAX_PASSES):
        cursor = _issues_pass(run, state)
        if cursor == state["basis"]:
            return
        state = _pass_state(run, cursor)


def _pass_state(run: _Run, basis: str) -> dict:
    return {"phase": "pass", "basis": basis, "since": _shift(basis, -_overlap(run))}


def _issues_pass(run: _Run, state: dict) -> str:
    """One descending pass (resumed at `next_url` if stored); returns the new cursor."""
    run.between_pages()
    if state.get("next_url") is None:
        url = _issues_path(run.full_name, "all", "desc", state["since"])
        # A pass restarted mid-way (see _resuming) must not take a 304 for "done".
        etag = None if "pass_cursor" in state else cache.get_etag(run.conn, url)
        response = run.note(run.fetch(url, etag=etag))
        if response.not_modified:
            return state["basis"]
        state = {**state, "pass_cursor": _pass_cursor(state["basis"], response)}
        if _pass_page(run, state, response, (url, response)):
            return state["pass_cursor"]
        run.check_stop()
        state = {**state, "next_url": response.next_url}
    # An import's pages always change something, so fetching ahead wastes no request there.
    ahead = run.cursor(ISSUES) is None
    for _, response, payloads in _pages(run, state["next_url"], _same, _link_next, ahead=ahead):
        if _pass_page(run, state, response, None, payloads):
            break
    return state["pass_cursor"]


def _pass_cursor(basis: str, response: Any) -> str:
    """The cursor this pass will commit: the newest `updated_at` on page 1, plus one second
    when GitHub's own clock (the page's Date) was already 2 s past it. Then every later update
    is stamped after that second, so the next pass need not re-read the whole second (a
    burst there can be larger than a page)."""
    items = response.data
    if not items:
        return basis
    top = items[0]["updated_at"]
    served_at = _github_now(response)
    if served_at is not None and to_rfc3339(served_at) >= _shift(top, 2):
        top = _shift(top, 1)
    return max(basis, top)


def _pass_page(run: _Run, state: dict, response: Any, validator, payloads=None) -> bool:
    """Commit one page of a pass; True when the pass is done.

    Done at the last page, or at a page that changed nothing and reaches below the
    cursor's second: everything at or after the cursor is read, and the overlap below it
    showed no late arrival."""
    items, basis = response.data, state["basis"]
    with transaction(run.conn):
        write = cache.upsert_issue_page(run.conn, run.repo_id, items, payloads)
        done = not response.next_url or (not write.changed and items[-1]["updated_at"] < basis)
        resume = None if done else {**state, "next_url": response.next_url}
        moved = done and state["pass_cursor"] != run.cursor(ISSUES)
        _commit_issues_page(
            run, write, len(items), resume, state["pass_cursor"] if moved else None, validator
        )
    run.page_done(ISSUES, len(items), write.changed)
    return done


def _import_backlog(run: _Run, state: dict) -> dict:
    """Import phase 1: open items updated before the window, oldest first, by keyset.

    Returns the state of the pass that imports the window itself.
    """

    def url_of(page_state: dict) -> str:
        since = page_state.get("since")
        return page_state.get("next_url") or _issues_path(run.full_name, "open", "asc", since)

    def advance(page_state: dict, response: Any) -> dict | None:
        return _backlog_next(_with_window(run, page_state, response), response)

    for page_state, response, payloads in _pages(run, state, url_of, advance, ahead=True):
        page_state = _with_window(run, page_state, response)
        following = _backlog_next(page_state, response)
        window = page_state["window_start"]
        resume = following or _pass_state(run, _shift(window, _overlap(run)))
        _issues_page(run, response.data, payloads, resume)
        if following is None:
            return resume
    raise AssertionError("unreachable: the last backlog page returns")


def _with_window(run: _Run, state: dict, response: Any) -> dict:
    if state.get("window_start"):
        return state
    return {**state, "window_start": _window_start(response, run.settings)}


def _backlog_next(state: dict, response: Any) -> dict | None:
    """Where the keyset listing continues, or None when the backlog is done."""
    items = response.data
    if not items or not response.next_url or items[-1]["updated_at"] >= state["window_start"]:
        return None
    since = _shift(items[-1]["updated_at"], -1)
    if state.get("since") is None or since > state["since"]:
        return {**state, "since": since, "next_url": None}
    return {**state, "next_url": response.next_url}  # a same-second burst: page through it


def _window_start(response: Any, settings: Settings) -> str:
    """`sync_closed_days` before GitHub's own clock (the Date header), whole seconds."""
    now = _github_now(response) or utc_now()  # no usable Date: the local clock is all we have
    return to_rfc3339(now - timedelta(days=settings.sync_closed_days))


def _github_now(response: Any) -> datetime | None:
    """GitHub's clock when it served `response` (its Date header), or None."""
    try:
        return parsedate_to_datetime(response.headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _issues_page(run: _Run, items: list[dict], payloads, resume: dict | None) -> None:
    with transaction(run.conn):
        write = cache.upsert_issue_page(run.conn, run.repo_id, items, payloads)
        _commit_issues_page(run, write, len(items), resume, None, None)
    run.page_done(ISSUES, len(items), write.changed)


def _commit_issues_page(
    run: _Run, write: cache.PageWrite, items: int, resume: dict | None, cursor, validator
) -> None:
    """The rest of a page's transaction: validator, resume position, audit event."""
    if validator is not None:
        url, response = validator
        cache.save_validator(run.conn, run.repo_id, url, response.etag, response.last_modified)
    cache.save_resume(run.conn, run.repo_id, ISSUES, resume)
    _record_page(run, ISSUES, items, write.changed, write.delta, cursor)


def _record_page(
    run: _Run, stream: str, items: int, changed: int, delta: dict, cursor: str | None
) -> None:
    if changed or cursor is not None:
        committed = ev.SyncPageCommitted(
            repo_id=run.repo_id,
            stream=stream,
            cursor=cursor,
            items=items,
            changed=changed,
            delta={k: v for k, v in delta.items() if v},
        )
        run.record(committed)


# -- pull request details --------------------------------------------------------------------


def _sync_prs(run: _Run) -> None:
    _resuming(run, PRS, lambda state: _sync_prs_from(run, state))


def _sync_prs_from(run: _Run, state: dict | None) -> None:
    """List /pulls newest first down to the oldest PR whose details are stale."""
    if state is None:
        floor = cache.stale_details_floor(run.conn, run.repo_id)
        if floor is None:
            return
        state = {"floor": floor}
    run.between_pages()
    first_url = _pulls_path(run.full_name)

    def url_of(page_state: dict) -> str:
        return page_state.get("next_url") or first_url

    for page_state, response, payloads in _pages(run, state, url_of, _pulls_next, ahead=True):
        following = _pulls_next(page_state, response)
        top = _with_top(page_state, response)["top"]
        _pulls_page(run, response.data, payloads, following, top)
        if following is None:
            return


def _pulls_next(state: dict, response: Any) -> dict | None:
    """The next /pulls page, or None once past the oldest stale PR (or at the end)."""
    items = response.data
    if not response.next_url or not items or items[-1]["updated_at"] < state["floor"]:
        return None
    return {**_with_top(state, response), "next_url": response.next_url}


def _with_top(state: dict, response: Any) -> dict:
    """Remember the newest `updated_at` of the pass's first page (the prs cursor)."""
    if "top" in state:
        return state
    return {**state, "top": response.data[0]["updated_at"] if response.data else None}


def _pulls_page(
    run: _Run, items: list[dict], payloads, resume: dict | None, top: str | None
) -> None:
    """Commit one /pulls page; on the last page (`resume` None) settle the pass."""
    with transaction(run.conn):
        written = cache.apply_pull_details(run.conn, run.repo_id, items, payloads)
        cursor = None
        if resume is None:
            cache.settle_details(run.conn, run.repo_id, top)
            old = run.cursor(PRS)
            cursor = top if top is not None and (old is None or top > old) else None
        cache.save_resume(run.conn, run.repo_id, PRS, resume)
        _record_page(run, PRS, len(items), written, {}, cursor)
    run.page_done(PRS, len(items), written)


# -- fetching pages --------------------------------------------------------------------------


def _pages(
    run: _Run,
    state: Any,
    url_of: Callable[[Any], str],
    advance: Callable[[Any, Any], Any],
    *,
    ahead: bool,
) -> Iterator[tuple[Any, Any, list[str] | None]]:
    """Yield (state, response, payloads) for each page of one listing, in order.

    `url_of(state)` is a page's URL and `advance(state, response)` the next page's state
    (None after the last). Both are pure, so with `ahead` a helper thread requests page N+1
    and serialises its items' payloads (`payloads`, else None) while the caller commits
    page N: still one request in flight, but the wait for GitHub and the JSON work overlap
    SQLite's writing. `should_stop` is asked between pages on the caller's thread; leaving
    the loop early stops the helper.
    """
    source = _FetchAhead(run, state, url_of, advance) if ahead else None
    try:
        while True:
            if source is not None:
                page = source.next(run)
            elif state is not None:
                page = (state, run.fetch(url_of(state)), None)
            else:
                page = None
            if page is None:
                return
            yield page[0], run.note(page[1]), page[2]
            state = advance(page[0], page[1]) if source is None else None
            run.check_stop()
    finally:
        if source is not None:
            source.close()


class _FetchAhead:
    """Helper threads walking a listing ahead of its consumer: one fetches (the client
    parses the JSON), one serialises the payloads, so GitHub's serving time, the parsing
    and the serialising overlap each other and the consumer's SQLite writes."""

    def __init__(self, run: _Run, state: Any, url_of, advance) -> None:
        self._fetched: queue.Queue = queue.Queue(maxsize=1)
        self._ready: queue.Queue = queue.Queue(maxsize=1)
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._fetch, args=(run, state, url_of, advance)),
            threading.Thread(target=self._serialise),
        ]
        for thread in self._threads:
            thread.name, thread.daemon = "pmbot-sync-fetch", True
            thread.start()

    def _fetch(self, run: _Run, state: Any, url_of, advance) -> None:
        try:
            while state is not None and not self._closed.is_set():
                response = run.fetch(url_of(state))
                self._fetched.put((state, response))
                state = advance(state, response)
            self._fetched.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            self._fetched.put(error)

    def _serialise(self) -> None:
        while True:
            item = self._fetched.get()
            if not isinstance(item, tuple):
                self._ready.put(item)
                return
            state, response = item
            self._ready.put((state, response, [cache.dumps(i) for i in response.data or ()]))

    def next(self, run: _Run) -> tuple[Any, Any, list[str]] | None:
        """The next page. While waiting (a long rate-limit sleep happens on the fetch
        thread), `should_stop` keeps being asked, which also lets the worker renew its lease."""
        while True:
            try:
                item = self._ready.get(timeout=WAIT_CHECK_SECONDS)
                break
            except queue.Empty:
                run.check_stop()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop both threads. Only the last stage is drained: the serialiser keeps draining
        the first until the fetcher's end marker reaches it."""
        self._closed.set()
        while self._threads[1].is_alive():
            with contextlib.suppress(queue.Empty):
                self._ready.get(timeout=0.02)
        for thread in self._threads:
            thread.join()


def _same(value: Any) -> Any:
    return value


def _link_next(_url: str, response: Any) -> str | None:
    return response.next_url


# -- reconciliation --------------------------------------------------------------------------


def _reconcile(run: _Run) -> int:
    """Cached open items missing from GitHub's open listing are fetched one by one:
    410 → deleted; 301 to another repo → transferred (moved_to `owner/name#n`); 404 →
    transferred somewhere the token cannot see (moved_to unknown). An item that answers
    200 was merely closed, which the issues stream records."""
    cached = cache.open_numbers(run.conn, run.repo_id)
    if not cached:
        return 0
    run.between_pages()
    url = _issues_path(run.full_name, "open", "desc", None)
    listed = {
        item["number"]
        for _, response, _ in _pages(run, url, _same, _link_next, ahead=True)
        for item in response.data
    }
    marks = [_check_item(run, kind, n) for n, kind in sorted(cached.items()) if n not in listed]
    marks = [m for m in marks if m is not None]
    if marks:
        with transaction(run.conn):
            delta = cache.mark_gone(run.conn, run.repo_id, marks)
            gone = [
                {"kind": k.search_kind, "number": n, "gone": g, "moved_to": to}
                for k, n, g, to in marks
            ]
            run.record(ev.SyncReconciled(repo_id=run.repo_id, gone=gone, delta=delta))
    return len(marks)


def _check_item(run: _Run, kind: Kind, number: int) -> tuple | None:
    run.check_stop()
    try:
        response = run.fetch(f"/repos/{run.full_name}/issues/{number}")
    except Gone:
        return (kind, number, "deleted", None)
    except NotFound:
        return (kind, number, "transferred", None)
    home = _repo_path(response.url)
    if response.redirected_from and home and home[0].lower() != run.full_name.lower():
        return (kind, number, "transferred", f"{home[0]}#{home[1].rsplit('/', 1)[-1]}")
    return None


# -- renames ---------------------------------------------------------------------------------


def _note_rename(run: _Run, response: Any) -> None:
    """A listing answered from a new repo path (301): record `repo.renamed` once."""
    home = _repo_path(response.url)
    if home is None and response.data:
        home = _repo_path(response.data[0].get("repository_url", ""))
    if home is None or home[0] == run.full_name:
        return
    with transaction(run.conn):
        run.record(
            ev.RepoRenamed(repo_id=run.repo_id, full_name=home[0], old_full_name=run.full_name)
        )
    run.full_name = home[0]


def _repo_path(url: str) -> tuple[str, str] | None:
    """(`owner/name`, rest of the path) of a `/repos/owner/name/...` URL, else None."""
    parts = urlsplit(url).path.split("/")
    if len(parts) < 4 or parts[1] != "repos":
        return None
    return f"{parts[2]}/{parts[3]}", "/".join(parts[4:])


# -- URLs and time ---------------------------------------------------------------------------


def _issues_path(full_name: str, state: str, direction: str, since: str | None) -> str:
    params = {"state": state, "sort": "updated", "direction": direction, "per_page": PER_PAGE}
    if since is not None:  # "everything" omits since (since=1970 has returned nothing)
        params["since"] = since
    return f"/repos/{full_name}/issues?{urlencode(params)}"


def _pulls_path(full_name: str) -> str:
    params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
    return f"/repos/{full_name}/pulls?{urlencode(params)}"


def _overlap(run: _Run) -> int:
    """At least one second, so an exclusive `since` still re-reads the cursor's second."""
    return max(1, run.settings.sync_overlap_seconds)


def _shift(stamp: str, seconds: int) -> str:
    return to_rfc3339(parse_rfc3339(stamp) + timedelta(seconds=seconds))
