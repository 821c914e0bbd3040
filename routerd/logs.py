"""Logging to stderr in a journald-friendly format, with secrets scrubbed from every record.

Under journald (``JOURNAL_STREAM`` set) each line starts with a ``<N>`` syslog priority and carries
no timestamp (journald adds its own); elsewhere lines carry an ISO time and the level name.
"""

import logging
import os
import sys

from routerd.redact import scrub

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelno, 6)}>{record.name}: {super().format(record)}"


class SecretScrubber(logging.Filter):
    """Replaces every known secret value in a record's final message with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: frozenset[str] = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = scrub(record.getMessage(), self.secrets), None
        return True


def setup_logging(level: str) -> SecretScrubber:
    """Send ``routerd.*`` logs to stderr; return the scrubber whose secrets the app keeps current."""
    scrubber = SecretScrubber()
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(scrubber)
    root = logging.getLogger("routerd")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    return scrubber
