"""The SQLite mirror shared by the provider and the harvester.

Modules:
    schema        DDL and migrations: the documented interface people query
    meta          store-wide values and counters (store_meta)
    tables        the table names (importing them pulls in no SQLite tooling)
    db            open_store(): WAL, busy timeout, migrations, store metadata
    records       Record and SourceInfo; sources; look-ups; the repository identifier check
    writes        prepare_record() / write_prepared() / save_records(): upserts, tombstones
    dublin_core   DC values as data, and their JSON form
    oai_records   OAI-PMH <record> elements read into Records (harvests and imports)
    render        a record's published XML, rendered once when it is written
    datestamps    UTC datestamp parsing and formatting
    identifiers   local identifiers and setSpecs this repository publishes
    xmlsafe       the one safe lxml parser for untrusted XML
    transfer      import of oai_dc XML / JSONL files, export as JSONL
    withdrawal    tombstones for a withdrawn source or record
    authors       pure: dc:creator strings -> one AuthorName per person, with its key
    matching      pure: a record's matching features, candidate keys, the same-work rules
    derive        per-record derived rows: authors, features, keys, search row
    works         refresh(): works kept in step with the records (incremental or full)
    clusters      matched records as clusters, written as works and members with evidence
    batches       id lists in SQL-sized batches
    linking       same-work links: records re-rendered when their work changes
    author_table  the authors table: fullest name, forms, record and work counts
    overrides     hand-made author key corrections (join, split)
    browse        authors, works and related outputs as the CLI prints them
    search        full-text search (FTS5)
    settings      typed settings from TOML tables ([store] and the shared table reader)
    errors        StoreError and its subclasses
"""

from __future__ import annotations

__all__: list[str] = []
