"""Reference rendering with lxml trees: what oaiformat.render must produce, byte for byte."""

from __future__ import annotations

import re

from lxml import etree

from oaiformat.dublin_core import ELEMENTS, Metadata
from oaiformat.namespaces import (
    NS_DC,
    NS_OAI,
    NS_OAI_DC,
    NS_PROVENANCE,
    NS_XML,
    NS_XSI,
    OAI_DC_SCHEMA,
    PROVENANCE_SCHEMA,
)
from oaiformat.render import Provenance, Rendered
from oaiformat.xmlsafe import strip_illegal_text


def _oai(tag: str) -> str:
    return f"{{{NS_OAI}}}{tag}"


def _header(
    local_identifier: str, local_datestamp: str, set_specs: list[str], deleted: bool
) -> etree._Element:
    header = etree.Element(_oai("header"), nsmap={None: NS_OAI})  # type: ignore[dict-item]  # lxml-stubs: None prefix
    if deleted:
        header.set("status", "deleted")
    etree.SubElement(header, _oai("identifier")).text = local_identifier
    etree.SubElement(header, _oai("datestamp")).text = local_datestamp
    for spec in set_specs:
        etree.SubElement(header, _oai("setSpec")).text = spec
    return header


def _provenance(origin: Provenance) -> etree._Element:
    root = etree.Element(
        f"{{{NS_PROVENANCE}}}provenance",
        nsmap={None: NS_PROVENANCE, "xsi": NS_XSI},  # type: ignore[dict-item]  # lxml-stubs: None prefix
    )
    root.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_PROVENANCE} {PROVENANCE_SCHEMA}")
    description = etree.SubElement(root, f"{{{NS_PROVENANCE}}}originDescription")
    description.set("harvestDate", origin.harvest_date)
    # We publish oai_dc rebuilt from the stored fields, not the bytes received: altered.
    description.set("altered", "true")
    for tag, text in (
        ("baseURL", origin.base_url),
        ("identifier", origin.identifier),
        ("datestamp", origin.datestamp),
        ("metadataNamespace", origin.metadata_namespace),
    ):
        etree.SubElement(description, f"{{{NS_PROVENANCE}}}{tag}").text = text
    return root


def render(
    *,
    local_identifier: str,
    local_datestamp: str,
    set_specs: list[str],
    deleted: bool,
    metadata: Metadata | None,
    provenance: Provenance | None,
) -> Rendered:
    """Render a record's header and full record element (no metadata or about when deleted)."""
    header = _header(local_identifier, local_datestamp, set_specs, deleted)
    header_xml = etree.tostring(header, encoding="UTF-8", xml_declaration=False)
    record = etree.Element(_oai("record"), nsmap={None: NS_OAI})  # type: ignore[dict-item]  # lxml-stubs: None prefix
    record.append(header)
    if not deleted:
        etree.SubElement(record, _oai("metadata")).append(build_element(metadata or {}))
        if provenance is not None:
            etree.SubElement(record, _oai("about")).append(_provenance(provenance))
    record_xml = etree.tostring(record, encoding="UTF-8", xml_declaration=False)
    return Rendered(header_xml, record_xml)


_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def build_element(metadata: Metadata) -> etree._Element:
    """Build an oai_dc:dc element, valid against oai_dc.xsd, from stored values.

    Characters XML forbids are dropped and an xml:lang that is not a language tag is left
    out, because a published record must validate whatever its origin sent.
    """
    nsmap = {"oai_dc": NS_OAI_DC, "dc": NS_DC, "xsi": NS_XSI}
    root = etree.Element(f"{{{NS_OAI_DC}}}dc", nsmap=nsmap)
    root.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_OAI_DC} {OAI_DC_SCHEMA}")
    for name in ELEMENTS:
        for item in metadata.get(name, ()):
            child = etree.SubElement(root, f"{{{NS_DC}}}{name}")
            child.text = strip_illegal_text(item.value)
            if item.lang and _LANGUAGE.fullmatch(item.lang):
                child.set(f"{{{NS_XML}}}lang", item.lang)
    return root
