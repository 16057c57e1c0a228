"""The authors table: one row per creator key, with its fullest name, the forms written,
and how many records and distinct works carry it."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from store.batches import IDS, chunks, placeholders, rows_in
from store.tables import AUTHORS, RECORD_AUTHORS, WORK_MEMBERS
from works.names import CORPORATE_PREFIX, display_name, parse_name

# The written forms kept per author, most frequent first, and how many of them compete for
# the display name (parsing every kept form of every changed key doubled an incremental
# refresh's author work).
MAX_FORMS = 20
DISPLAY_FROM = 5


def _row(key: str, forms: Sequence[tuple[str, int]], counts: tuple[int, int]) -> tuple[object, ...]:
    """The authors row of a key from its (form, count) pairs and its (works, records)."""
    top = [form for form, _ in sorted(forms, key=lambda f: (-f[1], f[0]))[:MAX_FORMS]]
    if key.startswith(CORPORATE_PREFIX) or len(top) == 1:
        # One form is its own fullest form (display_name returns a name as it was written),
        # parsed or not: 39% of the keys of a 100k corpus, not parsed again.
        name = top[0]
    else:
        # The fullest of the most frequent forms, over every key joined into this one: a
        # common key has thousands of forms, and parsing them all cost more than the rest of
        # a refresh.
        names = [n for n in (parse_name(form) for form in top[:DISPLAY_FROM]) if n is not None]
        name = display_name(names) or top[0]
    works, records = counts
    return (
        key,
        name,
        json.dumps(top, ensure_ascii=False),
        int(key.startswith(CORPORATE_PREFIX)),
        records,
        works,
    )


_INSERT = (
    f"INSERT OR REPLACE INTO {AUTHORS} (key, name, forms, corporate, records, works)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def rebuild_authors(conn: sqlite3.Connection) -> None:
    """Recompute every authors row."""
    conn.execute(f"DELETE FROM {AUTHORS}")
    counts = {
        str(key): (int(works), int(records))
        for key, works, records in conn.execute(
            f"SELECT a.author_key, count(DISTINCT m.work_id), count(DISTINCT a.record_id)"
            f" FROM {RECORD_AUTHORS} a"
            f" JOIN {WORK_MEMBERS} m ON m.record_id = a.record_id"
            " WHERE a.role = 'creator' GROUP BY a.author_key"
        )
    }
    rows = []
    current: str | None = None
    forms: list[tuple[str, int]] = []
    cursor = conn.execute(
        f"SELECT author_key, name, count(*) FROM {RECORD_AUTHORS} WHERE role = 'creator'"
        " GROUP BY author_key, name ORDER BY author_key"
    )
    for key, name, count in itertools.chain(cursor, [(None, None, 0)]):
        if key != current:
            if current is not None:
                rows.append(_row(current, forms, counts.get(current, (0, 0))))
                if len(rows) >= 5000:
                    conn.executemany(_INSERT, rows)
                    rows = []
            current, forms = key, []
        if key is not None:
            forms.append((str(name), int(count)))
    conn.executemany(_INSERT, rows)


def creator_rows(conn: sqlite3.Connection, record_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(record id, author key, name as written) of these records' creators."""
    rows = rows_in(
        conn,
        f"SELECT record_id, author_key, name FROM {RECORD_AUTHORS}"
        f" WHERE role = 'creator' AND record_id IN ({IDS})",
        sorted(record_ids),
    )
    return [(int(r), str(k), str(n)) for r, k, n in rows]


@dataclass
class AuthorChanges:
    """What a refresh changed about creators: deltas of each key's record and work counts,
    and the keys whose written forms changed."""

    records: Counter[str] = field(default_factory=Counter)
    works: Counter[str] = field(default_factory=Counter)
    forms: set[str] = field(default_factory=set)


def apply_changes(conn: sqlite3.Connection, changes: AuthorChanges) -> None:
    """Update the authors rows by the deltas; forms and names are read again only for keys
    whose forms changed (a refresh touching one record of a key with 80,000 records must
    not count all of them again)."""
    keys = sorted(set(changes.records) | set(changes.works) | changes.forms)
    for chunk in chunks(keys):
        marks = placeholders(chunk)
        stored = {
            str(key): (int(records), int(works), str(name), str(forms))
            for key, records, works, name, forms in conn.execute(
                f"SELECT key, records, works, name, forms FROM {AUTHORS} WHERE key IN ({marks})",
                chunk,
            )
        }
        reread = [key for key in chunk if key in changes.forms or key not in stored]
        forms: dict[str, list[tuple[str, int]]] = {}
        for key, name, count in conn.execute(
            f"SELECT author_key, name, count(*) FROM {RECORD_AUTHORS}"
            f" WHERE author_key IN ({placeholders(reread)}) AND role = 'creator'"
            " GROUP BY author_key, name",
            reread,
        ):
            forms.setdefault(str(key), []).append((str(name), int(count)))
        rows = []
        gone = []
        for key in chunk:
            records, works, name, kept = stored.get(key, (0, 0, "", "[]"))
            records += changes.records[key]
            works += changes.works[key]
            if records <= 0:
                gone.append((key,))
            elif key in forms:
                rows.append(_row(key, forms[key], (works, records)))
            else:
                rows.append(
                    (key, name, kept, int(key.startswith(CORPORATE_PREFIX)), records, works)
                )
        conn.executemany(f"DELETE FROM {AUTHORS} WHERE key = ?", gone)
        conn.executemany(_INSERT, rows)
