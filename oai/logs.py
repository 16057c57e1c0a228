"""Logging for the CLI: configured once, to stderr, so stdout carries only data."""

from __future__ import annotations

import logging
import sys


def configure(verbosity: int) -> None:
    """Send log records to stderr: WARNING by default, INFO with -v, DEBUG with -vv."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    if verbosity < 0:
        level = logging.ERROR
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_oai_cli", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._oai_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
