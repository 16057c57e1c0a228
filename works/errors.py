"""Errors raised by the works package.

StoreError (store.errors)
 +-- WorksError         a request about authors or works that cannot be answered
      +-- BadQuery      a search query full-text search cannot read
      +-- BadOverride   an author override that cannot apply (unknown key or record)
"""

from __future__ import annotations

from store.errors import StoreError


class WorksError(StoreError):
    """Root of the errors of the works package (a StoreError, so the CLI reports it alike)."""


class BadQuery(WorksError, ValueError):
    """A search query FTS5 cannot read."""


class BadOverride(WorksError, ValueError):
    """An author override names a key or record the store does not have."""
