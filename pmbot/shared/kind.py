"""The two kinds of cached GitHub item, spelled once.

An issue and a pull request differ only in where they live: the stream that
syncs them, their cache table and number column, the prefix of their
`repo_counts` keys, their `cache_search.kind` and their cursor column in
`repo_sync_state`. The cache (write and read side), the sync and the audit
projections all use these two values, so the vocabulary sits below all of
them (the projections are in a lower layer than `control_plane/cache/`, which
re-exports it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """Where one kind of item lives."""

    stream: str  # 'issues' | 'prs': the sync stream, also the API's path segment
    table: str
    number: str  # the table's number column
    counts: str  # prefix of the repo_counts keys (`issues_open`, ...)
    search_kind: str  # 'issue' | 'pr': cache_search.kind, reconciliation's `kind`
    cursor: str  # the repo_sync_state column holding the stream's cursor
    extra: tuple[str, ...] = ()  # list columns beyond the shared ones

    def count_key(self, state: str) -> str:
        """The repo_counts column for items of this kind in `state` ('open' | 'closed')."""
        return f"{self.counts}_{state}"

    def holds(self, item: dict) -> bool:
        """Whether an item of the issues listing is of this kind (PRs carry `pull_request`)."""
        return ("pull_request" in item) == (self is PRS)


ISSUES = Kind("issues", "github_issues", "issue_number", "issues", "issue", "issues_cursor")
PRS = Kind(
    "prs", "github_pull_requests", "pr_number", "prs", "pr", "prs_cursor",
    ("draft", "merged_at", "head_ref", "base_ref"),
)  # fmt: skip
KINDS = {kind.stream: kind for kind in (ISSUES, PRS)}
COUNT_KEYS = tuple(kind.count_key(state) for kind in KINDS.values() for state in ("open", "closed"))
