"""The change the dedupe benchmark makes between the full recompute and the incremental one.

apply_change() changes a share of a working store's live records the way harvests do:
half edited (the same work written differently), a fifth replaced by another work, a tenth
tombstoned, and a fifth as many new records added, duplicates of live records in another
source; the ground truth is kept in step.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import REPOSITORY_IDENTIFIER
from dedupe_corpus import INSERT_TRUTH, LOAD_BATCH, NOW
from dedupe_vocabulary import DATA_VERSION
from dedupe_works import (
    SOURCE_BY_NAME,
    Person,
    Source,
    creator_values,
    new_work,
    pick_source,
    random_person,
    title_variant,
)

from oaiformat.dublin_core import DCValue, from_json
from oaiformat.record import Record
from store.db import Store, open_store
from store.writes import save_records
from works.names import parse_creators


@dataclass
class Change:
    """What apply_change() did."""

    edited: int = 0
    retitled: int = 0
    deleted: int = 0
    added: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Records changed."""
        return self.edited + self.retitled + self.deleted + self.added


def _restyled(values: list[str], source: Source, rng: random.Random) -> list[str]:
    people = []
    for name in parse_creators(values):
        parts = name.given.replace(".", " ").split()
        if not parts or name.corporate:
            people.append(Person(name.family, name.family[:1]))
            continue
        first = parts[0]
        given = first if len(first) > 1 and not first.isupper() else first[0]
        middle = parts[1][0].upper() if len(parts) > 1 else ""
        if len(first) > 1 and first.isupper() and len(first) <= 3:
            middle = first[1]  # "JA": initials run together
        people.append(Person(name.family, given, middle))
    if not people:
        return values
    if rng.random() < 0.3:
        people.append(random_person(rng))
    return creator_values(people, source)


def _texts(metadata: dict[str, list[DCValue]], element: str) -> list[str]:
    return [v.value for v in metadata.get(element, [])]


# A live record picked for the change: (id, source, identifier).
_Picked = tuple[int, str, str]


@dataclass
class _Changing:
    """A change being made: the store and truth it changes, and what it will write."""

    store: Store
    truth: sqlite3.Connection
    rng: random.Random
    change: Change = field(default_factory=Change)
    records: list[Record] = field(default_factory=list)
    truth_rows: list[tuple[Any, ...]] = field(default_factory=list)
    gone: list[tuple[str, str]] = field(default_factory=list)

    def metadata_of(self, record_id: int) -> tuple[dict[str, list[DCValue]], tuple[str, ...]]:
        """A record's metadata and sets, as stored."""
        row = self.store.conn.execute(
            "SELECT metadata, sets FROM records WHERE id = ?", [record_id]
        ).fetchone()
        return from_json(json.loads(row[0])), tuple(json.loads(row[1]))

    def write(
        self,
        source: str,
        identifier: str,
        sets: tuple[str, ...],
        metadata: dict[str, list[DCValue]],
    ) -> None:
        """Keep a record to save (at the change's `now`)."""
        self.records.append(Record(source, identifier, NOW["change"], sets=sets, metadata=metadata))


def _pick(
    changing: _Changing, share: float
) -> tuple[list[_Picked], list[_Picked], list[_Picked], list[_Picked]]:
    """The live records to change, in four lists: to edit, to replace by another work, to
    delete, and to copy as new duplicates."""
    live = changing.store.conn.execute(
        "SELECT id, source, identifier FROM records WHERE deleted = 0 ORDER BY id"
    ).fetchall()
    total = max(5, round(share * len(live)))
    added = round(total * 0.2)
    deleted = round(total * 0.1)
    retitled = round(total * 0.2)
    edited = total - added - deleted - retitled
    picked = [live[i] for i in changing.rng.sample(range(len(live)), total)]
    a, b, c = edited, edited + retitled, edited + retitled + deleted
    return picked[:a], picked[a:b], picked[b:c], picked[c:]


def _edit(changing: _Changing, rows: list[_Picked]) -> None:
    """The same work written differently: a title variant, or the creators re-written (in
    another source's style, sometimes one more)."""
    rng = changing.rng
    for record_id, source, identifier in rows:
        metadata, sets = changing.metadata_of(record_id)
        if rng.random() < 0.5:
            title = metadata["title"][0]
            metadata["title"] = [DCValue(title_variant(rng, title.value), title.lang)]
        else:
            style = pick_source(rng, [source])
            written = _restyled(_texts(metadata, "creator"), style, rng)
            metadata["creator"] = [DCValue(v) for v in written]
        changing.write(source, identifier, sets, metadata)
        changing.change.edited += 1


def _retitle(changing: _Changing, rows: list[_Picked]) -> None:
    """Records replaced by another work (title, creators, description; no DOI)."""
    truth = changing.truth
    next_truth = int(truth.execute("SELECT max(work) FROM truth").fetchone()[0]) + 1
    for record_id, source, identifier in rows:
        metadata, sets = changing.metadata_of(record_id)
        work = new_work(changing.rng, next_truth, "retitled", False)
        metadata.update(
            title=[DCValue(work.title)],
            creator=[DCValue(v) for v in creator_values(work.people, SOURCE_BY_NAME[source])],
            description=[DCValue(work.description)],
            identifier=[v for v in metadata["identifier"] if v.value.startswith("https://")
                        and "/records/" in v.value],
        )  # fmt: skip
        changing.write(source, identifier, sets, metadata)
        truth.execute(
            "UPDATE truth SET work = ?, kind = 'retitled', doi = 0, of_source = NULL,"
            " of_identifier = NULL WHERE source = ? AND identifier = ?",
            [next_truth, source, identifier],
        )
        next_truth += 1
        changing.change.retitled += 1


def _delete(changing: _Changing, rows: list[_Picked]) -> None:
    """Tombstones."""
    for _, source, identifier in rows:
        changing.records.append(Record(source, identifier, NOW["change"], deleted=True))
        changing.gone.append((source, identifier))
        changing.change.deleted += 1


def _duplicate(changing: _Changing, rows: list[_Picked]) -> None:
    """New records in another source, duplicates of the picked ones (with their DOI for
    half of them, and always for a data collection's record, as in generate())."""
    rng = changing.rng
    for serial, (record_id, source, identifier) in enumerate(rows):
        metadata, sets = changing.metadata_of(record_id)
        target = pick_source(rng, [source])
        title = metadata["title"][0]
        metadata["title"] = [DCValue(title_variant(rng, title.value), target.title_lang)]
        restyled = _restyled(_texts(metadata, "creator"), target, rng)
        metadata["creator"] = [DCValue(v) for v in restyled]
        keep_doi = source == "pangaea" or rng.random() < 0.5
        new_identifier = f"oai:{target.host}:change-{serial:07d}"
        kept = [v for v in metadata["identifier"] if keep_doi and "10." in v.value]
        metadata["identifier"] = [
            DCValue(f"https://{target.host}/records/change-{serial}"),
            *kept,
        ]
        metadata["publisher"] = [DCValue(target.publisher)]
        changing.write(target.name, new_identifier, sets, metadata)
        (work, has_doi) = changing.truth.execute(
            "SELECT work, doi FROM truth WHERE source = ? AND identifier = ?",
            [source, identifier],
        ).fetchone()
        changing.truth_rows.append(
            (target.name, new_identifier, work, "change-dup", int(bool(kept) and has_doi),
             source, identifier)
        )  # fmt: skip
        changing.change.added += 1


def _save(changing: _Changing) -> None:
    """Save the changed records (in batches) and bring the truth in step."""
    records = changing.records
    for start in range(0, len(records), LOAD_BATCH):
        with changing.store.write() as conn:
            save_records(
                conn,
                records[start : start + LOAD_BATCH],
                repository_identifier=REPOSITORY_IDENTIFIER,
                now=NOW["change"],
            )
    truth = changing.truth
    truth.execute("BEGIN")
    truth.executemany(INSERT_TRUTH, changing.truth_rows)
    truth.executemany("DELETE FROM truth WHERE source = ? AND identifier = ?", changing.gone)
    truth.execute("COMMIT")


def apply_change(db: Path, truth_db: Path, share: float) -> Change:
    """Change `share` of the live records (in the parent process, not timed) and keep the
    truth in step: half edited (title variant, or creators re-written and one added: the
    same work), a fifth replaced by another work, a tenth tombstoned, and a fifth as many
    new records added, duplicates of live records in another source."""
    started = time.perf_counter()
    rng = random.Random(f"change-{DATA_VERSION}-{share}")
    store = open_store(db)
    truth = sqlite3.connect(truth_db, isolation_level=None)
    changing = _Changing(store, truth, rng)
    try:
        edit_rows, retitle_rows, delete_rows, template_rows = _pick(changing, share)
        _edit(changing, edit_rows)
        _retitle(changing, retitle_rows)
        _delete(changing, delete_rows)
        _duplicate(changing, template_rows)
        _save(changing)
    finally:
        store.close()
        truth.close()
    changing.change.seconds = time.perf_counter() - started
    return changing.change
