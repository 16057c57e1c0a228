"""OAI-PMH and Dublin Core as pure data and text: no SQLite, no HTTP, no clock or config.

Modules:
    namespaces    XML namespaces and schema locations, defined once
    datestamps    UTC datestamps: the protocol's two forms, lenient normalisation, the clock type
    identifiers   local identifiers, setSpecs, metadataPrefixes, repository identifiers
    dublin_core   DC values with their xml:lang, and their JSON form
    record        Record: one record as its origin describes it
    xmlsafe       the one safe lxml parser for untrusted XML (no DTDs, entities or network)
    reading       OAI-PMH <record> elements read into Records (harvests and imports)
    render        a record's published XML, rendered once when it is written
"""

from __future__ import annotations

__all__: list[str] = []
