"""The dedupe benchmark's vocabulary and the text draws made from it.

Surnames (the common ones of scholarly metadata first, then made-up ones) drawn with weights
1/rank^1.1, given names, title words, adjectives and subjects drawn Zipf-weighted, title
templates, and the draws of a title, a description, a year and a DOI. Every draw takes from
the generator it is given, so the same seed gives the same text, every run.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence

from works.names import fold

# Bump when the generated records change, so cached stores are rebuilt.
DATA_VERSION = 3
# Bump when only the ground truth changes (the records stay those of DATA_VERSION): 2 since
# versions of one deposit are one work.
TRUTH_VERSION = 2

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
# (registrant, weight): a few big publishers and a long tail.
_REGISTRANTS = Zipf([f"10.{1000 + (k * 379) % 8999}" for k in range(80)], 1.0)


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
