"""A record's published XML, rendered once when the record is written (around the received
oai_dc when that may be published as it came).

The provider streams these bytes into its responses instead of building a tree per request
(the provider benchmark's throughput target rests on this). Fragments declare the OAI-PMH
namespace themselves, so each is well-formed on its own and inside any envelope.

This is a small serialiser of its own rather than an lxml tree per record: building and
serialising a tree cost a fifth of a whole harvest. It escapes every text and attribute
value exactly as lxml does, which tests/store/test_render.py checks byte for byte against
an lxml rendering on generated records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from oaiformat.dublin_core import ELEMENTS, Metadata
from oaiformat.namespaces import (
    NS_DC,
    NS_OAI,
    NS_OAI_DC,
    NS_PROVENANCE,
    NS_XSI,
    OAI_DC_SCHEMA,
    PROVENANCE_SCHEMA,
)
from oaiformat.xmlsafe import escape_attribute, escape_text

# dc:relation values this service adds to name the other records of a record's work; a
# harvest of another mirror's records drops them (they name that mirror's identifiers).
SAME_WORK = "same-work:"

# xs:language, the type of xml:lang.
LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
_DC_OPEN = (
    f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}" xmlns:xsi="{NS_XSI}"'
    f' xsi:schemaLocation="{NS_OAI_DC} {OAI_DC_SCHEMA}"'
)
_PROVENANCE_OPEN = (
    f'<about><provenance xmlns="{NS_PROVENANCE}" xmlns:xsi="{NS_XSI}"'
    f' xsi:schemaLocation="{NS_PROVENANCE} {PROVENANCE_SCHEMA}">'
)


@dataclass(frozen=True)
class Provenance:
    """Where a harvested record came from (the provenance container's originDescription)."""

    base_url: str
    identifier: str
    datestamp: str
    metadata_namespace: str
    harvest_date: str


@dataclass(frozen=True)
class Rendered:
    """The bytes of a record's <header> and whole <record> elements."""

    header_xml: bytes
    record_xml: bytes


def _header_body(
    local_identifier: str, local_datestamp: str, set_specs: list[str], deleted: bool
) -> str:
    status = ' status="deleted"' if deleted else ""
    specs = "".join(f"<setSpec>{escape_text(spec)}</setSpec>" for spec in set_specs)
    return (
        f"{status}><identifier>{escape_text(local_identifier)}</identifier>"
        f"<datestamp>{escape_text(local_datestamp)}</datestamp>{specs}</header>"
    )


def _dublin_core(metadata: Metadata, links: Sequence[str]) -> str:
    # Characters XML forbids are dropped and an xml:lang that is not a language tag is left
    # out: a published record must validate whatever its origin sent.
    parts = []
    for name in ELEMENTS:
        for item in metadata.get(name, ()):
            if name == "relation" and item.value.startswith(SAME_WORK):
                continue
            lang = item.lang
            attribute = (
                f' xml:lang="{escape_attribute(lang)}"' if lang and LANGUAGE.fullmatch(lang) else ""
            )
            parts.append(f"<dc:{name}{attribute}>{escape_text(item.value)}</dc:{name}>")
        if name == "relation":
            parts.extend(
                f"<dc:relation>{SAME_WORK}{escape_text(link)}</dc:relation>" for link in links
            )
    if not parts:
        return f"{_DC_OPEN}/>"
    return f"{_DC_OPEN}>{''.join(parts)}</oai_dc:dc>"


def dublin_core_xml(metadata: Metadata) -> str:
    """An oai_dc:dc element (with its schemaLocation) holding these DC values: valid oai_dc
    whatever the values are (a set's description, say)."""
    return _dublin_core(metadata, ())


def _provenance(origin: Provenance, altered: bool) -> str:
    # altered: the metadata is rebuilt from the stored fields, not the bytes received.
    flag = "true" if altered else "false"
    return (
        f"{_PROVENANCE_OPEN}<originDescription"
        f' harvestDate="{escape_attribute(origin.harvest_date)}" altered="{flag}">'
        f"<baseURL>{escape_text(origin.base_url)}</baseURL>"
        f"<identifier>{escape_text(origin.identifier)}</identifier>"
        f"<datestamp>{escape_text(origin.datestamp)}</datestamp>"
        f"<metadataNamespace>{escape_text(origin.metadata_namespace)}</metadataNamespace>"
        "</originDescription></provenance></about>"
    )


def render(
    *,
    local_identifier: str,
    local_datestamp: str,
    set_specs: list[str],
    deleted: bool,
    metadata: Metadata | None,
    provenance: Provenance | None,
    links: Sequence[str] = (),
    received: str | None = None,
) -> Rendered:
    """Render a record's header and full record element (no metadata or about when deleted);
    `links` are the identifiers of the other records of its work. `received` is oai_dc XML
    to publish as it is instead of rendering `metadata` (oaiformat.reading judges which
    may be). Raises ValueError when given both `received` and `links`."""
    if received is not None and links:
        raise ValueError("a payload published as received carries no same-work links")
    header = _header_body(local_identifier, local_datestamp, set_specs, deleted)
    header_xml = f'<header xmlns="{NS_OAI}"{header}'
    record = [f'<record xmlns="{NS_OAI}"><header{header}']
    if not deleted:
        payload = _dublin_core(metadata or {}, links) if received is None else received
        record.append(f"<metadata>{payload}</metadata>")
        if provenance is not None:
            record.append(_provenance(provenance, altered=received is None))
    record.append("</record>")
    return Rendered(header_xml.encode(), "".join(record).encode())
