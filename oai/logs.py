"""Logging for the CLI: configured once, to stderr, so stdout carries only data."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to sys.stderr as it is when a record is logged, not as it was when logging
    was configured (click's test runner swaps it for every command it runs)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(verbosity: int) -> None:
    """Send log records to stderr: WARNING by default, INFO with -v, DEBUG with -vv."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    if verbosity < 0:
        level = logging.ERROR
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_oai_cli", False) for h in root.handlers):
        handler = _CurrentStderr(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._oai_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
