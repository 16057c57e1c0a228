"""The generated records of the dedupe benchmark and their ground truth.

generate(size, profile) yields `size` oai_dc records, the same for the same size and profile
every run, each with the work it belongs to (its truth), its kind (original, dup-doi,
dup-title, series, generic, version, bulk, or deleted for a tombstone) and, for a
re-deposit, the record it duplicates. Re-deposits come later than their original, in
another source; there are series, generic titles, Zenodo versions and records of big data
collections (the huge candidate groups). A Profile says how duplicate-rich the corpus is:
`light` (issue 4's, ~8% of the records re-deposits) or `aggregator` (issue 10's mirror:
~17% of the live records in works of two or more, 3% tombstones, ~1.4 KB a record). The
harvesting benchmark serves the same records.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from dedupe_vocabulary import (
    DATA_VERSION,
    GENERIC_TITLES,
    WORDS,
    random_description,
    random_doi,
    random_year,
)
from dedupe_works import (
    SOURCE_BY_NAME,
    SOURCES,
    Person,
    Source,
    Work,
    creator_values,
    duplicate_of,
    new_work,
    pick_source,
    random_person,
)

from oaiformat.datestamps import format_utc
from oaiformat.dublin_core import DCValue
from oaiformat.record import Record

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
_ROMAN = ("I", "II", "III", "IV", "V")


def _date(rng: random.Random, year: int, form: str) -> str:
    if form == "y":
        return str(year)
    if form == "ym":
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _own_identifier(source: Source, position: int, rng: random.Random) -> str | None:
    if source.own == "zenodo":
        return f"https://doi.org/10.5281/zenodo.{position + 100_000}"
    if source.own == "arxiv":
        block = position // 100_000
        return f"arXiv:{15 + block // 12:02d}{block % 12 + 1:02d}.{position % 100_000:05d}"
    if source.own == "handle" and rng.random() < 0.7:
        return f"http://hdl.handle.net/20.500.{11800 + SOURCES.index(source)}/{position}"
    return None


# dc:rights of the records that carry rights and format (by position: no random draw).
RIGHTS = (
    "Creative Commons Attribution 4.0 International",
    "Creative Commons Attribution-NonCommercial 4.0 International",
    "info:eu-repo/semantics/openAccess",
)


@dataclass(frozen=True)
class Profile:
    """How a generated corpus is made up."""

    name: str
    # Multiplies the chances that a work is re-deposited (DUP_CHANCE_*).
    redeposit_scale: float
    # Share of the records that are tombstones (drawn apart, so the rest stay the same).
    deleted: float
    # Whether records carry dc:rights and dc:format (~100 bytes: ~1.4 KB a record served).
    rights: bool
    about: str


PROFILES = {
    p.name: p
    for p in (
        Profile(
            "aggregator", 1.2, 0.03, True,
            "issue 10's aggregator mirror: ~17% of the live records in works of 2+"
            " (~88k works of 97k live records at 100k), 3% tombstones, ~1.4 KB a record",
        ),
        Profile(
            "light", 1.0, 0.0, False,
            "issue 4's corpus: ~8% of the records re-deposits, no tombstones, ~1.3 KB",
        ),
    )
}  # fmt: skip
DEFAULT_PROFILE = "aggregator"


def make_record(
    work: Work, source: Source, position: int, rng: random.Random, rights: bool = False
) -> Record:
    """The oai_dc record of a work (or a variant of one) as deposited in a source; with
    `rights`, with dc:rights and dc:format too."""
    title = work.title.title() if source.title_case and work.title[:1] != '"' else work.title
    identifiers = [f"https://{source.host}/records/{position}"]
    if work.doi:
        identifiers.append(source.doi_form + work.doi)
    own = _own_identifier(source, position, rng)
    if own:
        identifiers.append(own)
    metadata: dict[str, list[DCValue]] = {
        "title": [DCValue(title, source.title_lang)],
        "creator": [DCValue(v) for v in creator_values(work.people, source)],
        "subject": [DCValue(s) for s in work.subjects],
        "publisher": [DCValue(source.publisher)],
        "date": [DCValue(_date(rng, work.year, source.date))],
        "type": [DCValue(work.kind_of_text)],
        "identifier": [DCValue(i) for i in identifiers],
        "language": [DCValue("en")],
    }
    if work.description:
        metadata["description"] = [DCValue(work.description)]
    if rights:
        medium = "text/csv" if work.kind_of_text == "Dataset" else "application/pdf"
        metadata["format"] = [DCValue(medium)]
        metadata["rights"] = [DCValue(RIGHTS[position % len(RIGHTS)])]
    stamp = format_utc(BASE_TIME + timedelta(seconds=position))
    slug = work.kind_of_text.split()[-1].lower()
    return Record(
        source=source.name,
        identifier=f"oai:{source.host}:{position:08d}",
        datestamp=stamp,
        sets=(f"type:{slug}",),
        metadata=metadata,
    )


@dataclass(frozen=True)
class Generated:
    """A generated record and its ground truth."""

    record: Record
    truth: int
    kind: str
    has_doi: bool
    of: tuple[str, str] | None  # (source, identifier) of the record it duplicates


@dataclass(order=True)
class _Pending:
    due: int
    seq: int
    work: Work = field(compare=False)
    source: Source = field(compare=False)
    of: tuple[str, str] = field(compare=False)


# Shares of new works: series of 2-4 parts, generic titles, Zenodo version pairs.
SERIES_SHARE = 0.012
GENERIC_SHARE = 0.01
VERSION_SHARE = 0.003
DOI_SHARE = 0.38
# Records of big data collections: thousands of records with the same creators and titles
# that differ in numbers only ("Physical oceanography during POLARSTERN cruise PS122/1"),
# each with a DOI of the collection's registrant: the huge candidate groups.
BULK_SHARE = 0.04
BULK_REGISTRANT = "10.1594"
# (title, creators: 0 for a body) of each collection, the biggest first (weights 1/rank).
COLLECTIONS = (
    ("Physical oceanography during POLARSTERN cruise PS{a}/{b}", 2),
    ("Seawater carbonate chemistry and {w} {v} during experiments at station {a}", 3),
    ("Sentinel-2 L2A tile {tile} acquired {date}", 0),
    ("Meteorological observations at station {w} in {year}", 1),
    ("Soil moisture measurements at site {a}, {year}", 2),
)
_COLLECTION_WEIGHTS = list(itertools.accumulate(1 / rank for rank in range(1, 6)))
# Chance that a work gets re-deposited (then 1 + geometric more copies): a work with a DOI
# more often, so that about half of the duplicates carry the original's DOI and ~8% of the
# records are duplicates.
DUP_CHANCE_DOI = 0.118
DUP_CHANCE_NO_DOI = 0.047
DUP_CHANCE_BULK = 0.02
DUP_MORE = 0.15
# Of the duplicates of a work with a DOI, the share that carries it.
DUP_KEEPS_DOI = 0.8


def _collection_people(number: int, creators: int) -> tuple[Person, ...]:
    rng = random.Random(f"collection-{DATA_VERSION}-{number}")
    if creators == 0:
        return (Person("European Space Agency", ""),)
    return tuple(random_person(rng) for _ in range(creators))


_COLLECTION_PEOPLE = [_collection_people(i, c) for i, (_, c) in enumerate(COLLECTIONS)]


def bulk_work(rng: random.Random, truth: int) -> Work:
    """A record of one of the big data collections."""
    number = bisect.bisect(_COLLECTION_WEIGHTS, rng.random() * _COLLECTION_WEIGHTS[-1])
    number = min(number, len(COLLECTIONS) - 1)
    year = random_year(rng)
    letters = "CDEFGHJKLMNPQRSTUVWX"
    title = COLLECTIONS[number][0].format(
        a=rng.randint(1, 150),
        b=rng.randint(1, 6),
        w=WORDS.draw(rng),
        v=WORDS.draw(rng),
        tile=f"{rng.randint(10, 60)}{''.join(rng.choice(letters) for _ in range(3))}",
        date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        year=year,
    )
    return Work(
        truth=truth,
        kind="bulk",
        title=title,
        people=_COLLECTION_PEOPLE[number],
        year=year,
        doi=f"{BULK_REGISTRANT}/PANGAEA.{rng.getrandbits(40)}",
        description=random_description(rng),
        subjects=("Earth system research",),
        kind_of_text="Dataset",
    )


def _part_title(title: str, part: int, form: int) -> str:
    """The title of part `part` of a series, in one of four forms."""
    if form == 0:
        return f"{title}: Part {part}"
    if form == 1:
        return f"{title}, Part {_ROMAN[part - 1]}"
    if form == 2:
        return f"{title} (Part {part})"
    return title if part == 1 else f"{title} {_ROMAN[part - 1]}"


def _series(rng: random.Random, truths: Iterator[int], has_doi: bool) -> list[Work]:
    """The 2-4 parts of a series: one title, numbered; each part a work of its own."""
    base = new_work(rng, 0, "series", has_doi)
    parts = rng.randint(2, 4)
    form = rng.randrange(4)
    works = []
    for part in range(1, parts + 1):
        works.append(
            replace(
                base,
                truth=next(truths),
                title=_part_title(base.title, part, form),
                year=base.year + (part - 1) // 2,
                doi=random_doi(rng, base.year) if has_doi else None,
                description=random_description(rng),
            )
        )
    return works


def _generic(rng: random.Random, truths: Iterator[int], has_doi: bool) -> Work:
    """A work with a generic title ("Editorial") and at most two creators."""
    work = new_work(rng, next(truths), "generic", has_doi)
    return replace(work, title=rng.choice(GENERIC_TITLES), people=work.people[:2])


def _versions(rng: random.Random, truths: Iterator[int]) -> list[Work]:
    """Two Zenodo versions of a deposit: the same title and creators, one work (versions of
    one deposit are one work since issue 9). A truth number is still drawn for the second,
    so the records generated stay those of DATA_VERSION."""
    first = new_work(rng, next(truths), "version", False)
    next(truths)
    second = replace(first, year=first.year + rng.randrange(2))
    second = replace(second, description=random_description(rng))
    return [first, second]


def _new_works(rng: random.Random, truths: Iterator[int]) -> list[tuple[Work, Source]]:
    """The originals of one new work, or of a series or version pair (several works)."""
    source = pick_source(rng)
    has_doi = rng.random() < DOI_SHARE
    roll = rng.random()
    if roll < BULK_SHARE:
        return [(bulk_work(rng, next(truths)), SOURCE_BY_NAME["pangaea"])]
    roll = rng.random()
    if roll < SERIES_SHARE:
        return [(w, source) for w in _series(rng, truths, has_doi)]
    if roll < SERIES_SHARE + GENERIC_SHARE:
        return [(_generic(rng, truths, has_doi), source)]
    if roll < SERIES_SHARE + GENERIC_SHARE + VERSION_SHARE:
        zenodo = SOURCE_BY_NAME["zenodo"]
        return [(w, zenodo) for w in _versions(rng, truths)]
    return [(new_work(rng, next(truths), "original", has_doi), source)]


def _redeposits(
    rng: random.Random, work: Work, source: Source, position: int, spread: int, scale: float
) -> list[tuple[int, Work, Source]]:
    """The re-deposits of a work just written (often none): for each, the position it is
    due at (within `spread` after `position`), the variant and the source it goes to.
    `scale` multiplies the chance that there are any."""
    chance = DUP_CHANCE_DOI if work.doi else DUP_CHANCE_NO_DOI
    if work.kind == "bulk":
        chance = DUP_CHANCE_BULK
    if rng.random() >= chance * scale:
        return []
    # One copy per other source at most (pick_source never draws a weightless one).
    others = sum(1 for s in SOURCES if s.weight > 0 and s.name != source.name)
    copies = 1
    while rng.random() < DUP_MORE and copies < others:
        copies += 1
    used = [source.name]
    found = []
    for _ in range(copies):
        target = pick_source(rng, used)
        used.append(target.name)
        # A data collection's record is re-deposited with its DOI: without it, its title
        # and creators would match every record of the same station.
        keeps = work.doi is not None and (work.kind == "bulk" or rng.random() < DUP_KEEPS_DOI)
        dup = duplicate_of(rng, work, "dup-doi" if keeps else "dup-title")
        found.append((position + rng.randint(1, spread), dup, target))
    return found


def _tombstone(item: Generated) -> Generated:
    """The record deleted at its source: a header only (its re-deposits elsewhere live on)."""
    record = item.record
    gone = Record(
        record.source, record.identifier, record.datestamp, deleted=True, sets=record.sets
    )
    return replace(item, record=gone, kind="deleted")


def generate(size: int, profile: Profile) -> Iterator[Generated]:
    """`size` records and their ground truth; the same for the same size and profile, every
    run (`light` gives the records DATA_VERSION gave before there were profiles)."""
    seed = f"dedupe-{DATA_VERSION}-{size}"
    rng = random.Random(seed if profile.name == "light" else f"{seed}-{profile.name}")
    # Tombstones are drawn from a generator of their own: the records stay the same.
    deletions = random.Random(f"deleted-{seed}")
    truths = itertools.count(1)
    pending: list[_Pending] = []
    seq = itertools.count()
    position = 0
    # Re-deposits arrive later than their original: within a tenth of the list.
    spread = max(50, size // 10)

    def emitted(item: Generated) -> Generated:
        if profile.deleted and deletions.random() < profile.deleted:
            return _tombstone(item)
        return item

    while position < size:
        if pending and (pending[0].due <= position or position + len(pending) >= size):
            item = heapq.heappop(pending)
            record = make_record(item.work, item.source, position, rng, profile.rights)
            work = item.work
            yield emitted(Generated(record, work.truth, work.kind, bool(work.doi), item.of))
            position += 1
            continue
        for work, source in _new_works(rng, truths):
            if position >= size:
                break
            record = make_record(work, source, position, rng, profile.rights)
            yield emitted(Generated(record, work.truth, work.kind, bool(work.doi), None))
            position += 1
            of = (record.source, record.identifier)
            redeposits = _redeposits(rng, work, source, position, spread, profile.redeposit_scale)
            for due, dup, target in redeposits:
                heapq.heappush(pending, _Pending(due, next(seq), dup, target, of))
