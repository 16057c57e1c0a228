"""Offline validation of OAI-PMH responses against the official XSDs in schemas/.

A resolver maps each schema's official URL to its copy in schemas/, so nothing is fetched.
Besides the XSD, the protocol rules XSD cannot state are checked (checklist §2, §5).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
NS_OAI = "http://www.openarchives.org/OAI/2.0/"
NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"

_LOCAL = {
    "OAI-PMH.xsd": "OAI-PMH.xsd",
    "oai_dc.xsd": "oai_dc.xsd",
    "simpledc20021212.xsd": "simpledc20021212.xsd",
    "xml.xsd": "xml.xsd",
    "oai-identifier.xsd": "oai-identifier.xsd",
    "provenance.xsd": "provenance.xsd",
    "friends.xsd": "friends.xsd",
    "branding.xsd": "branding.xsd",
}
_DRIVER = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:driver">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai_dc/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai-identifier"
             schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/provenance"
             schemaLocation="http://www.openarchives.org/OAI/2.0/provenance.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/friends/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/friends.xsd"/>
</xs:schema>
"""
_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def xpath_texts(node: etree._Element, path: str) -> list[str]:
    """Return the string results of an XPath in the OAI namespace (prefix `o`)."""
    found = cast(list[Any], node.xpath(path, namespaces={"o": NS_OAI}))
    return [item if isinstance(item, str) else (item.text or "") for item in found]


class _OfflineResolver(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        name = system_url.rsplit("/", 1)[-1]
        if name in _LOCAL and system_url.startswith(("http://", "https://")):
            resolve_filename = cast(Any, self).resolve_filename
            return resolve_filename(str(SCHEMAS / _LOCAL[name]), context)
        raise ValueError(f"refusing to fetch schema {system_url}")


def _load() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_OfflineResolver())
    driver = etree.fromstring(_DRIVER.encode(), parser)
    return etree.XMLSchema(etree.ElementTree(driver))


class ResponseValidator:
    """Checks responses against the official schemas and the protocol's extra rules."""

    def __init__(self) -> None:
        self.schema = _load()

    def problems(self, body: bytes) -> list[str]:
        """Return what is wrong with one response body (empty when it is valid)."""
        if not body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
            return ["no UTF-8 XML declaration"]
        try:
            doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed: {exc}"]
        found: list[str] = []
        if not self.schema.validate(doc):
            found.extend(str(e) for e in cast(Any, self.schema.error_log))
        for path in ("o:responseDate", ".//o:resumptionToken/@expirationDate"):
            for text in xpath_texts(doc, path):
                if not _SECONDS.match(text):
                    found.append(f"{path} not at seconds granularity: {text!r}")
        codes = xpath_texts(doc, "o:error/@code")
        request = doc.find(f"{{{NS_OAI}}}request")
        if request is not None and {"badVerb", "badArgument"} & set(codes) and request.attrib:
            found.append("request echoes attributes after badVerb/badArgument")
        for record in doc.iter(f"{{{NS_OAI}}}record"):
            header = record.find(f"{{{NS_OAI}}}header")
            deleted = header is not None and header.get("status") == "deleted"
            if deleted and len(record) > 1:
                found.append("deleted record carries metadata or about")
        datestamps = [d.text or "" for d in doc.iter(f"{{{NS_OAI}}}datestamp")]
        if len({len(d) for d in datestamps}) > 1:
            found.append("header datestamps mix granularities")
        for dc in doc.iter(f"{{{NS_OAI_DC}}}dc"):
            if "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation" not in dc.attrib:
                found.append("oai_dc:dc without xsi:schemaLocation")
        return found
