"""The harvester: pulls remote OAI-PMH repositories into the store.

Modules:
    settings    SourceSettings: one [sources.NAME] table
"""

from __future__ import annotations

__all__: list[str] = []
