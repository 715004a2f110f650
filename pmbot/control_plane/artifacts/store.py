"""The content-addressed artifact store: bytes on disk, pointers in the DB.

Policy: a file lives at `artifacts/sha256/<first 2 hex>/<remaining 62 hex>`
under the data dir (the RunArtifact v1 layout), named by the SHA-256 of its
bytes, so the same content is stored once. Writing is atomic: a temp file in
the target folder, fsync, then `os.replace`, so a crash leaves either the
whole file or nothing under its name. Files are never rewritten or deleted
by pmbot; `verify_files` reports any whose bytes no longer match their name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pmbot.shared.errors import ServiceError

PREFIX = "artifacts/sha256"
_URI = re.compile(r"artifacts/sha256/([0-9a-f]{2})/([0-9a-f]{62})")
# The media types served as themselves; anything else is served as bytes.
SAFE_MEDIA_TYPES = ("application/json", "text/plain", "text/markdown", "text/x-diff")
OCTET_STREAM = "application/octet-stream"


class ArtifactStoreError(ServiceError):
    code = "artifact_store_error"


@dataclass(frozen=True)
class Stored:
    sha256: str
    uri: str
    size_bytes: int


def uri_for(digest: str) -> str:
    return f"{PREFIX}/{digest[:2]}/{digest[2:]}"


def path_of(data_dir: Path, uri: str) -> Path:
    """The file a store URI names; only URIs of this store's own form are accepted."""
    if not _URI.fullmatch(uri):
        raise ArtifactStoreError(f"{uri!r} is not a content-addressed artifact URI")
    return Path(data_dir) / uri


def put(data_dir: Path, content: bytes) -> Stored:
    """Store `content` once (atomically); return its digest, URI and size."""
    digest = hashlib.sha256(content).hexdigest()
    uri = uri_for(digest)
    target = Path(data_dir) / uri
    if not (target.is_file() and target.stat().st_size == len(content)):
        _write_atomically(target, content)
    return Stored(digest, uri, len(content))


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read(data_dir: Path, uri: str) -> bytes:
    return path_of(data_dir, uri).read_bytes()


def served_media_type(media_type: str | None) -> str:
    """The allowlisted media type to serve, never one a browser would run as script."""
    return media_type if media_type in SAFE_MEDIA_TYPES else OCTET_STREAM


def verify_files(data_dir: Path, uris: Iterable[str]) -> list[str]:
    """A line per stored file that is missing or whose SHA-256 no longer matches its name."""
    problems = []
    for uri in sorted(set(uris)):
        match = _URI.fullmatch(uri)
        path = Path(data_dir) / uri
        if match is None:
            problems.append(f"{uri}: not a content-addressed URI")
        elif not path.is_file():
            problems.append(f"{uri}: file is missing")
        elif _file_digest(path) != match[1] + match[2]:
            problems.append(f"{uri}: content no longer matches its sha256")
    return problems


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
