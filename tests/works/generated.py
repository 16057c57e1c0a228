"""Records for the works tests: DC values, records, random corpora and their changes, and a
snapshot of the works tables to compare refreshes by."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Sequence

from oaiformat.dublin_core import DCValue
from oaiformat.record import Record


def dc(
    title: str,
    creators: Sequence[str],
    year: str = "2017",
    identifiers: Sequence[str] = (),
    relations: Sequence[str] = (),
) -> dict[str, list[DCValue]]:
    metadata = {
        "title": [DCValue(title)],
        "creator": [DCValue(c) for c in creators],
        "date": [DCValue(year)],
        "identifier": [DCValue(i) for i in identifiers],
        "relation": [DCValue(r) for r in relations],
    }
    return {name: values for name, values in metadata.items() if values}


def rec(source: str, identifier: str, metadata: dict[str, list[DCValue]] | None) -> Record:
    if metadata is None:
        return Record(source, identifier, "2024-01-01", deleted=True)
    return Record(source, identifier, "2024-01-01", metadata=metadata)


def snapshot(conn: sqlite3.Connection) -> tuple[object, ...]:
    return (
        conn.execute(
            "SELECT id, representative_id, title, year, members, signature FROM works ORDER BY id"
        ).fetchall(),
        conn.execute("SELECT * FROM work_members ORDER BY record_id").fetchall(),
        conn.execute("SELECT * FROM work_matches ORDER BY 1, 2, 3").fetchall(),
        conn.execute("SELECT * FROM authors ORDER BY key").fetchall(),
        conn.execute("SELECT * FROM author_forms ORDER BY 1, 2").fetchall(),
        conn.execute("SELECT * FROM record_authors ORDER BY 1, 2, 3").fetchall(),
        conn.execute("SELECT * FROM match_features ORDER BY record_id").fetchall(),
        conn.execute("SELECT * FROM match_keys_current ORDER BY 1, 2").fetchall(),
        conn.execute("SELECT rowid, * FROM records_fts ORDER BY rowid").fetchall(),
    )


SURNAMES = ["Stirrup", "Jones", "Kaur", "MacInnes", "Smith", "García-López", "van der Berg"]
WORDS = "peer support lived experience practice mental health recovery training care trust".split()


def random_record(rng: random.Random, index: int) -> Record:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
    if rng.random() < 0.2:
        title += f" part {rng.randint(1, 2)}"
    creators = [f"{rng.choice(SURNAMES)}, {rng.choice('VJFD')}." for _ in range(rng.randint(1, 3))]
    identifiers = [f"10.5555/w{rng.randint(0, 40)}"] if rng.random() < 0.3 else []
    return rec(
        rng.choice("ab"),
        f"r{index}",
        dc(title, creators, str(rng.randint(2014, 2019)), identifiers),
    )


def variant(rng: random.Random, original: Record, index: int) -> Record:
    title = original.metadata["title"][0].value
    if rng.random() < 0.5:
        title = title.upper()
    elif len(title) > 30:
        cut = rng.randrange(len(title))
        title = title[:cut] + title[cut + 1 :]
    metadata = {name: list(values) for name, values in original.metadata.items()}
    metadata["title"] = [DCValue(title)]
    return rec("c", f"v{index}", metadata)


def random_changes(
    rng: random.Random,
    records: Sequence[Record],
    count: int,
    first_index: int,
    *,
    deleted: float = 0.3,
    changed: Callable[[random.Random, Record, int], Record] = variant,
) -> list[Record]:
    """`count` changes to the records: deletions (a `deleted` share), changed records (by
    default new variants of them) and new records, numbered from `first_index`."""
    changes: list[Record] = []
    for i in range(count):
        kind = rng.random()
        target = rng.choice(records)
        if kind < deleted:
            changes.append(rec(target.source, target.identifier, None))
        elif kind < 0.7:
            changes.append(changed(rng, target, first_index + i))
        else:
            changes.append(random_record(rng, first_index + i))
    return changes
