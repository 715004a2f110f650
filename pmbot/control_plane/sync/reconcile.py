"""Reconciliation: cached open items that left GitHub's open listing are marked gone.

Runs with a sync when asked for (the worker asks daily) or alone
(`sync.reconcile_repo`); one transaction records the marks and their
`sync.reconciled` event.
"""

from __future__ import annotations

from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.cache import ISSUES, Kind
from pmbot.control_plane.cache import store as cache
from pmbot.control_plane.github.protocol import Gone, NotFound
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.fetch_ahead import link_next, same
from pmbot.control_plane.sync.run import Run


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
    for _, response, payloads in run.listing(url, same, link_next, ahead=True):
        listed.update(item["number"] for item in response.data)
        _keep(run, response.data, payloads)  # paid for: an open item a listing missed
    checked = [_check_item(run, kind, n) for n, kind in sorted(cached.items()) if n not in listed]
    _keep(run, [body for body in checked if isinstance(body, dict)], None)
    marks = [mark for mark in checked if isinstance(mark, tuple)]
    if marks:
        with run.commit():
            delta = cache.mark_gone(run.conn, run.repo_id, marks)
            run.record(ev.SyncReconciled.of_marks(run.repo_id, marks, delta))
    return len(marks)


def _keep(run: Run, items: list[dict], payloads: list[str] | None) -> None:
    """Upsert what the reconciliation read, like a sync page (its event included)."""
    if not items:
        return
    with run.commit():
        write = cache.upsert_issue_page(run.conn, run.repo_id, items, payloads)
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
