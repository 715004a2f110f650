"""Helpers shared by the runs tests: a registered repo with a small cache, and plan bodies."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pmbot.control_plane import audit, registry
from tests.conftest import FAKE_REPO, insert_cached_item

PROJECTED = ("runs", "run_interrupts", "run_artifacts", "context_packs")


def add_repo_with_cache(conn, full_name: str = FAKE_REPO) -> int:
    """Register `full_name` and cache two open issues, one closed issue and one open PR."""
    repo = registry.add_repo(conn, full_name)
    insert_cached_item(conn, repo.repo_id, 1, title="First", body="b" * 800, labels=("bug",))
    insert_cached_item(conn, repo.repo_id, 2, title="Second", updated_at="2026-01-03T00:00:00Z")
    insert_cached_item(conn, repo.repo_id, 3, title="Closed one", state="closed")
    insert_cached_item(conn, repo.repo_id, 4, kind="pr", title="A PR", draft=False)
    return repo.repo_id


def plan_body(repo: str = FAKE_REPO, **execution: Any) -> dict[str, Any]:
    return {
        "goal": "Triage the open issues",
        "execution": {"graph_id": "triage@1", "scopes": {"repo": repo}, **execution},
    }


def stored_state(conn, data_dir: Path) -> dict[str, Any]:
    """What must not change when a request is refused: row counts, audit head, artifact files."""
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PROJECTED}
    files = sorted(
        str(Path(root, name).relative_to(data_dir))
        for root, _, names in os.walk(data_dir / "artifacts")
        for name in names
    )
    return {"counts": counts, "head": audit.head(conn), "files": files}
