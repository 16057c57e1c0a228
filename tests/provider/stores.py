"""Store files the conformance tests serve: paged sample, no sets, records at chosen times."""

from __future__ import annotations

from pathlib import Path

from oaiformat.dublin_core import DCValue
from oaiformat.identifiers import LOCAL_SOURCE
from oaiformat.record import Record
from store.db import open_store
from store.tables import SETS
from tests.conftest import REPOSITORY_IDENTIFIER, fill_store, save_local

ID = f"oai:{REPOSITORY_IDENTIFIER}:8912z"  # a live local record of the sample
DELETED_ID = f"oai:{REPOSITORY_IDENTIFIER}:83a0a"  # the sample's deleted local record
HARVESTED_DELETED_ID = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:gone"
# Only in arxiv:physics:hep-ex (harvested_records() in conftest: odd numbers).
ONLY_IN_CHILD_SET = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:2101.00001"
EMPTY_SET = "arxiv:math"  # named by the origin, but no record is in it
BARE_ID = f"oai:{REPOSITORY_IDENTIFIER}:bare-0"
EXTRA_LOCAL = 12  # sample 9+4 records plus these: 25 records, five pages of five
SAMPLE_SIZE = 25
PAGE_SIZE = 5  # the page size the sample is served with


def build_sample(path: Path) -> str:
    """The conftest sample plus EXTRA_LOCAL records and the empty named set EMPTY_SET."""
    store = open_store(path)
    try:
        fill_store(store, extra_local=EXTRA_LOCAL)
        source, _, spec = EMPTY_SET.partition(":")
        with store.write() as conn:
            # The `sets` table is the store's documented interface for origin set names.
            conn.execute(
                f"INSERT INTO {SETS} (source, set_spec, set_name) VALUES (?, ?, ?)",
                [source, spec, "Mathematics (no records)"],
            )
    finally:
        store.close()
    return str(path)


def build_bare(path: Path) -> str:
    """A repository without sets: local records in no set, one deleted, no harvested source."""
    records = [
        Record(
            LOCAL_SOURCE,
            f"oai:{REPOSITORY_IDENTIFIER}:bare-{i}",
            "2022-06-01T00:00:00Z",
            metadata={"title": [DCValue(f"Setless {i}")]},
        )
        for i in range(3)
    ]
    records.append(
        Record(LOCAL_SOURCE, f"oai:{REPOSITORY_IDENTIFIER}:bare-gone", "2022-06-02", deleted=True)
    )
    save_local(str(path), records, "2024-05-01T12:00:00Z")
    return str(path)


# Local datestamps around the bounds the from/until tests probe, each its own record.
DATED = {
    "before": "2023-03-04T05:06:06Z",
    "exact": "2023-03-04T05:06:07Z",
    "day-start": "2023-03-05T00:00:00Z",
    "day-end": "2023-03-05T23:59:59Z",
    "next-day": "2023-03-06T00:00:00Z",
}
DATED_SET = "dated"


def dated_id(name: str) -> str:
    """The published identifier of the DATED record `name`."""
    return f"oai:{REPOSITORY_IDENTIFIER}:dated-{name}"


def build_dated(path: Path) -> str:
    """One record per DATED entry, each written at that moment (its local datestamp)."""
    for name, moment in DATED.items():
        record = Record(
            LOCAL_SOURCE,
            dated_id(name),
            "2000-01-01",
            sets=(f"{DATED_SET}:{name}",),
            metadata={"title": [DCValue(f"Written at {moment}")]},
        )
        save_local(str(path), [record], moment)
    return str(path)
