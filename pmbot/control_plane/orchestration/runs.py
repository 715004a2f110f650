"""Run services: plan, edit, approve, reject, cancel, start; and the reads the API serves.

Every change is an audit event recorded in one transaction after the state
machine allowed it, so the `runs` rows are a projection of the log. A plan
without a context pack gets one taken from the cache now, and a RunArtifact
of kind `context.pack` pointing at the pack's file. Executors are reached
only through the Executor Protocol (any object with `start`, `resume`,
`cancel`): the control plane never imports the execution plane.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from pmbot.control_plane import audit
from pmbot.control_plane.artifacts import store
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.context import packs
from pmbot.control_plane.db import transaction
from pmbot.control_plane.orchestration import specs, states
from pmbot.control_plane.orchestration.errors import (
    ArtifactNotFound,
    InterruptNotFound,
    InvalidInput,
    RunExists,
    RunNotFound,
    RunsActive,
)
from pmbot.control_plane.registry import get_repo
from pmbot.shared.contracts import Problem
from pmbot.shared.contracts.shapes import ID
from pmbot.shared.ids import time_ordered_id
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import now_rfc3339

MAX_REASON_CHARS = 2000
# A reason must hold a character that `str.strip()` keeps: anything but these, which are
# exactly the characters `str.isspace()` calls whitespace (the OpenAPI document uses it too).
REASON_PATTERN = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
CONTEXT_PACK_KIND = "context.pack"
_RUN_COLUMNS = (
    "run_id, state, repo_id, repo, goal, graph_id, thread_id, created_at, updated_at,"
    " state_reason, spec_json, context_pack_id,"
    " (SELECT count(*) FROM run_interrupts i WHERE i.run_id = runs.run_id"
    " AND i.status = 'pending') AS pending_interrupts"
)


# -- commands --------------------------------------------------------------------------------


def plan_run(
    conn: sqlite3.Connection, settings: Settings, body: dict[str, Any], *, actor: str = "operator"
) -> dict[str, Any]:
    """Create a draft from a partial spec; 422 (InvalidInput) lists every problem."""
    spec = specs.spec_from_body(body, settings)
    problems, repo_id = specs.check_spec(conn, spec)
    pack_id = body.get("context_pack_id")
    if pack_id is not None:
        problems += _pack_problems(conn, pack_id, repo_id)
    if problems:
        raise InvalidInput(problems)
    _refuse_existing(conn, spec["run_id"])
    # A big pack takes a while to build: outside the plan's write transaction, so the
    # worker's page commits are not held up (a plan refused after it leaves a spare pack).
    if pack_id is None:
        pack_id = packs.take_pack(conn, settings.data_dir, repo_id, actor=actor)["pack_id"]
    with transaction(conn):
        _refuse_existing(conn, spec["run_id"])
        get_repo(conn, repo_id)  # not removed meanwhile (RepoNotFound)
        pack = packs.get_pack(conn, pack_id)
        audit.record(
            conn,
            ev.RunPlanned(
                run_id=spec["run_id"],
                repo_id=repo_id,
                spec=spec,
                context_pack_id=pack["pack_id"],
                actor=actor,
            ),
        )
        audit.record(
            conn,
            ev.ArtifactStored(
                run_id=spec["run_id"], artifact=_pack_artifact(spec["run_id"], pack), actor=actor
            ),
        )
    return get_run(conn, spec["run_id"])


def _refuse_existing(conn: sqlite3.Connection, run_id: str) -> None:
    if _run_row(conn, run_id) is not None:
        raise RunExists(f"a run with id {run_id} already exists")


def _pack_problems(conn: sqlite3.Connection, pack_id: Any, repo_id: int | None) -> list[Problem]:
    path = "/context_pack_id"
    problems = ID(pack_id, path)
    if problems:
        return problems
    try:
        pack = packs.get_pack(conn, pack_id)
    except packs.PackNotFound:
        return [Problem(path, f"no context pack with id {pack_id!r}")]
    if repo_id is not None and pack["repo_id"] != repo_id:
        return [Problem(path, "belongs to another repo than execution.scopes.repo")]
    return []


def _pack_artifact(run_id: str, pack: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "artifact_id": time_ordered_id("art"),
        "run_id": run_id,
        "kind": CONTEXT_PACK_KIND,
        "uri": pack["uri"],
        "sha256": pack["sha256"],
        "size_bytes": pack["size_bytes"],
        "media_type": "application/json",
        "metadata": {"pack_id": pack["pack_id"], "issues": pack["issues"], "prs": pack["prs"]},
        "created_at": now_rfc3339(),
    }


def edit_run(
    conn: sqlite3.Connection, run_id: str, body: dict[str, Any], *, actor: str = "operator"
) -> dict[str, Any]:
    """Change a draft's goal, inputs, graph, budget or tools."""
    with transaction(conn):
        row = _require_run(conn, run_id)
        states.require_editable(run_id, row["state"])
        spec, problems = specs.apply_edit(json.loads(row["spec_json"]), body)
        more, _ = specs.check_spec(conn, spec)
        if problems + more:
            raise InvalidInput(problems + more)
        audit.record(conn, ev.RunEdited(run_id=run_id, spec=spec, actor=actor))
    return get_run(conn, run_id)


def approve_run(conn: sqlite3.Connection, run_id: str, *, actor: str = "operator") -> dict:
    return _move(conn, run_id, "approved", ev.RunApproved(run_id=run_id, actor=actor))


def reject_run(
    conn: sqlite3.Connection, run_id: str, reason: Any, *, actor: str = "operator"
) -> dict:
    reason = check_reason(reason, required=True)
    return _move(
        conn, run_id, "rejected", ev.RunRejected(run_id=run_id, reason=reason, actor=actor)
    )


def cancel_run(
    conn: sqlite3.Connection,
    run_id: str,
    reason: Any = None,
    *,
    actor: str = "operator",
    executor: Any = None,
) -> dict:
    """Cancel any non-final run; a started one is also cancelled in its executor."""
    reason = check_reason(reason, required=False)
    was = _require_run(conn, run_id)["state"]
    detail = _move(
        conn, run_id, "cancelled", ev.RunCancelled(run_id=run_id, reason=reason, actor=actor)
    )
    if executor is not None and was in ("running", "waiting"):
        executor.cancel(run_id)
    return detail


def check_reason(reason: Any, *, required: bool) -> str | None:
    if reason is None and not required:
        return None
    ok = (
        isinstance(reason, str)
        and re.search(REASON_PATTERN, reason) is not None
        and len(reason) <= MAX_REASON_CHARS
    )
    if not ok:
        message = f"must be text of 1 to {MAX_REASON_CHARS} characters"
        raise InvalidInput([Problem("/reason", message)])
    return reason.strip()


def _move(conn: sqlite3.Connection, run_id: str, target: str, event: ev.AuditEvent) -> dict:
    with transaction(conn):
        states.require(run_id, _require_run(conn, run_id)["state"], target)
        audit.record(conn, event)
    return get_run(conn, run_id)


def start_run(conn: sqlite3.Connection, run_id: str, executor: Any) -> dict[str, Any]:
    """Hand an approved run's spec to `executor.start`; the executor reports back through
    the port (`started`). Called outside any transaction: the executor writes too."""
    row = _require_run(conn, run_id)
    states.require(run_id, row["state"], "running")
    return executor.start(json.loads(row["spec_json"]))


def active_runs_for_repo(conn: sqlite3.Connection, repo_id: int) -> list[str]:
    """Ids of the repo's runs that are not final (these block removing the repo)."""
    final = tuple(states.FINAL)
    marks = ", ".join("?" * len(final))
    rows = conn.execute(
        f"SELECT run_id FROM runs WHERE repo_id = ? AND state NOT IN ({marks}) ORDER BY run_id",
        (repo_id, *final),
    )
    return [row[0] for row in rows]


def refuse_if_active_runs(conn: sqlite3.Connection, repo_id: int) -> None:
    """The guard before removing a repo: RunsActive (409) naming its non-final runs."""
    active = active_runs_for_repo(conn, repo_id)
    if active:
        raise RunsActive(
            f"repo {repo_id} has runs that are not finished: {', '.join(active)};"
            " cancel or finish them first",
            run_ids=active,
        )


# -- reads -----------------------------------------------------------------------------------


def _run_row(conn: sqlite3.Connection, run_id: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()


def _require_run(conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
    row = _run_row(conn, run_id)
    if row is None:
        raise RunNotFound(f"no run with id {run_id}")
    return row


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    keys = (
        "run_id", "state", "repo_id", "repo", "goal", "graph_id", "thread_id", "created_at",
        "updated_at", "state_reason", "pending_interrupts",
    )  # fmt: skip
    summary = {key: row[key] for key in keys}
    summary["allowed_transitions"] = states.operator_actions(row["state"])
    return summary


def get_run(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    """A run's summary plus its spec, context pack, interrupts, artifacts and audit events."""
    row = _require_run(conn, run_id)
    artifacts = list_artifacts(conn, run_id)
    detail = _summary(row)
    detail["spec"] = json.loads(row["spec_json"])
    detail["context_pack"] = _context_pack(conn, row["context_pack_id"], artifacts)
    detail["interrupts"] = list_interrupts(conn, run_id)
    detail["artifacts"] = artifacts
    events = audit.list_events(
        conn, limit=10_000, after_seq=0, aggregate="run", aggregate_id=run_id
    )
    detail["events"] = [e.as_dict() for e in events]
    return detail


def _context_pack(conn: sqlite3.Connection, pack_id: str | None, artifacts: list) -> dict | None:
    if pack_id is None:
        return None
    pack = packs.get_pack(conn, pack_id)
    artifact = next((a for a in artifacts if a["kind"] == CONTEXT_PACK_KIND), None)
    keys = ("pack_id", "sha256", "issues", "prs", "taken_at")
    return {**{k: pack[k] for k in keys}, "artifact_id": artifact and artifact["artifact_id"]}


def list_runs(
    conn: sqlite3.Connection,
    *,
    repo_id: int | None = None,
    state: str | None = None,
    limit: int = 50,
    after: tuple[str, str] | None = None,
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """Newest first, keyset-paged on (created_at, run_id); returns the page and the next key."""
    where, params = [], []
    if repo_id is not None:
        where.append("repo_id = ?")
        params.append(repo_id)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    if after is not None:
        where.append("(created_at, run_id) < (?, ?)")
        params += list(after)
    sql = (
        f"SELECT {_RUN_COLUMNS} FROM runs {'WHERE ' + ' AND '.join(where) if where else ''}"
        " ORDER BY created_at DESC, run_id DESC LIMIT ?"
    )
    rows = conn.execute(sql, (*params, limit + 1)).fetchall()
    page = [_summary(row) for row in rows[:limit]]
    more = len(rows) > limit
    return page, ((page[-1]["created_at"], page[-1]["run_id"]) if more else None)


def interrupt_document(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "interrupt_id": row["interrupt_id"],
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "kind": row["kind"],
        "risk": row["risk"],
        "payload": json.loads(row["payload_json"]),
        "status": row["status"],
        "decision": json.loads(row["decision_json"]) if row["decision_json"] else None,
        "created_at": row["created_at"],
    }


def list_interrupts(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM run_interrupts WHERE run_id = ? ORDER BY created_at, interrupt_id",
        (run_id,),
    )
    return [interrupt_document(row) for row in rows]


def get_interrupt(conn: sqlite3.Connection, interrupt_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM run_interrupts WHERE interrupt_id = ?", (interrupt_id,)
    ).fetchone()
    if row is None:
        raise InterruptNotFound(f"no interrupt with id {interrupt_id}")
    return interrupt_document(row)


def artifact_document(row: sqlite3.Row) -> dict[str, Any]:
    document = {
        "schema_version": 1,
        "artifact_id": row["artifact_id"],
        "run_id": row["run_id"],
        "kind": row["kind"],
        "uri": row["uri"],
        "sha256": row["sha256"],
        "size_bytes": row["size_bytes"],
        "metadata": json.loads(row["metadata_json"]),
        "created_at": row["created_at"],
        "content_url": f"/api/artifacts/{row['artifact_id']}/content",
    }
    if row["media_type"] is not None:
        document["media_type"] = row["media_type"]
    return document


def list_artifacts(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM run_artifacts WHERE run_id = ? ORDER BY created_at, artifact_id",
        (run_id,),
    )
    return [artifact_document(row) for row in rows]


def get_artifact(conn: sqlite3.Connection, artifact_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM run_artifacts WHERE artifact_id = ?", (artifact_id,)
    ).fetchone()
    if row is None:
        raise ArtifactNotFound(f"no artifact with id {artifact_id}")
    return artifact_document(row)


def artifact_content(
    conn: sqlite3.Connection, data_dir: Path, artifact_id: str
) -> tuple[bytes, str | None]:
    """An artifact's bytes (from the store) and its recorded media type."""
    artifact = get_artifact(conn, artifact_id)
    try:
        return store.read(data_dir, artifact["uri"]), artifact.get("media_type")
    except FileNotFoundError as exc:
        raise ArtifactNotFound(f"the file of artifact {artifact_id} is missing") from exc


def stored_uris(conn: sqlite3.Connection) -> list[str]:
    """Every file the DB points at (for `pmbot doctor`)."""
    rows = conn.execute("SELECT uri FROM run_artifacts UNION SELECT uri FROM context_packs")
    return [row[0] for row in rows]
