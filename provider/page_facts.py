"""Read-only SQL for the HTML view: the few facts a page shows that the XML answer lacks.

The Identify card shows how many records there are; a GetRecord page links the other
records of the record's work and the other works of its authors. The queries follow the
works tables as `oai works` and `oai related` read them (works.browse), restricted to the
published sources; the provider only reads them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from lxml import etree

from oaiformat.dublin_core import from_json
from oaiformat.namespaces import NS_OAI
from provider.html_page import Neighbour, PageFacts, byline
from provider.queries import in_sources
from provider.settings import ProviderSettings
from store.batches import placeholders
from store.tables import RECORD_AUTHORS, RECORDS, WORK_MEMBERS, WORKS, first_title

# A page lists at most this many records of a work, or related works: the XML's same-work
# links stop at 50 too (works.linking.MAX_LINKS), and `oai related` lists them all.
MAX_LISTED = 50
# A listed header's identifier, in the XML this provider writes.
_LISTED_IDENTIFIER = f"{{{NS_OAI}}}ListIdentifiers/{{{NS_OAI}}}header/{{{NS_OAI}}}identifier"


def gather(
    conn: sqlite3.Connection,
    args: Mapping[str, Sequence[str]],
    settings: ProviderSettings,
    *,
    home: bool,
    answer: etree._Element,
    failed: bool = False,
) -> PageFacts:
    """Return what the page for this request needs beyond its XML answer (`answer`, parsed;
    inside the caller's read transaction, so both come from one snapshot). An answer that
    is an OAI error (`failed`) needs no store facts: its page shows the request only."""
    name = settings.repository_name
    request = tuple((key, value) for key, values in args.items() for value in values)
    if failed:
        return PageFacts(name, request)
    verb = args.get("verb", [])
    if home or verb == ["Identify"]:
        return PageFacts(name, request, home=home, records=count_records(conn, settings))
    identifier = args.get("identifier", [])
    if verb == ["GetRecord"] and len(identifier) == 1:
        same, related = neighbours(conn, identifier[0], settings.sources)
        return PageFacts(name, request, same_work=same, related=related)
    if verb == ["ListIdentifiers"]:
        identifiers = [i.text or "" for i in answer.iterfind(_LISTED_IDENTIFIER)]
        return PageFacts(name, request, listed=listed_records(conn, identifiers))
    return PageFacts(name, request)


def listed_records(
    conn: sqlite3.Connection, wanted: Sequence[str]
) -> dict[str, tuple[str | None, str]]:
    """The title and byline (creators · dates) of each listed record, by identifier: a
    ListIdentifiers page lists records, not bare headers, for people."""
    if not wanted:
        return {}
    rows = conn.execute(
        f"SELECT local_identifier, metadata FROM {RECORDS}"
        f" WHERE local_identifier IN ({placeholders(wanted)}) AND deleted = 0",
        wanted,
    ).fetchall()
    listed: dict[str, tuple[str | None, str]] = {}
    for local, metadata in rows:
        fields = from_json(json.loads(metadata)) if metadata else {}
        titles, creators, dates = (
            [v.value for v in fields.get(name, [])] for name in ("title", "creator", "date")
        )
        listed[str(local)] = (titles[0] if titles else None, byline(creators, dates))
    return listed


def count_records(conn: sqlite3.Connection, settings: ProviderSettings) -> int:
    """Return how many published records there are, deleted ones included (what a full
    ListIdentifiers lists); counted on the narrow datestamp index, never the wide rows."""
    extra, params = in_sources(settings.sources, "source")
    row = conn.execute(f"SELECT count(*) FROM {RECORDS} WHERE 1{extra}", params).fetchone()
    return int(row[0])


def neighbours(
    conn: sqlite3.Connection, local_identifier: str, sources: tuple[str, ...] | None
) -> tuple[tuple[Neighbour, ...], tuple[Neighbour, ...]]:
    """Return (the other published records of the record's work, sorted by identifier;
    the other works sharing a creator with it, newest first), each at most MAX_LISTED.

    A work is linked through its representative when published, else its first published
    member; works with no published member are left out. Both are empty for an unknown or
    deleted record (which belongs to no work).
    """
    extra, params = in_sources(sources, "r.source")
    row = conn.execute(
        f"SELECT m.work_id FROM {RECORDS} r JOIN {WORK_MEMBERS} m ON m.record_id = r.id"
        f" WHERE r.local_identifier = ?{extra}",
        [local_identifier, *params],
    ).fetchone()
    if row is None:
        return (), ()
    work_id = int(row[0])
    same = conn.execute(
        f"SELECT r.local_identifier, {first_title('r')} FROM {WORK_MEMBERS} m"
        f" JOIN {RECORDS} r ON r.id = m.record_id"
        f" WHERE m.work_id = ? AND r.local_identifier != ?{extra}"
        " ORDER BY r.local_identifier LIMIT ?",
        [work_id, local_identifier, *params, MAX_LISTED],
    ).fetchall()
    # The representative when published, else the first published member.
    shown = (
        f"coalesce((SELECT r.local_identifier FROM {RECORDS} r"
        f" WHERE r.id = w.representative_id{extra}),"
        f" (SELECT r.local_identifier FROM {WORK_MEMBERS} m JOIN {RECORDS} r ON r.id = m.record_id"
        f" WHERE m.work_id = w.id{extra} ORDER BY m.record_id LIMIT 1))"
    )
    related = conn.execute(
        f"SELECT shown, title, year FROM (SELECT {shown} AS shown, w.title, w.year, w.id"
        f" FROM {WORKS} w WHERE w.id IN ("
        f" SELECT other.work_id FROM {WORK_MEMBERS} mine"
        f" JOIN {RECORD_AUTHORS} a ON a.record_id = mine.record_id AND a.role = 'creator'"
        f" JOIN {RECORD_AUTHORS} b ON b.author_key = a.author_key AND b.role = 'creator'"
        f" JOIN {WORK_MEMBERS} other ON other.record_id = b.record_id"
        " WHERE mine.work_id = ? AND other.work_id != ?))"
        " WHERE shown IS NOT NULL"
        " ORDER BY year IS NULL, year DESC, lower(title), id LIMIT ?",
        [*params, *params, work_id, work_id, MAX_LISTED],
    ).fetchall()
    return (
        tuple(Neighbour(str(local), _text(title)) for local, title in same),
        tuple(
            Neighbour(str(local), _text(title), None if year is None else int(year))
            for local, title, year in related
        ),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
