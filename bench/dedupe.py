"""Works/dedupe benchmark: full recompute, incremental refresh, their agreement and merge quality.

For each size N it generates N synthetic oai_dc records with realistic author and title
distributions (cached under bench/results/dedupe/ with their ground truth, so reruns skip
the generation), copies the cached store to a working file and measures, each in a fresh
subprocess (so peak RSS, VmHWM from /proc/self/status, is the measured operation's own;
the largest worker process it starts, if any, is reported apart, with the CPU time of all):

* first: the first refresh after the load (store.works.refresh, full=True, on a store whose
  works were never computed: search rows and same-work links of every record too);
  informative;
* full: a full recompute on the up-to-date store (what `oai works --recompute` does);
  wall time, records/s, peak RSS, and the WorksReport figures;
* incremental: after --change (default 1%) of the live records were changed in this process
  (not timed: titles and creators edited, records replaced by other works, tombstones, new
  duplicates in other sources), refresh() without full: seconds, seconds per 1k changed
  records, peak RSS;
* verify: the working store after the incremental refresh is copied and fully recomputed;
  both stores' work memberships (record_id, work_id) must be identical: MATCH or MISMATCH
  (skipped above 100k records unless --verify, as it costs another full run); works rows,
  evidence, matches and authors are compared too, as detail;
* quality: pairwise precision and recall of the works against the generator's ground truth
  (which records are the same work), after the full recompute and after the incremental
  refresh, with the share of duplicates joined to their original by kind.

The data: ~2,000 surnames drawn with weights 1/rank^1.1 (the top creator keys carry tens of
thousands of records at 1M: "wang j" ~80k), given names written in each
source's house style ("Smith, J. A.", "Smith, John", "John A. Smith", "Smith JA", "SMITH, J.",
or packed into one value), 1-6 creators, titles of 4-15 words from a Zipf-weighted
vocabulary and common templates ("A study of ...", "The role of ... in ..."), dates, a
~300-character description, subjects, publisher, type, a landing URL, a DOI for ~40% of the
works and each source's own identifiers (Zenodo DOIs, arXiv ids, handles). About 8% of the
records are duplicates of another record, re-deposited in another source (title re-cased,
re-punctuated or with one typo, authors written in that source's style, sometimes one
dropped, the year sometimes one later, the same DOI for half of them); there are series
("Part 1", "Part II"), generic titles ("Editorial") and Zenodo versions, each a work of its
own. Candidate keys pair a creator with title words, so surnames alone make no huge group:
4% of the records come from five data collections (PANGAEA-like: "Physical oceanography
during POLARSTERN cruise PS122/1", the same creators, titles differing in numbers, DOIs of
one registrant), the largest ~16k records under one key at 1M. Targets (from the issue):

* full recompute of 1M records in under 2 minutes on this 2-core machine (for smaller N the
  scaled figure is informative only);
* incremental refresh <= 1 s per 1k changed records;
* peak memory bounded (streamed by block, never all pairs in memory): what the refresh adds
  to its process's RSS (peak less the RSS before it began) grows far less than the data,
  judged as at most sqrt(N ratio) times from the smallest N to the largest; bytes per extra
  record are printed too.

    python bench/dedupe.py                                 # 10k and 100k, a few minutes
    python bench/dedupe.py --sizes 1000000 --verify        # 1M: ~3 min to generate, once
    python bench/dedupe.py --sizes 100000 --profile        # + cProfile of both refreshes

Stores are cached by size, DATA_VERSION and a digest of store/schema.py (`--fresh` generates
them again); generating 1M records takes ~3 minutes and ~5 GB. Each run copies the cached
store to a working file (removed at the end unless --keep). `--child MODE DB` is the
subprocess entry (not for direct use).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import hashlib
import heapq
import itertools
import json
import math
import os
import pstats
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bench_common
from bench_common import REPOSITORY_IDENTIFIER, ROOT, verdict

from store.authors import fold, parse_creators
from store.datestamps import format_utc
from store.db import open_store
from store.dublin_core import DCValue, from_json
from store.records import Record, SourceInfo, ensure_source
from store.writes import save_records

SCRIPT = str(Path(__file__).resolve())
DEFAULT_CACHE = ROOT / "bench" / "results" / "dedupe"
# Bump when the generated records change, so cached stores are rebuilt.
DATA_VERSION = 3
LOAD_BATCH = 5000
CHILD_TIMEOUT_S = 7200.0
# Verified by default up to this size; above it only with --verify (another full run).
VERIFY_MAX = 100_000
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)
# The `now` of each measured operation (fixed, so runs are comparable).
NOW = {
    "first": "2024-07-01T00:00:00Z",
    "full": "2024-07-02T00:00:00Z",
    "change": "2024-07-03T00:00:00Z",
    "incremental": "2024-07-03T00:00:01Z",
}

TARGET_FULL_S = 120.0
TARGET_FULL_AT = 1_000_000
TARGET_INCREMENTAL_S_PER_1K = 1.0
REPEAT_HELP = "full recomputes per size; the median time (and the highest peak RSS) is reported"

# --------------------------------------------------------------------------------------
# Vocabulary

# The most frequent surnames in scholarly metadata first; the rest are made up (below).
_COMMON_SURNAMES = (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo Kim "
    "Lee Park Nguyen Tran Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez "
    "Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Rossi Russo "
    "Ferrari Esposito Bianchi Romano Colombo Silva Santos Oliveira Souza Pereira Costa "
    "Ferreira Almeida Kumar Singh Sharma Patel Gupta Das Reddy Khan Ahmed Ali Hassan Ibrahim "
    "Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Sato Dubois Moreau "
    "Laurent Lefebvre Bernard Petit Durand Leroy Ivanov Petrov Smirnov Popov Novak Kowalski "
    "Nowak Wiśniewski Horvath Nagy Papadopoulos Jansen Bakker Visser Andersson Johansson "
    "Karlsson Nilsson Eriksson Larsen Hansen Nielsen Jensen O'Brien Murphy Kelly Walsh "
    "García-López Fernández Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Cruz Morales "
    "Ortiz Gutiérrez Chávez Ramos Ruiz Álvarez Mendoza Castillo Jiménez Moreno Romero Herrera "
    "Medina Aguilar Vargas Castro Rojas Okafor Okonkwo Adeyemi Mensah Haddad Yilmaz Kaya Demir "
    "Şahin Çelik"
).split()
# Surnames with particles, written with spaces (split() above would break them).
_PARTICLE_SURNAMES = ("van den Berg", "de Vries", "van Dijk", "de la Cruz", "von Essen", "da Costa")
_ONSETS = "b br c ch d dr f g gr h j k kr l m n p pr r s sch sh st t tr v w z".split()
_VOWELS = "a e i o u ai ei ou ia y".split()
_CODAS = ["", "", "n", "r", "l", "s", "k", "m", "nd", "rt", "st"]
_ENDINGS = (
    "son sen mann berg strom ez ini escu ov ova ski ic ian oglu wala ura ing ley ton field "
    "er el a o i is us as"
).split()
SURNAME_COUNT = 2000
SURNAME_EXPONENT = 1.1

_GIVEN_TEXT = (
    "Wei Jing Min Hui Xin Yan Jun Hong Lei Ming Yu Hao Jie Ying Tao Feng Bo Chao James John "
    "Robert Michael David William Richard Joseph Thomas Charles Mary Patricia Jennifer Linda "
    "Elizabeth Barbara Susan Jessica Sarah Karen Hyun Seung Young Minh Anh Hung Raj Amit Priya "
    "Anita Sunil Ravi Deepak Arjun Hiroshi Takashi Yuki Kenji Akira Maria Ana Juan Carlos José "
    "Luis Miguel Javier Sofia Lucia Hans Peter Klaus Jürgen Anna Katrin Stefan Andreas Marco "
    "Giuseppe Luca Francesca Giulia Pierre Jean Marie Sophie Claire Nicolas Ivan Olga Dmitri "
    "Natalia Piotr Katarzyna Lars Erik Anders Ingrid Astrid Sean Siobhan Aoife Fatima Omar "
    "Aisha Mohamed Chinedu Ngozi Kwame Ama Mehmet Ayşe Emre Zeynep Elena Daniel Laura Paul "
    "Mark Emma Julia Alexander Andrea Vicki Fiona Ian Oliver Grace Henry Nora Victor Iris"
)
GIVEN_NAMES = tuple(_GIVEN_TEXT.split())

# Title words, most frequent first (drawn with weights 1/rank).
_TITLE_TEXT = (
    "data learning model analysis network health climate social system deep neural "
    "approach evidence policy study framework energy water quality design management "
    "performance development cancer patients machine education risk digital public "
    "protein cell gene urban carbon soil ocean sensor image language research students "
    "children care impact assessment detection prediction optimisation control dynamics "
    "structure process theory measurement signal temperature emissions market economic "
    "financial regional global local temporal spatial statistical bayesian graph semantic "
    "ontology interoperability preservation library heritage museum collection teacher "
    "curriculum innovation sustainable renewable solar wind battery hydrogen materials "
    "polymer nanoparticles catalyst synthesis spectroscopy microscopy imaging mri "
    "diagnosis treatment therapy clinical trial cohort outcomes mortality infection "
    "vaccine immune response inflammation diabetes obesity cardiovascular stroke "
    "depression anxiety mental wellbeing ageing dementia pregnancy maternal infant "
    "nutrition diet food security agriculture crop yield drought flood rainfall river "
    "groundwater wetland forest biodiversity species habitat conservation migration "
    "population genetic genomic sequencing transcriptome expression regulation pathway "
    "mechanism stress tolerance resistance antibiotic bacterial viral microbial community "
    "governance democracy election media news misinformation trust participation gender "
    "inequality poverty labour employment wages housing transport mobility traffic safety "
    "accident infrastructure construction concrete steel bridge seismic structural "
    "robotic autonomous vehicle navigation localisation mapping vision recognition "
    "segmentation classification clustering regression inference estimation uncertainty "
    "simulation modelling numerical finite element algorithm distributed parallel cloud "
    "edge computing security privacy blockchain cryptography authentication attack "
    "anomaly fault diagnosis maintenance reliability software testing verification "
    "requirements engineering agile project knowledge organisational leadership "
    "entrepreneurship firm innovation supply chain logistics retail consumer behaviour "
    "tourism hospitality sport physical activity exercise rehabilitation pain surgery "
    "hospital nursing primary workforce training simulation virtual reality augmented "
    "interaction interface usability accessibility disability inclusion identity "
    "discourse narrative archive manuscript medieval colonial history memory landscape "
    "architecture heritage music performance theatre film literature poetry translation "
    "linguistic corpus speech dialect multilingual reading writing literacy mathematics "
    "physics quantum optical laser photonic magnetic superconducting thin films "
    "graphene semiconductor devices circuits wireless 5g antenna radar satellite remote "
    "sensing lidar gis covid-19 pandemic lockdown 3d printing co2 capture"
)
TITLE_WORDS = tuple(_TITLE_TEXT.split())
_ADJECTIVE_TEXT = (
    "novel new robust efficient integrated comparative systematic empirical multi-scale "
    "adaptive scalable hybrid sustainable longitudinal experimental computational "
    "qualitative quantitative participatory rapid low-cost real-time open"
)
ADJECTIVES = tuple(_ADJECTIVE_TEXT.split())
# (weight, template): each {} is a noun phrase of 1-3 words.
TEMPLATES = (
    (16, "{} {}"),
    (14, "{} of {}"),
    (10, "{} {} of {}"),
    (12, "{} for {}"),
    (8, "{} in {}: {}"),
    (6, "A study of {} in {}"),
    (6, "The role of {} in {}"),
    (5, "The effect of {} on {}"),
    (4, "Towards {} for {}"),
    (4, "On the {} of {}"),
    (4, "{} and {}: evidence from {}"),
    (3, "Understanding {}"),
    (4, "{}: a {} approach"),
    (4, "Analysis of {} using {}"),
    (3, "{} with {} and {}"),
    (3, "Exploring {} through {}"),
)
GENERIC_TITLES = (
    "Introduction",
    "Editorial",
    "Preface",
    "Book review",
    "Erratum",
    "Foreword",
    "Commentary",
    "Reply",
    "Corrigendum",
    "Letter to the editor",
    "Conclusion",
    "Obituary",
)
_SUBJECT_TEXT = (
    "Computer science|Medicine|Public health|Environmental science|Economics|Sociology|"
    "Education|Engineering|Physics|Chemistry|Biology|Ecology|Psychology|History|Linguistics|"
    "Political science|Geography|Mathematics|Statistics|Materials science|Agriculture|"
    "Oncology|Neuroscience|Genetics|Climate change|Machine learning|Artificial intelligence|"
    "Digital humanities|Library science|Law|Philosophy|Nursing|Architecture|Music|Tourism|"
    "Management|Finance|Energy|Hydrology|Oceanography|Remote sensing|Robotics|Cybersecurity"
)
SUBJECTS = tuple(_SUBJECT_TEXT.split("|"))
_OPENERS = (
    "We study",
    "This paper presents",
    "We propose",
    "This article examines",
    "We report",
    "In this work we analyse",
    "This dataset contains",
    "We investigate",
    "The thesis describes",
    "We review",
)
_PREPOSITIONS = ("for", "in", "of", "across", "using", "under", "within", "through")
_ROMAN = ("I", "II", "III", "IV", "V")


def _made_up_surnames(count: int, taken: set[str]) -> list[str]:
    rng = random.Random(f"surnames-{DATA_VERSION}")
    names: list[str] = []
    while len(names) < count:
        stem = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        if rng.random() < 0.5:
            stem += rng.choice(_ONSETS) + rng.choice(_VOWELS)
        name = (stem + rng.choice(_ENDINGS)).capitalize()
        key = fold(name)
        if key not in taken and len(name) >= 3:
            taken.add(key)
            names.append(name)
    return names


def _surnames() -> tuple[str, ...]:
    common = [*_COMMON_SURNAMES]
    # The particle names in the upper-middle ranks.
    for offset, name in enumerate(_PARTICLE_SURNAMES):
        common.insert(60 + 17 * offset, name)
    taken = {fold(n) for n in common}
    return (*common, *_made_up_surnames(SURNAME_COUNT - len(common), taken))


class Zipf:
    """Draws from items with weights 1/rank^exponent (the first item is rank 1)."""

    def __init__(self, items: Sequence[str], exponent: float) -> None:
        self.items = tuple(items)
        self.cumulative = list(
            itertools.accumulate(1 / float(rank) ** exponent for rank in range(1, len(items) + 1))
        )

    def draw(self, rng: random.Random) -> str:
        """One item."""
        index = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


SURNAMES = Zipf(_surnames(), SURNAME_EXPONENT)
GIVEN = Zipf(GIVEN_NAMES, 0.7)
WORDS = Zipf(TITLE_WORDS, 0.7)
ADJECTIVE = Zipf(ADJECTIVES, 1.0)
SUBJECT = Zipf(SUBJECTS, 0.8)
_TEMPLATE_WEIGHTS = list(itertools.accumulate(w for w, _ in TEMPLATES))
_CREATOR_COUNTS = (1, 2, 3, 4, 5, 6)
_CREATOR_WEIGHTS = (15, 22, 22, 17, 13, 11)
# (registrant, weight): a few big publishers and a long tail.
_REGISTRANTS = Zipf([f"10.{1000 + (k * 379) % 8999}" for k in range(80)], 1.0)


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


def _noun_phrase(rng: random.Random) -> str:
    count = rng.choice((1, 2, 2, 2, 3, 3))
    words: list[str] = []
    while len(words) < count:
        word = WORDS.draw(rng)
        if word not in words:
            words.append(word)
    if rng.random() < 0.3:
        words.insert(0, ADJECTIVE.draw(rng))
    return " ".join(words)


def random_title(rng: random.Random) -> str:
    """A title of 4-15 words from a template and Zipf-weighted words."""
    while True:
        template = TEMPLATES[
            bisect.bisect(_TEMPLATE_WEIGHTS, rng.random() * _TEMPLATE_WEIGHTS[-1])
        ][1]
        title = template.format(*(_noun_phrase(rng) for _ in range(template.count("{}"))))
        if 4 <= len(title.split()) <= 15:
            return title[0].upper() + title[1:]


def random_description(rng: random.Random) -> str:
    """About 300 characters of sentences."""
    text = ""
    while len(text) < 280:
        sentence = f"{rng.choice(_OPENERS)} {_noun_phrase(rng)} {rng.choice(_PREPOSITIONS)}"
        sentence += f" {_noun_phrase(rng)}"
        if rng.random() < 0.5:
            sentence += f", with {_noun_phrase(rng)} and {_noun_phrase(rng)}"
        text += sentence + ". "
    text = text.strip()
    if len(text) > 340:
        text = text[: text.rfind(" ", 0, 330)].rstrip(",.") + "."
    return text


def random_year(rng: random.Random) -> int:
    """A year from 1990 to 2024, recent years more often."""
    return min(2024, 1990 + int(35 * rng.random() ** 0.6))


def random_doi(rng: random.Random, year: int) -> str:
    """A fresh bare DOI (48 random bits in it: unique in practice)."""
    return f"{_REGISTRANTS.draw(rng)}/j.{rng.choice('abcdefgh')}.{year}.{rng.getrandbits(48):012x}"


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


def make_record(work: Work, source: Source, position: int, rng: random.Random) -> Record:
    """The oai_dc record of a work (or a variant of one) as deposited in a source."""
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


def _new_works(rng: random.Random, truths: Iterator[int]) -> list[tuple[Work, Source]]:
    """The originals of one new work, or of a series or version pair (several works)."""
    source = pick_source(rng)
    has_doi = rng.random() < DOI_SHARE
    roll = rng.random()
    if roll < BULK_SHARE:
        return [(bulk_work(rng, next(truths)), SOURCE_BY_NAME["pangaea"])]
    roll = rng.random()
    if roll < SERIES_SHARE:
        base = new_work(rng, 0, "series", has_doi)
        parts = rng.randint(2, 4)
        form = rng.randrange(4)
        works = []
        for part in range(1, parts + 1):
            if form == 0:
                title = f"{base.title}: Part {part}"
            elif form == 1:
                title = f"{base.title}, Part {_ROMAN[part - 1]}"
            elif form == 2:
                title = f"{base.title} (Part {part})"
            else:
                title = base.title if part == 1 else f"{base.title} {_ROMAN[part - 1]}"
            works.append(
                replace(
                    base,
                    truth=next(truths),
                    title=title,
                    year=base.year + (part - 1) // 2,
                    doi=random_doi(rng, base.year) if has_doi else None,
                    description=random_description(rng),
                )
            )
        return [(w, source) for w in works]
    if roll < SERIES_SHARE + GENERIC_SHARE:
        work = new_work(rng, next(truths), "generic", has_doi)
        work = replace(work, title=rng.choice(GENERIC_TITLES), people=work.people[:2])
        return [(work, source)]
    if roll < SERIES_SHARE + GENERIC_SHARE + VERSION_SHARE:
        zenodo = SOURCE_BY_NAME["zenodo"]
        first = new_work(rng, next(truths), "version", False)
        second = replace(first, truth=next(truths), year=first.year + rng.randrange(2))
        second = replace(second, description=random_description(rng))
        return [(first, zenodo), (second, zenodo)]
    return [(new_work(rng, next(truths), "original", has_doi), source)]


def generate(size: int) -> Iterator[Generated]:
    """`size` records and their ground truth; the same for the same size, every run."""
    rng = random.Random(f"dedupe-{DATA_VERSION}-{size}")
    truths = itertools.count(1)
    pending: list[_Pending] = []
    seq = itertools.count()
    position = 0
    # Re-deposits arrive later than their original: within a tenth of the list.
    spread = max(50, size // 10)
    while position < size:
        if pending and (pending[0].due <= position or position + len(pending) >= size):
            item = heapq.heappop(pending)
            record = make_record(item.work, item.source, position, rng)
            yield Generated(record, item.work.truth, item.work.kind, bool(item.work.doi), item.of)
            position += 1
            continue
        for work, source in _new_works(rng, truths):
            if position >= size:
                break
            record = make_record(work, source, position, rng)
            yield Generated(record, work.truth, work.kind, bool(work.doi), None)
            position += 1
            chance = DUP_CHANCE_DOI if work.doi else DUP_CHANCE_NO_DOI
            if work.kind == "bulk":
                chance = DUP_CHANCE_BULK
            if rng.random() >= chance:
                continue
            # One copy per other source at most (pick_source never draws a weightless one).
            others = sum(1 for s in SOURCES if s.weight > 0 and s.name != source.name)
            copies = 1
            while rng.random() < DUP_MORE and copies < others:
                copies += 1
            used = [source.name]
            for _ in range(copies):
                target = pick_source(rng, used)
                used.append(target.name)
                # A data collection's record is re-deposited with its DOI: without it, its
                # title and creators would match every record of the same station.
                keeps = work.doi is not None and (
                    work.kind == "bulk" or rng.random() < DUP_KEEPS_DOI
                )
                dup = duplicate_of(rng, work, "dup-doi" if keeps else "dup-title")
                due = position + rng.randint(1, spread)
                of = (record.source, record.identifier)
                heapq.heappush(pending, _Pending(due, next(seq), dup, target, of))


# --------------------------------------------------------------------------------------
# The cached store and its ground truth

_TRUTH_DDL = """
CREATE TABLE truth (
    source TEXT NOT NULL,
    identifier TEXT NOT NULL,
    work INTEGER NOT NULL,
    kind TEXT NOT NULL,
    doi INTEGER NOT NULL,
    of_source TEXT,
    of_identifier TEXT,
    PRIMARY KEY (source, identifier)
) WITHOUT ROWID
"""


def schema_digest() -> str:
    """A digest of store/schema.py: a cached store holds the tables its migrations made, so
    a change there (even to a migration in place) generates the store again."""
    return hashlib.sha256((ROOT / "store" / "schema.py").read_bytes()).hexdigest()[:10]


def store_code_digest() -> str:
    """A digest of the store package's code: which version was measured."""
    digest = hashlib.sha256()
    for source in sorted((ROOT / "store").glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:12]


def cache_paths(cache_dir: Path, size: int) -> tuple[Path, Path]:
    """Where the store of `size` records and its ground truth are cached."""
    stem = f"dedupe-{size}-v{DATA_VERSION}-{schema_digest()}"
    return cache_dir / f"{stem}.db", cache_dir / f"{stem}.truth.db"


def _remove_db(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def build_store(path: Path, truth_path: Path, size: int) -> float:
    """Generate `size` records into a fresh store and their truth into a side file; return
    the seconds taken. Built under temporary names, renamed when complete."""
    building = path.with_name(path.name + ".building")
    truth_building = truth_path.with_name(truth_path.name + ".building")
    _remove_db(building)
    _remove_db(truth_building)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    store = open_store(building)
    truth = sqlite3.connect(truth_building, isolation_level=None)
    try:
        truth.execute(_TRUTH_DDL)
        with store.write() as conn:
            for source in SOURCES:
                info = SourceInfo(
                    source.name,
                    base_url=f"https://{source.host}/oai",
                    repository_name=source.publisher,
                )
                ensure_source(conn, info, format_utc(BASE_TIME))
        step = max(size // 10, LOAD_BATCH)
        batch: list[Generated] = []
        done = 0
        for item in itertools.chain(generate(size), [None]):
            if item is not None:
                batch.append(item)
                if len(batch) < LOAD_BATCH:
                    continue
            if not batch:
                break
            now = format_utc(BASE_TIME + timedelta(days=200, seconds=done))
            with store.write() as conn:
                save_records(
                    conn,
                    (g.record for g in batch),
                    repository_identifier=REPOSITORY_IDENTIFIER,
                    now=now,
                )
            truth.execute("BEGIN")
            truth.executemany(
                "INSERT INTO truth VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        g.record.source,
                        g.record.identifier,
                        g.truth,
                        g.kind,
                        int(g.has_doi),
                        *(g.of or (None, None)),
                    )
                    for g in batch
                ],
            )
            truth.execute("COMMIT")
            done += len(batch)
            batch = []
            bench_common.print_progress("generated", done, size, started, step, LOAD_BATCH)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
        truth.close()
    os.replace(truth_building, truth_path)
    os.replace(building, path)
    return time.perf_counter() - started


def ensure_cached(cache_dir: Path, size: int, fresh: bool) -> tuple[Path, Path, float | None]:
    """The cached store and truth of `size` records, generated first if needed; the third
    value is the generation time, None when the cache was used."""
    path, truth_path = cache_paths(cache_dir, size)
    if path.exists() and truth_path.exists() and not fresh:
        return path, truth_path, None
    for stale in cache_dir.glob(f"dedupe-{size}-*"):
        stale.unlink()
    print(f"generating {size:,} records into {path}", file=sys.stderr, flush=True)
    return path, truth_path, build_store(path, truth_path, size)


def copy_db(source: Path, target: Path) -> None:
    """Copy a store file (and its WAL, if any) over `target`."""
    _remove_db(target)
    shutil.copyfile(source, target)
    wal = Path(f"{source}-wal")
    if wal.exists() and wal.stat().st_size:
        shutil.copyfile(wal, Path(f"{target}-wal"))


# --------------------------------------------------------------------------------------
# The change between the full recompute and the incremental refresh


@dataclass
class Change:
    """What apply_change() did."""

    edited: int = 0
    retitled: int = 0
    deleted: int = 0
    added: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Records changed."""
        return self.edited + self.retitled + self.deleted + self.added


def _restyled(values: list[str], source: Source, rng: random.Random) -> list[str]:
    people = []
    for name in parse_creators(values):
        parts = name.given.replace(".", " ").split()
        if not parts or name.corporate:
            people.append(Person(name.family, name.family[:1]))
            continue
        first = parts[0]
        given = first if len(first) > 1 and not first.isupper() else first[0]
        middle = parts[1][0].upper() if len(parts) > 1 else ""
        if len(first) > 1 and first.isupper() and len(first) <= 3:
            middle = first[1]  # "JA": initials run together
        people.append(Person(name.family, given, middle))
    if not people:
        return values
    if rng.random() < 0.3:
        people.append(random_person(rng))
    return creator_values(people, source)


def _texts(metadata: dict[str, list[DCValue]], element: str) -> list[str]:
    return [v.value for v in metadata.get(element, [])]


def apply_change(db: Path, truth_db: Path, share: float) -> Change:
    """Change `share` of the live records (in the parent process, not timed) and keep the
    truth in step: half edited (title variant, or creators re-written and one added: the
    same work), a fifth replaced by another work, a tenth tombstoned, and a fifth as many
    new records added, duplicates of live records in another source."""
    started = time.perf_counter()
    rng = random.Random(f"change-{DATA_VERSION}-{share}")
    change = Change()
    store = open_store(db)
    truth = sqlite3.connect(truth_db, isolation_level=None)
    try:
        live = store.conn.execute(
            "SELECT id, source, identifier FROM records WHERE deleted = 0 ORDER BY id"
        ).fetchall()
        total = max(5, round(share * len(live)))
        added = round(total * 0.2)
        deleted = round(total * 0.1)
        retitled = round(total * 0.2)
        edited = total - added - deleted - retitled
        picked = [live[i] for i in rng.sample(range(len(live)), total)]
        edit_rows = picked[:edited]
        retitle_rows = picked[edited : edited + retitled]
        delete_rows = picked[edited + retitled : edited + retitled + deleted]
        template_rows = picked[edited + retitled + deleted :]
        next_truth = int(truth.execute("SELECT max(work) FROM truth").fetchone()[0]) + 1
        records: list[Record] = []
        truth_rows: list[tuple[Any, ...]] = []
        gone: list[tuple[str, str]] = []

        def metadata_of(record_id: int) -> tuple[dict[str, list[DCValue]], tuple[str, ...]]:
            row = store.conn.execute(
                "SELECT metadata, sets FROM records WHERE id = ?", [record_id]
            ).fetchone()
            return from_json(json.loads(row[0])), tuple(json.loads(row[1]))

        for record_id, source, identifier in edit_rows:
            metadata, sets = metadata_of(record_id)
            if rng.random() < 0.5:
                title = metadata["title"][0]
                metadata["title"] = [DCValue(title_variant(rng, title.value), title.lang)]
            else:
                style = pick_source(rng, [source])
                written = _restyled(_texts(metadata, "creator"), style, rng)
                metadata["creator"] = [DCValue(v) for v in written]
            records.append(Record(source, identifier, NOW["change"], sets=sets, metadata=metadata))
            change.edited += 1
        for record_id, source, identifier in retitle_rows:
            metadata, sets = metadata_of(record_id)
            work = new_work(rng, next_truth, "retitled", False)
            metadata.update(
                title=[DCValue(work.title)],
                creator=[DCValue(v) for v in creator_values(work.people, SOURCE_BY_NAME[source])],
                description=[DCValue(work.description)],
                identifier=[v for v in metadata["identifier"] if v.value.startswith("https://")
                            and "/records/" in v.value],
            )  # fmt: skip
            records.append(Record(source, identifier, NOW["change"], sets=sets, metadata=metadata))
            truth.execute(
                "UPDATE truth SET work = ?, kind = 'retitled', doi = 0, of_source = NULL,"
                " of_identifier = NULL WHERE source = ? AND identifier = ?",
                [next_truth, source, identifier],
            )
            next_truth += 1
            change.retitled += 1
        for _, source, identifier in delete_rows:
            records.append(Record(source, identifier, NOW["change"], deleted=True))
            gone.append((source, identifier))
            change.deleted += 1
        for serial, (record_id, source, identifier) in enumerate(template_rows):
            metadata, sets = metadata_of(record_id)
            target = pick_source(rng, [source])
            title = metadata["title"][0]
            metadata["title"] = [DCValue(title_variant(rng, title.value), target.title_lang)]
            restyled = _restyled(_texts(metadata, "creator"), target, rng)
            metadata["creator"] = [DCValue(v) for v in restyled]
            # A data collection's record keeps its DOI (as in generate()).
            keep_doi = source == "pangaea" or rng.random() < 0.5
            new_identifier = f"oai:{target.host}:change-{serial:07d}"
            kept = [v for v in metadata["identifier"] if keep_doi and "10." in v.value]
            metadata["identifier"] = [
                DCValue(f"https://{target.host}/records/change-{serial}"),
                *kept,
            ]
            metadata["publisher"] = [DCValue(target.publisher)]
            records.append(Record(target.name, new_identifier, NOW["change"], sets=sets,
                                  metadata=metadata))  # fmt: skip
            (work, has_doi) = truth.execute(
                "SELECT work, doi FROM truth WHERE source = ? AND identifier = ?",
                [source, identifier],
            ).fetchone()
            truth_rows.append(
                (target.name, new_identifier, work, "change-dup", int(bool(kept) and has_doi),
                 source, identifier)
            )  # fmt: skip
            change.added += 1
        for start in range(0, len(records), LOAD_BATCH):
            with store.write() as conn:
                save_records(
                    conn,
                    records[start : start + LOAD_BATCH],
                    repository_identifier=REPOSITORY_IDENTIFIER,
                    now=NOW["change"],
                )
        truth.execute("BEGIN")
        truth.executemany("INSERT INTO truth VALUES (?, ?, ?, ?, ?, ?, ?)", truth_rows)
        truth.executemany("DELETE FROM truth WHERE source = ? AND identifier = ?", gone)
        truth.execute("COMMIT")
    finally:
        store.close()
        truth.close()
    change.seconds = time.perf_counter() - started
    return change


# --------------------------------------------------------------------------------------
# The measured operations (the subprocess side of --child)


def _proc_status() -> dict[str, int]:
    """VmHWM and VmRSS of this process, in KiB."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def child(mode: str, db: str, profile: str | None) -> None:
    """Open the store and time one refresh (full for first/full, incremental otherwise);
    print what it did, its seconds and this process's memory as one JSON line."""
    from store.works import refresh

    store = open_store(db)
    before = _proc_status()
    profiler = cProfile.Profile() if profile else None
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with store.write() as conn:
        report = refresh(
            conn,
            repository_identifier=REPOSITORY_IDENTIFIER,
            now=NOW[mode],
            full=mode != "incremental",
        )
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    after = _proc_status()
    # The largest worker process the refresh ran (0 when none): KiB on Linux.
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    store.close()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "hwm_kib": after["VmHWM"],
                "rss_before_kib": before["VmRSS"],
                "hwm_before_kib": before["VmHWM"],
                "worker_kib": workers,
                "cpu_seconds": cpu,
                "records": report.records,
                "groups": report.groups,
                "matches": report.matches,
                "works": report.works,
                "relinked": report.relinked,
                "full": report.full,
            }
        )
    )


@dataclass
class Run:
    """One measured refresh, as its subprocess reported it."""

    seconds: float
    hwm_kib: int
    rss_before_kib: int
    hwm_before_kib: int
    worker_kib: int
    cpu_seconds: float
    records: int
    groups: int
    matches: int
    works: int
    relinked: int
    full: bool

    @property
    def mib(self) -> float:
        """Peak RSS in MiB."""
        return self.hwm_kib / 1024

    @property
    def worker_mib(self) -> float:
        """Peak RSS of the largest worker process in MiB (0 when none ran)."""
        return self.worker_kib / 1024


def run_child(mode: str, db: Path, profile: Path | None = None) -> Run:
    """Run one refresh in a fresh subprocess."""
    command = [sys.executable, SCRIPT, "--child", mode, str(db)]
    if profile is not None:
        command += ["--child-profile", str(profile)]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).splitlines()[-30:])
        raise RuntimeError(f"{mode} refresh of {db} exited {finished.returncode}:\n{tail}")
    run = Run(**json.loads(finished.stdout.strip().splitlines()[-1]))
    print(
        f"  {mode:<11} {run.seconds:8.2f} s (CPU {run.cpu_seconds:.1f} s), peak RSS"
        f" {run.mib:7.1f} MiB (before refresh {run.rss_before_kib / 1024:.1f}, largest worker"
        f" {run.worker_mib:.1f}); {run.records:,} records, {run.groups:,} groups,"
        f" {run.matches:,} matches, {run.works:,} works, {run.relinked:,} relinked"
        f"{'' if run.full or mode != 'incremental' else ' (incremental)'}",
        file=sys.stderr,
        flush=True,
    )
    return run


# --------------------------------------------------------------------------------------
# Checks: the incremental result against a full recompute, and quality against the truth

_COMPARED = (
    ("memberships", "SELECT record_id, work_id FROM work_members ORDER BY record_id"),
    (
        "works rows",
        "SELECT id, representative_id, title, year, members, signature FROM works ORDER BY id",
    ),
    (
        "evidence",
        "SELECT record_id, matched_record_id, evidence FROM work_members ORDER BY record_id",
    ),
    (
        "matches",
        "SELECT group_key, record_a, record_b, evidence FROM work_matches"
        " ORDER BY group_key, record_a, record_b",
    ),
    ("authors", "SELECT key, name, forms, corporate, records, works FROM authors ORDER BY key"),
    ("search rows", "SELECT rowid, title, creators FROM records_fts ORDER BY rowid"),
)


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def compare_stores(incremental: Path, full: Path) -> dict[str, tuple[int, list[str]]]:
    """Per compared query: how many rows differ between the two stores and a few of them.
    Streamed: two cursors side by side."""
    found: dict[str, tuple[int, list[str]]] = {}
    with contextlib.closing(_readonly(incremental)) as a, contextlib.closing(_readonly(full)) as b:
        for name, sql in _COMPARED:
            differ = 0
            examples: list[str] = []
            for left, right in itertools.zip_longest(a.execute(sql), b.execute(sql)):
                if left != right:
                    differ += 1
                    if len(examples) < 3:
                        examples.append(f"incremental {left!r} / full {right!r}")
            found[name] = (differ, examples)
    return found


@dataclass
class Quality:
    """The works against the ground truth."""

    records: int = 0
    predicted_pairs: int = 0
    true_pairs: int = 0
    correct_pairs: int = 0
    unassigned: int = 0
    # kind -> (duplicates, joined to their original)
    duplicates: dict[str, tuple[int, int]] = field(default_factory=dict)
    false_pairs: list[tuple[str, str, int]] = field(default_factory=list)
    missed_pairs: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the predicted same-work pairs that are true."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of the true same-work pairs that were predicted."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _pairs(conn: sqlite3.Connection, group_by: str) -> int:
    row = conn.execute(
        f"SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) c FROM temp.q"
        f" GROUP BY {group_by})"
    ).fetchone()
    return int(row[0])


def evaluate(db: Path, truth_db: Path) -> Quality:
    """Pairwise precision and recall of the works against the truth, and details."""
    quality = Quality()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("ATTACH DATABASE ? AS t", [str(truth_db)])
        conn.execute(
            "CREATE TEMP TABLE q AS SELECT m.record_id AS rid, m.work_id AS w, t.work AS tw,"
            " t.kind AS kind, t.of_source AS of_source, t.of_identifier AS of_identifier"
            " FROM work_members m JOIN records r ON r.id = m.record_id"
            " JOIN t.truth t ON t.source = r.source AND t.identifier = r.identifier"
        )
        conn.execute("CREATE INDEX temp.q_rid ON q (rid)")
        conn.execute("CREATE INDEX temp.q_w ON q (w, rid)")
        conn.execute("CREATE INDEX temp.q_tw ON q (tw, rid)")
        quality.records = int(conn.execute("SELECT count(*) FROM temp.q").fetchone()[0])
        quality.unassigned = int(
            conn.execute(
                "SELECT count(*) FROM records r WHERE r.deleted = 0"
                " AND NOT EXISTS (SELECT 1 FROM work_members m WHERE m.record_id = r.id)"
            ).fetchone()[0]
        )
        quality.predicted_pairs = _pairs(conn, "w")
        quality.true_pairs = _pairs(conn, "tw")
        quality.correct_pairs = _pairs(conn, "w, tw")
        for kind, count, joined in conn.execute(
            "SELECT d.kind, count(*), sum(d.w = o.w) FROM temp.q d"
            " JOIN records ro ON ro.source = d.of_source AND ro.identifier = d.of_identifier"
            " JOIN temp.q o ON o.rid = ro.id WHERE d.of_source IS NOT NULL GROUP BY d.kind"
        ):
            quality.duplicates[str(kind)] = (int(count), int(joined))
        for target, join, where in (
            (quality.false_pairs, "b.w = a.w", "a.tw != b.tw"),
            (quality.missed_pairs, "b.tw = a.tw", "a.w != b.w"),
        ):
            target.extend(
                (str(x), str(y), int(n))
                for x, y, n in conn.execute(
                    "SELECT min(a.kind, b.kind), max(a.kind, b.kind), count(*) FROM temp.q a"
                    f" JOIN temp.q b ON {join} AND b.rid > a.rid WHERE {where}"
                    " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 4"
                )
            )
    return quality


@dataclass
class Blocks:
    """The candidate groups of a store after a refresh."""

    keys: int = 0
    groups: int = 0
    largest: int = 0
    windowed: int = 0
    windowed_records: int = 0
    top_authors: list[tuple[str, int]] = field(default_factory=list)


def block_stats(db: Path) -> Blocks:
    """Sizes of the candidate groups and the biggest creator keys."""
    from store.matching import WINDOWED_GROUP

    with contextlib.closing(_readonly(db)) as conn:
        keys, groups, largest, windowed, windowed_records = conn.execute(
            "SELECT count(*), sum(c > 1), max(c), sum(c > ?), sum(CASE WHEN c > ? THEN c END)"
            " FROM (SELECT count(*) c FROM match_keys GROUP BY group_key)",
            [WINDOWED_GROUP, WINDOWED_GROUP],
        ).fetchone()
        top = conn.execute(
            "SELECT author_key, count(*) FROM record_authors WHERE role = 'creator'"
            " GROUP BY author_key ORDER BY 2 DESC LIMIT 3"
        ).fetchall()
    return Blocks(
        int(keys or 0),
        int(groups or 0),
        int(largest or 0),
        int(windowed or 0),
        int(windowed_records or 0),
        [(str(k), int(n)) for k, n in top],
    )


def data_stats(truth_db: Path) -> tuple[float, float, Counter[str]]:
    """Share of duplicates, share of records with a DOI, and records by kind."""
    with contextlib.closing(_readonly(truth_db)) as conn:
        kinds = Counter({str(k): int(n) for k, n in conn.execute(
            "SELECT kind, count(*) FROM truth GROUP BY kind"
        )})  # fmt: skip
        with_doi = int(conn.execute("SELECT sum(doi) FROM truth").fetchone()[0] or 0)
    total = sum(kinds.values()) or 1
    duplicates = sum(n for k, n in kinds.items() if k.startswith("dup"))
    return duplicates / total, with_doi / total, kinds


# --------------------------------------------------------------------------------------
# The run


@dataclass
class Result:
    """Everything measured at one size."""

    size: int
    generated: float | None
    first: Run
    full: Run
    full_runs: list[float]
    change: Change
    incremental: Run
    blocks: Blocks
    quality: Quality
    quality_after: Quality
    data: tuple[float, float, Counter[str]]
    verify: str = "skipped"
    verify_run: Run | None = None
    differences: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Records per second of the full recompute."""
        return self.full.records / self.full.seconds if self.full.seconds else 0.0

    @property
    def per_1k(self) -> float:
        """Incremental seconds per 1,000 changed records."""
        return self.incremental.seconds / max(self.incremental.records, 1) * 1000


def print_profile(path: Path, label: str) -> None:
    """The top 15 functions of a profiled refresh, by cumulative and by own time (cProfile
    sees the refreshing process only, not worker processes it starts)."""
    for order, what in (("cumulative", "cumulative time"), ("tottime", "own (self) time")):
        print(
            f"\nProfile of the {label} (cProfile: the refreshing process only, not its"
            f" workers), top 15 by {what}:"
        )
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(15)
    sys.stdout.flush()


def measure_size(
    size: int, args: argparse.Namespace, work_dir: Path, cache_dir: Path
) -> tuple[Result, list[tuple[Path, str]]]:
    """Generate (or reuse) the data of one size and measure it."""
    cached, cached_truth, generated = ensure_cached(cache_dir, size, args.fresh)
    work_dir.mkdir(parents=True, exist_ok=True)
    db, truth_db = work_dir / f"work-{size}.db", work_dir / f"work-{size}.truth.db"
    print(f"N = {size:,}: copying the cached store to {db}", file=sys.stderr, flush=True)
    copy_db(cached, db)
    copy_db(cached_truth, truth_db)
    first = run_child("first", db)
    blocks = block_stats(db)
    runs = [run_child("full", db) for _ in range(args.repeat)]
    full = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    full = replace(full, hwm_kib=max(r.hwm_kib for r in runs))
    quality = evaluate(db, truth_db)
    profiles: list[tuple[Path, str]] = []
    if args.profile:
        profiles.append((work_dir / f"profile-full-{size}.pstats", f"full recompute at {size:,}"))
        run_child("full", db, profiles[-1][0])
    change = apply_change(db, truth_db, args.change)
    print(
        f"  changed {change.total:,} records in {change.seconds:.1f} s (not timed):"
        f" {change.edited:,} edited, {change.retitled:,} replaced by another work,"
        f" {change.deleted:,} deleted, {change.added:,} new duplicates",
        file=sys.stderr,
        flush=True,
    )
    if args.profile:
        # Profiled on a copy of the changed store, so the measured run is not disturbed.
        profiled = work_dir / f"profile-incremental-{size}.db"
        copy_db(db, profiled)
    incremental = run_child("incremental", db)
    if args.profile:
        label = f"incremental refresh at {size:,} ({change.total:,} changed)"
        profiles.append((work_dir / f"profile-incremental-{size}.pstats", label))
        run_child("incremental", profiled, profiles[-1][0])
        _remove_db(profiled)
    quality_after = evaluate(db, truth_db)
    result = Result(
        size,
        generated,
        first,
        full,
        [r.seconds for r in runs],
        change,
        incremental,
        blocks,
        quality,
        quality_after,
        data_stats(cached_truth),
    )
    if size <= VERIFY_MAX or args.verify:
        verify_db = work_dir / f"verify-{size}.db"
        copy_db(db, verify_db)
        result.verify_run = run_child("full", verify_db)
        result.differences = compare_stores(db, verify_db)
        result.verify = "MATCH" if result.differences["memberships"][0] == 0 else "MISMATCH"
        if not args.keep:
            _remove_db(verify_db)
    if not args.keep:
        _remove_db(db)
        _remove_db(truth_db)
    return result, profiles


def _own_kib(run: Run) -> int:
    """What the refresh itself added to its process's peak RSS."""
    return run.hwm_kib - run.rss_before_kib


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def report(results: list[Result]) -> None:
    """Print the figures tables, the details and the targets."""
    timing: list[bench_common.Column[Result]] = [
        ("N", 9, lambda r: f"{r.size:,}"),
        ("gen s", 6, lambda r: "cached" if r.generated is None else f"{r.generated:.0f}"),
        ("first s", 8, lambda r: f"{r.first.seconds:.2f}"),
        ("full s", 8, lambda r: f"{r.full.seconds:.2f}"),
        ("full rec/s", 10, lambda r: f"{r.rate:,.0f}"),
        ("full CPU s", 10, lambda r: f"{r.full.cpu_seconds:.2f}"),
        ("full MiB", 8, lambda r: f"{r.full.mib:.1f}"),
        ("worker MiB", 10, lambda r: f"{r.full.worker_mib:.1f}"),
        ("changed", 7, lambda r: f"{r.incremental.records:,}"),
        ("incr s", 7, lambda r: f"{r.incremental.seconds:.2f}"),
        ("s/1k chg", 8, lambda r: f"{r.per_1k:.3f}"),
        ("incr MiB", 8, lambda r: f"{r.incremental.mib:.1f}"),
        ("verify", 8, lambda r: r.verify),
    ]
    quality: list[bench_common.Column[Result]] = [
        ("N", 9, lambda r: f"{r.size:,}"),
        ("dups", 6, lambda r: _pct(r.data[0])),
        ("DOI", 6, lambda r: _pct(r.data[1])),
        ("max group", 9, lambda r: f"{r.blocks.largest:,}"),
        ("windowed", 8, lambda r: f"{r.blocks.windowed:,}"),
        ("groups", 9, lambda r: f"{r.full.groups:,}"),
        ("matches", 9, lambda r: f"{r.full.matches:,}"),
        ("works", 9, lambda r: f"{r.full.works:,}"),
        ("precision", 9, lambda r: f"{r.quality.precision:.4f}"),
        ("recall", 7, lambda r: f"{r.quality.recall:.4f}"),
        ("F1", 6, lambda r: f"{r.quality.f1:.4f}"),
        ("P after", 7, lambda r: f"{r.quality_after.precision:.4f}"),
        ("R after", 7, lambda r: f"{r.quality_after.recall:.4f}"),
    ]
    print()
    bench_common.print_table(timing, results)
    print()
    print("first: the first refresh after the load (search rows and links of every record too);")
    print("full: full recompute of the up-to-date store; incr: refresh after the change;")
    print("MiB: peak RSS (VmHWM) of the refreshing process, Python and the store opened included;")
    print("worker MiB: peak RSS of the largest worker process it started (0: none); CPU s: user +")
    print("system time of the refreshing process and its workers")
    print()
    bench_common.print_table(quality, results)
    print()
    print("dups: records that are re-deposits of another; max group: records under the largest")
    print("candidate key; windowed: groups compared in a sliding window; precision/recall:")
    print("pairwise, against the generator's truth, after the full recompute and after the change")
    for r in results:
        print()
        print(f"N = {r.size:,}:")
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(r.data[2].items()))
        print(f"  records by kind: {kinds}")
        authors = ", ".join(f"{k!r} {n:,}" for k, n in r.blocks.top_authors)
        print(
            f"  candidate keys {r.blocks.keys:,}, groups of 2+ {r.blocks.groups:,}, windowed"
            f" {r.blocks.windowed:,} holding {r.blocks.windowed_records:,} key rows;"
            f" biggest creator keys: {authors}"
        )
        print(
            f"  full runs: {', '.join(f'{s:.2f}' for s in r.full_runs)} s; first refresh"
            f" {r.first.seconds:.2f} s ({r.first.relinked:,} relinked, peak {r.first.mib:.1f}"
            f" MiB); before the refresh the process held {r.full.rss_before_kib / 1024:.1f} MiB"
        )
        c = r.change
        print(
            f"  change: {c.total:,} records ({c.edited:,} edited, {c.retitled:,} replaced,"
            f" {c.deleted:,} deleted, {c.added:,} added); incremental: {r.incremental.groups:,}"
            f" groups, {r.incremental.matches:,} matches, {r.incremental.works:,} works written,"
            f" {r.incremental.relinked:,} relinked"
            + (" [took the full path]" if r.incremental.full else "")
        )
        for label, q in (("after full", r.quality), ("after change", r.quality_after)):
            joined = ", ".join(
                f"{kind} {ok:,}/{n:,} ({_pct(ok / n if n else 1)})"
                for kind, (n, ok) in sorted(q.duplicates.items())
            )
            print(
                f"  quality {label}: pairs predicted {q.predicted_pairs:,}, true"
                f" {q.true_pairs:,}, correct {q.correct_pairs:,}; duplicates joined to their"
                f" original: {joined}"
            )
            if q.unassigned:
                print(f"    WARNING: {q.unassigned:,} live records belong to no work")
            false = "; ".join(f"{a}+{b} {n:,}" for a, b, n in q.false_pairs) or "none"
            missed = "; ".join(f"{a}+{b} {n:,}" for a, b, n in q.missed_pairs) or "none"
            print(f"    false pairs by kinds: {false}")
            print(f"    missed pairs by kinds: {missed}")
        if r.verify_run is not None:
            v = r.verify_run
            print(
                f"  verify: full recompute of a copy after the incremental refresh took"
                f" {v.seconds:.2f} s and relinked {v.relinked:,} records (0 expected);"
                f" memberships {r.verify}"
            )
            for name, (differ, examples) in r.differences.items():
                state = "identical" if differ == 0 else f"{differ:,} rows differ"
                print(f"    {name}: {state}")
                for example in examples:
                    print(f"      {example[:300]}")
    print()
    print("Targets:")
    for r in results:
        if r.size == TARGET_FULL_AT:
            print(
                f"  [{verdict(r.full.seconds < TARGET_FULL_S)}] full recompute at {r.size:,}:"
                f" {r.full.seconds:.1f} s (target < {TARGET_FULL_S:.0f} s)"
            )
        else:
            scaled = TARGET_FULL_S * r.size / TARGET_FULL_AT
            print(
                f"  [info] full recompute at {r.size:,}: {r.full.seconds:.2f} s (the 1M target"
                f" scaled linearly: {scaled:.1f} s; at this rate 1M would take"
                f" {TARGET_FULL_AT / r.rate if r.rate else float('inf'):.0f} s)"
            )
    for r in results:
        print(
            f"  [{verdict(r.per_1k <= TARGET_INCREMENTAL_S_PER_1K)}] incremental at"
            f" {r.size:,}: {r.per_1k:.3f} s per 1k changed records ({r.incremental.seconds:.2f} s"
            f" for {r.incremental.records:,}; target <= {TARGET_INCREMENTAL_S_PER_1K} s)"
        )
    for r in results:
        if r.verify != "skipped":
            ok = r.verify == "MATCH"
            print(f"  [{verdict(ok)}] incremental = full at {r.size:,}: memberships {r.verify}")
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = large.size / small.size
        # The refresh's own memory: its peak less what the process held before it began
        # (Python, the modules, the store opened); a worker's: its whole peak.
        for what, a, b in (
            ("full", _own_kib(small.full), _own_kib(large.full)),
            ("full's largest worker", small.full.worker_kib, large.full.worker_kib),
            ("incremental", _own_kib(small.incremental), _own_kib(large.incremental)),
        ):
            if a <= 0 or b <= 0:
                sizes = [f"{r.size:,}" for r, kib in ((small, a), (large, b)) if kib <= 0]
                print(f"  [info] {what}: none at {' and '.join(sizes)}")
                continue
            ratio = b / a
            slope = (b - a) * 1024 / (large.size - small.size)
            print(
                f"  [{verdict(ratio <= math.sqrt(growth))}] {what} memory at {large.size:,} vs"
                f" {small.size:,}: {b / 1024:.1f} / {a / 1024:.1f} MiB = {ratio:.2f}x for"
                f" {growth:.0f}x the records (bounded: <= sqrt = {math.sqrt(growth):.1f}x);"
                f" {slope:,.0f} bytes per extra record"
            )
        print(
            "  (full and incremental: peak RSS less the RSS before the refresh began; the"
            " whole peaks are in the table)"
        )
    else:
        print("  [info] memory: give two sizes or more to compare peak RSS across sizes")


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the benchmark (or one measured refresh)."""
    parser = bench_common.argument_parser(__doc__, "10000,100000", REPEAT_HELP)
    parser.add_argument(
        "--change",
        type=float,
        default=0.01,
        help="share of the live records changed before the incremental refresh (default 0.01)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help=f"compare incremental and full results above {VERIFY_MAX:,} records too"
        " (another full recompute)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run one full recompute under cProfile and print its top 15 functions",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working stores")
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached stores")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where generated stores are kept (default {DEFAULT_CACHE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where working copies go (default CACHE/work)"
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, db = args.child
        if mode not in NOW or mode == "change":
            parser.error(f"unknown child mode {mode}")
        child(mode, db, args.child_profile)
        return
    sizes = bench_common.parse_sizes(args.sizes)
    if not sizes or min(sizes) < 1000:
        parser.error("sizes must be at least 1000")
    if not 0 < args.change <= 0.2:
        parser.error("--change must be above 0 and at most 0.2 (past 0.25 refresh goes full)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cache_dir: Path = args.cache_dir
    work_dir: Path = args.work_dir or cache_dir / "work"
    code_before = store_code_digest()
    results: list[Result] = []
    profiles: list[tuple[Path, str]] = []
    for size in sizes:
        result, profiled = measure_size(size, args, work_dir, cache_dir)
        results.append(result)
        profiles += profiled
    report(results)
    code_after = store_code_digest()
    print(f"\nstore/ code digest: {code_before}")
    if code_after != code_before:
        print(
            f"WARNING: store/ changed during the run (now {code_after}): figures may mix versions"
        )
    for path, label in profiles:
        print_profile(path, label)
        if not args.keep:
            path.unlink(missing_ok=True)
    if not args.keep:
        with contextlib.suppress(OSError):
            work_dir.rmdir()


if __name__ == "__main__":
    main()
