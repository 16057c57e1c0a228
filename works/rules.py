"""When two records are the same work: features of a record, candidate keys, and the rules.

Pure (no I/O). Evidence, strongest first:
1. an equal persistent identifier in dc:identifier (DOI, handle, URN, arXiv id; normalised);
2. a near-identical title (accents, case, punctuation and stop words folded; a few typos
   allowed in long titles) with the same numbers (Part 1 / Part 2 stay apart), compatible
   years (one apart at most, or missing), at least one shared creator key, and no sign of
   distinct registered versions (both have DOIs from the same registrant, none shared).
   Short generic titles ("Introduction", "Editorial") need the same year, the same creators
   and the same description as well.
Never authors alone, never dc:relation (a conference URL would merge a whole conference).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from rapidfuzz.distance import OSA

from works.names import fold_case, is_cjk

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
    "annual authors".split()
)
_PART_WORDS = frozenset(
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
# Past this many members a candidate group is compared within a sliding window over its
# members sorted by title, so a huge group costs ~n log n, not n².
WINDOWED_GROUP = 40
WINDOW = 8
# Creators beyond this many add no candidate keys (a 1,000-author physics paper would
# otherwise add a key per author); every creator still counts when two records are compared.
KEYED_CREATORS = 12


@dataclass(frozen=True)
class Features:
    """What matching reads of one live record."""

    record_id: int
    title_key: str
    numbers: str
    year: int | None
    creators: tuple[str, ...]
    pids: tuple[str, ...]
    generic: bool
    context: str
    weight: int

    def row(self) -> tuple[Any, ...]:
        """The match_features row."""
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
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Features:
        """The inverse of row()."""
        record_id, title_key, numbers, year, creators, pids, generic, context, weight = row
        return cls(
            int(record_id),
            str(title_key),
            str(numbers),
            None if year is None else int(year),
            tuple(c for c in str(creators).split("|") if c),
            tuple(str(pids).split()),
            bool(generic),
            str(context),
            int(weight),
        )


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
        elif len(word) == 1 and word.isalpha() and previous in _PART_WORDS:
            found.append(word)  # "Part A", "Appendix B"
        previous = word
    return " ".join(sorted(found))


def _part_numbers(title_words: Sequence[str]) -> list[str]:
    """ "part i", "part one" -> "part 1": one spelling of a part's number in title keys."""
    spelled = list(title_words)
    for i in range(1, len(spelled)):
        if spelled[i - 1] in _PART_WORDS:
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


def _year(dates: Iterable[str]) -> int | None:
    for value in dates:
        found = _YEAR.search(value)
        if found:
            return int(found.group(1))
    return None


def is_generic(significant: Sequence[str]) -> bool:
    """True for a title too short or too common to identify a work by itself. CJK titles
    run without spaces, so they are judged by their characters (six at least)."""
    if any(is_cjk(c) for word in significant for c in word):
        return sum(len(word) for word in significant) < 6
    return len(significant) <= 1 or (
        len(significant) <= 3 and all(w in _GENERIC_WORDS for w in significant)
    )


def features_of(
    record_id: int,
    titles: Sequence[str],
    creator_keys: Sequence[str],
    identifiers: Sequence[str],
    dates: Sequence[str],
    descriptions: Sequence[str],
    weight: int,
) -> Features:
    """The matching features of one record's (already extracted) DC values."""
    title_words = (
        _part_numbers([_ABBREVIATIONS.get(w, w) for w in words(titles[0])]) if titles else []
    )
    significant = [w for w in title_words if w not in STOPWORDS] or title_words
    pids = sorted({p for p in (normalise_pid(v) for v in identifiers) if p})
    # The first 30 words say whether two generic titles are one text; 400 characters hold them.
    context = " ".join(words(descriptions[0][:400])[:30]) if descriptions else ""
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
    )


def _title_keys(title_key: str) -> list[str]:
    significant = title_key.split()
    if not significant:
        return []
    keys = []
    count = len(significant)
    if count >= 4:
        # Near-identical titles differ in one word per eight at most (see _title_distance):
        # the first three or the last three words survive that, and where both could be
        # spoilt (4-5 words overlap, 16+ allow two typos) the initials of all words do.
        keys += ["p " + " ".join(significant[:3]), "s " + " ".join(significant[-3:])]
    else:
        keys.append("f " + title_key)
    if 2 <= count <= 5 or count >= 16:
        keys.append("a " + "".join(w[0] for w in significant))
    return keys


def candidate_keys(features: Features) -> list[str]:
    """The keys under which the record meets the records it may match."""
    keys = [f"pid {pid}" for pid in features.pids]
    title_keys = _title_keys(features.title_key)
    for creator in features.creators[:KEYED_CREATORS]:
        keys.extend(f"title {creator}\x1f{key}" for key in title_keys)
    return keys


def key_hash(key: str) -> int:
    """A candidate key as a signed 64-bit integer (what the match_keys table holds).

    Two CRCs rather than a cryptographic hash (a third of the cost): a collision only puts
    two groups' records in one group, where every pair is still compared on its evidence.
    """
    data = key.encode()
    value = (zlib.crc32(data) << 32) | zlib.adler32(data)
    return value - (1 << 64) if value >= 1 << 63 else value


def _doi_registrants(pids: Iterable[str]) -> set[str]:
    return {p[4:].split("/", 1)[0] for p in pids if p.startswith("doi:")}


def _title_distance(a: str, b: str) -> int | None:
    """Edits between two title keys judged near-identical, or None: the same words but for
    typos, at most one word in eight, each a single edit (a swap of neighbours counts one)
    in a word of five letters or more. "hypertension"/"hypotension", "male"/"female",
    "in men"/"in women" and "UK"/"US" are different titles."""
    if a == b:
        return 0
    first, second = a.split(), b.split()
    if len(first) != len(second) or len(first) < 3:
        return None
    differing = [(x, y) for x, y in zip(first, second, strict=True) if x != y]
    if len(differing) > max(1, len(first) // 8):
        return None
    total = 0
    for x, y in differing:
        if min(len(x), len(y)) < 5:
            return None
        edits = int(OSA.distance(x, y, score_cutoff=1))
        if edits > 1:
            return None
        total += edits
    return total


def compare(a: Features, b: Features) -> dict[str, Any] | None:
    """The evidence that a and b are the same work, or None."""
    shared_pids = sorted(set(a.pids) & set(b.pids))
    if shared_pids:
        return {"rule": "identifier", "identifiers": shared_pids}
    shared = sorted(set(a.creators) & set(b.creators))
    if not shared or a.numbers != b.numbers or not a.title_key:
        return None
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 1:
        return None
    registrants_a, registrants_b = _doi_registrants(a.pids), _doi_registrants(b.pids)
    if registrants_a & registrants_b:
        return None  # two DOIs of one registrant, none shared: distinct versions
    if a.generic or b.generic:
        same = (
            a.title_key == b.title_key
            and a.year is not None
            and a.year == b.year
            and set(a.creators) == set(b.creators)
            and a.context != ""
            and a.context == b.context
        )
        if not same:
            return None
    distance = _title_distance(a.title_key, b.title_key)
    if distance is None:
        return None
    similarity = 1 - distance / max(len(a.title_key), len(b.title_key))
    evidence: dict[str, Any] = {
        "rule": "title",
        "title_similarity": round(similarity, 3),
        "shared_creators": shared,
        "years": [a.year, b.year],
    }
    if a.generic or b.generic:
        evidence["generic_title"] = True
    return evidence


def group_pairs(members: Sequence[Features]) -> Iterable[tuple[Features, Features]]:
    """The pairs of one candidate group to compare: all of them in a small group, neighbours
    within WINDOW in title order in a large one. Each pair is (lower id, higher id)."""
    ordered = sorted(members, key=lambda f: (f.title_key, f.record_id))
    size = len(ordered)
    reach = size if size <= WINDOWED_GROUP else WINDOW + 1
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 : i + reach]:
            if first.record_id < second.record_id:
                yield first, second
            else:
                yield second, first


def representative(members: Iterable[Features]) -> Features:
    """The work's representative record: the fullest metadata, then the lowest record id."""
    return min(members, key=lambda f: (-f.weight, f.record_id))
