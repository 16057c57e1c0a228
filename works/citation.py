"""Where a record was published, read from dc:source: the container, its volume, the first
page, and whether the record is a meeting abstract.

Pure (no I/O). dc:source is free text; the forms read here are the common ones:
"Journal of X, 12(3), 45-67", "Journal of X; Vol 12, No 3 (2019); 45-67" (OJS),
"J X. 2019;12(3):45-67" (Vancouver), "In: Proceedings of Y, pp. 1-10", "Nature 521,
436-444 (2015)". What cannot be read stays empty: an empty field never contradicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from works.names import fold_case

# Words that carry no name in a container ("Journal of the X" = "J X").
_CONTAINER_STOPWORDS = frozenset(
    "a an the of and in on for to with from by at y et de des du la le les der die das und "
    "fur für i proceedings proc in".split()
)
# Where the name of the container ends: a comma, semicolon, colon or parenthesis, a
# volume/issue/page word, or a number that is not an ordinal ("51st", "12TH" name a meeting).
_NAME_END = re.compile(
    r"[,;:(]|\s*\b(?:vol(?:ume)?|no|nr|issue|pp?|pages?|suppl)\b\.?|\s\d+(?![\w])",
    re.IGNORECASE,
)
# Years and ordinals that open a meeting's name ("2017 40th International Convention ...").
_LEADING_NUMBERS = re.compile(r"^(?:\s*(?:\d{4}|\d+(?:st|nd|rd|th))\b)+", re.IGNORECASE)
_EXPLICIT_VOLUME = re.compile(r"\bvol(?:ume)?s?\.?\s*([0-9]+[a-z]?)\b", re.IGNORECASE)
_EXPLICIT_ISSUE = re.compile(r"\b(?:no|nr|issue)\.?\s*([0-9]+(?:-[0-9]+)?)\b", re.IGNORECASE)
# A volume and its issue in parentheses ("12(3)"); not a page before a year ("444 (2015)").
_VOLUME_ISSUE = re.compile(
    r"(?<![\d\-\u2013\u2014])(\d{1,4}[a-z]?)\s?\(([^)]*)\)(?<!\((?:1[5-9]|2[01])\d\d\))",
    re.IGNORECASE,
)
# Vancouver: "2019;12(3):45-67" or "12:45-67".
_VANCOUVER_VOLUME = re.compile(r"(?<![\d-])(\d{1,4})\s*:\s*(?=[a-z]?\d)", re.IGNORECASE)
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
# A page range (hyphen, en or em dash), or one page: "pp. 45-67", "S134", "e1234", "811a",
# and the dates a spreadsheet made of page ranges ("08-Aug" was 8-8, "01-Sep" 1-9).
_PAGES = re.compile(
    r"(?:\bpp?\.?\s*)?(?<![\w/.(])([a-z]{0,2}\d{1,6}[a-z]?)"
    r"(?:\s*[-\u2013\u2014]{1,2}\s*(?:([a-z]{0,2}\d{1,6})|(" + "|".join(_MONTHS) + r")[a-z]*)\b)?"
    r"(?![\w/(.])",
    re.IGNORECASE,
)
_YEARLIKE = re.compile(r"^(1[5-9]\d\d|2[01]\d\d)$")
_PLAIN_NUMBER = re.compile(r"^(?!(?:1[5-9]|2[01])\d\d$)\d{1,4}[a-z]?$", re.IGNORECASE)
_NUMBERISH = re.compile(r"^\d+(?:st|nd|rd|th)?$")
_PARENTHESISED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ABSTRACT_SOURCE = re.compile(r"\bsuppl|\bsupplement|\babstracts?\b|\bmeeting\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# Containers that hold preprints or deposits of another publication: a record there and the
# published version of the same text are one work, whatever their containers.
PREPRINT_CONTAINERS = frozenset(
    "arxiv biorxiv medrxiv chemrxiv psyarxiv socarxiv edarxiv engrxiv eartharxiv ssrn "
    "researchsquare preprints zenodo osf figshare hal techrxiv authorea".split()
)


@dataclass(frozen=True)
class Location:
    """Where a record was published, as far as its dc:source says."""

    container: str = ""  # folded words of the container's name, stop words dropped
    volume: str = ""
    issue: str = ""
    first_page: str = ""  # folded: "45", "s134", "e1234", "811a"
    page_count: int = 0  # pages of a range ("45-67": 23); 0 when unknown
    supplement: bool = False  # a supplement or meeting-abstract issue


def container_words(name: str) -> list[str]:
    """The folded words of a container's name: parenthesised parts, numbers, ordinals, stop
    words and punctuation dropped ("Lung cancer (Amsterdam, Netherlands)" -> lung cancer)."""
    text = fold_case(_PARENTHESISED.sub(" ", name)).replace("'", "")
    found = _WORD.findall(text.replace("_", " "))
    return [
        w for w in found if w not in _CONTAINER_STOPWORDS and len(w) > 1 and not _NUMBERISH.match(w)
    ]


def _pages(text: str) -> tuple[str, int]:
    """The first page and the page count of the first page range or page in `text` (what
    follows is a discussion or a reply: "742-8; discussion 748-9")."""
    for match in _PAGES.finditer(text):
        first, last, month = match.group(1), match.group(2), match.group(3)
        if _YEARLIKE.match(first) and not last and not month:
            continue  # "(2019)" is a year, not a page
        first_folded = first.lower().lstrip("0") or "0"
        if month is not None:
            return first_folded, 0  # a spreadsheet's date: the first page only
        count = 0
        if last:
            start, end = re.sub(r"\D", "", first), re.sub(r"\D", "", last)
            if start and end:
                # "1183-7" means 1183-1187.
                end = start[: len(start) - len(end)] + end if len(end) < len(start) else end
                count = int(end) - int(start) + 1 if int(end) >= int(start) else 0
        return first_folded, count
    return "", 0


def _name(text: str) -> tuple[str, str]:
    """The container's name and the rest of a dc:source value."""
    lead = _LEADING_NUMBERS.match(text)
    start = lead.end() if lead else 0
    end = _NAME_END.search(text, start)
    if end is None:
        return text, ""
    return text[: end.start()], text[end.start() :]


def read_location(source: str) -> Location:
    """The Location one dc:source value gives."""
    text = source.strip()
    if text.lower().startswith("in:"):
        text = text[3:].strip()
    if not text:
        return Location()
    name, rest = _name(text)
    volume = issue = ""
    explicit = _EXPLICIT_VOLUME.search(rest)
    paired = _VOLUME_ISSUE.search(rest)
    vancouver = _VANCOUVER_VOLUME.search(rest)
    if explicit:
        volume = explicit.group(1)
    elif paired:
        volume, issue = paired.group(1), paired.group(2)
    elif vancouver:
        volume = vancouver.group(1)
    number = _EXPLICIT_ISSUE.search(rest)
    if number and not issue:
        issue = number.group(1)
    # What is left once the volume and issue are taken out holds the pages.
    remains = _EXPLICIT_VOLUME.sub(" ", _EXPLICIT_ISSUE.sub(" ", rest))
    remains = _VOLUME_ISSUE.sub(" ", remains)
    remains = _PARENTHESISED.sub(" ", remains)
    remains = _VANCOUVER_VOLUME.sub(" ", remains)
    segments = [seg.strip() for seg in re.split(r"[,;]", remains) if seg.strip()]
    if not volume and len(segments) >= 2 and _PLAIN_NUMBER.match(segments[0]):
        # "Journal, 20, 1-14": a lone number before the pages is the volume.
        volume = segments[0]
        remains = ", ".join(segments[1:])
    elif not volume and len(segments) == 1 and _PLAIN_NUMBER.match(segments[0]):
        # "Journal, 20": a lone number is a volume more often than a page.
        volume, remains = segments[0], ""
    first_page, count = _pages(remains)
    supplement = bool(_ABSTRACT_SOURCE.search(text)) or first_page.startswith("s")
    return Location(
        " ".join(container_words(name)),
        volume.lower().lstrip("0"),
        issue.strip().lower(),
        first_page,
        count,
        supplement,
    )


def _abbreviates(short: str, long: str) -> bool:
    """True when `short` may be an abbreviation of `long`: the same first letter and its
    letters in order within `long` ("dtsch" / "deutsche", "respir" / "respiratory")."""
    if short == long:
        return True
    if not short or not long or short[0] != long[0] or len(short) > len(long):
        return False
    position = 0
    for char in short:
        position = long.find(char, position) + 1
        if position == 0:
            return False
    return True


def _aligned(short: list[str], long: list[str]) -> bool:
    """True when each word of `short`, in order, equals or abbreviates (either way) a word of
    `long`: "infect chemother" / "journal infection chemotherapy"."""
    position = 0
    for word in short:
        while position < len(long) and not (
            _abbreviates(word, long[position]) or _abbreviates(long[position], word)
        ):
            position += 1
        if position == len(long):
            return False
        position += 1
    return True


def latin(text: str) -> bool:
    """True when every letter of `text` is in the Latin script (accents included)."""
    return text.isascii() or all(ord(c) <= 0x24F for c in text if c.isalpha())


def containers_compatible(a: str, b: str) -> bool:
    """True when two containers' folded names may name one container: one's words, in order,
    equal to or abbreviating the other's ("eur respir dis" / "european journal respiratory
    diseases"), one's words within the other's, or one the initials of the other ("jama" /
    "journal american medical association"). Empty names, and names in two scripts (a
    journal's Chinese name and its English one), are compatible: nothing tells them apart."""
    if not a or not b or a == b or latin(a) != latin(b):
        return True
    first, second = a.split(), b.split()
    if len(first) > len(second):
        first, second = second, first
    if _aligned(first, second) or set(first) <= set(second):
        return True
    initials = "".join(w[0] for w in second)
    return len(first) == 1 and len(first[0]) >= 2 and first[0] == initials
