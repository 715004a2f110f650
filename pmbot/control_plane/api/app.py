"""`create_app()`: the bottle application, with no import-time side effects.

Order of a request: the security checks (before routing, so even a 404 is
refused to a foreign Host), then the handler, whose service errors are
mapped to problem+json here. Anything unexpected is logged with a request
id and answered with a generic 500 carrying that id, never a traceback.
Every response gets the security headers.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bottle import Bottle, HTTPError, HTTPResponse, request, response

from pmbot.control_plane.api.connections import ThreadConnections
from pmbot.control_plane.api.handlers import ROUTES, Handlers
from pmbot.control_plane.api.parsers import MAX_ID
from pmbot.control_plane.api.problems import (
    PROBLEM_CONTENT_TYPE,
    ApiProblem,
    problem_body,
    problem_response,
)
from pmbot.control_plane.api.security import (
    SAFE_METHODS,
    SECURITY_HEADERS,
    HostAllowlist,
    check_request,
)
from pmbot.control_plane.db import health
from pmbot.control_plane.github.client import (
    GitHubClient,
    GitHubError,
    Gone,
    NotFound,
    RateLimited,
    Unauthorized,
)
from pmbot.shared.errors import ServiceError
from pmbot.shared.settings import Settings
from pmbot.shared.timeutil import to_rfc3339

log = logging.getLogger("pmbot.api")

ID_PATTERN = r"[0-9]{1,19}"
_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def create_app(
    settings: Settings,
    *,
    db_path: Path,
    github_client_factory: Callable | None = None,
    executor: Any = None,
) -> Bottle:
    """The API and UI app over the DB at `db_path` (already migrated by the caller).

    `github_client_factory(settings, **options)` builds the discovery client
    (default `GitHubClient.from_settings`; tests pass one aimed at a fake).
    `executor` receives interrupt decisions and cancellations (v7: none; tests
    attach a scripted one).
    """
    app = Bottle()
    app.router.add_filter("id", lambda _conf: (ID_PATTERN, _path_id, str))
    db = ThreadConnections(db_path)
    client_factory = github_client_factory or GitHubClient.from_settings
    handlers = Handlers(settings, db, client_factory, executor)
    app.config["pmbot.db"] = db
    app.install(db)
    app.install(functools.partial(_map_errors, db_path))
    hosts = HostAllowlist(settings.allowed_hosts)
    app.add_hook("before_request", functools.partial(_guard, hosts))
    app.add_hook("before_request", functools.partial(_check_db_file, db))
    app.add_hook("after_request", _secure_headers)
    app.default_error_handler = _error_page
    for method, rule, name in ROUTES:
        app.route(rule, method, getattr(handlers, name), name=name)
    return app


def _guard(hosts: HostAllowlist) -> None:
    try:
        check_request(request.environ, hosts)
    except ApiProblem as problem:
        raise problem.response() from None


def _check_db_file(db: ThreadConnections) -> None:
    """Every write and every health check stats the DB file first (reads: once a second)."""
    if request.method in SAFE_METHODS and request.path != "/healthz":
        return
    try:
        db.identity.check(force=True)
    except health.StorageError as exc:
        raise storage_problem(exc).response() from None


def _secure_headers() -> None:
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)


def _map_errors(db_path: Path, callback: Callable) -> Callable:
    """Route plugin: expected errors become problems; storage faults a 503 logged in one
    line; the rest a logged 500."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except HTTPResponse:
            raise
        except ApiProblem as problem:
            raise problem.response() from None
        except ServiceError as exc:
            raise service_problem(exc).response() from None
        except GitHubError as exc:
            raise github_problem(exc).response() from None
        except health.StorageError as exc:
            raise storage_problem(exc).response() from None
        except sqlite3.Error as exc:
            storage = health.classify(exc, db_path)
            if storage is None:
                raise internal_error(exc) from None
            log.error("%s %s refused: %s", request.method, request.path, storage)
            raise storage_problem(storage).response() from None
        except Exception as exc:
            raise internal_error(exc) from None

    return wrapper


def service_problem(exc: ServiceError) -> ApiProblem:
    """A service's typed error as its own status; its `code`, message and fields go through."""
    return ApiProblem(exc.status, exc.code, str(exc), **exc.problem_fields())


_GITHUB_STATUS = ((Unauthorized, 401), (NotFound, 404), (Gone, 410), (RateLimited, 429))


def github_problem(exc: GitHubError) -> ApiProblem:
    """A GitHub client error as the status the operator should see (502 for the rest)."""
    status = next((s for cls, s in _GITHUB_STATUS if isinstance(exc, cls)), 502)
    if isinstance(exc, RateLimited):
        return ApiProblem(status, exc.code, str(exc), reset_at=to_rfc3339(exc.reset_at))
    return ApiProblem(status, exc.code, str(exc))


def storage_problem(exc: health.StorageError) -> ApiProblem:
    """503: the request was fine, the database cannot serve it (the detail says why)."""
    headers = {"Retry-After": "1"} if isinstance(exc, health.DatabaseBusy) else None
    return ApiProblem(503, exc.code, str(exc), headers=headers)


def internal_error(exc: BaseException) -> HTTPResponse:
    return problem_response(500, _internal_body(exc))


def _internal_body(exc: BaseException) -> dict[str, Any]:
    """Log the failure under a fresh request id; the body names only that id."""
    request_id = uuid.uuid4().hex[:16]
    log.error(
        "unexpected error %s on %s %s: %r",
        request_id,
        request.method,
        request.path,
        exc,
        exc_info=exc,
        extra={"request_id": request_id},
    )
    detail = f"unexpected error; reference {request_id}"
    return problem_body(500, "internal_error", detail, request_id=request_id)


def _path_id(text: str) -> int:
    """A path id as the document allows it (1 to 2**63 - 1); a larger one names nothing
    SQLite can store, so it is the same 404 as any unknown id (never an overflow)."""
    value = int(text)
    if value > MAX_ID:
        raise HTTPError(404, f"Not found: no object has id {text}")
    return value


def _error_page(error: HTTPError) -> str:
    """bottle's own errors (404, 405, a failing hook, static files) as problem+json."""
    response.content_type = PROBLEM_CONTENT_TYPE
    if error.status_code >= 500:
        return json.dumps(_internal_body(error.exception or RuntimeError(str(error.body))))
    code = _ERROR_CODES.get(error.status_code, "error")
    detail = error.body if isinstance(error.body, str) else error.status_line
    return json.dumps(problem_body(error.status_code, code, detail))
