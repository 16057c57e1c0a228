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
    # Refreshes summed into this report (a harvest's between its pages, then the last).
    refreshes: int = 1

    def plus(self, other: WorksReport) -> WorksReport:
        """This report and `other` as one: what both refreshes did."""
        return WorksReport(
            self.records + other.records,
            self.groups + other.groups,
            self.matches + other.matches,
            self.works + other.works,
            self.relinked + other.relinked,
            self.full or other.full,
            self.refreshes + other.refreshes,
        )
