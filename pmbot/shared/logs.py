"""Process logging: JSON lines to `logs/<process>.log` and readable lines to stderr.

A redacting filter sits on every handler, so neither the GitHub token nor an
`Authorization` header value can reach a log line, whatever the caller logs.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from pathlib import Path

from pmbot.shared.timeutil import to_rfc3339

MAX_LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
_TOKEN_PATTERNS = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer\s+|token\s+)?[^\s'\",}]+"
    r"|\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{8,}|\bgithub_pat_[A-Za-z0-9_]{8,}"
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask known secrets and anything shaped like a token or Authorization header."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERNS.sub(lambda m: (m.group(1) or "") + "***", text)


class RedactingFilter(logging.Filter):
    """Renders the message once, redacted, so handlers never see raw arguments."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        entry = {
            "ts": to_rfc3339(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("request_id", "repo", "event"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file whose write failures (read-only or failing disk) are one stderr
    line each, instead of logging's "--- Logging error ---" and a traceback."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if logging.raiseExceptions and sys.stderr:
            print(f"pmbot: cannot write log file {self.baseFilename}: {error}", file=sys.stderr)


def setup_logging(
    process: str, logs_dir: Path, level: str = "INFO", secrets: tuple[str, ...] = ()
) -> None:
    """Configure the `pmbot` logger tree for one process (idempotent)."""
    root = logging.getLogger("pmbot")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    root.propagate = False
    redactor = RedactingFilter(secrets)
    file_handler = LogFileHandler(
        Path(logs_dir) / f"{process}.log",
        maxBytes=MAX_LOG_BYTES,
        backupCount=LOG_BACKUPS,
        encoding="utf-8",
    )
    file_handler.setFormatter(JsonLineFormatter())
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    for handler in (file_handler, stderr_handler):
        handler.addFilter(redactor)
        root.addHandler(handler)
