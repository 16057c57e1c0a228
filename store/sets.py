"""Set names and descriptions (the `sets` table), per source and setSpec as at the origin:
what an origin's ListSets said, or what an import file's set lines name."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from oaiformat.dublin_core import DCValue, Metadata
from oaiformat.reading import parse_dc, read_dc
from oaiformat.render import dublin_core_xml
from store.tables import SETS


@dataclass(frozen=True)
class SetInfo:
    """One set: its setSpec (as at the origin), its name, and its description as published
    (an oai_dc:dc element), if it has one."""

    spec: str
    name: str
    description: str | None = None


def description_xml(metadata: Metadata) -> str | None:
    """The stored (and published) form of a set description holding these DC values: oai_dc
    rebuilt from them, so it is valid whatever the origin sent. None when there are none."""
    return dublin_core_xml(metadata) if any(metadata.values()) else None


def description_fields(xml: str | None) -> dict[str, list[DCValue]] | None:
    """The DC values of a stored description; None when there is none (or it is not
    oai_dc, which only a hand-edited row can be)."""
    root = parse_dc(xml)
    return None if root is None else read_dc(root)[0]


def save_sets(
    conn: sqlite3.Connection, source: str, sets: Sequence[SetInfo], *, drop_others: bool
) -> int:
    """Keep these sets of `source` (a set already kept gets the new name and description);
    with `drop_others` the source's other sets go. Returns how many went."""
    conn.executemany(
        f"INSERT INTO {SETS} (source, set_spec, set_name, set_description) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, set_spec) DO UPDATE SET set_name = excluded.set_name,"
        " set_description = excluded.set_description",
        [(source, s.spec, s.name, s.description) for s in sets],
    )
    if not drop_others:
        return 0
    kept = {s.spec for s in sets}
    stale = [
        str(row[0])
        for row in conn.execute(f"SELECT set_spec FROM {SETS} WHERE source = ?", [source])
        if str(row[0]) not in kept
    ]
    conn.executemany(
        f"DELETE FROM {SETS} WHERE source = ? AND set_spec = ?", [(source, s) for s in stale]
    )
    return len(stale)


def source_sets(conn: sqlite3.Connection, source: str) -> list[SetInfo]:
    """The sets kept for `source`, by setSpec."""
    rows = conn.execute(
        f"SELECT set_spec, set_name, set_description FROM {SETS} WHERE source = ?"
        " ORDER BY set_spec",
        [source],
    ).fetchall()
    return [SetInfo(str(r[0]), str(r[1]), None if r[2] is None else str(r[2])) for r in rows]
