"""Sources and works of the dedupe benchmark: who deposits, and what a work is.

A Source is a repository with its house style (how it writes names, dates and DOIs); a Work
is one work as the generator knows it (the ground truth: its `truth` number), and
duplicate_of() and title_variant() give the forms another repository writes it in.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from dedupe_vocabulary import (
    GIVEN,
    SUBJECT,
    SURNAMES,
    random_description,
    random_doi,
    random_title,
    random_year,
)

# How many creators a work has, and how often.
_CREATOR_COUNTS = (1, 2, 3, 4, 5, 6)
_CREATOR_WEIGHTS = (15, 22, 22, 17, 13, 11)

# --------------------------------------------------------------------------------------
# Sources: each writes names, dates and DOIs in its own way


@dataclass(frozen=True)
class Source:
    """A repository the records come from, and its house style."""

    name: str
    weight: float
    # family_initials "Smith, J. A." | family_given "Smith, John A." | given_family
    # "John A. Smith" | initials_after "Smith JA" | upper "SMITH, J. A."
    names: str
    # None: one dc:creator per person; "semicolon": one value, "; "-separated; "list": one
    # value "Smith, J., Doe, A. and Kaur, V."
    packed: str | None
    date: str  # "y", "ym" or "ymd"
    doi_form: str  # prefix written before the bare DOI
    title_case: bool
    own: str | None  # the source's own persistent identifiers: zenodo, arxiv, handle
    publisher: str
    title_lang: str | None = None

    @property
    def host(self) -> str:
        """The source's host name (in identifiers and landing URLs)."""
        return f"{self.name}.example.org"


SOURCES = (
    Source("ora", 28, "family_initials", None, "ymd", "https://doi.org/", False, None,
           "University of Oxford", "en"),
    Source("eprints", 20, "family_given", None, "y", "doi:", False, None, "White Rose"),
    Source("zenodo", 14, "given_family", None, "ymd", "https://doi.org/", False, "zenodo",
           "Zenodo"),
    Source("arxiv", 14, "initials_after", None, "ym", "https://doi.org/", False, "arxiv",
           "arXiv"),
    Source("dspace", 14, "upper", "semicolon", "y", "http://dx.doi.org/", True, "handle",
           "DSpace Consortium"),
    Source("pure", 10, "family_initials", "list", "ymd", "", True, None, "Pure Portal"),
    # Data collections only (never drawn for other records).
    Source("pangaea", 0, "family_given", None, "ymd", "https://doi.org/", False, None,
           "PANGAEA"),
)  # fmt: skip
SOURCE_BY_NAME = {s.name: s for s in SOURCES}
_SOURCE_WEIGHTS = list(itertools.accumulate(s.weight for s in SOURCES))
TYPES = ("Journal article", "Article", "Conference paper", "Preprint", "Dataset", "Thesis",
         "Report", "Book chapter")  # fmt: skip
_TYPE_WEIGHTS = list(itertools.accumulate((30, 15, 15, 12, 8, 6, 8, 6)))


def pick_source(rng: random.Random, excluded: Sequence[str] = ()) -> Source:
    """A source by weight, other than the excluded ones."""
    while True:
        chosen = rng.choices(SOURCES, cum_weights=_SOURCE_WEIGHTS)[0]
        if chosen.name not in excluded:
            return chosen


# --------------------------------------------------------------------------------------
# Works and their records


@dataclass(frozen=True)
class Person:
    """A person: family name, given name (a whole name, or one letter) and a middle initial."""

    family: str
    given: str
    middle: str = ""


def render_name(person: Person, style: str) -> str:
    """The person written in a house style."""
    family, given, middle = person.family, person.given, person.middle
    if not given:
        return family
    initial = given[0].upper()
    dotted = f"{initial}." + (f" {middle}." if middle else "")
    spelled = given if len(given) > 1 else f"{given}."
    if style == "family_initials":
        return f"{family}, {dotted}"
    if style == "family_given":
        return f"{family}, {spelled}" + (f" {middle}." if middle else "")
    if style == "given_family":
        return f"{spelled} " + (f"{middle}. " if middle else "") + family
    if style == "initials_after":
        return f"{family} {initial}{middle}"
    return f"{family.upper()}, {dotted}"


def creator_values(people: Sequence[Person], source: Source) -> list[str]:
    """The dc:creator values of a record from this source."""
    names = [render_name(p, source.names) for p in people]
    if source.packed is None or len(names) == 1:
        return names
    if source.packed == "semicolon":
        return ["; ".join(names)]
    return [", ".join(names[:-1]) + " and " + names[-1]]


@dataclass(frozen=True)
class Work:
    """One work as the generator knows it (the ground truth), or a variant of one."""

    truth: int
    kind: str
    title: str
    people: tuple[Person, ...]
    year: int
    doi: str | None
    description: str
    subjects: tuple[str, ...]
    kind_of_text: str


def random_person(rng: random.Random) -> Person:
    """A person drawn from the Zipf surnames and the given names."""
    middle = chr(65 + rng.randrange(26)) if rng.random() < 0.3 else ""
    return Person(SURNAMES.draw(rng), GIVEN.draw(rng), middle)


def new_work(rng: random.Random, truth: int, kind: str, has_doi: bool) -> Work:
    """A fresh work."""
    year = random_year(rng)
    people = tuple(
        random_person(rng) for _ in range(rng.choices(_CREATOR_COUNTS, weights=_CREATOR_WEIGHTS)[0])
    )
    return Work(
        truth=truth,
        kind=kind,
        title=random_title(rng),
        people=people,
        year=year,
        doi=random_doi(rng, year) if has_doi else None,
        description=random_description(rng),
        subjects=tuple(sorted({SUBJECT.draw(rng) for _ in range(rng.randint(2, 5))})),
        kind_of_text=rng.choices(TYPES, cum_weights=_TYPE_WEIGHTS)[0],
    )


def _typo(rng: random.Random, title: str) -> str:
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return title
    i = rng.choice(long_words)
    word = words[i]
    at = rng.randrange(1, len(word) - 1)
    how = rng.randrange(4)
    if how == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif how == 1:
        word = word[:at] + word[at + 1 :]
    elif how == 2:
        word = word[:at] + rng.choice("aeiourstnl") + word[at + 1 :]
    else:
        word = word[:at] + word[at] + word[at:]
    words[i] = word
    return " ".join(words)


def title_variant(rng: random.Random, title: str, *, typos: bool = True) -> str:
    """The title as another repository wrote it: re-cased, re-punctuated, or one typo."""
    roll = rng.random()
    if roll < 0.2:
        return title
    if roll < 0.55:
        return rng.choice((str.lower, str.upper, str.title))(title)
    if roll < 0.8 or not typos:
        changed = title.replace(": ", rng.choice((" - ", " \u2014 ", ". ")))
        if changed == title:
            changed = title + rng.choice((".", " .", "!"))
        return f'"{changed}"' if rng.random() < 0.2 else changed
    return _typo(rng, title)


def duplicate_of(rng: random.Random, work: Work, kind: str) -> Work:
    """A re-deposit of the work: same truth, written differently."""
    if work.kind == "generic":
        # Generic titles merge only on everything: a faithful copy, re-cased at most.
        title = work.title.upper() if rng.random() < 0.3 else work.title
        return replace(work, kind=kind, title=title, doi=work.doi if kind == "dup-doi" else None)
    people = list(work.people)
    roll = rng.random()
    if roll < 0.08 and len(people) > 1:
        people.pop()
    elif roll < 0.13 and len(people) > 1:
        i = rng.randrange(len(people) - 1)
        people[i], people[i + 1] = people[i + 1], people[i]
    elif roll < 0.16:
        people.append(random_person(rng))
    description = work.description
    roll = rng.random()
    if roll < 0.1:
        description = description.split(". ")[0] + "."
    elif roll < 0.15:
        description = ""
    return replace(
        work,
        kind=kind,
        title=title_variant(rng, work.title),
        people=tuple(people),
        year=work.year + (1 if rng.random() < 0.15 else 0),
        doi=work.doi if kind == "dup-doi" else None,
        description=description,
        subjects=tuple(s for s in work.subjects if rng.random() < 0.8) or work.subjects,
    )
