"""Page selection and `Link` headers over a sorted listing, the way GitHub pages.

A listing is a list of rows plus their sort keys (ascending tuples of ints, already adjusted
for the direction). `page=N` is an offset into the listing as it is *now*, so an item that
moves between two requests shifts every later page — the hazard the sync must survive. Past
`cursor_after_page`, a `page=` request answers 422 and `next` links carry an opaque `after=`
cursor naming the last key served (GitHub's cursors are `cursor:v2:` + the sort key too).
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_right
from dataclasses import dataclass, field
from urllib.parse import urlencode

DEFAULT_PER_PAGE = 30
PAGE_422 = (
    "Pagination with the page parameter is not supported for large datasets, "
    "please use cursor based pagination (after/before)"
)
_CURSOR_PREFIX = "cursor:v2:"
_PAGING_PARAMS = ("page", "after", "before")


class PagingError(Exception):
    """The request cannot be paged: GitHub answers 422 with this message."""


@dataclass
class Page:
    """Which slice of the listing to serve, and the link targets as query overrides."""

    start: int
    stop: int
    links: dict[str, dict[str, str]] = field(default_factory=dict)


def select_page(
    keys: list[tuple], query: dict[str, str], *, maximum: int, cursor_after_page: int | None
) -> Page:
    size = _per_page(query, maximum)
    if "after" in query:
        return _cursor_page(keys, query["after"], size)
    return _numbered_page(keys, _int(query.get("page"), 1), size, cursor_after_page)


def link_header(base_url: str, path: str, query: dict[str, str], page: Page) -> str | None:
    """`<url>; rel="next", …` keeping the request's other parameters, or None if one page."""
    kept = [(k, v) for k, v in query.items() if k not in _PAGING_PARAMS]
    parts = [
        f'<{base_url}{path}?{urlencode(kept + list(override.items()))}>; rel="{rel}"'
        for rel, override in page.links.items()
    ]
    return ", ".join(parts) or None


def encode_cursor(key: tuple) -> str:
    raw = (_CURSOR_PREFIX + json.dumps(list(key))).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(raw)
        return tuple(json.loads(raw.removeprefix(_CURSOR_PREFIX)))
    except ValueError as err:
        raise PagingError(f"Invalid cursor: {cursor!r}") from err


def _numbered_page(keys: list[tuple], number: int, size: int, threshold: int | None) -> Page:
    if threshold is not None and number > threshold:
        raise PagingError(PAGE_422)
    start = (number - 1) * size
    page = Page(start, min(start + size, len(keys)))
    last = max(1, -(-len(keys) // size))
    if number > 1:
        page.links["prev"] = {"page": str(number - 1)}
    if page.stop < len(keys):
        cursor_next = threshold is not None and number + 1 > threshold
        next_link = {"after": encode_cursor(keys[page.stop - 1])} if cursor_next else None
        page.links["next"] = next_link or {"page": str(number + 1)}
        if threshold is None or last <= threshold:
            page.links["last"] = {"page": str(last)}
    if number > 1:
        page.links["first"] = {"page": "1"}
    return page


def _cursor_page(keys: list[tuple], cursor: str, size: int) -> Page:
    start = bisect_right(keys, decode_cursor(cursor))
    page = Page(start, min(start + size, len(keys)))
    if page.stop < len(keys):
        page.links["next"] = {"after": encode_cursor(keys[page.stop - 1])}
    return page


def _per_page(query: dict[str, str], maximum: int) -> int:
    return max(1, min(_int(query.get("per_page"), DEFAULT_PER_PAGE), maximum))


def _int(raw: str | None, default: int) -> int:
    try:
        return max(1, int(raw)) if raw is not None else default
    except ValueError:
        return default
