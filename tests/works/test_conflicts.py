"""Evidence against same-work, and clusters that never join conflicting records."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import pytest

from works.clusters import cluster, conflict_links
from works.conflicts import conflicts, hard_conflicts, soft_conflicts
from works.features import Features, features_of
from works.rules import compare

TITLE = "Talc poudrage versus talc slurry for malignant pleural effusion: a randomised trial"


def rec(
    record_id: int,
    source: str | None = None,
    *,
    title: str = TITLE,
    creators: Sequence[str] = ("dresler c", "olak j"),
    year: str = "2005",
    identifiers: Sequence[str] = (),
    kind: str = "article",
) -> Features:
    return features_of(
        record_id,
        [title],
        list(creators),
        list(identifiers),
        [year],
        [],
        5,
        sources=[source] if source else [],
        types=[kind],
    )


def decision(a: Features, b: Features) -> str | None:
    found = compare(a, b)
    return None if found is None else found.decision


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        # One supplement's abstracts: their pages differ.
        ("Diabetologia, 61(Suppl 1), S529", "Diabetologia, 61(Suppl 1), S557", "first pages"),
        # A meeting abstract and the article of the same study.
        ("Eur Respir J, 16(Suppl 31), S359", "Respiration, 67(6), 623-629", "meeting abstract"),
        # One guideline printed in two journals.
        ("Am J Clin Pathol, 137(4), 516-542", "CA Cancer J Clin, 62(3), 147-172", "first pages"),
        # Two volumes of one journal.
        ("Chest, 127(3), 909-915", "Chest, 128(1)", "volumes"),
        # A column in two issues.
        ("MIS Quarterly, 26(1)", "MIS Quarterly, 26(2)", "issues"),
    ],
)
def test_hard_conflicts(first: str, second: str, reason: str) -> None:
    a, b = rec(1, first), rec(2, second)
    found = hard_conflicts(a, b)
    assert any(reason in r for r in found), found
    assert decision(a, b) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Chest, 127(3), 909-915", "CHEST, 127(3), 909-15"),
        ("Chest, 127(3), 909-915", None),
        # Page counts and article numbers are lone numbers: they say nothing.
        ("Computers in Human Behavior, 113, 106482", "Computers in Human Behavior, 113, 11"),
        # Issue numbers beyond any journal's are a reference manager's record numbers.
        ("Respiratory Medicine, 93(1022), 816-821", "Respiratory medicine, 93(1020), 816-821"),
        # The pages settle it even when plausible issues differ (one database's mistake).
        ("British Journal of Surgery, 85(11), 1143-1146", "Br J Surg, 85(10), 1143-1146"),
    ],
)
def test_no_conflict_between_ways_of_writing_one_place(first: str, second: str | None) -> None:
    a, b = rec(1, first), rec(2, second)
    assert conflicts(a, b) == []
    assert decision(a, b) == "same"


def test_years_and_numbers_and_dois() -> None:
    assert hard_conflicts(rec(1, year="2005"), rec(2, year="2007"))
    assert not hard_conflicts(rec(1, year="2005"), rec(2, year="2006"))
    preprint = rec(1, "medRxiv", year="2019", kind="preprint")
    assert not hard_conflicts(preprint, rec(2, year="2022"))
    assert hard_conflicts(rec(1, title=f"{TITLE}, part 1"), rec(2, title=f"{TITLE}, part 2"))
    one_publisher = [rec(i, identifiers=[f"10.1016/j.chest.2005.0{i}"]) for i in (1, 2)]
    assert any("one registrant" in r for r in hard_conflicts(*one_publisher))
    two_publishers = [rec(1, identifiers=["10.1016/a"]), rec(2, identifiers=["10.1007/b"])]
    assert any("two publishers" in r for r in hard_conflicts(*two_publishers))
    repository = [rec(1, identifiers=["10.5281/zenodo.1"]), rec(2, identifiers=["10.1007/b"])]
    assert not hard_conflicts(*repository)


def test_a_shared_doi_does_not_outweigh_other_pages() -> None:
    """The supplement DOI on every abstract of the issue."""
    doi = "https://doi.org/10.1007/s00125-018-4693-0"
    a = rec(1, "Diabetologia, 61(Suppl 1), S529", identifiers=[doi])
    b = rec(2, "Diabetologia, 61(Suppl 1), S57", identifiers=[doi], title="Ketoacidosis")
    assert decision(a, b) is None
    c = rec(3, "Diabetologia, 61, S529", identifiers=[doi])
    assert decision(a, c) == "same"


def test_containers_that_differ_are_a_soft_conflict() -> None:
    a, b = rec(1, "Chest, 138(4)"), rec(2, "Heart Surgery Forum, 14(2)")
    assert soft_conflicts(a, b) and not hard_conflicts(a, b)
    found = compare(a, b)
    assert found is not None and found.decision == "review"
    assert found.evidence["not_merged"] == ["different containers (chest / heart surgery forum)"]
    # A preprint server is no container of its own.
    assert not soft_conflicts(rec(1, "bioRxiv"), rec(2, "Nature, 521, 436-444"))


def test_a_translated_title_at_one_place_is_one_article() -> None:
    a = rec(1, "Ann Fr Anesth Reanim, 13(3), 280-284", title="Antibiotic prophylaxis in surgery")
    b = rec(
        2,
        "Annales Francaises d Anesthesie et de Reanimation, 13(3), 280-284",
        title="[Comparaison de l'amoxicilline et du cefamandole en chirurgie pulmonaire]",
    )
    found = compare(a, b)
    assert found is not None and found.decision == "same"
    assert found.evidence["rule"] == "place"
    other_people = rec(3, "Ann Fr Anesth Reanim, 13(3), 280-284", title="Other", creators=["x y"])
    assert decision(a, other_people) is None


def test_records_without_creators_need_a_specific_title_and_place() -> None:
    a = rec(1, "Dtsch Med Wochenschr, 109(24), 935-940", creators=())
    b = rec(2, "Deutsche Medizinische Wochenschrift, 109(24), 935-940", creators=["toomes h"])
    found = compare(a, b)
    assert found is not None and found.decision == "same"
    assert found.evidence["rule"] == "title_place"
    assert decision(rec(3, None, creators=()), rec(4, None)) == "review"


def _edge(a: int, b: int, rule: str = "title") -> tuple[int, int, str]:
    return (a, b, json.dumps({"rule": rule, "title_similarity": 1.0}))


def test_a_chain_is_cut_where_its_ends_conflict() -> None:
    """A = B and B = C, but A and C give other pages: A and C never share a work."""
    features = {
        1: rec(1, "Chest, 138(4), 909-915"),
        2: rec(2, None),
        3: rec(3, "Chest, 138(4), 811a"),
    }
    links = conflict_links(features, set())
    clusters, _ = cluster([_edge(1, 2), _edge(2, 3)], cannot_link=links)
    components = sorted(clusters.components())
    assert [1, 2] in components and [3] in components
    # A person's "different" is a cannot-link too; "same" overrides a conflict.
    plain = {i: rec(i, None) for i in (1, 2, 3)}
    apart = conflict_links(plain, {(1, 3)})
    clusters, _ = cluster([_edge(1, 2), _edge(2, 3)], cannot_link=apart)
    assert sorted(clusters.components()) == [[1, 2], [3]]
    forced = conflict_links(features, set(), {(1, 3)})
    clusters, _ = cluster([_edge(1, 3, "override")], cannot_link=forced)
    assert sorted(clusters.components()) == [[1, 3]]


@pytest.mark.parametrize("seed", range(20))
def test_clusters_do_not_depend_on_the_order_of_edges(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    sources = [
        "Chest, 138(4), 909-915",
        "Chest, 138(4), 811a",
        "Heart Surg Forum, 14(2), S134",
        None,
    ]
    features = {i: rec(i, rng.choice(sources)) for i in range(1, 13)}
    rules = ["title", "identifier", "place", "title_place"]
    edges = [
        _edge(a, b, rng.choice(rules))
        for a in features
        for b in features
        if a < b and rng.random() < 0.3
    ]
    links = conflict_links(features, set())
    expected, _ = cluster(edges, cannot_link=links)
    for _ in range(5):
        rng.shuffle(edges)
        again, _ = cluster(edges, cannot_link=links)
        assert sorted(again.components()) == sorted(expected.components())
    for component in expected.components():
        for x in component:
            for y in component:
                assert x == y or not conflicts(features[x], features[y])


def test_every_threshold_at_its_boundary() -> None:
    """The numbers README documents, each just inside and just outside."""
    # TRUNCATED_TITLE_WORDS = 6: a title cut after six significant words matches.
    full = "Incentive spirometry with positive airway pressure after myocardial revascularization"
    six = "Incentive spirometry with positive airway pressure aft"  # its last word cut too
    five = "Incentive spirometry with positive airway pressure"
    assert decision(rec(1, title=full), rec(2, title=six)) == "same"
    assert decision(rec(1, title=full), rec(2, title=five)) is None
    # SPECIFIC_TITLE_WORDS = 6: a record without creators needs six significant words.
    place = "Dtsch Med Wochenschr, 109(24), 935-940"
    specific = "Postoperative immunostimulation in non small cell bronchial carcinoma"
    short = "Postoperative immunostimulation in bronchial carcinoma"
    assert decision(rec(1, place, title=specific, creators=()), rec(2, place, title=specific)) == (
        "same"
    )
    assert decision(rec(1, place, title=short, creators=()), rec(2, place, title=short)) == (
        "review"
    )
    # RELATED_TITLE_SHARE = 1/3 of the shorter title's significant words, with one DOI.
    doi = ["10.1234/one"]
    base = "talc slurry pleurodesis malignant effusion outcomes"  # six significant words
    two_shared = "talc slurry versus thoracoscopy cost analysis"
    one_shared = "talc cost analysis hospital stay length"
    other = ["jones f"]
    assert (
        decision(
            rec(1, title=base, identifiers=doi),
            rec(2, title=two_shared, identifiers=doi, creators=other),
        )
        == "same"
    )
    assert (
        decision(
            rec(1, title=base, identifiers=doi),
            rec(2, title=one_shared, identifiers=doi, creators=other),
        )
        == "review"
    )
    # PLACE_TITLE_SIMILARITY = 85: at one page (a supplement) titles must be that alike.
    page = "Eur J Cancer, 30a(2), S27"
    first = "Control of malignant pleural effusions in breast cancer: bleomycin versus interferon"
    typos = "Control of malignant pleural effusing in breast cancer: bleomycoin versus interferon"
    unlike = "Pleurodesis with iodopovidone in breast cancer: a pilot study of outpatients"
    assert decision(rec(1, page, title=first), rec(2, page, title=typos)) == "same"
    assert decision(rec(1, page, title=first), rec(2, page, title=unlike)) is None
    # MAX_PLAUSIBLE_ISSUE = 24: issues 24 and 23 differ; 25 is taken for a record number.
    assert decision(rec(1, "MIS Quarterly, 26(24)"), rec(2, "MIS Quarterly, 26(23)")) is None
    assert decision(rec(1, "MIS Quarterly, 26(25)"), rec(2, "MIS Quarterly, 26(23)")) == "same"


def test_a_title_and_its_translation_with_one_doi_are_one_work() -> None:
    """Two scripts: neither the titles nor the containers can be compared, the DOI decides."""
    doi = ["https://doi.org/10.7498/aps.69.20200412"]
    chinese = rec(
        1,
        "物理学报, 69(15)",
        title="单层WSe2中激子动力学的应变调控",
        creators=["张巍"],
        identifiers=doi,
    )
    english = rec(
        2,
        "Acta Physica Sinica, 69(15)",
        title="Strain tuning of exciton dynamics in monolayer WSe2",
        creators=["zhang w"],
        identifiers=doi,
    )
    assert decision(chinese, english) == "same"
