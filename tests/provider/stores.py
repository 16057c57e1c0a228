"""Store files the conformance tests serve: paged sample, no sets, records at chosen times."""

from __future__ import annotations

from pathlib import Path

from oaiformat.datestamps import parse_strict
from oaiformat.dublin_core import DCValue
from oaiformat.identifiers import LOCAL_SOURCE
from oaiformat.record import Record
from store.db import open_store
from store.tables import SETS
from store.transfer import import_file
from store.writes import save_records
from tests.conftest import NOW, REPOSITORY_IDENTIFIER, SAMPLE, fill_store, save_local
from works.update import refresh

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


WORK_PAPER = f"oai:{REPOSITORY_IDENTIFIER}:8912z"  # the sample's conference paper
WORK_COPY = "oai:eprints.example.ac.uk:5127"  # the same paper, deposited elsewhere
WORK_RELATED = f"oai:{REPOSITORY_IDENTIFIER}:87q2v"  # another work of its author
HOSTILE_ID = f"oai:{REPOSITORY_IDENTIFIER}:x/y?z=1&w=%41;+'"
KINDS_SET_NAME = "Kinds of output"  # the name build_works gives the set `type`
HOSTILE_TITLE = '<script>alert("t")</script> & </title><b>bold</b>'


def build_works(path: Path, *, hostile: bool = True) -> str:
    """The two sample files in one store with their works (so the conference paper has a
    copy and related outputs), the set `type` named; with `hostile`, also a record whose
    values try to break a page."""
    store = open_store(path)
    try:
        for name in ("sample.jsonl", "sample_elsewhere.jsonl"):
            import_file(
                store, SAMPLE.with_name(name), REPOSITORY_IDENTIFIER, lambda: parse_strict(NOW)[0]
            )
        odd = Record(
            LOCAL_SOURCE,
            HOSTILE_ID,
            "2020-01-01",
            sets=("odd:set",),
            metadata={
                "title": [DCValue(HOSTILE_TITLE)],
                "creator": [DCValue("O'Brien, <i>")],
                "identifier": [DCValue("javascript:alert(1)"), DCValue('https://x.org/?a=1&b="2"')],
            },
        )
        with store.write() as conn:
            if hostile:
                save_records(conn, [odd], repository_identifier=REPOSITORY_IDENTIFIER, now=NOW)
            conn.execute(
                f"INSERT INTO {SETS} (source, set_spec, set_name) VALUES (?, ?, ?)",
                [LOCAL_SOURCE, "type", KINDS_SET_NAME],
            )
        refresh(store, clock=lambda: parse_strict(NOW)[0])
    finally:
        store.close()
    return str(path)
