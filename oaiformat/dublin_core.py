"""Simple Dublin Core as data: DC values with their xml:lang, and the JSON form stored and
exported. (Reading them from XML is oaiformat.reading; writing XML is oaiformat.render.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

# The 15 elements of Simple DC, in the order the provider writes them.
ELEMENTS: tuple[str, ...] = (
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
)
_ELEMENT_SET = frozenset(ELEMENTS)


class DCValue(NamedTuple):
    """One value of one DC element, with its xml:lang when the source gave one (a named
    tuple: a harvest builds one for every value of every record, ~15 a record, and a frozen
    dataclass cost several times more to build)."""

    value: str
    lang: str | None = None

    @classmethod
    def from_json(cls, item: Any) -> DCValue:
        """Read the export form back. Raises ValueError on any other shape."""
        if isinstance(item, str):
            return cls(item)
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            lang = item.get("lang")
            if lang is not None and not isinstance(lang, str):
                raise ValueError(f"lang must be a string, got {lang!r}")
            if set(item) - {"value", "lang"}:
                raise ValueError(f"unexpected keys in a DC value: {sorted(item)}")
            return cls(item["value"], lang)
        raise ValueError(f"a DC value is a string or {{'value', 'lang'}}, got {item!r}")


Metadata = Mapping[str, Sequence[DCValue]]


def is_element(name: str) -> bool:
    """True for the 15 Simple DC element names."""
    return name in _ELEMENT_SET


def to_json(metadata: Metadata) -> dict[str, list[str | dict[str, str]]]:
    """Return the export/JSON form {element: [value, ...]} in canonical element order: a
    value is a plain string, or {"value", "lang"} when a lang is set (DCValue.from_json
    reads either back)."""
    # Written inline, not a method call a value: a harvest converts every value it reads.
    return {
        name: [v.value if v.lang is None else {"value": v.value, "lang": v.lang} for v in values]
        for name in ELEMENTS
        if (values := metadata.get(name))
    }


def from_json(data: Any) -> dict[str, list[DCValue]]:
    """Read the export form. Raises ValueError naming the offending element."""
    if not isinstance(data, dict):
        raise ValueError(f"metadata must be an object of element: [values], got {data!r}")
    metadata: dict[str, list[DCValue]] = {}
    for name, values in data.items():
        if name not in _ELEMENT_SET:
            raise ValueError(f"{name!r} is not one of the 15 Dublin Core elements")
        if not isinstance(values, list):
            raise ValueError(f"metadata.{name} must be a list")
        parsed = [DCValue.from_json(v) for v in values]
        if parsed:
            metadata[name] = parsed
    return metadata
