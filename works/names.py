"""Author names: dc:creator strings -> one AuthorName per person, with a matching key.

Pure (no I/O). The key is the family name and the first initial, folded: "Stirrup, V.",
"Stirrup, Vicki", "V. Stirrup", "STIRRUP, V" and "Stirrup V" all give "stirrup v". Accents
and case are folded; particles stay part of the family name wherever they are written
("van der Berg, J.", "J. van der Berg" and "Berg, J. van der" give "vanderberg j"); hyphens and
spaces inside family names are dropped ("García-López" = "Garcia Lopez"). Corporate names
("Department of Health and Social Care") are recognised, never split, and keyed whole.

Limits (oai_dc carries no person identifiers): two people with the same family name and
first initial share a key (homonyms; see the author_overrides table), and a name written
family-first without a comma ("Wang Wei") or with a double family name in given-first order
("María García López") keys on the wrong word or on the last surname only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

CORPORATE_PREFIX = "corp:"

# Lower-case words that belong to the family name when they precede it (or trail the given
# names in "Berg, Jan van der").
PARTICLES = frozenset(
    "van der den de del della di da dal das do dos du la le les von vom zu ten ter te y "
    "e bin ibn al el st".split()
)
# Suffixes, degrees and titles: dropped wherever they stand ("Smith, John, Jr.", "Sir Isaac
# Newton", "Smith, Professor John").
_SUFFIXES = frozenset(
    "jr jr. sr sr. ii iii iv phd ph.d. md m.d. dr dr. prof prof. professor mr mr. mrs mrs. "
    "ms ms. miss sir dame rev rev. revd".split()
)
# Creator values that name nobody.
_NOBODY = frozenset("anonymous anon unknown various variousauthors na sn nn".split())
_ACRONYM_SKIPS = frozenset("of for the and on in at to de du des la le".split())
_INITIAL_LIKE = frozenset({"jr", "sr", "md", "dr"})
_CORPORATE_WORDS = frozenset(
    "university universität université universidad università universiteit institute "
    "institut instituto department dept ministry council association society committee "
    "commission centre center foundation trust agency organisation organization group "
    "consortium collaboration network project team office board laboratory laboratories "
    "library museum hospital college school academy corporation company inc ltd llc "
    "gmbh plc nhs government bureau service services programme program initiative "
    "partnership alliance federation union authority press publishing publishers "
    "archive archives agency unit division faculty england scotland wales ireland britain "
    "national international european federal".split()
)
_FOLD_EXTRA = str.maketrans(
    {"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|<[^>]*>")
_ET_AL = re.compile(r",?\s*\bet\.?\s+al\b\.?", re.IGNORECASE)
_AND = re.compile(r"\s+(?:and|&|und|et|και|и)\s+", re.IGNORECASE)
# ';' and its full-width and ideographic forms (U+FF1B, U+3001), as CJK records write them.
_LIST_SEPARATORS = re.compile(r"\s*[;|\n\uff1b\u3001]\s*")
# Names an export ran together, "Family I." after "Family I." with no separator
# ("Chen R.Wang Y.Liang L."): a new name starts at a capitalised word right after an
# initial's full stop.
_RUN_TOGETHER = re.compile(r"(?<=\b[A-Z]\.)(?=[A-Z][a-z]{2,})")
_DATES = re.compile(r"^\d{3,4}(?:-\d{0,4})?\.?$|^\d{4}-$")
_EDGE_PUNCTUATION = " ,.;:-\u2013\u2014'\"\u2019"
# Values parsed, split or judged remembered, each (the most recent): the names that recur
# are few and stay; a larger memory only grows with the harvest (a page process held 100k
# parsed names, 46 MB more at 100k records than at 10k) and slows every garbage collection
# that walks it. Deriving 97k records in one process: 9.0-9.5 s with 10,000, 9.9-10.2 s
# with 200,000 (2 runs each).
_CACHED = 10_000


class AuthorName(NamedTuple):
    """One person (or body) as written in one dc:creator or dc:contributor value (a named
    tuple: one is built for every name parsed, and a frozen dataclass costs several times
    more to build)."""

    written: str
    family: str
    given: str
    key: str
    corporate: bool = False


def fold_case(text: str) -> str:
    """Text with accents removed and case folded ("García" -> "garcia", "Łódź" -> "lodz")."""
    if text.isascii():
        return text.lower()  # most text: no accents to strip, and lower() is casefold here
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Everything str.isalnum() refuses: \w is exactly isalnum() plus the underscore.
_NOT_ALNUM = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Text folded as fold_case() does, with everything but letters and digits dropped."""
    return _NOT_ALNUM.sub("", fold_case(text))


def _letters(token: str) -> str:
    if token.isalpha():  # most tokens: nothing to drop
        return token
    if token.isascii():  # "V.", "J-P.": one pass in C (every ASCII letter is alphabetic)
        return token.translate(_ASCII_NOT_LETTERS)
    return "".join(c for c in token if c.isalpha())


_ASCII_NOT_LETTERS = str.maketrans(
    "", "", "".join(c for c in map(chr, range(128)) if not c.isalpha())
)


def is_initials(token: str) -> bool:
    """True for "V.", "J.R.R.", "JRR", "J-P." or "V": capitals only, three at most unless dotted."""
    letters = _letters(token)
    if not letters:
        return False
    # ASCII letters are all cased, so isupper() says what the loop says for other scripts.
    if not (letters.isupper() if letters.isascii() else all(c.isupper() for c in letters)):
        return False
    return len(letters) <= 3 or token.count(".") >= len(letters) - 1


def is_particle(word: str) -> bool:
    """True for "van", "der", "De", "von": a particle of a family name. Capitals that could
    be initials ("E", "DE") are initials, and one-letter particles ("e", "y") count only in
    lower case."""
    if word.casefold() not in PARTICLES:
        return False
    return word.islower() or (len(word) > 1 and not is_initials(word))


# Kana, CJK ideographs and Hangul: scripts written without spaces between words.
_CJK_RANGES = (("\u3040", "\u30ff"), ("\u3400", "\u9fff"), ("\uac00", "\ud7af"))
# A run of such characters: what FTS5's unicode61 tokenizer takes for one word.
CJK_RUN = re.compile("[" + "".join(f"{low}-{high}" for low, high in _CJK_RANGES) + "]+")


def has_cjk(text: str) -> bool:
    """True when `text` holds a CJK character (one regex scan: this runs for every name)."""
    return not text.isascii() and CJK_RUN.search(text) is not None


@functools.lru_cache(maxsize=_CACHED)
def is_corporate(text: str) -> bool:
    """True when the text names a body rather than a person."""
    if not _CORPORATE_WORDS.isdisjoint(_WORD.findall(text.casefold())):
        return True
    stripped = text.strip()
    if stripped.isalpha() and stripped.isupper() and 2 <= len(stripped) <= 8:
        return True  # an acronym alone: "WHO", "RCN", "UNESCO"
    if "," in text:
        return False
    if _JOINED_WORDS.fullmatch(stripped):
        return True  # single words joined: "Johnson & Johnson", "Procter & Gamble"
    # Six words or more (not counting initials and particles) with no comma is a body
    # ("Lived Experience Practitioner steering group members"), not a person.
    written = text.split()
    if len(written) < 6:
        return False  # most names: fewer words than that, whatever they are
    return len([w for w in written if not is_initials(w) and not is_particle(w)]) >= 6


_WORD = re.compile(r"\w+")
_JOINED_WORDS = re.compile(r"[\w.'-]+(?: (?:&|and) [\w.'-]+)+")


def _without_et_al(text: str) -> str:
    # Most names hold no "al": the regex is not run on them (a third of a microsecond a
    # name, on every name parsed and every creator value split).
    return _ET_AL.sub("", text) if "al" in text.lower() else text


def _clean(text: str) -> str:
    if "(" in text or "[" in text or "<" in text:
        text = _BRACKETED.sub(" ", text)
    text = _without_et_al(text)
    return " ".join(text.split()).strip(_EDGE_PUNCTUATION.replace(".", "")).strip(" ,;:")


def _tokens(text: str) -> list[str]:
    words = [w.strip(";:&|/-'") for w in text.replace(",", " ").split()]
    return [w for w in words if w and not _is_suffix(w) and not _DATES.match(w)]


def _is_suffix(word: str) -> bool:
    # "Jr." is a suffix, but "JR" after a family name is John R.'s initials ("Smith JR").
    folded = word.casefold()
    return folded in _SUFFIXES and not (word.isupper() and folded.rstrip(".") in _INITIAL_LIKE)


def _join_family(words: list[str]) -> str:
    return " ".join(words).strip(_EDGE_PUNCTUATION)


def _make(written: str, family: str, given: str) -> AuthorName | None:
    family_key = fold(family)
    if not family_key:
        return None
    given = given.strip(" ,")
    initial = fold(given)[:1]
    key = f"{family_key} {initial}" if initial else family_key
    return AuthorName(written, family, given, key)


def _move_trailing_particles(family: str, given_words: list[str]) -> tuple[str, list[str]]:
    # "Berg, Jan van der": the particles written after the given names join the family name.
    moved: list[str] = []
    # Only after a given name: a lone lower-case "e" is a given initial, not a particle.
    while len(given_words) > 1 and is_particle(given_words[-1]):
        moved.insert(0, given_words.pop())
    if moved:
        family = " ".join([*moved, family])
    return family, given_words


@functools.lru_cache(maxsize=_CACHED)
def parse_name(text: str) -> AuthorName | None:
    """One person's (or body's) name -> AuthorName; None when nothing is left to key."""
    cleaned = _clean(text)
    if not cleaned or fold(cleaned) in _NOBODY:
        return None
    if is_corporate(cleaned):
        # "Great Britain. Department for Education" is the Department for Education: a
        # heading's last part names the body when it is a body itself.
        last = cleaned.rsplit(". ", 1)[-1]
        key = fold(last if last != cleaned and is_corporate(last) else cleaned)
        if not key:
            return None
        return AuthorName(text, cleaned, "", CORPORATE_PREFIX + key, corporate=True)
    if has_cjk(cleaned):
        # CJK names are written family name first, with or without a space or comma
        # ("中村由紀", "中村 由紀", "中村, 由紀"): the whole name is the key.
        family, _, given = cleaned.replace(",", " ").partition(" ")
        return AuthorName(text, family, given.strip(), fold(cleaned))
    if "," in cleaned:
        family_part, _, given_part = cleaned.partition(",")
        given_words = _tokens(given_part)
        family_words = _tokens(family_part)
        if not family_words:
            return None
        family, given_words = _move_trailing_particles(_join_family(family_words), given_words)
        return _make(text, family, " ".join(given_words))
    words = _tokens(cleaned)
    if not words:
        return None
    if len(words) == 1:
        return _make(text, words[0], "")
    initials = 0
    while initials < len(words) and is_initials(words[-1 - initials]):
        initials += 1
    if 0 < initials < len(words):
        # "Stirrup V", "Smith JR", "Smith J A": family first, initials after.
        return _make(text, _join_family(words[:-initials]), " ".join(words[-initials:]))
    first_letters = _letters(words[0])
    if (
        len(first_letters) > 1
        and first_letters.isupper()
        and not is_initials(words[0])
        and not words[-1].isupper()
    ):
        # "SMITH Jane", "DUPONT Jean": a family name in capitals comes first.
        return _make(text, words[0], " ".join(words[1:]))
    # Given names first: the family name is the last word with the particles before it.
    start = len(words) - 1
    while start > 1 and is_particle(words[start - 1]):
        start -= 1
    return _make(text, _join_family(words[start:]), " ".join(words[:start]))


def _comma_pairs(text: str) -> list[str] | None:
    """ "Wattingham, A., Kaur, J., Stirrup, V." -> one "Family, I." per person, or None when
    the commas do not alternate family names and initials."""
    if text.count(",") < 3:
        return None  # most values: fewer than four parts, whatever they hold
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p]
    if len(parts) < 4 or len(parts) % 2:
        return None
    pairs = list(zip(parts[::2], parts[1::2], strict=True))
    for family, given in pairs:
        given_words = given.split()
        if not given_words or not all(is_initials(w) for w in given_words):
            return None
        if is_initials(family):
            return None
    return [f"{family}, {given}" for family, given in pairs]


def _given_first_list(text: str) -> list[str] | None:
    """ "Vicki Stirrup, Fiona Jones" -> each name, when every comma part is a given-first name."""
    if "," not in text:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return None
    for part in parts:
        words = part.split()
        if len(words) < 2 or is_initials(words[-1]) or is_particle(words[0]):
            return None
    return parts


def split_creators(value: str) -> list[str]:
    """One dc:creator value -> the names it packs, each as written.

    Splits on ';', on ' and ' / '&' between names, and on commas where they clearly separate
    people ("Kaur, J., Stirrup, V." or "Vicki Stirrup, Fiona Jones and Ian Dimond"); a value
    that cannot be split without guessing stays whole.
    """
    return list(_split_creators(value))


@functools.lru_cache(maxsize=_CACHED)  # the same values recur across records and harvests
def _split_creators(value: str) -> tuple[str, ...]:
    names: list[str] = []
    value = _without_et_al(value)
    if "." in value:  # names run together follow an initial's full stop
        value = _RUN_TOGETHER.sub(";", value)
    for separated in _LIST_SEPARATORS.split(value):
        part = separated.strip(" ,")
        if not part:
            continue
        pieces = [p.strip(" ,") for p in _AND.split(part) if p.strip(" ,")]
        if is_corporate(part) and not _separate_bodies(pieces):
            names.append(part)
            continue
        last_given_first = len(pieces) > 1 and "," not in pieces[-1]
        for piece in pieces:
            split = _comma_pairs(piece) or _family_initials_list(piece) or _cjk_list(piece)
            if split is None and last_given_first:
                split = _given_first_list(piece)
            names.extend(split or [piece])
    return tuple(names)


def _separate_bodies(pieces: list[str]) -> bool:
    """True when a corporate value joined by "and" names several creators ("Health Education
    England and NHS England", "Okafor, C. N. and Oxleas NHS Foundation Trust"), not one body
    ("Department of Health and Social Care", "Marks & Spencer Group"): the last piece is a
    body or a person itself, and every piece has two words at least."""
    if len(pieces) < 2 or any(len(p.split()) < 2 for p in pieces):
        return False
    last = pieces[-1]
    return is_corporate(last) or "," in last


def _family_initials_list(text: str) -> list[str] | None:
    """ "Okafor CN, Ellis M, Whitfield E" (Vancouver style) -> each name."""
    if "," not in text:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return None
    for part in parts:
        words = part.split()
        if len(words) < 2 or not is_initials(words[-1]) or is_initials(words[0]):
            return None
    return parts


def _cjk_list(text: str) -> list[str] | None:
    """ "张伟, 刘洋": commas between whole CJK names separate people; "田中, 博" (a one-character
    part) or Japanese kana make it one name written family, given."""
    if ("," not in text and "\uff0c" not in text) or not has_cjk(text):
        return None
    parts = [p.strip() for p in re.split(r"[,\uff0c]", text) if p.strip()]
    kana = any("\u3040" <= c <= "\u30ff" for c in text)
    if len(parts) == 2 and (kana or min(len(p) for p in parts) == 1):
        return None  # "田中, 博": family name, given name (a Chinese full name has two+)
    return parts if len(parts) > 1 else None


def corporate_acronym(name: AuthorName) -> str | None:
    """A body's initials ("Royal College of Nursing" and "RCN" -> "rcn"; "Oxleas NHS FT" and
    "Oxleas NHS Foundation Trust" -> "onhsft"), for matching only; None under three letters."""
    if not name.corporate:
        return None
    last = name.family.rsplit(". ", 1)[-1]
    letters = []
    for word in re.findall(r"\w+", last):
        if word.casefold() in _ACRONYM_SKIPS:
            continue
        letters.append(word if word.isupper() and len(word) > 1 else word[0])
    acronym = fold("".join(letters))
    return acronym if len(acronym) >= 3 else None


def parse_creators(values: Iterable[str]) -> list[AuthorName]:
    """dc:creator (or dc:contributor) values -> one AuthorName per person, in order,
    each key once."""
    seen: set[str] = set()
    names: list[AuthorName] = []
    for value in values:
        for written in split_creators(value):
            name = parse_name(written)
            if name is not None and name.key not in seen:
                seen.add(name.key)
                names.append(name)
    return names


def _given_weight(name: AuthorName) -> tuple[int, int, int]:
    letters = _letters(name.given)
    spelled = sum(1 for w in name.given.split() if len(_letters(w)) > 1)
    family_cased = int(not name.family.isupper())
    return spelled, len(letters), family_cased


def display_name(names: Iterable[AuthorName]) -> str:
    """The fullest form among one author's names, exactly as it was written somewhere (never
    one put together from several): spelled-out given names over initials, more letters
    over fewer, a mixed-case family name over capitals; ties go to the alphabetically first
    form."""
    candidates = sorted(set(names), key=lambda n: n.written)
    if not candidates:
        return ""
    return max(candidates, key=_given_weight).written
