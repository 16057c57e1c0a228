"""Talking to the provider below urllib, and the checks every OAI-PMH reply must pass."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from oaiformat.namespaces import NS_OAI
from tests.conftest import RunningProvider
from tests.xsd import xpath_texts

SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
XSI_SCHEMA_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"
OAI_SCHEMA_LOCATION = f"{NS_OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class RawReply:
    """One HTTP reply, header names lower-cased."""

    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(
    running: RunningProvider,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> RawReply:
    """Send exactly these headers to the provider's host (no Accept-Encoding unless given).

    urllib always adds `Accept-Encoding: identity`; checklist #65 needs a request without it.
    """
    parts = urlsplit(running.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return RawReply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


def parse(body: bytes) -> etree._Element:
    """Return the root of a reply body (no entities, no network)."""
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))


def check_envelope(body: bytes, base_url: str) -> etree._Element:
    """Checklist #4 for any reply: UTF-8 declaration, exact root and schemaLocation,
    responseDate in seconds, <request> naming the base URL. Returns the parsed root."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    doc = parse(body)
    assert doc.tag == f"{{{NS_OAI}}}OAI-PMH"
    assert doc.get(XSI_SCHEMA_LOCATION) == OAI_SCHEMA_LOCATION
    (response_date,) = xpath_texts(doc, "o:responseDate")
    assert SECONDS.match(response_date), response_date
    assert xpath_texts(doc, "o:request") == [base_url]
    return doc


def error_codes(doc: etree._Element) -> list[str]:
    """The code of each <error>, in document order."""
    return xpath_texts(doc, "o:error/@code")


def request_echo(doc: etree._Element) -> dict[str, str]:
    """The attributes of <request>."""
    request = doc.find(f"{{{NS_OAI}}}request")
    assert request is not None
    return {str(name): str(value) for name, value in request.attrib.items()}


def without_response_date(body: bytes) -> bytes:
    """The body with its responseDate and token's text and expiry blanked, to compare two replies.

    The token carries its expiry, so two requests a second apart get different tokens.
    """
    body = re.sub(rb"<responseDate>[^<]*</responseDate>", b"<responseDate/>", body)
    body = re.sub(rb'expirationDate="[^"]*"', b'expirationDate=""', body)
    return re.sub(rb"(<resumptionToken[^>]*>)[^<]+(</resumptionToken>)", rb"\1T\2", body)


@dataclass(frozen=True)
class Token:
    """A <resumptionToken>: its text and attributes (None when absent)."""

    text: str
    cursor: str | None
    complete_list_size: str | None
    expiration_date: str | None


def resumption_token(doc: etree._Element) -> Token | None:
    """The page's resumptionToken, or None when the page has none."""
    found = doc.findall(f"{{{NS_OAI}}}*/{{{NS_OAI}}}resumptionToken")
    if not found:
        return None
    (element,) = found
    return Token(
        element.text or "",
        element.get("cursor"),
        element.get("completeListSize"),
        element.get("expirationDate"),
    )


def listed_keys(doc: etree._Element) -> list[str]:
    """The identifiers (or, for ListSets, setSpecs) a list page holds, in order."""
    return xpath_texts(doc, "o:*/o:record/o:header/o:identifier | o:*/o:header/o:identifier") + (
        xpath_texts(doc, "o:ListSets/o:set/o:setSpec")
    )
