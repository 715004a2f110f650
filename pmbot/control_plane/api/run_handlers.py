"""Handlers of the runs routes (issue 12): plans, decisions, artifacts, context packs.

Same shape as `handlers.py` (which lists these routes in its `ROUTES` table
and mixes this class in): parse, call one service, return a dict.
"""

from __future__ import annotations

from typing import Any

from bottle import HTTPResponse, request, response

from pmbot.control_plane.api import run_parsers as rp
from pmbot.control_plane.api.parsers import has_body, read_json_body
from pmbot.control_plane.approvals import decisions
from pmbot.control_plane.artifacts import store
from pmbot.control_plane.context import packs
from pmbot.control_plane.orchestration import runs, specs
from pmbot.shared.graphs import graph_list

RUN_ROUTES = (
    ("GET", "/api/runs", "runs_get"),
    ("POST", "/api/runs", "runs_post"),
    ("GET", "/api/runs/<run_id>", "run_get"),
    ("PATCH", "/api/runs/<run_id>", "run_patch"),
    ("POST", "/api/runs/<run_id>/approve", "run_approve_post"),
    ("POST", "/api/runs/<run_id>/reject", "run_reject_post"),
    ("POST", "/api/runs/<run_id>/cancel", "run_cancel_post"),
    ("POST", "/api/interrupts/<interrupt_id>/decision", "interrupt_decision_post"),
    ("GET", "/api/artifacts/<artifact_id>", "artifact_get"),
    ("GET", "/api/artifacts/<artifact_id>/content", "artifact_content_get"),
    ("POST", "/api/repos/<repo_id:id>/context-packs", "context_packs_post"),
    ("GET", "/api/graphs", "graphs_get"),
)


class RunHandlers:
    """Mixed into `Handlers`: uses its `settings`, `db`, `executor`, `_params`, `_body`."""

    def _optional_body(self) -> dict[str, Any]:
        return read_json_body(request.environ) if has_body(request.environ) else {}

    def runs_get(self) -> dict[str, Any]:
        q = rp.parse_runs_query(self._params())
        items, after = runs.list_runs(self.db.get(), **q)
        return {"items": items, "next_cursor": rp.runs_cursor(after)}

    def runs_post(self) -> HTTPResponse:
        detail = runs.plan_run(self.db.get(), self.settings, self._body())
        return HTTPResponse(detail, status=201)

    def run_get(self, run_id: str) -> dict[str, Any]:
        return runs.get_run(self.db.get(), rp.parse_path_id(run_id, "run"))

    def run_patch(self, run_id: str) -> dict[str, Any]:
        run_id = rp.parse_path_id(run_id, "run")
        return runs.edit_run(self.db.get(), run_id, self._body())

    def run_approve_post(self, run_id: str) -> dict[str, Any]:
        run_id = rp.parse_path_id(run_id, "run")
        self._optional_body()
        return runs.approve_run(self.db.get(), run_id)

    def run_reject_post(self, run_id: str) -> dict[str, Any]:
        run_id = rp.parse_path_id(run_id, "run")
        return runs.reject_run(self.db.get(), run_id, self._body().get("reason"))

    def run_cancel_post(self, run_id: str) -> dict[str, Any]:
        run_id = rp.parse_path_id(run_id, "run")
        reason = self._optional_body().get("reason")
        return runs.cancel_run(self.db.get(), run_id, reason, executor=self.executor)

    def interrupt_decision_post(self, interrupt_id: str) -> dict[str, Any]:
        interrupt_id = rp.parse_path_id(interrupt_id, "interrupt")
        conn, body = self.db.get(), self._body()
        return decisions.decide_interrupt(conn, interrupt_id, body, executor=self.executor)

    def artifact_get(self, artifact_id: str) -> dict[str, Any]:
        return runs.get_artifact(self.db.get(), rp.parse_path_id(artifact_id, "artifact"))

    def artifact_content_get(self, artifact_id: str) -> bytes:
        """The bytes as a download, with a media type a browser will never run."""
        artifact_id = rp.parse_path_id(artifact_id, "artifact")
        content, media_type = runs.artifact_content(
            self.db.get(), self.settings.data_dir, artifact_id
        )
        response.content_type = store.served_media_type(media_type)
        response.set_header("Content-Disposition", f'attachment; filename="{artifact_id}"')
        response.set_header("X-Content-Type-Options", "nosniff")
        return content

    def context_packs_post(self, repo_id: int) -> HTTPResponse:
        pack = packs.take_pack(self.db.get(), self.settings.data_dir, repo_id)
        pack.pop("size_bytes")
        return HTTPResponse(pack, status=201)

    def graphs_get(self) -> dict[str, Any]:
        return {"items": graph_list(), "budget_defaults": specs.budget_defaults(self.settings)}
