"""The pull-request details stream: `/pulls`, listed only as deep as what changed.

The issues listing says which PRs changed (their details are then stale); `/pulls`
(sorted by `updated`, newest first) brings the details. Some PR changes (commits pushed
to the head branch) move only the PR's `updated_at` there, so with nothing stale page 1
is still asked conditionally on every poll (a 304 is free).
"""

from __future__ import annotations

from pmbot.control_plane.cache import PRS
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.github.protocol import NotFound
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.listing import ResumeState
from pmbot.control_plane.sync.run import Run

SINGLE_PR_GETS = 10  # stale PRs below a page of no stale ones: fetched singly if this few


def sync_prs(run: Run, state: ResumeState | None) -> None:
    """List /pulls newest first down to the oldest PR whose details are stale; with none
    stale, ask page 1 conditionally (`_pulls_check`)."""
    if state is None:
        floor = cache.stale_details_floor(run.conn, run.repo_id)
        if floor is None:
            floor = _pulls_check(run)
        if floor is None:
            return
        state = ResumeState(floor=floor)
    run.between_pages()
    first_url = ls.pulls_url(run.base)

    def url_of(page_state: ResumeState) -> str:
        return page_state.next_url or first_url

    for page_state, response in run.listing(state, url_of, ls.pulls_next, ahead=True):
        following = ls.pulls_next(page_state, response)
        top = ls.with_top(page_state, response).top
        with run.commit():
            written = cache.apply_pull_details(
                run.conn, run.repo_id, response.data, response.item_texts
            )
            if page_state.next_url is None:  # page 1: the next poll's conditional check
                cache.save_validator(
                    run.conn, run.repo_id, first_url, response.etag, response.last_modified
                )
            cursor = None
            if following is None:  # the pass's last page: settle it
                cache.settle_details(run.conn, run.repo_id, top)
                old = run.cursor(PRS)
                cursor = top if top is not None and (old is None or top > old) else None
            run.save_resume(PRS, following)
            run.record_page(PRS, len(response.data), written, {}, cursor)
        run.page_done(PRS, len(response.data), written)
        if following is None:
            return
        if not written and _fetch_stragglers(run, response.data[-1]["updated_at"], top):
            return


def _fetch_stragglers(run: Run, below: str, top: str | None) -> bool:
    """After a /pulls page that held no stale cached PR, the few stale PRs left below it (an
    old open PR under pages of closed ones the cache does not keep) are fetched one by one
    instead of listing down to them, so the depth follows what changed. False (keep
    listing) when more than SINGLE_PR_GETS are left."""
    numbers = cache.stale_prs_below(run.conn, run.repo_id, below, SINGLE_PR_GETS + 1)
    if len(numbers) > SINGLE_PR_GETS:
        return False
    pulls = []
    for number in numbers:
        run.check_stop()
        try:
            pulls.append(run.fetch_waiting(ls.pull_url(run.base, number)).data)
        except NotFound:
            continue  # settled below as checked, like a PR the listing did not show
    with run.commit():
        written = cache.apply_pull_details(run.conn, run.repo_id, pulls)
        cache.settle_details(run.conn, run.repo_id, top)
        old = run.cursor(PRS)
        cursor = top if top is not None and (old is None or top > old) else None
        run.save_resume(PRS, None)
        run.record_page(PRS, len(pulls), written, {}, cursor)
    run.page_done(PRS, len(pulls), written)
    return True


def _pulls_check(run: Run) -> str | None:
    """Page 1 of /pulls, conditionally: some PR changes (commits pushed to the head branch)
    move only the PR's `updated_at` there, not the issue's. A 304 (free) means no PR moved.
    Otherwise returns the floor down to which /pulls must be listed: the newest `updated_at`
    it showed last time (the prs cursor), so only what changed is read."""
    url = ls.pulls_url(run.base)
    etag, _ = cache.get_validator(run.conn, url)
    if etag is None:
        return None  # never listed: the import lists /pulls as its PRs need
    response = run.fetch_waiting(url, etag=etag)
    if response.not_modified or not response.data:
        return None
    return run.cursor(PRS) or response.data[-1]["updated_at"]
