"""Property: whatever the operations, replaying the log reproduces the live projections.

A hypothesis state machine drives long random sequences through the real
services (registry, `audit.record`, the run services, the executor port and
interrupt decisions) on a real SQLite file, keeps a small model
of what the counts must be, and checks that `rebuild --check` finds nothing,
that a rebuild (swap) leaves every projected table exactly as it was, and that
repo ids are never reused after a rebuild.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pmbot.control_plane import audit, operations, registry
from pmbot.control_plane.approvals import decisions
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.audit import projections, rebuild
from pmbot.control_plane.context import packs
from pmbot.control_plane.db import open_database
from pmbot.control_plane.orchestration import runs
from pmbot.control_plane.orchestration.errors import RunError, RunsActive
from pmbot.control_plane.orchestration.port import ControlPlanePort
from pmbot.shared.executor_port import PortError
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import now_rfc3339

NAMES = st.sampled_from([f"{o}/{n}" for o in ("octo", "Hub") for n in ("a", "b", "c", "d")])
STREAMS = st.sampled_from(["issues", "prs"])
CURSORS = st.integers(1, 28).map(lambda d: f"2026-02-{d:02d}T12:00:00Z")
DELTAS = st.fixed_dictionaries(
    {}, optional={k: st.integers(-3, 5) for k in ev.COUNT_KEYS}
)  # keys may be missing, as in real page events
ERRORS = st.sampled_from([("server_error", "502 from GitHub"), ("not_found", "404: no repo")])
GRAPHS = st.sampled_from(["triage@1", "plan@1"])
RUN_ACTIONS = st.sampled_from(["approve", "reject", "cancel", "start", "interrupt", "artifact",
                               "finish", "edit"])  # fmt: skip
DECISIONS = st.sampled_from(
    [{"decision": "approve"}, {"decision": "reject", "comment": "no"},
     {"decision": "edit", "edited_payload": {"k": 1}}]
)  # fmt: skip


def _snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every projected row, plus the repo id sequence, in a comparable form."""
    tables = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in _TABLES}
    found = {t: [tuple(r) for r in rows] for t, rows in tables.items()}
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'repos'").fetchall()
    found["sqlite_sequence"] = [tuple(r) for r in sequence]
    return found


_TABLES = projections.PROJECTED_TABLES


class AuditLogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.conn = open_database(Path(self.folder.name) / "pm.sqlite3")
        registry.ensure_default_workspace(self.conn)
        self.counts: dict[int, dict[str, int]] = {}  # live repo id -> expected counts
        self.ever_ids: set[int] = set()
        folder = Path(self.folder.name)
        self.settings = Settings(data_dir=folder / "data", db_path=folder / "pm.sqlite3")
        self.port = ControlPlanePort(self.conn, self.settings)
        self.run_ids: list[str] = []
        self.pending: list[str] = []  # interrupt ids not decided yet

    def teardown(self) -> None:
        try:
            self._rebuild_leaves_everything_equal()
            self._fresh_id_after_rebuild()
        finally:
            self.conn.close()
            self.folder.cleanup()

    def _record(self, event_class: type[ev.AuditEvent], repo_id: int, payload: dict) -> None:
        audit.record(self.conn, event_class(repo_id=repo_id, **payload))

    @rule(name=NAMES)
    def add_repo(self, name: str) -> None:
        try:
            repo = operations.add_repo(self.conn, name)
        except registry.RepoExists:
            return
        assert repo.repo_id not in self.ever_ids
        self.ever_ids.add(repo.repo_id)
        self.counts[repo.repo_id] = dict.fromkeys(ev.COUNT_KEYS, 0)

    @precondition(lambda self: self.counts)
    @rule(data=st.data())
    def remove_repo(self, data: st.DataObject) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        head, active = audit.head(self.conn), runs.active_runs_for_repo(self.conn, repo_id)
        try:
            operations.remove_repo(self.conn, repo_id)
        except RunsActive:  # runs not finished: refused, nothing changes
            assert active and audit.head(self.conn) == head
            return
        assert not active
        del self.counts[repo_id]

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), reconcile=st.booleans())
    def request_sync(self, data: st.DataObject, reconcile: bool) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        operations.request_sync(self.conn, repo_id, reconcile=reconcile)

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), stream=STREAMS, cursor=CURSORS | st.none(), delta=DELTAS)
    def page_committed(self, data, stream: str, cursor: str | None, delta: dict) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        self._record(
            ev.SyncPageCommitted,
            repo_id,
            {"stream": stream, "cursor": cursor, "delta": delta, "items": 30},
        )
        self._add(repo_id, delta)

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), delta=DELTAS)
    def reconciled(self, data: st.DataObject, delta: dict) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        gone = [{"kind": "issue", "number": 1, "gone": "deleted", "moved_to": None}]
        self._record(ev.SyncReconciled, repo_id, {"delta": delta, "gone": gone})
        self._add(repo_id, delta)

    def _add(self, repo_id: int, delta: dict) -> None:
        for key, value in delta.items():
            self.counts[repo_id][key] += value

    @precondition(lambda self: self.ever_ids)
    @rule(data=st.data())
    def completed(self, data: st.DataObject) -> None:
        # Any id ever used: a worker may finish a repo just removed.
        repo_id = data.draw(st.sampled_from(sorted(self.ever_ids)))
        self._record(ev.SyncCompleted, repo_id, {"requests": 3, "pages": 2})

    @precondition(lambda self: self.ever_ids)
    @rule(data=st.data(), error=ERRORS, attempt=st.integers(1, 5))
    def failed(self, data: st.DataObject, error: tuple[str, str], attempt: int) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.ever_ids)))
        code, message = error
        payload = {"error_code": code, "message": message, "attempt": attempt}
        self._record(ev.SyncFailed, repo_id, payload)

    @rule(data=st.data())
    def cache_reset(self, data: st.DataObject) -> None:
        repo_ids = data.draw(st.lists(st.sampled_from(sorted(self.ever_ids | {999})), unique=True))
        audit.record(self.conn, ev.CacheReset(workspace_id=1, repo_ids=repo_ids))
        for repo_id in set(repo_ids) & self.counts.keys():
            self.counts[repo_id] = dict.fromkeys(ev.COUNT_KEYS, 0)

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), name=NAMES)
    def renamed(self, data: st.DataObject, name: str) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        head = audit.head(self.conn)
        try:
            self._record(ev.RepoRenamed, repo_id, {"full_name": name})
        except sqlite3.IntegrityError:  # another registered repo has that name
            assert audit.head(self.conn) == head

    @precondition(lambda self: self.counts)
    @rule(data=st.data(), graph=GRAPHS, pack=st.booleans())
    def plan_run(self, data: st.DataObject, graph: str, pack: bool) -> None:
        repo_id = data.draw(st.sampled_from(sorted(self.counts)))
        name = registry.get_repo(self.conn, repo_id).full_name
        body = {"goal": "g", "execution": {"graph_id": graph, "scopes": {"repo": name}}}
        if pack:
            taken = packs.take_pack(self.conn, self.settings.data_dir, repo_id)
            body["context_pack_id"] = taken["pack_id"]
        self.run_ids.append(runs.plan_run(self.conn, self.settings, body)["run_id"])

    @precondition(lambda self: self.run_ids)
    @rule(data=st.data(), action=RUN_ACTIONS)
    def run_step(self, data: st.DataObject, action: str) -> None:
        """Any step on any run: a refused one changes nothing."""
        run_id = data.draw(st.sampled_from(self.run_ids))
        head = audit.head(self.conn)
        try:
            self._run_step(run_id, action)
        except (RunError, PortError):
            assert audit.head(self.conn) == head

    @precondition(lambda self: self.run_ids)
    @rule(data=st.data(), steps=st.integers(1, 6))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """The steps a run's state invites, so runs reach the execution states often."""
        run_id = data.draw(st.sampled_from(self.run_ids))
        for _ in range(steps):
            state = runs.get_run(self.conn, run_id)["state"]
            late = data.draw(st.sampled_from(["interrupt", "artifact", "finish"]))
            action = {"draft": "approve", "approved": "start", "running": late}.get(state)
            if action is None:
                return
            self._run_step(run_id, action)

    def _run_step(self, run_id: str, action: str) -> None:
        thread_id = f"thread-{run_id}"
        steps = {
            "approve": lambda: runs.approve_run(self.conn, run_id),
            "reject": lambda: runs.reject_run(self.conn, run_id, "no"),
            "cancel": lambda: runs.cancel_run(self.conn, run_id),
            "edit": lambda: runs.edit_run(self.conn, run_id, {"goal": "edited"}),
            "start": lambda: self.port.started(run_id, thread_id),
            "artifact": lambda: self.port.artifact(run_id, "log", run_id.encode(), {}),
            "finish": lambda: self.port.finished(run_id, "completed"),
        }
        if action != "interrupt":
            steps[action]()
            return
        interrupt_id = f"int-{len(self.pending)}-{run_id}"
        self.port.interrupted(
            {"schema_version": 1, "interrupt_id": interrupt_id, "run_id": run_id,
             "thread_id": thread_id, "kind": "tool_call.approval", "risk": "low",
             "payload": {}, "status": "pending", "created_at": now_rfc3339()}
        )  # fmt: skip
        self.pending.append(interrupt_id)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), decision=DECISIONS)
    def decide(self, data: st.DataObject, decision: dict) -> None:
        interrupt_id = data.draw(st.sampled_from(self.pending))
        head = audit.head(self.conn)
        try:
            decisions.decide_interrupt(self.conn, interrupt_id, decision)
        except RunError:
            assert audit.head(self.conn) == head

    @rule()
    def rebuild_check_finds_nothing(self) -> None:
        assert rebuild.check(self.conn).differences == []

    @rule()
    def rebuild_swap(self) -> None:
        self._rebuild_leaves_everything_equal()

    @invariant()
    def counts_match_the_model(self) -> None:
        rows = self.conn.execute(
            "SELECT repo_id, issues_open, issues_closed, prs_open, prs_closed FROM repo_counts"
        )
        found = {r[0]: dict(zip(ev.COUNT_KEYS, r[1:], strict=True)) for r in rows}
        assert found == self.counts

    def _rebuild_leaves_everything_equal(self) -> None:
        before = _snapshot(self.conn)
        result = rebuild.rebuild(self.conn)
        assert result.differences == []
        assert result.events == audit.head(self.conn)[0]
        assert _snapshot(self.conn) == before

    def _fresh_id_after_rebuild(self) -> None:
        repo = operations.add_repo(self.conn, "fresh/after-rebuild")
        assert repo.repo_id > max(self.ever_ids, default=0)


AuditLogMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_rebuild_reproduces_the_live_projections = AuditLogMachine.TestCase
