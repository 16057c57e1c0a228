"""The one way this project parses XML it did not write: no DTDs, entities or network."""

from __future__ import annotations

import re
from typing import Protocol, TypedDict

from lxml import etree

# XML 1.0 §2.2: C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF are never legal.
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ILLEGAL_XML_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class _SafeOptions(TypedDict):
    resolve_entities: bool
    load_dtd: bool
    no_network: bool
    dtd_validation: bool
    remove_blank_text: bool


# What every parser of untrusted XML is given, whole documents and streams alike.
SAFE_OPTIONS = _SafeOptions(
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    dtd_validation=False,
    remove_blank_text=False,
)


def make_parser(*, huge_tree: bool = False) -> etree.XMLParser:
    """Return a parser that resolves no entities, loads no DTD and reaches no network."""
    return etree.XMLParser(**SAFE_OPTIONS, huge_tree=huge_tree)


class Readable(Protocol):
    """A byte stream iterparse can read."""

    def read(self, size: int = -1) -> bytes: ...


def safe_iterparse(source: Readable, events: tuple[str, ...]) -> etree.iterparse:
    """Read a stream element by element, with the options every parse here has."""
    return etree.iterparse(source, events=events, huge_tree=False, **SAFE_OPTIONS)


def parse_bytes(data: bytes) -> etree._Element:
    """Parse untrusted XML. Raises etree.XMLSyntaxError when it is not well-formed."""
    return etree.fromstring(data, make_parser())


def strip_illegal_text(text: str) -> str:
    """Remove characters that XML 1.0 forbids (even as character references)."""
    return _ILLEGAL_XML_CHARS.sub("", text)


def holds_illegal_text(text: str) -> bool:
    """True when `text` holds a character XML 1.0 forbids."""
    return _ILLEGAL_XML_CHARS.search(text) is not None


# Escaped exactly as lxml's serialiser escapes them (tests compare the two byte for byte).
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
    }
)
# Most values need no escaping at all: one search instead of a strip and a translate.
_TEXT_SPECIALS = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRIBUTE_SPECIALS = re.compile('[&<>"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def escape_text(value: str) -> str:
    """`value` as element text written by hand (as lxml writes it), characters XML forbids
    dropped."""
    if _TEXT_SPECIALS.search(value) is None:
        return value
    return strip_illegal_text(value).translate(_TEXT_ESCAPES)


def escape_attribute(value: str) -> str:
    """`value` as a double-quoted attribute value written by hand (as lxml writes it),
    characters XML forbids dropped."""
    if _ATTRIBUTE_SPECIALS.search(value) is None:
        return value
    return strip_illegal_text(value).translate(_ATTRIBUTE_ESCAPES)


def strip_illegal_bytes(data: bytes) -> bytes:
    """Remove C0 control bytes that XML 1.0 forbids; UTF-8 multibyte sequences are untouched."""
    return _ILLEGAL_XML_BYTES.sub(b"", data)
