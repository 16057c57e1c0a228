"""The authors table: one row per creator key, with its fullest name, the forms written,
and how many records and distinct works carry it."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable, Sequence

from store.authors import CORPORATE_PREFIX, AuthorName, display_name, parse_name
from store.batches import chunks, placeholders
from store.tables import AUTHORS, RECORD_AUTHORS, WORK_MEMBERS

# The written forms kept per author, most frequent first.
MAX_FORMS = 20


def _row(key: str, forms: Sequence[tuple[str, int]], counts: tuple[int, int]) -> tuple[object, ...]:
    """The authors row of a key from its (form, count) pairs and its (works, records)."""
    names = [n for n in (parse_name(form) for form, _ in forms) if n is not None]
    if key.startswith(CORPORATE_PREFIX):
        ordered = sorted(forms, key=lambda f: (-f[1], f[0]))
        name = ordered[0][0]
    else:
        name = display_name(AuthorName(n.written, n.family, n.given, key) for n in names)
        if not name:
            name = forms[0][0]
    top = [form for form, _ in sorted(forms, key=lambda f: (-f[1], f[0]))[:MAX_FORMS]]
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


def refresh_authors(conn: sqlite3.Connection, keys: Iterable[str]) -> None:
    """Recompute the authors rows of these keys (deleting those no record carries now)."""
    ordered = sorted(set(keys))
    for chunk in chunks(ordered):
        marks = placeholders(chunk)
        forms: dict[str, list[tuple[str, int]]] = {}
        for key, name, count in conn.execute(
            f"SELECT author_key, name, count(*) FROM {RECORD_AUTHORS}"
            f" WHERE author_key IN ({marks}) AND role = 'creator' GROUP BY author_key, name",
            chunk,
        ):
            forms.setdefault(str(key), []).append((str(name), int(count)))
        counts = {
            str(key): (int(works), int(records))
            for key, works, records in conn.execute(
                f"SELECT a.author_key, count(DISTINCT m.work_id), count(DISTINCT a.record_id)"
                f" FROM {RECORD_AUTHORS} a JOIN {WORK_MEMBERS} m ON m.record_id = a.record_id"
                f" WHERE a.author_key IN ({marks}) AND a.role = 'creator' GROUP BY a.author_key",
                chunk,
            )
        }
        gone = [key for key in chunk if key not in forms]
        conn.executemany(f"DELETE FROM {AUTHORS} WHERE key = ?", [(key,) for key in gone])
        conn.executemany(
            _INSERT, [_row(key, found, counts.get(key, (0, 0))) for key, found in forms.items()]
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


def creator_keys(conn: sqlite3.Connection, record_ids: Sequence[int]) -> set[str]:
    """The creator keys of these records."""
    found: set[str] = set()
    for chunk in chunks(record_ids):
        marks = placeholders(chunk)
        found.update(
            str(k)
            for (k,) in conn.execute(
                f"SELECT DISTINCT author_key FROM {RECORD_AUTHORS}"
                f" WHERE role = 'creator' AND record_id IN ({marks})",
                chunk,
            )
        )
    return found
