"""The fake's mutable world: what tests change, and the listings computed from it.

Tests drive GitHub through these methods (add, update, close, delete, transfer, rename) and
compare a cache with `truth()`. Listings are computed from the current state at request time
(memoised per state version), so a change between two page requests really shifts the pages.
All methods are thread-safe: the HTTP handler threads read while a test mutates.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.fake_github.model import PR_ONLY_FIELDS, Item, Repo, epoch, iso

ITEM_FIELDS = {
    "title",
    "body",
    "state",
    "labels",
    "user",
    "comments",
    "created_at",
    "updated_at",
    "closed_at",
    "assignees",
    *PR_ONLY_FIELDS,
}
TIME_FIELDS = ("created_at", "updated_at", "closed_at", "merged_at")
_SORT_VALUES: dict[str, Callable[[Item], int]] = {
    "created": lambda item: epoch(item.created_at),
    "updated": lambda item: epoch(item.updated_at),
    "comments": lambda item: item.comments,
    "popularity": lambda item: item.comments,
    "long-running": lambda item: epoch(item.created_at),
}
ISSUE_SORTS = ("created", "updated", "comments")
PULL_SORTS = ("created", "updated", "popularity", "long-running")
_LISTING_CACHE_SIZE = 32


class QueryError(Exception):
    """A listing parameter GitHub would reject (422 Validation Failed)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class GitHubState:
    """Repositories, items, renames and transfers; the ground truth of the fake."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.version = 0
        self._repos: dict[str, Repo] = {}
        self._renamed: dict[str, str] = {}
        self._ids = {"repo": 1000, "issue": 10_000_000, "pr": 50_000_000}
        self._lagging: dict[int, tuple[Item, datetime]] = {}  # item id → (item, listed from)
        self._listings: OrderedDict[tuple, tuple[int, list[Item], list[tuple]]] = OrderedDict()

    # -- test-facing mutations -------------------------------------------------------------

    def add_repo(
        self,
        full_name: str,
        *,
        private: bool = False,
        archived: bool = False,
        description: str | None = None,
        created_at=None,
        pushed_at=None,
    ) -> None:
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repo {full_name} already exists")
            now = self._now()
            self._repos[full_name.lower()] = Repo(
                full_name,
                self._next_id("repo"),
                private=private,
                archived=archived,
                description=description,
                created_at=iso(created_at) or now,
                pushed_at=iso(pushed_at) or now,
            )
            self._changed()

    def add_issue(self, repo: str, **fields) -> int:
        """Add a plain issue; returns its number. Fields as in `update` (defaults: open, now)."""
        return self._add_item(repo, "issue", fields)

    def add_pr(self, repo: str, **fields) -> int:
        """Add a pull request (in the issues listing with `pull_request`, and in /pulls)."""
        defaults = {"draft": False, "merged_at": None, "head_ref": None, "base_ref": "main"}
        return self._add_item(repo, "pr", defaults | fields)

    def update(self, repo: str, number: int, **fields) -> None:
        """Change an item; `updated_at` moves to the clock's now unless given."""
        with self.lock:
            item = self._live_item(repo, number)
            _check_fields(item.kind, fields)
            fields = _normalise(fields)
            fields.setdefault("updated_at", self._now())
            if fields.get("state") == "closed" and item.state != "closed":
                fields.setdefault("closed_at", fields["updated_at"])
            if fields.get("state") == "open":
                fields.setdefault("closed_at", None)
            for name, value in fields.items():
                setattr(item, name, value)
            self._touch(item)

    def add_comment(self, repo: str, number: int, **fields) -> None:
        with self.lock:
            self.update(repo, number, comments=self._live_item(repo, number).comments + 1, **fields)

    def close(self, repo: str, number: int, *, merged: bool = False, at=None) -> None:
        """Close an item (merge a PR with `merged=True`) at `at` or now."""
        moment = iso(at) or self._now()
        extra = {"merged_at": moment} if merged else {}
        self.update(repo, number, state="closed", closed_at=moment, updated_at=moment, **extra)

    def push_commits(self, repo: str, number: int) -> None:
        """Push to a PR's head branch: GitHub moves the PR's `updated_at` in /pulls but not the
        issue's (reported), so only the /pulls listing sees the change."""
        with self.lock:
            item = self._live_item(repo, number)
            if not item.is_pr:
                raise KeyError(f"{repo}#{number} is not a pull request")
            item.pull_updated_at = self._now()
            self._touch(item)

    def list_late(self, repo: str, number: int, seconds: float) -> None:
        """Eventual consistency: listings leave the item out for `seconds` of the clock (it
        changed, but GitHub's listing has not caught up), then show it, wherever its
        `updated_at` sorts it (behind newer items). A single GET sees it at once."""
        with self.lock:
            item = self._live_item(repo, number)
            self._lagging[item.id] = (item, self.clock() + timedelta(seconds=seconds))
            self._changed()

    def delete_item(self, repo: str, number: int) -> None:
        """Listings drop it; GET of the single item answers 410 Gone."""
        with self.lock:
            item = self._live_item(repo, number)
            item.gone = "deleted"
            self._touch(item)

    def transfer_item(self, repo: str, number: int, to_repo: str) -> int:
        """Move an item to another repo; the old URL answers 301. Returns the new number."""
        with self.lock:
            item = self._live_item(repo, number)
            target = self._repo(to_repo)
            copy = replace(
                item,
                number=target.next_number,
                id=self._next_id("issue"),
                updated_at=self._now(),
                revision=0,
            )
            self._insert(target, copy)
            item.gone, item.moved_to = "transferred", (target.full_name, copy.number)
            self._touch(item)
            return copy.number

    def hide_item(self, repo: str, number: int) -> None:
        """The item is transferred to a repo the token cannot see (or access to it is lost):
        listings drop it and GET of the single item answers 404, as GitHub does."""
        with self.lock:
            item = self._live_item(repo, number)
            item.gone = "not_visible"
            self._touch(item)

    def rename_repo(self, old: str, new: str) -> None:
        """Rename a repo; every path under the old name answers 301 to `/repositories/{id}/...`
        until a repo is added under the old name (`add_repo`), which GitHub then serves."""
        with self.lock:
            repo = self._repos.pop(old.lower())
            repo.full_name = new
            self._repos[new.lower()] = repo
            self._renamed = {k: (new if v == old else v) for k, v in self._renamed.items()}
            self._renamed[old.lower()] = new
            for item in repo.items.values():
                self._touch(item)

    def delete_repo(self, full_name: str) -> None:
        """Delete a repo: its name and its id answer 404 (until a repo takes the name)."""
        with self.lock:
            del self._repos[full_name.lower()]
            self._renamed = {k: v for k, v in self._renamed.items() if v != full_name}
            self._changed()

    def truth(self, repo: str) -> dict[int, dict]:
        """number → the fields a cache keeps, for every item still listed (not deleted/moved)."""
        with self.lock:
            return {item.number: item.truth() for item in self._repo(repo).live_items()}

    def item(self, repo: str, number: int) -> Item:
        """A copy of one item as the fake holds it (gone ones included)."""
        with self.lock:
            return replace(self._repo(repo).items[number])

    # -- read side, for the routes ---------------------------------------------------------

    def resolve(self, full_name: str) -> Repo | str | None:
        """The repo, the new name if it was renamed, or None."""
        key = full_name.lower()
        return self._repos.get(key) or self._renamed.get(key)

    def repo_by_id(self, repo_id: int) -> Repo | None:
        """The live repository with GitHub's numeric id (renames keep it)."""
        return next((r for r in self._repos.values() if r.id == repo_id), None)

    def repos(self, owner: str | None = None) -> list[Repo]:
        with self.lock:
            found = [r for r in self._repos.values() if owner in (None, r.owner.lower())]
            return sorted(found, key=lambda r: r.full_name.lower())

    def listing(
        self, repo: Repo, endpoint: str, query: dict[str, str], *, since_inclusive: bool
    ) -> tuple[list[Item], list[tuple]]:
        """The items of an /issues or /pulls listing and their ascending sort keys."""
        params = _listing_params(endpoint, query)
        with self.lock:
            hidden = self._hidden()
            return self._memo((repo.id, endpoint, params, since_inclusive, hidden), repo)

    def _hidden(self) -> frozenset[int]:
        """Ids of the items listings do not show yet (`list_late`)."""
        now = self.clock()
        for item_id, (_, until) in list(self._lagging.items()):
            if until <= now:
                del self._lagging[item_id]
        return frozenset(self._lagging)

    def _memo(self, key: tuple, repo: Repo) -> tuple[list[Item], list[tuple]]:
        """Listings are memoised per state version: paging one query costs one sort."""
        hit = self._listings.get(key)
        if hit and hit[0] == self.version:
            return hit[1], hit[2]
        items, keys = self._compute(key, repo)
        self._listings[key] = (self.version, items, keys)
        while len(self._listings) > _LISTING_CACHE_SIZE:
            self._listings.popitem(last=False)
        return items, keys

    def _compute(self, key: tuple, repo: Repo) -> tuple[list[Item], list[tuple]]:
        _, endpoint, (state, sort, direction, since), inclusive, hidden = key
        if since is None:
            return _sorted_listing(repo, endpoint, state, sort, direction, hidden)
        everything = (repo.id, endpoint, (state, sort, direction, None), None, hidden)
        items, keys = self._memo(everything, repo)
        bound = _since_epoch(since)
        if sort == "updated":  # a since-query per page (sync design a) must stay cheap
            start, stop = _updated_range(keys, bound, inclusive, direction)
            return items[start:stop], keys[start:stop]
        kept = [n for n, item in enumerate(items) if _after(item, bound, inclusive)]
        return [items[n] for n in kept], [keys[n] for n in kept]

    # -- internals -------------------------------------------------------------------------

    def _add_item(self, repo_name: str, kind: str, fields: dict) -> int:
        _check_fields(kind, fields)
        with self.lock:
            repo = self._repo(repo_name)
            item = self._new_item(repo, kind, _normalise(fields))
            self._insert(repo, item)
            return item.number

    def _new_item(self, repo: Repo, kind: str, fields: dict) -> Item:
        now = self._now()
        created = fields.pop("created_at", None) or now
        updated = fields.pop("updated_at", None) or created
        state = fields.pop("state", "open")
        closed = fields.pop("closed_at", None) or (updated if state == "closed" else None)
        number = repo.next_number
        item = Item(
            number=number,
            kind=kind,
            id=self._next_id("issue"),
            title=fields.pop("title", f"{kind} {number}"),
            body=fields.pop("body", ""),
            state=state,
            labels=fields.pop("labels", []),
            user=fields.pop("user", "octocat"),
            comments=fields.pop("comments", 0),
            created_at=created,
            updated_at=updated,
            closed_at=closed,
            pr_id=self._next_id("pr") if kind == "pr" else None,
            **fields,
        )
        if kind == "pr" and item.head_ref is None:
            item.head_ref = f"feature-{number}"
        return item

    def _insert(self, repo: Repo, item: Item) -> None:
        repo.items[item.number] = item
        repo.next_number = max(repo.next_number, item.number + 1)
        self._changed()

    def _repo(self, full_name: str) -> Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repo {full_name} in the fake")
        return repo

    def _live_item(self, repo: str, number: int) -> Item:
        item = self._repo(repo).items.get(number)
        if item is None or item.gone:
            raise KeyError(f"no live item {repo}#{number} in the fake")
        return item

    def _touch(self, item: Item) -> None:
        item.revision += 1
        self._changed()

    def _changed(self) -> None:
        self.version += 1

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _now(self) -> str:
        return iso(self.clock().replace(microsecond=0))


def _check_fields(kind: str, fields: dict) -> None:
    unknown = set(fields) - ITEM_FIELDS
    if unknown:
        raise TypeError(f"unknown item fields: {sorted(unknown)}")
    if kind == "issue" and set(fields) & set(PR_ONLY_FIELDS):
        raise TypeError(f"PR-only fields given for an issue: {sorted(fields)}")


def _normalise(fields: dict) -> dict:
    out = dict(fields)
    for name in TIME_FIELDS:
        if out.get(name) is not None:
            out[name] = iso(out[name])
    if "labels" in out:
        out["labels"] = list(_label_names(out["labels"]))
    return out


def _label_names(labels: Iterable) -> Iterable[str]:
    return (label if isinstance(label, str) else label["name"] for label in labels)


def _listing_params(endpoint: str, query: dict[str, str]) -> tuple[str, str, str, str | None]:
    state = query.get("state", "open")
    sort = query.get("sort", "created")
    direction = query.get("direction", "desc")
    sorts = ISSUE_SORTS if endpoint == "issues" else PULL_SORTS
    if state not in ("open", "closed", "all") or sort not in sorts:
        raise QueryError(f"invalid state {state!r} or sort {sort!r}")
    if direction not in ("asc", "desc"):
        raise QueryError(f"invalid direction {direction!r}")
    since = query.get("since") if endpoint == "issues" else None
    return state, sort, direction, since


def _sorted_listing(
    repo: Repo, endpoint: str, state: str, sort: str, direction: str, hidden: frozenset[int]
):
    items = [
        i for i in repo.live_items() if (endpoint == "issues" or i.is_pr) and i.id not in hidden
    ]
    if state != "all":
        items = [i for i in items if i.state == state]
    sign = 1 if direction == "asc" else -1
    value = _SORT_VALUES[sort]
    if endpoint == "pulls" and sort == "updated":
        value = lambda item: epoch(item.pulls_updated)  # noqa: E731
    keyed = sorted(((sign * value(i), sign * i.number), i) for i in items)
    return [i for _, i in keyed], [k for k, _ in keyed]


def _since_epoch(since: str) -> int:
    try:
        return epoch(iso(since if since.endswith("Z") or "+" in since else since + "Z"))
    except ValueError as err:
        raise QueryError(f"invalid since {since!r}") from err


def _updated_range(keys: list[tuple], bound: int, inclusive: bool, direction: str):
    """The slice of an updated-sorted listing whose items pass the `since` bound."""
    if direction == "asc":
        lo = (bound, -math.inf) if inclusive else (bound, math.inf)
        return bisect_left(keys, lo), len(keys)
    hi = (-bound, math.inf) if inclusive else (-bound, -math.inf)
    return 0, bisect_left(keys, hi)


def _after(item: Item, bound: int, inclusive: bool) -> bool:
    updated = epoch(item.updated_at)
    return updated >= bound if inclusive else updated > bound
