"""python -m oai runs the CLI."""

from __future__ import annotations

from oai.cli import main

main()
