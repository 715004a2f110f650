"""Requests off the caller's thread: the page iterator and its fetch-ahead helpers.

Policy: the sync's caller thread owns the DB connection and never blocks on
GitHub. Every request runs on a helper thread named `pmbot-sync-fetch`
(still one request in flight), and while the caller waits for it, it calls
`tick()` every WAIT_CHECK_SECONDS. `tick` is the caller's single keep-alive
(renew the lease, save GitHub's status, beat) and says whether to go on, so
a long rate-limit wait inside the client keeps the lease and can be stopped
from the caller's side. When `tick` raises, the helper is joined first, so
no request outlives the sync that made it.

A listing fetched `ahead` runs one helper that requests page N+1 (the client
parses the JSON) while the caller commits page N, so GitHub's serving time,
the parsing and SQLite's writing overlap. The helper starts on page N+1 only
once the caller has taken page N: a parsed page is the largest thing a sync
holds (~6 MiB for 100 /pulls objects), so at most two are alive, and going
further ahead would only buy memory.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

WAIT_CHECK_SECONDS = 1.0
THREAD_NAME = "pmbot-sync-fetch"

S = TypeVar("S")  # a listing's state: a URL, or a listing.ResumeState
Page = tuple[S, Any]  # (state, response)


def call_waiting(request: Callable[[], Any], tick: Callable[[], None]) -> Any:
    """`request()` on a helper thread; `tick()` on this one every WAIT_CHECK_SECONDS meanwhile."""
    done: queue.Queue = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            done.put((True, request()))
        except BaseException as error:  # handed to the caller, raised there
            done.put((False, error))

    thread = _start(run)
    try:
        ok, value = _wait(done, tick)
    finally:
        thread.join()
    if not ok:
        raise value
    return value


def pages(
    fetch: Callable[[str], Any],
    state: S | None,
    url_of: Callable[[S], str],
    advance: Callable[[S, Any], S | None],
    tick: Callable[[], None],
    *,
    ahead: bool,
) -> Iterator[Page]:
    """Yield (state, response) for each page of one listing, in order.

    `url_of(state)` is a page's URL and `advance(state, response)` the next page's state
    (None after the last). Both are pure, so with `ahead` they run on the helper thread.
    `tick` runs between pages; leaving the loop early stops the helper.
    """
    source = _FetchAhead(fetch, state, url_of, advance) if ahead else None
    try:
        while True:
            if source is not None:
                page = source.next(tick)
            elif state is not None:
                page = (state, call_waiting(lambda s=state: fetch(url_of(s)), tick))
            else:
                page = None
            if page is None:
                return
            yield page
            state = advance(page[0], page[1]) if source is None else None
            tick()
    finally:
        if source is not None:
            source.close()


class _FetchAhead(Generic[S]):
    """The helper thread walking a listing ahead of its consumer."""

    def __init__(self, fetch, state: S | None, url_of, advance) -> None:
        self._ready: queue.Queue = queue.Queue(maxsize=1)
        self._closed = threading.Event()
        self._thread = _start(lambda: self._fetch(fetch, state, url_of, advance))

    def _fetch(self, fetch, state: S | None, url_of, advance) -> None:
        try:
            while state is not None and not self._closed.is_set():
                response = fetch(url_of(state))
                self._ready.put((state, response))
                self._ready.join()  # taken: fetch the next one while it is written
                state = advance(state, response)
            self._ready.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            self._ready.put(error)

    def next(self, tick: Callable[[], None]) -> Page | None:
        """The next page, ticking while it is on its way."""
        item = _wait(self._ready, tick)
        self._ready.task_done()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the helper, draining the queue until it has put its end marker."""
        self._closed.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._ready.get(timeout=0.02)
                self._ready.task_done()
        self._thread.join()


def same(state: Any) -> Any:
    """`url_of` for a listing whose state is its URL."""
    return state


def link_next(_url: str, response: Any) -> str | None:
    """`advance` for a listing that follows GitHub's `Link` next."""
    return response.next_url


def _start(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread


def _wait(source: queue.Queue, tick: Callable[[], None]) -> Any:
    while True:
        try:
            return source.get(timeout=WAIT_CHECK_SECONDS)
        except queue.Empty:
            tick()
