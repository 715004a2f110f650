"""Incremental sync of one repo's issues and pull requests into the local cache.

Interface (worker.py and the CLI build on it):

    sync_repo(conn, client, repo_id, *, settings, reconcile=False, context=None) -> SyncResult
        An import (repo never synced, or after a cache reset) or an incremental refresh.
        Each page commits in ONE transaction: cache upserts, the page's http_cache
        validator, the resume position, the cursor move and its `sync.page_committed`
        event. `sync.completed` is recorded when anything changed or the repo's projected
        status is not 'ok'; a no-change refresh appends no event. The caller's
        `SyncContext` gets `progress(SyncProgress)` after each committed page, and
        `tick()` between pages and every WAIT_CHECK_SECONDS while a request is on its way:
        when `tick` returns False, sync_repo RETURNS EARLY with a partial SyncResult of
        what was committed (no `sync.completed`); the next call resumes at the first
        uncommitted page. A cache reset while it runs fences it off the same way, before
        its next write (`Run.commit`): nothing more is written, and the next call imports.
        GitHub failures propagate as the client's GitHubError
        subclasses (or whatever the client's `sleep` raises) after the pages before them
        were committed; the worker decides retries. Threads: every request runs on a
        helper thread (`fetch_ahead.py`), so the client, its `sleep` and `on_response`
        run there; the DB connection and the context are only used on the caller's thread.
    record_failure(conn, repo_id, error, *, attempt, next_retry_at) -> bool
        Appends `sync.failed` only when the repo's error state changes.
    reconcile_repo(conn, client, repo_id, *, settings) -> int
        Finds cached items that left GitHub's listings and marks them gone: open ones at
        each call, closed ones when `reconcile_closed_days` passed since the last time.

Design (ARCHITECTURE.md "Sync semantics"; the pure rules are in `listing.py`):
- Identity (`identity.py`): the first sync records GitHub's numeric repo id
  (`repo.identified`); every request is then addressed `/repositories/{id}/...`, so a
  rename costs nothing and a repo that takes the old name is never read as this one.
- Fencing (`run.py`): every write checks the repo's cache generation, so a reset wins.
- Issues stream, refresh: design (b). One pass lists `state=all&sort=updated&direction=desc
  &since=S`, following `Link` verbatim, down to the window's start (cursor − overlap); S is
  the stored chain's `since` (the window's start when the chain was made: the listing is
  newest first, so its first pages are the window whatever S is). The cursor (greatest
  `updated_at` in GitHub's data) moves only on the pass's last page, to the newest
  `updated_at` of its first page (+1 s when GitHub's Date on that page was already 2 s
  later, see `pass_cursor`): anything changed while the pass pages is newer than that, so
  the next pass sees it, and an update moves an item to the front, which only duplicates
  later items, never skips them. A crash resumes from the next URL stored in `sync_resume`
  with each page. Each page's ETag and `Link` next are stored with it; a pass always reads
  to the window's end, asking each page conditionally (a 304 follows the stored next). The
  pages it reads are the next window's chain as far as they reach into it (a page wholly
  below it ends the chain), so a pass that moved the cursor needs no second reading of the
  new window: only page 1 is asked once more (a 304 there: nothing moved during the pass).
  An unchanged repo then costs ⌈window items / 100⌉ requests answered 304 (0 rate limit).
  `since` is inclusive or exclusive on GitHub: the overlap (at least 1 s) covers both.
- Issues stream, import: first the open items updated before the window, oldest first by
  keyset (design (a): each query restarts at `since = last updated_at − 1 s`, de-duplicated
  by the idempotent upsert, following `Link` only inside a same-second burst larger than a
  page), so closing or editing an item mid-listing cannot shift another out of view. Then
  the window itself, the repo's closed-window days back from GitHub's `Date` header, as a
  refresh pass with `since = window start`. An empty repo's cursor is window start +
  overlap (GitHub's clock, not ours), so its refresh URL is stable too.
- Closed-items window (ADR 0003 §10): the repo's own days, else the setting's. An import
  records `sync.closed_window_filled` (its window start) with its window pass's last page.
  When the window's start now is older than that (the operator widened it), the sync
  lists `state=closed&direction=asc&since=` the new start by keyset like the backlog,
  stopping at the old start, resumable (`phase: backfill`), and records the new start.
- PR details: `/pulls?state=all&sort=updated&direction=desc`, listed when the issues
  stream left PRs with stale details, down to the oldest of them; otherwise page 1 is asked
  conditionally on every poll (a change only /pulls sees), and a 200 is listed down to
  the previous pass's newest item. A few stale PRs left below a page that held none are
  fetched singly instead of listing down to them.
- A stored `Link` that GitHub refuses with 422 on resume (an expired `after=` cursor)
  restarts that listing once from its first page.
- Limits: a close or delete inside a >100-item same-second burst while the keyset listing
  follows `Link` through it can hide one other item of that burst, so each such burst is
  paged through once more at the backlog's end (`_relist_burst`; not resumable).
  Staleness is bounded: a pass never stops early, and every poll re-validates
  the whole overlap window (a chain of conditional requests, one stored validator and
  `Link` next per page), so a late arrival listed within the overlap of the cursor is
  cached at the next poll.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import ISSUES, PRS, Kind
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.db import transaction
from pmbot.control_plane.github.protocol import GitHubError, NotFound
from pmbot.control_plane.registry import get_repo
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.identity import explain_not_found, identify, note_listing
from pmbot.control_plane.sync.listing import ResumeState
from pmbot.control_plane.sync.pulls import sync_prs
from pmbot.control_plane.sync.reconcile import reconcile_closed, reconcile_open
from pmbot.control_plane.sync.run import Run, Stopped, SyncContext, SyncProgress, SyncResult, start
from pmbot.shared.logs import redact
from pmbot.shared.settings import Settings

__all__ = ["SyncContext", "SyncProgress", "SyncResult", "record_failure", "sync_repo"]

MAX_RECHECKS = 2  # page-1 checks after passes that moved the cursor (edits keep coming)
FAILURE_MESSAGES = {
    "not_found": "repository not found or token lacks access",
    "unauthorized": "token missing or invalid",
}


# -- public functions ------------------------------------------------------------------------


def sync_repo(
    conn: sqlite3.Connection,
    client: Any,
    repo_id: int,
    *,
    settings: Settings,
    reconcile: bool = False,
    context: SyncContext | None = None,
) -> SyncResult:
    """Import or refresh one repo; see the module docstring for the contract."""
    run = start(conn, client, repo_id, settings, context)
    try:
        identify(run)
        try:
            _resuming(run, ISSUES, _sync_issues)
        except NotFound as error:
            raise explain_not_found(run, error) from error
        _resuming(run, PRS, sync_prs)
        if reconcile:
            run.changed += reconcile_open(run)
            run.changed += reconcile_closed(run)
        if run.changed or get_repo(conn, repo_id).status != "ok":
            with run.commit():
                run.record(
                    ev.SyncCompleted(
                        repo_id=run.repo_id,
                        changed_items=run.changed,
                        pages=run.pages,
                        requests=run.requests,
                        issues_cursor=run.cursor(ISSUES),
                        prs_cursor=run.cursor(PRS),
                    )
                )
    except Stopped:  # asked to stop, or fenced off by a cache reset (CacheWasReset)
        pass
    return run.result()


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
    """Mark cached items that GitHub no longer lists as gone; returns how many."""
    run = start(conn, client, repo_id, settings, None)
    identify(run)
    return reconcile_open(run) + reconcile_closed(run)


def _resuming(run: Run, kind: Kind, sync_stream: Callable[[Run, Any], None]) -> None:
    """Run a stream from its stored resume state. A stored `Link` that GitHub now refuses
    with 422 (an expired `after=` cursor) restarts that listing once from its first page."""
    try:
        sync_stream(run, _load(run, kind))
    except GitHubError as error:
        state = _load(run, kind)
        if error.status != 422 or state is None or not state.next_url:
            raise
        with run.commit():
            cache.save_resume(run.conn, run.repo_id, kind.stream, state.at(None).to_json())
        sync_stream(run, state.at(None))


def _load(run: Run, kind: Kind) -> ResumeState | None:
    return ResumeState.from_json(cache.load_resume(run.conn, run.repo_id, kind.stream))


# -- issues stream ---------------------------------------------------------------------------


def _sync_issues(run: Run, state: ResumeState | None) -> None:
    if state is not None and state.phase == ls.BACKFILL:  # finish it before anything else
        _backfill_closed(run, state)
        state = None
    if state is None and run.cursor(ISSUES) is None:
        state = ResumeState(phase=ls.BACKLOG)
    if state is not None and state.phase == ls.BACKLOG:
        state = _import_backlog(run, state)
    state = state or _refresh_state(run)
    importing = run.cursor(ISSUES) is None
    cursor = _issues_pass(run, state)
    if importing:  # the window pass stores no validators: read the new window's chain
        state = ls.pass_state(cursor, run.overlap())
        cursor = _issues_pass(run, state)
    for _ in range(MAX_RECHECKS):  # a pass that moved the cursor: did anything move meanwhile?
        if cursor == state.basis:
            break
        state = _refresh_state(run)
        cursor = _issues_pass(run, state, recheck=True)
    backfill = _backfill_due(run)
    if backfill is not None:
        _backfill_closed(run, backfill)


def _refresh_state(run: Run) -> ResumeState:
    """A refresh pass from the cursor, asked from the stored chain's head if there is one."""
    head = ls.since_of(cache.chain_url(run.conn, run.repo_id, ls.PASS_LISTING))
    return ls.pass_state(run.cursor(ISSUES), run.overlap(), head)


def _issues_pass(run: Run, state: ResumeState, *, recheck: bool = False) -> str:
    """One descending pass over the whole window `state.basis − overlap` (asked with
    `since = state.since`, resumed at `next_url` if stored); returns the cursor it committed.

    Its pages are the next poll's chain as far as they reach into the next window (the
    committed cursor − overlap): a page wholly below it ends the chain stored before it, so
    a pass that moved the cursor needs no second pass over the new window. `recheck`: the
    pass after one that moved the cursor ends at a 304 on page 1 (an update during the
    previous pass would have moved an item there)."""
    run.between_pages()
    if run.cursor(ISSUES) is None:
        return _window_pass(run, state)
    url = state.next_url or ls.issues_url(run.base, "all", "desc", state.since)
    first, previous = state.next_url is None, None
    bottom = ls.shift(state.basis, -run.overlap())
    while True:
        etag, stored_next = cache.get_validator(run.conn, url)
        response = run.fetch_waiting(url, etag=etag)
        if state.pass_cursor is None:  # page 1; a 304 there keeps the cursor
            state = replace(state, pass_cursor=ls.pass_cursor(state.basis, response))
        if response.not_modified:  # the page is as committed: follow its stored `Link`
            next_url = None if recheck and first else stored_next
            if next_url is None:
                _settle_pass(run, state)
        else:
            next_url = ls.pass_next(response, bottom)
            kept = first or ls.reaches(response, ls.shift(state.pass_cursor, -run.overlap()))
            _pass_page(
                run, state, response, next_url, _ChainPage(url, response, kept, first, previous)
            )
        if next_url is None:
            return state.pass_cursor
        run.check_stop()
        state, previous, url, first = state.at(next_url), url, next_url, False


def _window_pass(run: Run, state: ResumeState) -> str:
    """The import's window pass: every page is new, so pages are fetched ahead."""
    first_url = ls.issues_url(run.base, "all", "desc", state.since)

    def url_of(page_state: ResumeState) -> str:
        return page_state.next_url or first_url

    def advance(page_state: ResumeState, response: Any) -> ResumeState | None:
        return page_state.at(response.next_url) if response.next_url else None

    for _, response in run.listing(state, url_of, advance, ahead=True):
        if state.pass_cursor is None:
            state = replace(state, pass_cursor=ls.pass_cursor(state.basis, response))
        _pass_page(run, state, response, response.next_url, None)
        state = state.at(response.next_url)
    return state.pass_cursor


@dataclass(frozen=True)
class _ChainPage:
    """A refresh page kept as a link of the next poll's chain (its validator and next)."""

    url: str
    response: Any
    kept: bool  # page 1, or a page that reaches into the next window
    first: bool  # page 1: a new chain, older ones are dropped
    previous: str | None  # the page before: the chain ends there if this one is not kept


def _pass_page(run: Run, state: ResumeState, response: Any, next_url: str | None, chain) -> None:
    """Commit one page of a pass; its last page (`next_url` None) moves the cursor."""
    items = response.data
    note_listing(run, items)
    with run.commit():
        write = cache.upsert_issue_page(run.conn, run.repo_id, items, response.item_texts)
        done = next_url is None
        resume = None if done else state.at(next_url)
        moved = done and state.pass_cursor != run.cursor(ISSUES)
        cursor = state.pass_cursor if moved else None
        if moved and run.cursor(ISSUES) is None:  # the import's window pass is complete
            run.record(ev.SyncClosedWindowFilled(repo_id=run.repo_id, since=state.since))
        _commit_issues_page(run, write, len(items), resume, cursor, chain)
    run.page_done(ISSUES, len(items), write.changed)


def _settle_pass(run: Run, state: ResumeState) -> None:
    """A pass whose last page answered 304: end it, moving the cursor if page 1 moved it."""
    moved = state.pass_cursor != run.cursor(ISSUES)
    if not moved and _load(run, ISSUES) is None:
        return
    with run.commit():
        cursor = state.pass_cursor if moved else None
        _commit_issues_page(run, cache.PageWrite(), 0, None, cursor, None)


def _import_backlog(run: Run, state: ResumeState) -> ResumeState:
    """Import phase 1: open items updated before the window, oldest first, by keyset.

    Returns the state of the pass that imports the window itself.
    """
    days = run.closed_days

    def advance(page_state: ResumeState, response: Any) -> ResumeState | None:
        return ls.backlog_next(ls.with_window(page_state, response, days), response)

    def url_of(page_state: ResumeState) -> str:
        return ls.backlog_url(run.base, page_state)

    for page_state, response in run.listing(state, url_of, advance, ahead=True):
        page_state = ls.with_window(page_state, response, days)
        following = ls.backlog_next(page_state, response)
        resume = following or ls.pass_state(
            ls.shift(page_state.window_start, run.overlap()), run.overlap()
        )
        note_listing(run, response.data)
        with run.commit():
            write = cache.upsert_issue_page(
                run.conn, run.repo_id, response.data, response.item_texts
            )
            _commit_issues_page(run, write, len(response.data), resume, None, None)
        run.page_done(ISSUES, len(response.data), write.changed)
        if following is None:
            for second in page_state.bursts or ():
                _relist_burst(run, page_state, second)
            return resume
    raise AssertionError("unreachable: the last backlog page returns")


def _backfill_due(run: Run) -> ResumeState | None:
    """The backfill a widened closed window needs, if any: closed items updated between the
    window's start now (GitHub's clock) and the start every cached closed item is known from.

    A cache imported before that start was recorded (migration 0012) was imported with the
    setting's window, so that is recorded first."""
    covered = run.closed_since()
    if covered is None:
        covered = ls.window_start_at(run.served_at, run.settings.sync_closed_days)
        with run.commit():
            run.record(ev.SyncClosedWindowFilled(repo_id=run.repo_id, since=covered))
    target = ls.window_start_at(run.served_at, run.closed_days)
    return ls.backfill_state(target, covered) if target < covered else None


def _backfill_closed(run: Run, state: ResumeState) -> None:
    """The closed items a widened window lacks, oldest first by keyset like the import's
    backlog (`state=closed&direction=asc&since=` the new start, stopping at the old start),
    so nothing cached is read again; resumable from `sync_resume`. Its last page records
    `sync.closed_window_filled` with the new start."""

    def url_of(page_state: ResumeState) -> str:
        return ls.backlog_url(run.base, page_state)

    for page_state, response in run.listing(state, url_of, ls.backlog_next, ahead=True):
        following = ls.backlog_next(page_state, response)
        note_listing(run, response.data)
        with run.commit():
            write = cache.upsert_issue_page(
                run.conn, run.repo_id, response.data, response.item_texts
            )
            if following is None:
                run.record(ev.SyncClosedWindowFilled(repo_id=run.repo_id, since=state.basis))
            _commit_issues_page(run, write, len(response.data), following, None, None)
        run.page_done(ISSUES, len(response.data), write.changed)
        if following is None:
            for second in page_state.bursts or ():
                _relist_burst(run, page_state, second)
            return


def _relist_burst(run: Run, state: ResumeState, second: str) -> None:
    """Page once more through a same-second burst the backlog followed `Link` through
    (`listing.burst_url`), upserting what it shows; not resumable (a crash skips it)."""
    url: str | None = ls.burst_url(run.base, state, second)
    while url is not None:
        run.check_stop()
        response = run.fetch_waiting(url)
        with run.commit():
            write = cache.upsert_issue_page(
                run.conn, run.repo_id, response.data, response.item_texts
            )
            run.record_page(ISSUES, len(response.data), write.changed, write.delta, None)
        run.page_done(ISSUES, len(response.data), write.changed)
        items = response.data
        url = response.next_url if items and items[-1]["updated_at"] <= second else None


def _commit_issues_page(
    run: Run, write: cache.PageWrite, items: int, resume: ResumeState | None, cursor, chain
) -> None:
    """The rest of a page's transaction: chain link, resume position, audit event."""
    if chain is not None and chain.kept:
        if chain.first:  # a new chain: the validators of older windows are never asked again
            since = ls.since_param(chain.url)
            cache.drop_other_chains(run.conn, run.repo_id, ls.PASS_LISTING, since)
        next_url = resume and resume.next_url
        response = chain.response
        cache.save_validator(
            run.conn, run.repo_id, chain.url, response.etag, response.last_modified, next_url
        )
    elif chain is not None and chain.previous is not None:
        cache.end_chain(run.conn, chain.previous)  # this page is below the next window
    run.save_resume(ISSUES, resume)
    run.record_page(ISSUES, items, write.changed, write.delta, cursor)
