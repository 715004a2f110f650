"""The local cache of GitHub issues and pull requests; it never talks to GitHub.

`store.py` is the write side (the sync's upserts, validators, resume rows,
reset), `browse.py` the read side (the API's lists, items and search),
`items.py` the Work view (every repo's items, filtered and paged) and
`views.py` its saved views. They use one `Kind` per item kind
(`pmbot.shared.kind`, re-exported here).
"""

from pmbot.shared.kind import COUNT_KEYS, ISSUES, KINDS, PRS, Kind

__all__ = ["COUNT_KEYS", "ISSUES", "KINDS", "PRS", "Kind"]
