"""Datasette metadata for a store: the README's descriptions, search on the records, facets,
internal tables hidden, and the links between records, works, members and authors.

The links are metadata, not declared foreign keys: keys checked on every row the works
refresh writes made a full recompute 18% slower (figures in the README's section "Browsing
the mirror in Datasette"), and views cannot declare keys. The project's Datasette plugin
(store.datasette_plugin) draws them, and shows the XML columns (UTF-8 bytes) as text.
"""

from __future__ import annotations

from typing import Any

from store.schema import APPLIED_TABLE
from store.schema_docs import SchemaDocs
from store.tables import (
    AUTHOR_FORMS,
    AUTHORS,
    DERIVED_AHEAD,
    HARVEST_RUNS,
    MATCH_FEATURES,
    MATCH_KEY_CHANGES,
    MATCH_KEYS,
    QUARANTINE,
    RECORD_AUTHORS,
    RECORDS,
    RECORDS_FTS,
    STORE_META,
    WORK_MATCHES,
    WORK_MEMBERS,
    WORK_OVERRIDES,
    WORKS,
)

# The name the plugin's settings go under, per table ("plugins": {PLUGIN: {...}}).
PLUGIN = "oai-mirror"

# Bookkeeping a person browsing the mirror does not need (still reachable by URL, and
# listed under "hidden tables"); the FTS index's own tables are hidden by Datasette.
HIDDEN = (
    APPLIED_TABLE,
    STORE_META,
    MATCH_FEATURES,
    MATCH_KEYS,
    MATCH_KEY_CHANGES,
    DERIVED_AHEAD,
    AUTHOR_FORMS,
    RECORDS_FTS,
)

# `?_search=` on these tables and views goes to the full-text index, whose rowid is the
# record id: {table: its record id column}.
SEARCHABLE = {RECORDS: "id", "records_flat": "record_id"}

# Facets shown on each table's page; {"array": column} facets a JSON list's values.
FACETS: dict[str, list[str | dict[str, str]]] = {
    RECORDS: ["source", {"array": "sets"}, "deleted"],
    "records_flat": ["source", {"array": "sets"}, "types", "year"],
    WORKS: ["year", "members"],
    "works_flat": ["source", "work_year"],
    "record_dc": ["element", "source"],
    RECORD_AUTHORS: ["role"],
    "author_works": ["role"],
    AUTHORS: ["corporate"],
    HARVEST_RUNS: ["source", "status"],
    QUARANTINE: ["source"],
    WORK_MATCHES: ["decision"],
    WORK_OVERRIDES: ["decision"],
}

# Newest or largest first where an index makes that cheap.
SORT_DESC = {AUTHORS: "works", HARVEST_RUNS: "id"}


def _row(table: str, **only: str) -> dict[str, Any]:
    """A link from a cell holding `table`'s primary key to that row (only on rows whose
    columns have the values in `only`)."""
    return {"to": table, "only": only} if only else {"to": table}


def _listed(table: str, **where: str) -> dict[str, Any]:
    """A link from a cell to `table`'s rows whose columns equal this row's: {theirs: ours};
    a value starting with '=' is a constant."""
    return {"to": table, "where": where}


_RECORD = _row(RECORDS)
_WORK = _row(WORKS)
_CREATOR = _row(AUTHORS, role="creator")  # contributors' keys have no authors row
_OF_A_RECORD = {"record_id": _RECORD}

# {table or view: {column: link}}: what the plugin draws as links.
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    WORKS: {"representative_id": _RECORD, "members": _listed("works_flat", work_id="id")},
    WORK_MEMBERS: {"record_id": _RECORD, "work_id": _WORK, "matched_record_id": _RECORD},
    RECORD_AUTHORS: {"record_id": _RECORD, "author_key": _CREATOR},
    AUTHORS: {
        "records": _listed(RECORD_AUTHORS, author_key="key", role="=creator"),
        "works": _listed("author_works", author_key="key", role="=creator"),
    },
    WORK_MATCHES: {"record_a": _RECORD, "record_b": _RECORD},
    "records_flat": {"record_id": _RECORD, "work_id": _WORK},
    "works_flat": {"work_id": _WORK, "record_id": _RECORD, "matched_record_id": _RECORD},
    "works_review": {"record_a": _RECORD, "record_b": _RECORD},
    "author_works": {"author_key": _CREATOR, "work_id": _WORK},
    "record_dc": _OF_A_RECORD,
    "record_creators": _OF_A_RECORD,
    "record_subjects": _OF_A_RECORD,
}

# XML kept as UTF-8 bytes (the provider streams them as they are): shown as text.
TEXT = {RECORDS: ["header_xml", "record_xml"], QUARANTINE: ["raw"]}


def _table(name: str, description: str, columns: dict[str, str]) -> dict[str, Any]:
    """One table's or view's metadata."""
    entry: dict[str, Any] = {"description": description, "columns": columns}
    if name in HIDDEN:
        entry["hidden"] = True
    if name in SEARCHABLE:
        entry.update(fts_table=RECORDS_FTS, fts_pk=SEARCHABLE[name])
    if name in FACETS:
        entry["facets"] = FACETS[name]
    if name in SORT_DESC:
        entry["sort_desc"] = SORT_DESC[name]
    plugin = {
        key: value for key, value in (("links", LINKS.get(name)), ("text", TEXT.get(name))) if value
    }
    if plugin:
        entry["plugins"] = {PLUGIN: plugin}
    return entry


def metadata(database: str, docs: SchemaDocs) -> dict[str, Any]:
    """Datasette metadata (metadata.json) for a store served as `database` (Datasette names
    a database after its file, without the extension)."""
    tables = {
        name: _table(name, described.description, described.columns)
        for name, described in docs.tables.items()
    }
    return {"databases": {database: {"description": docs.database, "tables": tables}}}
