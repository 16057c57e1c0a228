"""Errors raised by the store.

StoreError
 +-- ImportFormatError   an import file is malformed (names file and line or element)
 +-- UnknownRecord       an identifier matches no record (or several, ambiguously)
 +-- MissingStore        a read found no store file at the path given
 +-- SchemaError         the file is not a store, or its schema is not this program's
 +-- IdentifierConflict  the store already publishes under another repository identifier
 +-- works.errors.WorksError  authors and works (search queries, overrides)
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the store raises."""


class ImportFormatError(StoreError, ValueError):
    """An import file could not be read; the message names the file and where."""


class UnknownRecord(StoreError, LookupError):
    """No record (or more than one) has the identifier asked for."""


class MissingStore(StoreError, FileNotFoundError):
    """A command that only reads was pointed at a path with no store."""


class SchemaError(StoreError):
    """The file is not a store this program can open."""


class IdentifierConflict(StoreError):
    """The configured repository identifier differs from the one the store publishes under."""
