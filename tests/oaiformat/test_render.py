"""oaiformat.render writes exactly what an lxml serialisation of the same record writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from oaiformat.dublin_core import ELEMENTS, DCValue
from oaiformat.render import Provenance, render
from tests.oaiformat import lxml_render

# Any character XML allows (controls other than tab/LF/CR, surrogates, U+FFFE/F excluded).
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    max_size=30,
)
# DC values may also hold characters XML forbids: both renderings drop them.
dc_text = st.text(max_size=30).filter(lambda s: all(not 0xD800 <= ord(c) <= 0xDFFF for c in s))
langs = st.none() | st.sampled_from(["en", "de-AT", "x-klingon-1", "not a tag", "", "e\n"])
metadata = st.dictionaries(
    st.sampled_from(ELEMENTS),
    st.lists(st.builds(DCValue, dc_text, langs), min_size=1, max_size=3),
    max_size=6,
)
provenances = st.none() | st.builds(Provenance, xml_text, xml_text, xml_text, xml_text, xml_text)


@settings(max_examples=300, deadline=None)
@given(
    identifier=xml_text,
    datestamp=xml_text,
    set_specs=st.lists(xml_text, max_size=3),
    deleted=st.booleans(),
    metadata=metadata,
    provenance=provenances,
)
def test_render_matches_lxml(
    identifier: str,
    datestamp: str,
    set_specs: list[str],
    deleted: bool,
    metadata: dict[str, list[DCValue]],
    provenance: Provenance | None,
) -> None:
    options = {
        "local_identifier": identifier,
        "local_datestamp": datestamp,
        "set_specs": set_specs,
        "deleted": deleted,
        "metadata": metadata,
        "provenance": provenance,
    }
    ours = render(**options)  # type: ignore[arg-type]
    reference = lxml_render.render(**options)  # type: ignore[arg-type]
    assert ours == reference
    etree.fromstring(ours.record_xml)  # well-formed on its own
