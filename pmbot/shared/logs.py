"""Process logging: JSON lines to `logs/<process>.log` and readable lines to stderr.

A redacting filter sits on every handler, so neither the GitHub token nor an
`Authorization` header value can reach a log line, whatever the caller logs.

waitress logs through the same handlers: its warnings go to the log file, and
only its errors reach the console (a process without a log file, `pmbot ui`,
shows its warnings too). Its "Task queue depth is N" warning, which it writes
whenever a request waits for a free thread (ordinary when a page loads, as the
browser sends several requests at once), is a DEBUG line here.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from pathlib import Path

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
            # Log lines keep sub-second precision; stored times are whole seconds.
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
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


class QueueDepthAsDebug(logging.Filter):
    """Demotes waitress's queue-depth warning to DEBUG, kept only when DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(WAITRESS_LOGGER).isEnabledFor(logging.DEBUG)


WAITRESS_LOGGER = "waitress"
WAITRESS_QUEUE_LOGGER = "waitress.queue"
_READABLE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    """Configure the `pmbot` and `waitress` loggers for one process (idempotent)."""
    file_handler = LogFileHandler(
        Path(logs_dir) / f"{process}.log",
        maxBytes=MAX_LOG_BYTES,
        backupCount=LOG_BACKUPS,
        encoding="utf-8",
    )
    file_handler.setFormatter(JsonLineFormatter())
    _install(level, secrets, file_handler)


def setup_console_logging(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """The same for a process without a data dir (`pmbot ui`): readable lines to stderr only."""
    _install(level, secrets, None)


def _install(level: str, secrets: tuple[str, ...], file_handler: logging.Handler | None) -> None:
    redactor = RedactingFilter(secrets)
    root = _reset("pmbot", level)
    waitress = _reset(WAITRESS_LOGGER, level)
    waitress_console = _stderr_handler(logging.ERROR if file_handler else logging.WARNING)
    for logger, console in ((root, _stderr_handler(logging.NOTSET)), (waitress, waitress_console)):
        for handler in (file_handler, console):
            if handler is not None:
                handler.addFilter(redactor)
                logger.addHandler(handler)
    queue = logging.getLogger(WAITRESS_QUEUE_LOGGER)
    for old in [f for f in queue.filters if isinstance(f, QueueDepthAsDebug)]:
        queue.removeFilter(old)
    queue.addFilter(QueueDepthAsDebug())


def _reset(name: str, level: str) -> logging.Logger:
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = False
    return logger


def _stderr_handler(level: int) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_READABLE))
    return handler
