"""A record as its origin describes it: the one shape every layer passes around."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from oaiformat.dublin_core import DCValue


@dataclass(frozen=True)
class Record:
    """One record as its origin describes it (identifier, datestamp and sets at the origin)."""

    source: str
    identifier: str
    datestamp: str
    deleted: bool = False
    sets: tuple[str, ...] = ()
    metadata: Mapping[str, Sequence[DCValue]] = field(default_factory=dict)
    metadata_xml: str | None = None
    # metadata_xml is oai_dc its schema accepts as it is: it may be published as received.
    publishable: bool = False
