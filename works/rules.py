"""When two records are the same work: candidate keys, and the decision on a pair.

Pure (no I/O). A pair with a hard conflict (works.conflicts) is never the same work.
Otherwise, the evidence for it decides:
- "same": an equal persistent identifier whose records do not contradict it (related titles
  or a shared creator, no soft conflict); a near-identical title (notes, markup, accents,
  case, punctuation and stop words folded; one typo per eight words; or one title cut short
  of the other) with a shared creator; or, where a record has no creators, a specific title
  with the same year, in one container at the same page or volume.
- "review" (strong but insufficient: kept apart, listed for a person to settle): a
  near-identical title and compatible years without a shared creator, or with only a soft
  conflict; an identifier shared by records whose titles and creators are unrelated.
Short generic titles ("Introduction", "Editorial") also need the same year, the same creators
and the same description. Never authors alone, never dc:relation (a conference URL would
merge a whole conference).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from works.citation import latin
from works.conflicts import hard_conflicts, one_container, soft_conflicts
from works.features import Features

# Past this many members a candidate group is compared within a sliding window over its
# members sorted by title, so a huge group costs ~n log n, not n².
WINDOWED_GROUP = 40
WINDOW = 8
# Creators beyond this many add no candidate keys (a 1,000-author physics paper would
# otherwise add a key per author); every creator still counts when two records are compared.
KEYED_CREATORS = 12


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
    significant = features.title_key.split()
    if features.year is not None and len(significant) >= SPECIFIC_TITLE_WORDS:
        # Records without a shared creator (none written, or written beyond recognition)
        # meet by year and first title words: matched on their place, or listed for review.
        keys.append(f"year {features.year}\x1f{' '.join(significant[:3])}")
    if features.pages_known and features.volume:
        # Records of one article at one place, whatever their titles (see compare()).
        keys.append(f"place {features.volume}\x1f{features.first_page}")
    return keys


def key_hash(key: str) -> int:
    """A candidate key as a signed 64-bit integer (what the match_keys table holds).

    Two CRCs rather than a cryptographic hash (a third of the cost): a collision only puts
    two groups' records in one group, where every pair is still compared on its evidence.
    """
    data = key.encode()
    value = (zlib.crc32(data) << 32) | zlib.adler32(data)
    return value - (1 << 64) if value >= 1 << 63 else value


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


# A title cut short (a database's field limit) matches the full one when it keeps at least
# this many significant words, all of them the full title's first words.
TRUNCATED_TITLE_WORDS = 6
# A record without creators is matched on its title alone only when the title has at least
# this many significant words (and the same year, container and page or volume).
SPECIFIC_TITLE_WORDS = 6
# An identifier shared by two records counts when their titles share at least this share of
# the shorter title's significant words (or they share a creator).
RELATED_TITLE_SHARE = 1 / 3
# Two records at the same place (one container, volume and first page) with a shared creator
# are one article whatever their titles say (a translation, a dropped subtitle) when they
# span the same page range; at one page (a supplement's abstracts share pages) their titles
# must also be this similar (0-100, character based).
PLACE_TITLE_SIMILARITY = 85
# Strength of each kind of evidence: clustering takes the strongest edges first.
STRENGTH = {"override": 4, "identifier": 3, "title": 2, "place": 2, "title_place": 1}


@dataclass(frozen=True)
class Match:
    """The decision on one pair: "same" (joined into one work) or "review" (kept apart,
    listed as a possible duplicate), with its evidence."""

    decision: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def strength(self) -> int:
        """How strong the evidence is (higher first); a near-identical title is weaker than
        an exact one."""
        rule = str(self.evidence.get("rule", ""))
        exact = self.evidence.get("title_similarity", 1.0) == 1.0
        return STRENGTH.get(rule, 0) * 2 + int(exact)


def _family(key: str) -> tuple[str, str]:
    """A person key's family name and initial ("" for a name written without initials)."""
    family, _, initial = key.rpartition(" ")
    return (family, initial) if family else (key, "")


def _names_alike(x: str, y: str) -> bool:
    """True for two person keys one letter apart in a family name of five letters or more
    ("sefcikov m" / "sefcikova m"), or one family name written without initials beside the
    same one with them ("sorensen" / "sorensen p"): the same person written two ways."""
    if x.startswith("corp:") or y.startswith("corp:"):
        return False
    (family_x, initial_x), (family_y, initial_y) = _family(x), _family(y)
    if not initial_x or not initial_y:
        return family_x == family_y
    if initial_x != initial_y or min(len(family_x), len(family_y)) < 5:
        return False
    return int(OSA.distance(family_x, family_y, score_cutoff=1)) <= 1


def shared_creators(a: Features, b: Features) -> list[str]:
    """The creator keys the two records share, exactly or one letter apart."""
    shared = set(a.creators) & set(b.creators)
    if not shared:
        shared = {x for x in a.creators for y in b.creators if _names_alike(x, y)}
    return sorted(shared)


def _truncated(a: str, b: str) -> bool:
    """True when one title key is the other's first words (a title cut short; its last word
    may be cut too: "... should" / "... shou")."""
    first, second = a.split(), b.split()
    if len(first) > len(second):
        first, second = second, first
    if len(first) < TRUNCATED_TITLE_WORDS or first == second:
        return False
    *whole, last = first
    return second[: len(whole)] == whole and second[len(whole)].startswith(last)


def _titles_related(a: Features, b: Features) -> bool:
    """True when the titles share enough words, or are written in two scripts (a title and
    its translation: their words cannot be compared)."""
    first, second = set(a.title_key.split()), set(b.title_key.split())
    if not first or not second:
        return False  # a record without a title is no translation of one
    if latin(a.title_key) != latin(b.title_key):
        return True
    return len(first & second) >= RELATED_TITLE_SHARE * min(len(first), len(second))


def _same_place(a: Features, b: Features) -> bool:
    """True when both records name one container and the same first page or volume."""
    if not one_container(a, b):
        return False
    return bool(
        (a.first_page and a.first_page == b.first_page) or (a.volume and a.volume == b.volume)
    )


def _same_article_place(a: Features, b: Features) -> bool:
    """True when both records give one container, volume and first page, and either both a
    page range or near-identical titles (see PLACE_TITLE_SIMILARITY)."""
    if not (a.pages_known and b.pages_known and a.first_page == b.first_page):
        return False
    if not one_container(a, b):
        return False
    if a.volume and b.volume and a.volume != b.volume:
        return False
    if a.page_count >= 2 and b.page_count >= 2:
        return True
    return fuzz.ratio(a.title_key, b.title_key) >= PLACE_TITLE_SIMILARITY


def _place_evidence(a: Features, b: Features, shared: list[str]) -> dict[str, Any]:
    return {
        "rule": "place",
        "place": [a.container, a.volume or b.volume, a.first_page],
        "title_similarity": round(fuzz.ratio(a.title_key, b.title_key) / 100, 3),
        "shared_creators": shared,
        "years": [a.year, b.year],
    }


def _by_identifier(a: Features, b: Features, shared_pids: list[str], soft: list[str]) -> Match:
    evidence: dict[str, Any] = {"rule": "identifier", "identifiers": shared_pids}
    if _titles_related(a, b) or _title_distance_or_cut(a, b):
        # One identifier and one title: the containers' names are two ways of writing one.
        return Match("same", evidence)
    if soft:
        return Match("review", {**evidence, "not_merged": soft})
    if shared_creators(a, b):
        return Match("same", evidence)
    return Match("review", {**evidence, "not_merged": ["titles and creators unrelated"]})


def _title_distance_or_cut(a: Features, b: Features) -> tuple[float, bool] | None:
    """(similarity, truncated) of two near-identical titles, or None."""
    distance = _title_distance(a.title_key, b.title_key)
    if distance is not None:
        return 1 - distance / max(len(a.title_key), len(b.title_key)), False
    if a.title_key.replace(" ", "") == b.title_key.replace(" ", ""):
        return 1.0, False  # words split or joined: "co 2" / "co2", "p16 ink4a" / "p16ink4a"
    if _truncated(a.title_key, b.title_key):
        shorter = min(len(a.title_key), len(b.title_key))
        return round(shorter / max(len(a.title_key), len(b.title_key)), 3), True
    return None


def _generic_pair_same(a: Features, b: Features) -> bool:
    return (
        a.title_key == b.title_key
        and a.year is not None
        and a.year == b.year
        and set(a.creators) == set(b.creators)
        and a.context != ""
        and a.context == b.context
    )


def compare(a: Features, b: Features) -> Match | None:
    """The decision on a pair ("same" or "review", with its evidence), or None when there is
    no evidence for it or a hard conflict against it."""
    shared_pids = sorted(set(a.pids) & set(b.pids))
    near: tuple[float, bool] | None = None
    if not shared_pids:
        if not a.title_key or not b.title_key:
            return None
        if not (a.generic or b.generic) or _generic_pair_same(a, b):
            near = _title_distance_or_cut(a, b)
        # Most compared pairs are two works: with neither a title nor an identifier in
        # common, only one place of publication could still make them one.
        if near is None and not (a.pages_known and a.first_page == b.first_page):
            return None
    if hard_conflicts(a, b):
        return None
    soft = soft_conflicts(a, b)
    if shared_pids:
        return _by_identifier(a, b, shared_pids, soft)
    shared = shared_creators(a, b)
    if near is None or not shared or soft:
        if shared and not soft and _same_article_place(a, b):
            return Match("same", _place_evidence(a, b, shared))
        if near is None:
            return None
    similarity, truncated = near
    evidence: dict[str, Any] = {
        "rule": "title",
        "title_similarity": round(similarity, 3),
        "shared_creators": shared,
        "years": [a.year, b.year],
    }
    if truncated:
        evidence["truncated_title"] = True
    if a.generic or b.generic:
        evidence["generic_title"] = True
    if soft:
        return Match("review", {**evidence, "not_merged": soft})
    if shared:
        return Match("same", evidence)
    authorless = not a.creators or not b.creators
    specific = min(len(a.title_key.split()), len(b.title_key.split())) >= SPECIFIC_TITLE_WORDS
    if authorless and specific and a.year is not None and a.year == b.year and _same_place(a, b):
        return Match("same", {**evidence, "rule": "title_place"})
    return Match("review", {**evidence, "not_merged": ["no shared creator"]})


def title_order(members: Sequence[Features]) -> tuple[list[Features], int]:
    """A group's members in the order it pairs them (title, then record id), and the reach
    of its pairs: members i < j in that order are paired when j - i < reach."""
    ordered = sorted(members, key=lambda f: (f.title_key, f.record_id))
    size = len(ordered)
    return ordered, size if size <= WINDOWED_GROUP else WINDOW + 1


def group_pairs(members: Sequence[Features]) -> Iterable[tuple[Features, Features]]:
    """The pairs of one candidate group to compare: all of them in a small group, neighbours
    within WINDOW in title order in a large one. Each pair is (lower id, higher id)."""
    ordered, reach = title_order(members)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 : i + reach]:
            if first.record_id < second.record_id:
                yield first, second
            else:
                yield second, first


def representative(members: Iterable[Features]) -> Features:
    """The work's representative record: the fullest metadata, then the lowest record id."""
    return min(members, key=lambda f: (-f.weight, f.record_id))
