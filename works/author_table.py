"""The authors table: one row per creator key, with its fullest name, the forms written,
and how many records and distinct works carry it."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from store.batches import IDS, chunks, placeholders, rows_in
from store.db import parallel_sorting
from store.tables import AUTHOR_FORMS, AUTHORS, RECORD_AUTHORS, WORK_MEMBERS
from works.names import CORPORATE_PREFIX, display_name, parse_name

# The written forms kept per author, most frequent first, and how many of them compete for
# the display name (parsing every kept form of every changed key doubled an incremental
# refresh's author work).
MAX_FORMS = 20
DISPLAY_FROM = 5


def _top(forms: Sequence[tuple[str, int]]) -> list[str]:
    """A key's kept forms: the MAX_FORMS most frequent, ties alphabetical."""
    return [form for form, _ in sorted(forms, key=lambda f: (-f[1], f[0]))[:MAX_FORMS]]


def _needs_parse(key: str, top: Sequence[str]) -> bool:
    """True when a key's display name needs its forms parsed: a person written more than
    one way. (A single form is its own fullest form, as display_name would return it, and
    a body's name is taken as written: 39% of the keys of a 100k corpus.)"""
    return not key.startswith(CORPORATE_PREFIX) and len(top) > 1


def display_names(tops: Sequence[Sequence[str]]) -> list[str]:
    """The display name of each key from its kept forms (for keys that need a parse; runs
    in a worker process during a large full recompute)."""
    # The fullest of the most frequent forms, over every key joined into this one: a common
    # key has thousands of forms, and parsing them all cost more than the rest of a refresh.
    names = []
    for top in tops:
        parsed = [n for n in (parse_name(form) for form in top[:DISPLAY_FROM]) if n is not None]
        names.append(display_name(parsed) or top[0])
    return names


def _row(
    key: str, top: Sequence[str], counts: tuple[int, int], name: str | None = None
) -> tuple[object, ...]:
    """The authors row of a key from its kept forms, its (works, records) and its display
    name when known already."""
    if name is None:
        name = display_names([top])[0] if _needs_parse(key, top) else top[0]
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


def count_forms(conn: sqlite3.Connection) -> None:
    """Count every creator key's written forms again (author_forms), from record_authors:
    after a full recompute derived every record."""
    conn.execute(f"DELETE FROM {AUTHOR_FORMS}")
    conn.execute(
        f"INSERT INTO {AUTHOR_FORMS} (author_key, name, records)"
        f" SELECT author_key, name, count(*) FROM {RECORD_AUTHORS} WHERE role = 'creator'"
        " GROUP BY author_key, name"
    )


def _kept_forms(conn: sqlite3.Connection) -> Iterator[tuple[str, list[str]]]:
    """Every creator key with its kept forms, in key order (one key in memory at a time),
    from author_forms (count_forms)."""
    cursor = conn.execute(
        f"SELECT author_key, name, records FROM {AUTHOR_FORMS} ORDER BY author_key, name"
    )
    for key, rows in itertools.groupby(cursor, key=lambda row: str(row[0])):
        yield key, _top([(str(name), int(count)) for _, name, count in rows])


# What runs display_names elsewhere: (function, its argument) -> a future.
Submit = Callable[[Callable[[list[list[str]]], list[str]], list[list[str]]], "Future[list[str]]"]
_NAMES_CHUNK = 2000


def start_display_names(conn: sqlite3.Connection, submit: Submit) -> Callable[[], dict[str, str]]:
    """Have `submit` parse the display names of every key that needs it (worker processes
    do it while the recompute compares pairs); returns what waits for them, as key -> name.
    Only the keys that need a parse are sent, with their first DISPLAY_FROM forms."""
    keys: list[str] = []
    tops: list[list[str]] = []
    started: list[tuple[list[str], Future[list[str]]]] = []
    for key, top in itertools.chain(_kept_forms(conn), [("", [])]):
        if tops and (not top or len(tops) >= _NAMES_CHUNK):
            started.append((keys, submit(display_names, tops)))
            keys, tops = [], []
        if top and _needs_parse(key, top):
            keys.append(key)
            tops.append(top[:DISPLAY_FROM])

    def gathered() -> dict[str, str]:
        return {
            k: n for chunk, future in started for k, n in zip(chunk, future.result(), strict=True)
        }

    return gathered


def rebuild_authors(conn: sqlite3.Connection, names: Mapping[str, str] | None = None) -> None:
    """Recompute every authors row from author_forms (count_forms); the display names of
    keys that need a parse come from `names` when given (start_display_names), else are
    parsed here."""
    conn.execute(f"DELETE FROM {AUTHORS}")
    # Each work's members looked up in record_authors, then grouped by a sort: walking the
    # key index instead looked each row's work up at random (1M records: 5.0 s, now 1.9 s).
    with parallel_sorting(conn):
        counts = {
            str(key): (int(works), int(records))
            for key, works, records in conn.execute(
                f"SELECT a.author_key, count(DISTINCT m.work_id), count(DISTINCT a.record_id)"
                f" FROM {WORK_MEMBERS} m CROSS JOIN {RECORD_AUTHORS} a"
                " ON a.record_id = m.record_id"
                " WHERE a.role = 'creator' GROUP BY a.author_key"
            ).fetchall()
        }
    rows = []
    for key, top in _kept_forms(conn):
        name = None
        if names is not None and _needs_parse(key, top):
            name = names[key]  # parsed by the workers: a key missing is a bug, not a slow path
        rows.append(_row(key, top, counts.get(key, (0, 0)), name))
        if len(rows) >= 5000:
            conn.executemany(_INSERT, rows)
            rows = []
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
    and of the records writing each (key, form)."""

    records: Counter[str] = field(default_factory=Counter)
    works: Counter[str] = field(default_factory=Counter)
    forms: Counter[tuple[str, str]] = field(default_factory=Counter)


def _top_of_changed(
    conn: sqlite3.Connection, key: str, kept: list[str], deltas: Mapping[str, int]
) -> list[tuple[str, int]] | None:
    """A key's new kept forms with their counts, from its kept forms and the changed ones
    alone, or None when the others must be read too: when it kept all its forms, or when a
    form it did not keep could now rank among the kept. ('wang j' has 7,800 records at
    100k, written hundreds of ways: a refresh read 40,709 forms for 1,437 changed keys.)"""
    if len(kept) < MAX_FORMS:
        return None  # every form is kept: reading them all is reading few
    names = sorted({*kept, *deltas})
    counts = dict(
        conn.execute(
            f"SELECT name, records FROM {AUTHOR_FORMS} WHERE author_key = ?"
            f" AND name IN ({placeholders(names)})",
            [key, *names],
        ).fetchall()
    )
    top = sorted(counts.items(), key=lambda f: (-f[1], f[0]))[:MAX_FORMS]
    if len(top) < MAX_FORMS:
        return None
    # A form not kept before and not changed ranked below the last kept form, by its count
    # then its name; it still does unless this top ends lower than that form did.
    last = kept[-1]
    last_count = counts.get(last, 0) - deltas.get(last, 0)
    form, count = top[-1]
    if count > last_count or (count == last_count and form <= last):
        return top
    return None


def apply_changes(conn: sqlite3.Connection, changes: AuthorChanges) -> None:
    """Update author_forms and the authors rows by the deltas; forms and names are read
    again only for keys whose forms changed, from author_forms (a refresh touching one
    record of a key with 80,000 records must not count all of them again)."""
    deltas = [(key, form, delta) for (key, form), delta in changes.forms.items() if delta]
    conn.executemany(
        f"INSERT INTO {AUTHOR_FORMS} (author_key, name, records) VALUES (?, ?, ?)"
        " ON CONFLICT (author_key, name) DO UPDATE SET records = records + excluded.records",
        deltas,
    )
    conn.executemany(
        f"DELETE FROM {AUTHOR_FORMS} WHERE author_key = ? AND name = ? AND records <= 0",
        [(key, form) for key, form, delta in deltas if delta < 0],
    )
    changed_forms: dict[str, dict[str, int]] = {}
    for key, form, delta in deltas:
        changed_forms.setdefault(key, {})[form] = delta
    keys = sorted(set(changes.records) | set(changes.works) | set(changed_forms))
    for chunk in chunks(keys):
        marks = placeholders(chunk)
        stored = {
            str(key): (int(records), int(works), str(name), str(forms))
            for key, records, works, name, forms in conn.execute(
                f"SELECT key, records, works, name, forms FROM {AUTHORS} WHERE key IN ({marks})",
                chunk,
            )
        }
        forms: dict[str, list[tuple[str, int]]] = {}
        reread = []
        parsed: dict[str, list[str]] = {}  # the stored kept forms, read once a key
        for key in chunk:
            if key not in stored:
                reread.append(key)
            elif key in changed_forms:
                parsed[key] = json.loads(stored[key][3])
                ranked = _top_of_changed(conn, key, parsed[key], changed_forms[key])
                if ranked is None:
                    reread.append(key)
                else:
                    forms[key] = ranked
        for key, name, count in conn.execute(
            f"SELECT author_key, name, records FROM {AUTHOR_FORMS}"
            f" WHERE author_key IN ({placeholders(reread)})",
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
                top = _top(forms[key])
                # The display name comes from the first forms only: unchanged, it stands.
                # (A stored key has forms here only when they changed: parsed above.)
                same = key in parsed and parsed[key][:DISPLAY_FROM] == top[:DISPLAY_FROM]
                rows.append(_row(key, top, (works, records), name if same else None))
            else:
                rows.append(
                    (key, name, kept, int(key.startswith(CORPORATE_PREFIX)), records, works)
                )
        conn.executemany(f"DELETE FROM {AUTHORS} WHERE key = ?", gone)
        conn.executemany(_INSERT, rows)
