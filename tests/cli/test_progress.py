"""The harvest progress line: records of completeListSize when the server gives it."""

from __future__ import annotations

import io

from harvester.jobs import Progress
from harvester.run import RunSummary


def test_progress_shows_records_of_complete_list_size() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    summary = RunSummary("arxiv", complete_list_size=200, records_seen=50)
    summary.counts.pages = 1
    progress(summary)
    progress.close()
    text = stream.getvalue()
    assert "arxiv: [######..................] 50/200, 1 pages" in text
    assert text.endswith("\n")


def test_progress_without_a_size_counts_records() -> None:
    stream = io.StringIO()
    Progress(stream)(RunSummary("local-copy", records_seen=7))
    assert "local-copy: 7 records, 0 pages" in stream.getvalue()
