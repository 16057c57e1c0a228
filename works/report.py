"""WorksReport: what one works refresh did."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WorksReport:
    """What one refresh did."""

    records: int = 0
    groups: int = 0
    matches: int = 0
    works: int = 0
    relinked: int = 0
    full: bool = False
