"""A title as the work names it: the notes databases add to titles taken off.

Pure (no I/O). Bibliographic exports decorate titles: markup ("Ca<sup>2+</sup>"), entities
("&amp;"), database notes in brackets ("[Review] [45 refs]", "[German]", "[Erratum appears
in ...]", "[abstract no: 134]"), notes in parentheses ("(Provisional abstract)"), language
markers (" LA: Chi"), a translation given wholly in brackets ("[Are antimicrobials useful
...?]"), or the English title and the original one joined by "<ORIGINAL>". The clean title
is what two records of one work share.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")
# The English title, then the original one: "... <ORIGINAL> ..." or "[...] TO: ...".
_ORIGINAL = re.compile(r"\s*(?:<ORIGINAL>|(?<=\])\s*TO:).*$", re.IGNORECASE | re.DOTALL)
# A letter lost in an export's encoding ("fran?ais"): the word is kept whole.
_LOST_LETTER = re.compile(r"(?<=[^\W\d_])\?(?=[^\W\d_])")
# A bracketed note, or one cut off at the end ("... [Erratum appears in N Engl J Med. 2005").
_BRACKETED = re.compile(r"\[[^\[\]]*\]|\[[^\[\]]*$")
# Parenthesised notes (a database's remark, not part of the title).
_NOTE_WORDS = (
    r"abstract|provisional abstract|structured abstract|brief record|review|letter|editorial"
    r"|comment|erratum|corrigendum"
    r"|author'?s transl|translated|english|german|french|spanish|russian|chinese|japanese"
    r"|italian|portuguese|polish|dutch|in press|epub ahead of print|meeting abstract"
)
_PAREN_NOTE = re.compile(rf"\((?:{_NOTE_WORDS})[^()]*\)", re.IGNORECASE)
_LANGUAGE_MARKER = re.compile(r"\s+LA:\s*\w+\.?\s*$")
_ABSTRACT_NOTE = re.compile(r"(?<!provisional )\babstract\b|\bposter\b|\bmeeting\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# What any note, markup, entity or marker starts with.
_DECORATION = re.compile(r"[\[(<&?]|LA:")


@dataclass(frozen=True)
class CleanTitle:
    """A title without its notes, and what the notes said."""

    text: str
    # The notes called the record an abstract or a poster ("[Abstract]", "(abstract no. 4)").
    abstract_note: bool = False


def clean_title(title: str) -> CleanTitle:
    """The title with markup, entities and database notes removed; a title given wholly in
    brackets (a translation) is unwrapped rather than dropped."""
    if not _DECORATION.search(title):
        return CleanTitle(title.strip(" .;:,"))  # most titles: nothing to take off
    text = html.unescape(html.unescape(title)) if "&" in title else title
    text = _LOST_LETTER.sub("", _TAG.sub("", _ORIGINAL.sub("", text)))
    notes = _PAREN_NOTE.findall(text)
    outside = _PAREN_NOTE.sub(" ", text)
    while True:  # notes nest: "[Erratum ... [corrected to ...]]"
        found = _BRACKETED.findall(outside)
        if not found:
            break
        notes += found
        outside = _BRACKETED.sub(" ", outside)
    outside = _LANGUAGE_MARKER.sub("", outside)
    if not any(c.isalnum() for c in outside):
        # The whole title is bracketed: a translation; keep its words.
        outside = _LANGUAGE_MARKER.sub("", text).replace("[", " ").replace("]", " ")
        outside = _PAREN_NOTE.sub(" ", outside)
        notes = []
    abstract = any(_ABSTRACT_NOTE.search(note) for note in notes)
    return CleanTitle(_SPACES.sub(" ", outside).strip(" .;:,"), abstract)
