"""What matching reads of one record: title key, numbers, year, creators, identifiers, place
of publication and kind. Pure (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote

from works.citation import PREPRINT_CONTAINERS, Location, read_location
from works.names import fold_case, has_cjk
from works.titles import clean_title

STOPWORDS = frozenset(
    "a an the of and in on for to with from by at as or is are its into via about la le "
    "les el los las der die das und et de du des di del da den het een".split()
)
# Titles that name a kind of text rather than a work (after stop words are dropped).
_GENERIC_WORDS = frozenset(
    "introduction editorial preface foreword conclusion conclusions review abstract "
    "index letter reply response commentary erratum corrigendum obituary "
    "acknowledgements acknowledgments bibliography appendix summary discussion news "
    "interview contents untitled poster presentation report minutes notes data dataset "
    "afterword epilogue prologue editor guest book table front back matter memoriam "
    "annual authors comments comment editors column".split()
)
PART_WORDS = frozenset(
    "part parts volume vol book chapter section no number edition ed phase stage series "
    "issue study paper report episode session tome teil band appendix annex unit module "
    "lecture lesson week".split()
)
# Title words written short in one repository and long in another ("2nd ed." / "2nd edition").
_ABBREVIATIONS = {"ed": "edition", "edn": "edition", "vol": "volume", "pt": "part"}
_ROMAN = {
    numeral: str(value)
    for value, numeral in enumerate(
        "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split(),
        1,
    )
}
_NUMBER_WORDS = {
    word: str(value % 10 or 10)
    for value, word in enumerate(
        "one two three four five six seven eight nine ten first second third fourth fifth "
        "sixth seventh eighth ninth tenth".split(),
        1,
    )
}
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"\w+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|2[01]\d\d)(?!\d)")
# The whole value is a DOI (bare, doi:, info:doi/ or a resolver URL): a DOI quoted inside
# a citation ("In: Book, doi:10.x/y") names the container, not the record.
_DOI = re.compile(
    r"^(?:doi:?\s*|info:doi/|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/[^\s\"<>]+)$",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$")
_ARXIV = re.compile(r"^arxiv:\s*(\d{4}\.\d{4,5}|[a-z.-]+/\d{7})(v\d+)?$", re.IGNORECASE)
_HANDLE = re.compile(r"^(?:hdl:|https?://hdl\.handle\.net/)(\d[\w.]*/\S+)$", re.IGNORECASE)
# URN:NBN names one item; urn:isbn/urn:issn name a book or a journal (many records).
_URN = re.compile(r"^urn:nbn:\S+$", re.IGNORECASE)
# dc:type values (folded) that say the record is a meeting abstract or a poster, a preprint.
_ABSTRACT_TYPES = re.compile(r"\babstract\b|\bposter\b")
_PREPRINT_TYPES = re.compile(r"preprint|working ?paper|submitted|accepted ?version")


class Features(NamedTuple):
    """What matching reads of one live record (a named tuple: built by the hundred thousand
    in a recompute, and a frozen dataclass costs several times more to build)."""

    record_id: int
    title_key: str
    numbers: str
    year: int | None
    creators: tuple[str, ...]
    pids: tuple[str, ...]
    generic: bool
    context: str
    weight: int
    container: str = ""
    volume: str = ""
    issue: str = ""
    first_page: str = ""
    page_count: int = 0
    abstract: bool = False
    kind: str = ""

    def row(self) -> tuple[Any, ...]:
        """The match_features row (columns in table order)."""
        return (
            self.record_id,
            self.title_key,
            self.numbers,
            self.year,
            "|".join(self.creators),
            " ".join(self.pids),
            int(self.generic),
            self.context,
            self.weight,
            self.container,
            self.volume,
            self.issue,
            self.first_page,
            self.page_count,
            int(self.abstract),
            self.kind,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Features:
        """The inverse of row() (SQLite gives each column its type back)."""
        (record_id, title_key, numbers, year, creators, pids, generic, context, weight) = row[:9]
        container, volume, issue, first_page, page_count, abstract, kind = row[9:16]
        return cls(
            record_id,
            title_key,
            numbers,
            year,
            tuple(creators.split("|")) if creators else (),
            tuple(pids.split()),
            bool(generic),
            context,
            weight,
            container,
            volume,
            issue,
            first_page,
            page_count,
            bool(abstract),
            kind,
        )

    @property
    def preprint(self) -> bool:
        """True for a preprint or a repository deposit (kind, container or identifier)."""
        return (
            _PREPRINT_TYPES.search(self.kind) is not None
            or any(word in PREPRINT_CONTAINERS for word in self.container.split())
            or any(pid.startswith("arxiv:") or is_repository_doi(pid) for pid in self.pids)
        )

    @property
    def pages_known(self) -> bool:
        """True when the first page identifies the text: a page range, or a page with
        letters ("S134", "e1234", "811a"). A lone number may be a page count or an article
        number written two ways, so it identifies nothing."""
        return bool(self.first_page) and (self.page_count >= 2 or not self.first_page.isdigit())

    @property
    def full_article(self) -> bool:
        """True when the record spans a page range (not a one-page supplement abstract)."""
        return self.page_count >= 2 and not self.abstract


# DOI registrants of preprint servers and repositories: their DOI and a journal's DOI of the
# same text are one work (bioRxiv/medRxiv 10.1101, Zenodo 10.5281, figshare 10.6084, OSF and
# its preprint servers 10.31219/10.31234/10.31235/10.31222/10.17605, SSRN 10.2139, Research
# Square 10.21203, Preprints.org 10.20944, ChemRxiv 10.26434, TechRxiv 10.36227, Authorea
# 10.22541, Dryad 10.5061, Dataverse 10.7910).
REPOSITORY_REGISTRANTS = frozenset(
    "10.1101 10.5281 10.6084 10.31219 10.31234 10.31235 10.31222 10.17605 10.2139 10.21203 "
    "10.20944 10.26434 10.36227 10.22541 10.5061 10.7910".split()
)


def doi_registrant(pid: str) -> str | None:
    """The registrant prefix of a "doi:" pid ("doi:10.1234/x" -> "10.1234"), else None."""
    return pid[4:].split("/", 1)[0] if pid.startswith("doi:") else None


def is_repository_doi(pid: str) -> bool:
    """True for the DOI of a preprint server or repository."""
    return doi_registrant(pid) in REPOSITORY_REGISTRANTS


def words(text: str) -> list[str]:
    """The folded words of a text (accents removed, case folded, punctuation dropped)."""
    return _WORD.findall(fold_case(text).replace("_", " "))


def title_numbers(title_words: Sequence[str]) -> str:
    """The numbers a title names (digits, Roman numerals, "Part One", "Part A"), sorted."""
    found: list[str] = []
    previous = ""
    for word in _part_numbers(title_words):
        digits = _DIGITS.findall(word)
        if digits:
            found.extend(str(int(d)) for d in digits)
        elif word in _ROMAN and len(word) > 1:
            found.append(_ROMAN[word])  # "World War II"; after a part word it is a digit
        elif len(word) == 1 and word.isalpha() and previous in PART_WORDS:
            found.append(word)  # "Part A", "Appendix B"
        previous = word
    return " ".join(sorted(found))


def _part_numbers(title_words: Sequence[str]) -> list[str]:
    """ "part i", "part one" -> "part 1": one spelling of a part's number in title keys."""
    spelled = list(title_words)
    for i in range(1, len(spelled)):
        if spelled[i - 1] in PART_WORDS:
            word = spelled[i]
            spelled[i] = _ROMAN.get(word) or _NUMBER_WORDS.get(word) or word
    return spelled


def normalise_pid(value: str) -> str | None:
    """A persistent identifier in canonical form ("doi:10.1234/abc", "hdl:1234/5",
    "arxiv:2101.00001", "urn:nbn:..."), or None when the value holds none."""
    text = unquote(value.strip())
    doi = _DOI.match(text)
    if doi:
        found = doi.group(1).rstrip(".,;)]}'").lower()
        arxiv = _ARXIV_DOI.match(found)
        return f"arxiv:{arxiv.group(1)}" if arxiv else f"doi:{found}"
    arxiv_id = _ARXIV.match(text)
    if arxiv_id:
        return f"arxiv:{arxiv_id.group(1).lower()}"
    handle = _HANDLE.match(text)
    if handle:
        return f"hdl:{handle.group(1).rstrip('.,;').lower()}"
    if _URN.match(text):
        return text.lower()
    return None


# The first words of a description say whether two generic titles are one text; its first
# 400 characters hold them.
_CONTEXT_WORDS = 30
_CONTEXT_CHARS = 400
# Most descriptions have their first 30 words within 240 characters: reading words from
# that much first halves the work (the rest is read only when it falls short).
_CONTEXT_FIRST = 240


def _context(description: str) -> str:
    """The first _CONTEXT_WORDS words of the description's first _CONTEXT_CHARS characters."""
    found = words(description[:_CONTEXT_FIRST])
    # A word beyond the first 30 started within the prefix: those 30 ended inside it, as
    # they do in the longer text.
    if len(found) <= _CONTEXT_WORDS and len(description) > _CONTEXT_FIRST:
        found = words(description[:_CONTEXT_CHARS])
    return " ".join(found[:_CONTEXT_WORDS])


def _year(dates: Iterable[str]) -> int | None:
    for value in dates:
        found = _YEAR.search(value)
        if found:
            return int(found.group(1))
    return None


def is_generic(significant: Sequence[str]) -> bool:
    """True for a title too short or too common to identify a work by itself. CJK titles
    run without spaces, so they are judged by their characters (six at least)."""
    text = "".join(significant)
    if has_cjk(text):
        return len(text) < 6
    return len(significant) <= 1 or (
        len(significant) <= 3 and all(w in _GENERIC_WORDS for w in significant)
    )


def _location(sources: Sequence[str]) -> Location:
    """The first dc:source that names a container or a page, else an empty Location."""
    for source in sources:
        location = read_location(source)
        if location.container or location.first_page:
            return location
    return Location()


def features_of(
    record_id: int,
    titles: Sequence[str],
    creator_keys: Sequence[str],
    identifiers: Sequence[str],
    dates: Sequence[str],
    descriptions: Sequence[str],
    weight: int,
    *,
    sources: Sequence[str] = (),
    types: Sequence[str] = (),
) -> Features:
    """The matching features of one record's (already extracted) DC values."""
    title = clean_title(titles[0]) if titles else None
    # A lone "s" is a possessive ("Editor's Comments"), not a word of the title.
    title_words = (
        _part_numbers([_ABBREVIATIONS.get(w, w) for w in words(title.text) if w != "s"])
        if title
        else []
    )
    significant = [w for w in title_words if w not in STOPWORDS] or title_words
    pids = sorted({p for p in (normalise_pid(v) for v in identifiers) if p})
    context = _context(descriptions[0]) if descriptions else ""
    location = _location(sources)
    kind = fold_case(types[0]).strip() if types else ""
    abstract = (
        location.supplement
        or (title is not None and title.abstract_note)
        or _ABSTRACT_TYPES.search(kind) is not None
    )
    return Features(
        record_id=record_id,
        title_key=" ".join(significant),
        numbers=title_numbers(title_words),
        year=_year(dates),
        creators=tuple(creator_keys),
        pids=tuple(pids),
        generic=is_generic(significant),
        context=context,
        weight=weight,
        container=location.container,
        volume=location.volume,
        issue=location.issue,
        first_page=location.first_page,
        page_count=location.page_count,
        abstract=abstract,
        kind=kind,
    )
