"""RunArtifact v1: a pointer to something a run produced, stored under the data dir.

The database keeps pointers, never blobs: the bytes live on the filesystem under
`artifacts/` (content-addressed, or grouped by run id) and the record carries the
URI, digest and size. See docs/contracts/run-artifact-v1.md.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from pmbot.shared.contracts.shapes import (
    ID,
    KIND,
    Obj,
    OneOf,
    Problem,
    any_object,
    integer,
    optional,
    required,
    text,
    timestamp,
)

CONTRACT = "RunArtifact v1"
DIGEST_RE = re.compile(r"[0-9a-f]{64}")
LAYOUT_HINT = "artifacts/sha256/<2 hex>/<62 hex> or artifacts/runs/<run_id>/<name>"


def _uri_problem(uri: str) -> str | None:
    """Say what is wrong with the form of an artifact URI, or None when it is acceptable."""
    parts = urlsplit(uri)
    if parts.scheme not in ("", "file"):
        return (
            f"must be a path relative to the data dir or a file:// URI, not {parts.scheme}:"
            " (write the bytes under artifacts/ and point at them)"
        )
    if parts.query or parts.fragment or "\\" in uri:
        return "must not contain a query, a fragment or a backslash"
    if parts.scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
        return "must be a local file URI: file:///absolute/path"
    if parts.scheme == "" and (parts.netloc or parts.path.startswith("/")):
        return "must be relative to the data dir (use file:// for an absolute path)"
    segments = (parts.path[1:] if parts.scheme else parts.path).split("/")
    if any(s in ("", ".", "..") for s in segments):
        return "must not contain empty, '.' or '..' path segments"
    if parts.scheme == "" and (segments[0] != "artifacts" or len(segments) < 2):
        return f"must lie under artifacts/: {LAYOUT_HINT}"
    return None


def _uri(value: Any, path: str) -> list[Problem]:
    problems = text()(value, path)
    if problems:
        return problems
    problem = _uri_problem(value)
    return [Problem(path, problem)] if problem else []


SHAPE = Obj(
    {
        "schema_version": required(OneOf((1,))),
        "artifact_id": required(ID),
        "run_id": required(ID),
        "kind": required(KIND),
        "uri": required(_uri),
        "sha256": required(text(DIGEST_RE.pattern, "64 lowercase hex digits")),
        "size_bytes": required(integer(0)),
        "media_type": optional(text(r"[\w.+-]+/[\w.+-]+", "a media type like 'text/x-diff'")),
        "metadata": optional(any_object, default={}),
        "created_at": required(timestamp),
    }
)


def _segments_under_data_dir(uri: str, data_dir: str | os.PathLike | None) -> list[str] | None:
    """Return the URI's path segments relative to the data dir, or None when unknown."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return parts.path.split("/")
    if data_dir is None:
        return None
    base = PurePosixPath(os.path.abspath(data_dir))
    try:
        return list(PurePosixPath(unquote(parts.path)).relative_to(base).parts)
    except ValueError:
        return []


def _layout_problems(artifact: dict, segments: list[str]) -> list[Problem]:
    """The file must be content-addressed by its digest, or filed under its run id."""
    digest, run_id = artifact.get("sha256"), artifact.get("run_id")
    if segments[:2] == ["artifacts", "sha256"]:
        if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
            return []
        expected = ["artifacts", "sha256", digest[:2], digest[2:]]
        if segments != expected:
            return [Problem("/uri", f"must be {'/'.join(expected)} to match /sha256")]
        return []
    if segments[:3] == ["artifacts", "runs", run_id] and len(segments) > 3:
        return []
    return [Problem("/uri", f"must be {LAYOUT_HINT} (under the data dir)")]


def validate_run_artifact(
    document: Any, data_dir: str | os.PathLike | None = None
) -> list[Problem]:
    """Return every problem with a RunArtifact v1 document (empty when valid).

    Args:
        document: the decoded JSON document.
        data_dir: the data directory; when given, a file:// URI must point inside it
            and obey the same layout as a relative one. Without it only a file://
            URI's form is checked.
    """
    problems = SHAPE(document, "")
    if not isinstance(document, dict) or any(p.path == "/uri" for p in problems):
        return problems
    segments = _segments_under_data_dir(document["uri"], data_dir)
    if segments is None:
        return problems
    return problems + _layout_problems(document, segments)
