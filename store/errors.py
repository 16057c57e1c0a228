"""Errors raised by the store.

StoreError
 +-- ImportFormatError   an import file is malformed (names file and line or element)
 +-- UnknownRecord       an identifier matches no record (or several, ambiguously)
 +-- SchemaError         the database file is newer than this program, or not a store
 +-- IdentifierConflict  the store already publishes under another repository identifier
 +-- BadQuery            a search query full-text search cannot read
 +-- BadOverride         an author override that cannot apply (unknown key or record)
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the store raises."""


class ImportFormatError(StoreError, ValueError):
    """An import file could not be read; the message names the file and where."""


class UnknownRecord(StoreError, LookupError):
    """No record (or more than one) has the identifier asked for."""


class SchemaError(StoreError):
    """The file is not a store this program can open."""


class IdentifierConflict(StoreError):
    """The configured repository identifier differs from the one the store publishes under."""


class BadQuery(StoreError, ValueError):
    """A search query FTS5 cannot read."""


class BadOverride(StoreError, ValueError):
    """An author override names a key or record the store does not have."""
