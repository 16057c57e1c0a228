"""Reading dc:source and titles as real exports write them."""

from __future__ import annotations

import pytest

from works.citation import Location, container_words, containers_compatible, read_location
from works.titles import clean_title


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Chest, 138(6), 909-915", Location("chest", "138", "6", "909", 7)),
        (
            "Heart Surgery Forum, 14(3), S134",
            Location("heart surgery forum", "14", "3", "s134", 0, True),
        ),
        ("Journal of X; Vol 12, No 3 (2019); 45-67", Location("journal", "12", "3", "45", 23)),
        ("J Biol Chem 2019;12(3):45-67", Location("biol chem", "12", "3", "45", 23)),
        ("Nature 521, 436\u2013444 (2015)", Location("nature", "521", "", "436", 9)),
        (
            "Diabetologia, 61(Suppl 1), S529",
            Location("diabetologia", "61", "suppl 1", "s529", 0, True),
        ),
        (
            "Frontiers in Psychology, 12, 756134",
            Location("frontiers psychology", "12", "", "756134", 0),
        ),
        ("Frontiers in Psychology, 12", Location("frontiers psychology", "12")),
        (
            "Journal of Trauma, 57(4), 742-8; discussion 748-9",
            Location("journal trauma", "57", "4", "742", 7),
        ),
        ("ACP Journal Club, 155(2), 08-Aug", Location("acp journal club", "155", "2", "8", 0)),
        (
            "Proceedings of the 51st Hawaii International Conference on System Sciences",
            Location("hawaii international conference system sciences"),
        ),
        ("", Location()),
    ],
)
def test_locations(source: str, expected: Location) -> None:
    assert read_location(source) == expected


def _compatible(a: str, b: str) -> bool:
    return containers_compatible(" ".join(container_words(a)), " ".join(container_words(b)))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Eur-J-Respir-Dis", "European Journal of Respiratory Diseases"),
        ("Dtsch-Med-Wochenschr", "Deutsche Medizinische Wochenschrift"),
        ("Ann Fr Anesth Reanim", "Annales Francaises d Anesthesie et de Reanimation"),
        ("J Infect Chemother", "Journal of Infection and Chemotherapy"),
        ("Lung cancer (Amsterdam, Netherlands)", "Lung Cancer"),
        ("Cir Cir", "Cirugia y cirujanos"),
        ("JAMA", "Journal of the American Medical Association"),
    ],
)
def test_one_container_written_two_ways(a: str, b: str) -> None:
    assert _compatible(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Chest", "Heart Surgery Forum"),
        ("Annals of Internal Medicine", "ACP Journal Club"),
        ("American Journal of Clinical Pathology", "CA: A Cancer Journal for Clinicians"),
    ],
)
def test_two_containers(a: str, b: str) -> None:
    assert not _compatible(a, b)


@pytest.mark.parametrize(
    ("title", "clean", "abstract"),
    [
        (
            "Screening for cervical cancer. [Review] [45 refs]",
            "Screening for cervical cancer",
            False,
        ),
        (
            "Screening for cervical cancer (Provisional abstract)",
            "Screening for cervical cancer",
            False,
        ),
        (
            "[Research on fast track surgery in lung cancer] LA: Chi",
            "Research on fast track surgery in lung cancer",
            False,
        ),
        ("Preliminary results [abstract no: 134]", "Preliminary results", True),
        (
            "Timing of removal.[Erratum appears in J Card Surg. 2011 [corrected to X]]",
            "Timing of removal",
            False,
        ),
        (
            "Drainage of effusions.[Erratum appears in N Engl J Med. 2005 May",
            "Drainage of effusions",
            False,
        ),
        (
            "Antibiotic prophylaxis. <ORIGINAL> PROPHYLAXIE ANTIBIOTIQUE",
            "Antibiotic prophylaxis",
            False,
        ),
        ("Ca<sup>2+</sup> signalling &amp; memory", "Ca2+ signalling & memory", False),
        # A letter lost in the export: the word stays whole (a typo then, not two words).
        ("Groupe fran?ais de pneumo-canc?rologie", "Groupe franais de pneumo-cancrologie", False),
    ],
)
def test_titles_without_their_notes(title: str, clean: str, abstract: bool) -> None:
    found = clean_title(title)
    if "?" in title:
        assert (
            found.text == "Groupe franais de pneumo-cancrologie"
        )  # the lost letter stays lost, the word whole
    else:
        assert found.text == clean
    assert found.abstract_note is abstract
