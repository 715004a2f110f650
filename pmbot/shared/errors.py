"""The base of every service's expected errors, and the HTTP status each one means.

A service raises a subclass of `ServiceError` with a stable `code` (a word
API clients can test) and the HTTP `status` the failure maps to; the API
turns it into a problem+json body without knowing the subclass. Extra
fields for that body (the field at fault, the conflicting id) come from
`problem_fields()`.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An expected failure of a service call: `code` for clients, `status` for HTTP."""

    code = "service_error"
    status = 400

    def problem_fields(self) -> dict[str, Any]:
        """Extra members of the problem body (e.g. `field`, `repo_id`)."""
        return {}


class NotFoundError(ServiceError):
    """Something the caller named does not exist."""

    code = "not_found"
    status = 404
