"""What the dedupe benchmark checks: the works against the ground truth, and two stores.

evaluate() gives the pairwise precision and recall of a store's works against the
generator's truth (which records are the same work), the share of duplicates joined to
their original by kind, and the kinds of the false and missed pairs; compare_stores() the
rows that differ between the store refreshed incrementally and a full recompute of it;
block_stats() and data_stats() the candidate groups and the data's make-up; works_shape()
and truth_shape() how many works the live records form, in a store and in the truth (the
harvesting benchmark reads a harvested store's too).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_COMPARED = (
    ("memberships", "SELECT record_id, work_id FROM work_members ORDER BY record_id"),
    (
        "works rows",
        "SELECT id, representative_id, title, year, members, signature FROM works ORDER BY id",
    ),
    (
        "evidence",
        "SELECT record_id, matched_record_id, evidence FROM work_members ORDER BY record_id",
    ),
    (
        "matches",
        "SELECT group_key, record_a, record_b, evidence FROM work_matches"
        " ORDER BY group_key, record_a, record_b",
    ),
    ("authors", "SELECT key, name, forms, corporate, records, works FROM authors ORDER BY key"),
    ("search rows", "SELECT rowid, title, creators FROM records_fts ORDER BY rowid"),
)


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def compare_stores(incremental: Path, full: Path) -> dict[str, tuple[int, list[str]]]:
    """Per compared query: how many rows differ between the two stores and a few of them.
    Streamed: two cursors side by side."""
    found: dict[str, tuple[int, list[str]]] = {}
    with contextlib.closing(_readonly(incremental)) as a, contextlib.closing(_readonly(full)) as b:
        for name, sql in _COMPARED:
            differ = 0
            examples: list[str] = []
            for left, right in itertools.zip_longest(a.execute(sql), b.execute(sql)):
                if left != right:
                    differ += 1
                    if len(examples) < 3:
                        examples.append(f"incremental {left!r} / full {right!r}")
            found[name] = (differ, examples)
    return found


@dataclass
class Quality:
    """The works against the ground truth."""

    records: int = 0
    predicted_pairs: int = 0
    true_pairs: int = 0
    correct_pairs: int = 0
    unassigned: int = 0
    # kind -> (duplicates, joined to their original)
    duplicates: dict[str, tuple[int, int]] = field(default_factory=dict)
    false_pairs: list[tuple[str, str, int]] = field(default_factory=list)
    missed_pairs: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the predicted same-work pairs that are true."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of the true same-work pairs that were predicted."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _pairs(conn: sqlite3.Connection, group_by: str) -> int:
    row = conn.execute(
        f"SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) c FROM temp.q"
        f" GROUP BY {group_by})"
    ).fetchone()
    return int(row[0])


def evaluate(db: Path, truth_db: Path) -> Quality:
    """Pairwise precision and recall of the works against the truth, and details."""
    quality = Quality()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("ATTACH DATABASE ? AS t", [str(truth_db)])
        conn.execute(
            "CREATE TEMP TABLE q AS SELECT m.record_id AS rid, m.work_id AS w, t.work AS tw,"
            " t.kind AS kind, t.of_source AS of_source, t.of_identifier AS of_identifier"
            " FROM work_members m JOIN records r ON r.id = m.record_id"
            " JOIN t.truth t ON t.source = r.source AND t.identifier = r.identifier"
        )
        conn.execute("CREATE INDEX temp.q_rid ON q (rid)")
        conn.execute("CREATE INDEX temp.q_w ON q (w, rid)")
        conn.execute("CREATE INDEX temp.q_tw ON q (tw, rid)")
        quality.records = int(conn.execute("SELECT count(*) FROM temp.q").fetchone()[0])
        quality.unassigned = int(
            conn.execute(
                "SELECT count(*) FROM records r WHERE r.deleted = 0"
                " AND NOT EXISTS (SELECT 1 FROM work_members m WHERE m.record_id = r.id)"
            ).fetchone()[0]
        )
        quality.predicted_pairs = _pairs(conn, "w")
        quality.true_pairs = _pairs(conn, "tw")
        quality.correct_pairs = _pairs(conn, "w, tw")
        for kind, count, joined in conn.execute(
            "SELECT d.kind, count(*), sum(d.w = o.w) FROM temp.q d"
            " JOIN records ro ON ro.source = d.of_source AND ro.identifier = d.of_identifier"
            " JOIN temp.q o ON o.rid = ro.id WHERE d.of_source IS NOT NULL GROUP BY d.kind"
        ):
            quality.duplicates[str(kind)] = (int(count), int(joined))
        for target, join, where in (
            (quality.false_pairs, "b.w = a.w", "a.tw != b.tw"),
            (quality.missed_pairs, "b.tw = a.tw", "a.w != b.w"),
        ):
            target.extend(
                (str(x), str(y), int(n))
                for x, y, n in conn.execute(
                    "SELECT min(a.kind, b.kind), max(a.kind, b.kind), count(*) FROM temp.q a"
                    f" JOIN temp.q b ON {join} AND b.rid > a.rid WHERE {where}"
                    " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 4"
                )
            )
    return quality


@dataclass
class Blocks:
    """The candidate groups of a store after a refresh."""

    keys: int = 0
    groups: int = 0
    largest: int = 0
    windowed: int = 0
    windowed_records: int = 0
    top_authors: list[tuple[str, int]] = field(default_factory=list)


def block_stats(db: Path) -> Blocks:
    """Sizes of the candidate groups and the biggest creator keys."""
    from works.rules import WINDOWED_GROUP

    with contextlib.closing(_readonly(db)) as conn:
        keys, groups, largest, windowed, windowed_records = conn.execute(
            "SELECT count(*), sum(c > 1), max(c), sum(c > ?), sum(CASE WHEN c > ? THEN c END)"
            " FROM (SELECT count(*) c FROM match_keys_current GROUP BY group_key)",
            [WINDOWED_GROUP, WINDOWED_GROUP],
        ).fetchone()
        top = conn.execute(
            "SELECT author_key, count(*) FROM record_authors WHERE role = 'creator'"
            " GROUP BY author_key ORDER BY 2 DESC LIMIT 3"
        ).fetchall()
    return Blocks(
        int(keys or 0),
        int(groups or 0),
        int(largest or 0),
        int(windowed or 0),
        int(windowed_records or 0),
        [(str(k), int(n)) for k, n in top],
    )


def data_stats(truth_db: Path) -> tuple[float, float, Counter[str]]:
    """Share of duplicates, share of records with a DOI, and records by kind."""
    with contextlib.closing(_readonly(truth_db)) as conn:
        kinds = Counter({str(k): int(n) for k, n in conn.execute(
            "SELECT kind, count(*) FROM truth GROUP BY kind"
        )})  # fmt: skip
        with_doi = int(conn.execute("SELECT sum(doi) FROM truth").fetchone()[0] or 0)
    total = sum(kinds.values()) or 1
    duplicates = sum(n for k, n in kinds.items() if k.startswith("dup"))
    return duplicates / total, with_doi / total, kinds


@dataclass(frozen=True)
class Shape:
    """How the live records fall into works: the duplicate-richness of a corpus."""

    live: int
    works: int
    # Live records in works of two records or more.
    shared: int

    @property
    def shared_share(self) -> float:
        """Share of the live records in works of two or more."""
        return self.shared / self.live if self.live else 0.0

    def describe(self) -> str:
        """One line: the live records, the works and the records in works of 2+."""
        return (
            f"{self.live:,} live records formed {self.works:,} works, {self.shared:,}"
            f" ({100 * self.shared_share:.1f}%) in works of 2+"
        )


def works_shape(db: Path) -> Shape:
    """The shape of a store's works (after a refresh)."""
    with contextlib.closing(_readonly(db)) as conn:
        live = conn.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        works, shared = conn.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN members > 1 THEN members END), 0) FROM works"
        ).fetchone()
    return Shape(int(live), int(works), int(shared))


def truth_shape(truth_db: Path) -> Shape:
    """The shape the generator meant: its truth's works (live records only)."""
    with contextlib.closing(_readonly(truth_db)) as conn:
        live, works, shared = conn.execute(
            "SELECT sum(c), count(*), coalesce(sum(CASE WHEN c > 1 THEN c END), 0)"
            " FROM (SELECT count(*) c FROM truth GROUP BY work)"
        ).fetchone()
    return Shape(int(live or 0), int(works), int(shared))
