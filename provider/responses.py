"""The provider's XML: the envelope, errors and one builder per verb (no SQL, no config).

Responses are built with lxml, so every attribute and text is escaped by the serialiser;
except the envelope around pre-rendered records (GetRecord, ListIdentifiers, ListRecords),
which is written from a template with oaiformat.xmlsafe's escapers (tests hold the two to
the same bytes): lxml took a fifth of the Python time of a page of records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from oaiformat.namespaces import (
    FRIENDS_SCHEMA,
    NS_FRIENDS,
    NS_OAI,
    NS_OAI_DC,
    NS_OAI_IDENTIFIER,
    NS_XSI,
    OAI_DC_SCHEMA,
    OAI_IDENTIFIER_SCHEMA,
    OAI_SCHEMA,
)
from oaiformat.reading import parse_dc
from oaiformat.xmlsafe import (
    escape_attribute,
    escape_text,
    holds_illegal_text,
    strip_illegal_text,
)
from provider.errors import OAIError

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class TokenInfo(NamedTuple):
    """A resumptionToken element: text (empty on the last page) and its attributes."""

    text: str
    cursor: int
    complete_list_size: int
    expiration_date: str | None


@dataclass(frozen=True)
class IdentifyInfo:
    """The facts an Identify response states."""

    repository_name: str
    base_url: str
    admin_emails: Sequence[str]
    earliest_datestamp: str
    repository_identifier: str
    sample_identifier: str
    friends: Sequence[str]
    compression: Sequence[str]


def _oai(tag: str) -> str:
    return f"{{{NS_OAI}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, _oai(tag))
    if text is not None:
        child.text = text
    return child


def _envelope(
    response_date: str, base_url: str, request_args: Mapping[str, str] | None
) -> etree._Element:
    root = etree.Element(_oai("OAI-PMH"), nsmap={None: NS_OAI, "xsi": NS_XSI})  # type: ignore[dict-item]  # lxml-stubs: None prefix
    root.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_OAI} {OAI_SCHEMA}")
    _sub(root, "responseDate", response_date)
    request = _sub(root, "request", base_url)
    for name, value in (request_args or {}).items():
        request.set(name, value)
    return root


def _serialise(root: etree._Element) -> bytes:
    return _XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def errors(
    response_date: str,
    base_url: str,
    request_args: Mapping[str, str],
    problems: Sequence[OAIError],
) -> bytes:
    """Return an error response; <request> echoes no argument after badVerb/badArgument."""
    echo = not any(p.code in ("badVerb", "badArgument") for p in problems)
    root = _envelope(response_date, base_url, request_args if echo else None)
    for problem in problems:
        # The message may quote client input; XML forbids some characters even escaped.
        _sub(root, "error", strip_illegal_text(problem.message)).set("code", problem.code)
    return _serialise(root)


def identify(response_date: str, request_args: Mapping[str, str], info: IdentifyInfo) -> bytes:
    """Return an Identify response with oai-identifier (and friends) descriptions."""
    root = _envelope(response_date, info.base_url, request_args)
    body = _sub(root, "Identify")
    _sub(body, "repositoryName", info.repository_name)
    _sub(body, "baseURL", info.base_url)
    _sub(body, "protocolVersion", "2.0")
    for email in info.admin_emails:
        _sub(body, "adminEmail", email)
    _sub(body, "earliestDatestamp", info.earliest_datestamp)
    _sub(body, "deletedRecord", "persistent")
    _sub(body, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    for coding in info.compression:
        _sub(body, "compression", coding)
    oai_id = etree.Element(
        f"{{{NS_OAI_IDENTIFIER}}}oai-identifier",
        nsmap={None: NS_OAI_IDENTIFIER, "xsi": NS_XSI},  # type: ignore[dict-item]  # lxml-stubs: None prefix
    )
    oai_id.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_OAI_IDENTIFIER} {OAI_IDENTIFIER_SCHEMA}")
    for tag, text in (
        ("scheme", "oai"),
        ("repositoryIdentifier", info.repository_identifier),
        ("delimiter", ":"),
        ("sampleIdentifier", info.sample_identifier),
    ):
        etree.SubElement(oai_id, f"{{{NS_OAI_IDENTIFIER}}}{tag}").text = text
    _sub(body, "description").append(oai_id)
    if info.friends:
        friends = etree.Element(f"{{{NS_FRIENDS}}}friends", nsmap={None: NS_FRIENDS, "xsi": NS_XSI})  # type: ignore[dict-item]  # lxml-stubs: None prefix
        friends.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_FRIENDS} {FRIENDS_SCHEMA}")
        for url in info.friends:
            etree.SubElement(friends, f"{{{NS_FRIENDS}}}baseURL").text = url
        _sub(body, "description").append(friends)
    return _serialise(root)


def list_metadata_formats(
    response_date: str, base_url: str, request_args: Mapping[str, str]
) -> bytes:
    """Return the formats: oai_dc, which every record is disseminated in."""
    root = _envelope(response_date, base_url, request_args)
    body = _sub(root, "ListMetadataFormats")
    fmt = _sub(body, "metadataFormat")
    _sub(fmt, "metadataPrefix", "oai_dc")
    _sub(fmt, "schema", OAI_DC_SCHEMA)
    _sub(fmt, "metadataNamespace", NS_OAI_DC)
    return _serialise(root)


def _token(parent: etree._Element, token: TokenInfo | None) -> None:
    if token is None:
        return
    element = _sub(parent, "resumptionToken", token.text)
    element.set("cursor", str(token.cursor))
    element.set("completeListSize", str(token.complete_list_size))
    if token.expiration_date is not None:
        element.set("expirationDate", token.expiration_date)


def list_sets(
    response_date: str,
    base_url: str,
    request_args: Mapping[str, str],
    sets: Iterable[tuple[str, str, str | None]],
    token: TokenInfo | None,
) -> bytes:
    """Return a ListSets page; a set's description (stored oai_dc:dc XML) goes in its
    setDescription. Anything else there (only a hand-edited row could hold it) is left out:
    the response must validate."""
    root = _envelope(response_date, base_url, request_args)
    body = _sub(root, "ListSets")
    for spec, name, description in sets:
        element = _sub(body, "set")
        _sub(element, "setSpec", spec)
        _sub(element, "setName", strip_illegal_text(name))
        payload = parse_dc(description)
        if payload is not None:
            _sub(element, "setDescription").append(payload)
    _token(body, token)
    return _serialise(root)


def with_fragments(
    response_date: str,
    base_url: str,
    request_args: Mapping[str, str],
    verb: str,
    fragments: Sequence[bytes],
    token: TokenInfo | None,
) -> bytes:
    """Return a GetRecord/ListIdentifiers/ListRecords response around rendered records.

    The envelope is written from a template rather than built with lxml: the same bytes
    (tests compare the two), without a tree per request.
    """
    request = "".join(f' {name}="{_attribute(value)}"' for name, value in request_args.items())
    head = (
        f"{_ENVELOPE_START}<responseDate>{_text(response_date)}</responseDate>"
        f"<request{request}>{_text(base_url)}</request><{verb}>"
    )
    tail = "" if token is None else _token_text(token)
    return b"".join((head.encode(), *fragments, f"{tail}</{verb}></OAI-PMH>".encode()))


# The declaration and the root's start tag, as _envelope writes them.
_ENVELOPE_START = _serialise(_envelope("", "", None)).partition(b"<responseDate")[0].decode()


def _token_text(token: TokenInfo) -> str:
    """The resumptionToken element as lxml writes it (its attributes in the same order)."""
    expiration = (
        ""
        if token.expiration_date is None
        else f' expirationDate="{_attribute(token.expiration_date)}"'
    )
    attributes = (
        f' cursor="{token.cursor}" completeListSize="{token.complete_list_size}"{expiration}'
    )
    return f"<resumptionToken{attributes}>{_text(token.text)}</resumptionToken>"


def _refuse_illegal(value: str) -> str:
    """`value`, or ValueError (as lxml raises) when it holds a character XML forbids: the
    escapers would drop it, and the envelope has no value that may lose characters."""
    if holds_illegal_text(value):
        raise ValueError(f"All strings must be XML compatible: {value!r}")
    return value


# The escapers hand back the value itself when it holds nothing to escape or drop (the
# common case): only a value they changed is searched for forbidden characters.
def _text(value: str) -> str:
    escaped = escape_text(value)
    if escaped is not value:
        _refuse_illegal(value)
    return escaped


def _attribute(value: str) -> str:
    escaped = escape_attribute(value)
    if escaped is not value:
        _refuse_illegal(value)
    return escaped
