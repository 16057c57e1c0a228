"""Names in the protocol: local identifiers, setSpecs, metadataPrefixes, repository identifiers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

LOCAL_SOURCE = "local"

# oai-identifier.xsd: two or more labels, each starting with a letter.
REPOSITORY_IDENTIFIER = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$")
# OAI-PMH.xsd's metadataPrefixType: URI unreserved characters, one segment.
_UNRESERVED = r"[A-Za-z0-9\-_.!~*'()]+"
METADATA_PREFIX = re.compile(rf"^{_UNRESERVED}$")
# OAI-PMH.xsd's setSpecType: unreserved segments, ':' for hierarchy.
SET_SPEC = re.compile(rf"^{_UNRESERVED}(:{_UNRESERVED})*$")
# A source name becomes the first segment of a setSpec, so it is one unreserved segment.
SOURCE_NAME = METADATA_PREFIX
# RFC 2396 reserved and unreserved characters stay; everything else, '%' included, is
# escaped with uppercase hex (oai-identifier guidelines §2.4), so the mapping is one-to-one.
_IDENTIFIER_SAFE = ";/?:@&=+$,-_.!~*'()"
# An absolute URI: a scheme, then no whitespace, controls, quotes or the characters RFC 3986
# never allows raw, and every '%' starting a two-hex-digit escape (xs:anyURI refuses "abc%").
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?:[^%\x00-\x20\x7f\"<>\\^`{|}\ud800-\udfff\ufffe\uffff]|%[0-9A-Fa-f]{2})+"
)
# oai-identifier.xsd's sampleIdentifier pattern.
OAI_IDENTIFIER = re.compile(
    r"oai:[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+:[a-zA-Z0-9\-_\.!~\*'\(\);/\?:@&=\+$,%]+"
)


def local_identifier(repository_identifier: str, source: str, identifier: str) -> str:
    """Return the identifier this repository publishes a record under.

    `local` records keep their own; harvested ones become
    oai:{repository_identifier}:{source}/{origin identifier, percent-encoded}.
    """
    if source == LOCAL_SOURCE:
        return identifier
    return f"oai:{repository_identifier}:{source}/{quote(identifier, safe=_IDENTIFIER_SAFE)}"


def published_set_specs(source: str, origin_sets: Iterable[str]) -> list[str]:
    """Return the minimal setSpecs a record is published in (its header's setSpecs).

    `local` records keep their sets; a harvested record sits under `{source}`, in
    `{source}:{origin setSpec}` for each origin set. Origin setSpecs that are not legal
    setSpecs are left out of what is published (they stay stored as received).
    """
    valid = sorted({s for s in origin_sets if SET_SPEC.fullmatch(s)})
    if source == LOCAL_SOURCE:
        return valid
    return [f"{source}:{s}" for s in valid] or [source]


def with_ancestors(set_specs: Iterable[str]) -> list[str]:
    """Return the setSpecs plus every ancestor ('a:b:c' -> 'a', 'a:b', 'a:b:c'), sorted."""
    found: set[str] = set()
    for spec in set_specs:
        parts = spec.split(":")
        found.update(":".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(found)


def is_valid_uri(identifier: str) -> bool:
    """True when `identifier` is an absolute URI with no whitespace or quotes whose every
    '%' starts an escape ("%2F"): what xs:anyURI accepts, so it may be published and echoed
    in a response."""
    return bool(_URI.fullmatch(identifier))
