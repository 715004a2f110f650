"""The one error body of the API: `application/problem+json` (RFC 9457).

Every failure, expected or not, leaves the server in this shape: `type`,
`title`, `status`, `detail`, a stable machine-readable `code`, and `field`
when one input is at fault (plus extras such as `repo_id` on a conflict).
Bodies are serialised here, not by bottle's JSON plugin, because that
plugin would relabel them `application/json`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from bottle import HTTPResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """An expected failure that becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.detail, field=self.field, **self.extra)

    def response(self) -> HTTPResponse:
        return problem_response(self.status, self.body(), self.headers)


def invalid_field(field: str, detail: str) -> ApiProblem:
    """422 naming the query parameter or body field at fault."""
    return ApiProblem(422, "invalid_field", detail, field=field)


def problem_body(
    status: int, code: str, detail: str, *, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:pmbot:problem:{code}",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> HTTPResponse:
    response = HTTPResponse(json.dumps(body), status=status, headers=headers or {})
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
