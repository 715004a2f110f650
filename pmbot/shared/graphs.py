"""The graphs an AgentRunSpec v2 may name: plain data, shared by both planes.

v7 ships this list, not the graphs: a plan is checked against it so an
operator cannot approve a run no executor will ever know. v8's LangGraph
registry implements each `graph_id` here (ADR 0001).
"""

from __future__ import annotations

KNOWN_GRAPHS: tuple[tuple[str, str], ...] = (
    ("triage@1", "Triage open issues: labels, duplicates, priority"),
    ("plan@1", "Draft an implementation plan for an issue"),
    ("review@1", "Review an open pull request"),
    ("release-notes@1", "Draft release notes from merged pull requests"),
)

GRAPH_IDS = frozenset(graph_id for graph_id, _ in KNOWN_GRAPHS)


def graph_list() -> list[dict[str, str]]:
    """`[{"graph_id", "title"}, ...]` in a stable order (the UI's picker)."""
    return [{"graph_id": graph_id, "title": title} for graph_id, title in KNOWN_GRAPHS]
