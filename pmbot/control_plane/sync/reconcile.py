"""Reconciliation: cached items that left GitHub's listings are marked gone.

Runs with a sync when asked for (the worker asks daily) or alone
(`sync.reconcile_repo`); one transaction records the marks and their
`sync.reconciled` event. Open items are checked each time; closed ones (which the
open listing cannot see leave) every `reconcile_closed_days`.
"""

from __future__ import annotations

from datetime import timedelta

from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import ISSUES, Kind
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.github.protocol import Gone, NotFound
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.fetch_ahead import link_next, same
from pmbot.control_plane.sync.run import Run
from pmbot.shared.timeutil import parse_rfc3339, to_rfc3339


def reconcile_open(run: Run) -> int:
    """Cached open items missing from GitHub's open listing are fetched one by one:
    410 → deleted; 301 to another repo → transferred (moved_to `owner/name#n`, from the
    followed body: GitHub's `Location` names the repo by id); 404 → not_visible: no
    longer visible (deleted, transferred to a repo the token cannot see, or access lost;
    GitHub's 404 does not say which). An item that answers
    200 is still here (merely closed, or missed by a listing): its body is upserted like a
    sync page, and so are the open listing's pages, so what was paid for is kept."""
    cached = cache.open_numbers(run.conn, run.repo_id)
    if not cached:
        return 0
    run.between_pages()
    url = ls.issues_url(run.base, "open", "desc", None)
    listed: set[int] = set()
    for _, response in run.listing(url, same, link_next, ahead=True):
        listed.update(item["number"] for item in response.data)
        _keep(run, response.data, response.item_texts)  # paid for: an open item a listing missed
    return _check_missing(run, cached, listed)


def reconcile_closed(run: Run) -> int:
    """Cached closed items that were deleted or transferred, found when
    `reconcile_closed_days` passed since the last time (GitHub's clock): the `state=all`
    listing of the cached closed range, ascending by `updated_at` `since` the oldest of
    them, is asked as a chain of conditional requests (one stored validator and `Link`
    next per page), and each cached closed item it lacks is fetched singly (as in
    `reconcile_open`). All pages 304: the listing is as it was when every cached item was
    last accounted for, so nothing left, at 0 rate limit. Otherwise the 304 pages are read
    once more (their items are not stored), so a changed range costs up to twice its pages."""
    last = cache.closed_reconciled_at(run.conn, run.repo_id)
    days = timedelta(days=run.settings.reconcile_closed_days)
    if (
        last is not None
        and run.served_at is not None
        and run.served_at < parse_rfc3339(last) + days
    ):
        return 0
    since, cached = cache.closed_range(run.conn, run.repo_id)
    listed: set[int] | None = set()
    if since is not None:
        run.between_pages()
        listed = _closed_listing(run, ls.issues_url(run.base, "all", "asc", since))
    marked = _check_missing(run, cached, listed) if listed is not None else 0
    if run.served_at is not None:
        with run.commit():
            cache.save_closed_reconciled(run.conn, run.repo_id, to_rfc3339(run.served_at))
    return marked


def _closed_listing(run: Run, url: str | None) -> set[int] | None:
    """The numbers the closed range's listing shows; None when every page answered 304."""
    listed, unchanged, first, changed = set(), [], True, False
    while url is not None:
        run.check_stop()
        etag, stored_next = cache.get_validator(run.conn, url)
        response = run.fetch_waiting(url, etag=etag)
        if response.not_modified:
            unchanged.append(url)
            url = stored_next
        else:
            changed = True
            listed.update(item["number"] for item in response.data)
            _keep(run, response.data, response.item_texts, (url, response, first))
            url = response.next_url
        first = False
    if not changed:
        return None
    for url in unchanged:
        run.check_stop()
        response = run.fetch_waiting(url)
        listed.update(item["number"] for item in response.data)
        _keep(run, response.data, response.item_texts, (url, response, False))
    return listed


def _check_missing(run: Run, cached: dict[int, Kind], listed: set[int]) -> int:
    """GET each cached item the listing lacks: its body is kept, or it is marked gone."""
    checked = [_check_item(run, kind, n) for n, kind in sorted(cached.items()) if n not in listed]
    _keep(run, [body for body in checked if isinstance(body, dict)], None)
    marks = [mark for mark in checked if isinstance(mark, tuple)]
    if marks:
        with run.commit():
            delta = cache.mark_gone(run.conn, run.repo_id, marks)
            run.record(ev.SyncReconciled.of_marks(run.repo_id, marks, delta))
    return len(marks)


def _keep(run: Run, items: list[dict], texts: list[str] | None, validator=None) -> None:
    """Upsert what the reconciliation read (`texts`: its items' JSON, if it was one page),
    like a sync page (its event included), with the validator (url, response, first of its
    chain) of the page it came from."""
    if not items and validator is None:
        return
    with run.commit():
        write = cache.upsert_issue_page(run.conn, run.repo_id, items, texts)
        if validator is not None:
            url, response, first = validator
            if first:  # a new range: the older ranges' chains are never asked again
                cache.drop_other_chains(
                    run.conn, run.repo_id, ls.CLOSED_LISTING, ls.since_param(url)
                )
            cache.save_validator(
                run.conn, run.repo_id, url, response.etag, response.last_modified,
                response.next_url,
            )  # fmt: skip
        if write.changed:
            delta = {k: v for k, v in write.delta.items() if v}
            run.record(
                ev.SyncPageCommitted(
                    repo_id=run.repo_id, stream="issues", cursor=None, items=len(items),
                    changed=write.changed, delta=delta,
                )
            )  # fmt: skip
    run.page_done(ISSUES, len(items), write.changed)


def _check_item(run: Run, kind: Kind, number: int) -> tuple | dict:
    """A gone mark (kind, number, gone, moved_to), or the item's body when it is still here."""
    run.check_stop()
    try:
        response = run.fetch_waiting(ls.issue_url(run.base, number))
    except Gone:
        return (kind, number, "deleted", None)
    except NotFound:
        return (kind, number, "not_visible", None)
    if not response.redirected_from:
        return response.data
    # GitHub redirects a transferred issue by repository id (`/repositories/{id}/issues/{n}`):
    # its new home is in the followed body, at no extra request.
    home = ls.repo_path(response.data.get("repository_url", ""))
    if home is None or home[0].lower() == run.full_name.lower():
        return response.data
    return (kind, number, "transferred", f"{home[0]}#{response.data['number']}")
