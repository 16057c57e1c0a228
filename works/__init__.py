"""Records become authors and works: the dedupe behind "related outputs by author".

Modules:
    names         pure: dc:creator strings -> one AuthorName per person, with its key
    rules         pure: a record's matching features, candidate keys, the same-work rules
    derive        per-record derived rows: authors, features, keys, search row
    report        WorksReport: what one refresh did
    update        refresh(): the one entry point every write command calls; records_behind()
    errors        WorksError -> BadQuery, BadOverride
    pairs         candidate groups compared pair by pair; matches written
    incremental   refresh of the records written since the last one, and what they touch
    full          recompute of every work (two worker processes on large stores)
    clusters      matched records as clusters, written as works and members with evidence
    linking       same-work links: records re-rendered when their work changes
    author_table  the authors table: fullest name, forms, record and work counts
    overrides     hand-made author key corrections (join, split)
    browse        authors, works and related outputs as the CLI prints them
    search        full-text search (FTS5)
"""

from __future__ import annotations

from works.report import WorksReport
from works.update import records_behind, refresh

__all__ = ["WorksReport", "records_behind", "refresh"]
