"""The fake's ground truth: repositories and their issues/PRs as plain records.

Timestamps are kept as GitHub writes them (`YYYY-MM-DDTHH:MM:SSZ`, whole seconds), so
`truth()` compares directly with what a cache stored from the payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The fields a cache keeps for an item; `truth()` returns exactly these.
TRUTH_FIELDS = (
    "kind",
    "state",
    "title",
    "updated_at",
    "labels",
    "user",
    "comments",
    "closed_at",
    "draft",
    "merged_at",
    "head_ref",
    "base_ref",
)
PR_ONLY_FIELDS = ("draft", "merged_at", "head_ref", "base_ref")


def iso(value: str | datetime | None) -> str | None:
    """Normalise a datetime or ISO 8601 text to GitHub's `...Z` whole-second form."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give an aware UTC time")
    return value.astimezone(UTC).strftime(ISO_FORMAT)


@lru_cache(maxsize=200_000)
def epoch(iso_text: str) -> int:
    """Seconds since the epoch of a normalised timestamp (cached: listings sort 50k of them)."""
    return int(datetime.strptime(iso_text, ISO_FORMAT).replace(tzinfo=UTC).timestamp())


@dataclass
class Item:
    """One issue or pull request, as GitHub knows it."""

    number: int
    kind: str  # "issue" | "pr"
    id: int
    title: str
    body: str | None
    state: str
    labels: list[str]
    user: str
    comments: int
    created_at: str
    updated_at: str
    closed_at: str | None
    # GitHub's `assignees` (logins; `assignee` is the first). The samples assign octocat,
    # which stays the default so that items made without the field look as they always did.
    assignees: list[str] = field(default_factory=lambda: ["octocat"])
    pr_id: int | None = None
    draft: bool | None = None
    merged_at: str | None = None
    head_ref: str | None = None
    base_ref: str | None = None
    pull_updated_at: str | None = None  # a change only /pulls shows (`push_commits`)
    gone: str | None = None  # "deleted" | "transferred" | "not_visible"
    moved_to: tuple[str, int] | None = None
    revision: int = 0  # bumped on every change; keys the rendered-payload cache

    @property
    def is_pr(self) -> bool:
        return self.kind == "pr"

    @property
    def pulls_updated(self) -> str:
        """`updated_at` as /pulls shows it: some PR changes move only this one."""
        return max(self.updated_at, self.pull_updated_at or self.updated_at)

    def truth(self) -> dict:
        """The fields a cache should hold for this item."""
        return {name: _copy(getattr(self, name)) for name in TRUTH_FIELDS}


def _copy(value):
    return list(value) if isinstance(value, list) else value


@dataclass
class Repo:
    """A repository and its items, keyed by number."""

    full_name: str
    id: int
    private: bool = False
    archived: bool = False
    description: str | None = None
    created_at: str = "2020-01-01T00:00:00Z"
    pushed_at: str = "2020-01-01T00:00:00Z"
    items: dict[int, Item] = field(default_factory=dict)
    next_number: int = 1

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    @property
    def updated_at(self) -> str:
        """The newest item change, or the push time for an empty repo."""
        return max((i.updated_at for i in self.items.values()), default=self.pushed_at)

    def live_items(self) -> list[Item]:
        return [item for item in self.items.values() if not item.gone]

    def open_issues_count(self) -> int:
        """GitHub counts open issues and open PRs together."""
        return sum(1 for item in self.live_items() if item.state == "open")
