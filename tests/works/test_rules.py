"""The same-work rules: persistent identifiers, titles, numbers, years, versions, keys."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from works.features import Features, features_of, normalise_pid, title_numbers, words
from works.rules import WINDOW, WINDOWED_GROUP, candidate_keys, compare, group_pairs


def record(
    record_id: int,
    title: str,
    creators: Sequence[str] = ("stirrup v",),
    *,
    identifiers: Sequence[str] = (),
    year: str | None = "2017",
    description: str | None = None,
) -> Features:
    return features_of(
        record_id,
        [title],
        list(creators),
        list(identifiers),
        [year] if year else [],
        [description] if description else [],
        5,
    )


@pytest.mark.parametrize(
    ("written", "pid"),
    [
        ("10.1234/ABC", "doi:10.1234/abc"),
        ("doi:10.1234/abc", "doi:10.1234/abc"),
        ("https://doi.org/10.1234/abc", "doi:10.1234/abc"),
        ("http://dx.doi.org/10.1234/abc.", "doi:10.1234/abc"),
        ("https://doi.org/10.1234%2Fabc", "doi:10.1234/abc"),
        ("hdl:1234/56", "hdl:1234/56"),
        ("https://hdl.handle.net/1234/56", "hdl:1234/56"),
        ("arXiv:2101.00001v2", "arxiv:2101.00001"),
        ("https://doi.org/10.48550/arXiv.2101.00001", "arxiv:2101.00001"),
        ("urn:nbn:de:0001-1234", "urn:nbn:de:0001-1234"),
        ("https://repository.example.org/item/8912z", None),
        ("urn:uuid:0f1e2d3c-0000-0000-0000-000000000000", None),
        ("urn:ISSN:1234-5678", None),  # a journal, not an article
        ("urn:isbn:9781138295223", None),
        ("In: Stories that make a difference, doi:10.1234/book", None),  # the container's DOI
        ("ISBN 978-3-16-148410-0", None),
    ],
)
def test_persistent_identifiers(written: str, pid: str | None) -> None:
    assert normalise_pid(written) == pid


def decision(a: Features, b: Features) -> str | None:
    """What compare() decides on a pair: "same", "review" or None."""
    found = compare(a, b)
    return None if found is None else found.decision


def test_a_shared_persistent_identifier_joins_related_records() -> None:
    a = record(1, "Peer support in mental health", ["smith j"], identifiers=["doi:10.1234/x"])
    b = record(2, "Peer support in mental health services", ["doe k"], identifiers=["10.1234/X"])
    found = compare(a, b)
    assert found is not None and found.decision == "same"
    assert found.evidence == {"rule": "identifier", "identifiers": ["doi:10.1234/x"]}


def test_a_record_without_a_title_is_no_translation_of_a_titled_one() -> None:
    """An untitled record and a CJK-titled one sharing a DOI, by other people: only listed
    for review, as against a Latin title (the empty title key is no other script)."""
    a = record(1, "", ["smith j"], identifiers=["doi:10.1234/book"])
    b = record(2, "精神保健におけるピアサポート", ["doe k"], identifiers=["10.1234/BOOK"])
    c = record(3, "Peer work in forensic wards", ["doe k"], identifiers=["10.1234/BOOK"])
    assert decision(a, b) == decision(a, c) == "review"


def test_an_identifier_on_unrelated_records_is_only_a_possible_duplicate() -> None:
    """A book's DOI on two of its chapters: other titles, other people."""
    a = record(1, "Introduction", ["smith j"], identifiers=["doi:10.1234/book"])
    b = record(2, "Peer work in forensic wards", ["doe k"], identifiers=["10.1234/BOOK"])
    found = compare(a, b)
    assert found is not None and found.decision == "review"
    assert found.evidence["not_merged"] == ["titles and creators unrelated"]


def test_near_identical_titles_with_a_shared_creator() -> None:
    a = record(1, "Knowlege transfer partnerships", ["macinnes d", "stirrup v"])
    b = record(2, "Knowledge Transfer Partnerships.", ["stirrup v"])
    found = compare(a, b)
    assert found is not None and found.decision == "same"
    evidence = found.evidence
    assert evidence["rule"] == "title"
    assert evidence["shared_creators"] == ["stirrup v"]
    assert 0.9 < evidence["title_similarity"] < 1


def test_authors_alone_never_merge() -> None:
    assert (
        compare(record(1, "Peer support in mental health"), record(2, "Lived experience")) is None
    )


def test_titles_alone_never_merge_but_are_listed_for_review() -> None:
    a = record(1, "Peer support in mental health services", ["smith j"])
    b = record(2, "Peer support in mental health services", ["jones f"])
    found = compare(a, b)
    assert found is not None and found.decision == "review"
    assert found.evidence["not_merged"] == ["no shared creator"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Peer support: Part 1", "Peer support: Part 2"),
        ("Peer support, part I", "Peer support, part II"),
        ("Peer support volume III", "Peer support volume IV"),
        ("Peer support, part one", "Peer support, part two"),
        ("Annual report 2019 on peer support", "Annual report 2020 on peer support"),
        ("Peer support (2nd edition)", "Peer support"),
    ],
)
def test_numbers_in_titles_must_agree(first: str, second: str) -> None:
    assert compare(record(1, first), record(2, second)) is None


def test_years_more_than_one_apart_stay_apart() -> None:
    title = "Co-producing mental health peer support in Oxleas NHS Foundation Trust"
    assert decision(record(1, title, year="2014"), record(2, title, year="2015")) == "same"
    assert decision(record(1, title, year="2014"), record(2, title, year=None)) == "same"
    assert compare(record(1, title, year="2014"), record(2, title, year="2016")) is None


def test_dois_that_name_two_publications_stay_apart() -> None:
    title = "Interview transcripts of the peer worker project"
    # Versions of one deposit are one work (Zenodo's version DOIs, figshare's ".v2").
    zenodo = [record(i, title, identifiers=[f"10.5281/zenodo.11{i}"]) for i in (1, 2)]
    assert decision(*zenodo) == "same"
    figshare = [record(i, title, identifiers=[f"10.6084/m9.figshare.77.v{i}"]) for i in (1, 2)]
    assert decision(*figshare) == "same"
    # Two DOIs of one publisher, or of two publishers, are two publications.
    one = [record(i, title, identifiers=[f"10.1016/j.x.2017.0{i}"]) for i in (1, 2)]
    assert decision(*one) is None
    two = [
        record(1, title, identifiers=["10.1016/j.x"]),
        record(2, title, identifiers=["10.1007/y"]),
    ]
    assert decision(*two) is None
    # A preprint server's DOI and the journal's: the preprint and its article.
    preprint = record(3, title, identifiers=["10.48550/arXiv.2101.00001"], year="2021")
    medrxiv = record(5, title, identifiers=["10.1101/2021.01.01.21249999"], year="2020")
    article = record(4, title, identifiers=["10.1186/s12888-022-0001"], year="2022")
    assert decision(preprint, article) == "same"
    assert decision(medrxiv, article) == "same"


def test_generic_titles_need_more_than_the_title() -> None:
    a = record(1, "Introduction", year="2017")
    b = record(2, "Introduction", year="2017")
    assert compare(a, b) is None
    same = "An introduction to the special issue on lived experience practice."
    c = record(3, "Introduction", year="2017", description=same)
    d = record(4, "Introduction.", year="2017", description=same)
    assert decision(c, d) == "same"
    assert compare(c, record(5, "Introduction", year="2018", description=same)) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "Risk factors for coronary heart disease in men",
            "Risk factors for coronary heart disease in women",
        ),
        (
            "Hypertension in older adults: a cohort study",
            "Hypotension in older adults: a cohort study",
        ),
        (
            "Preoperative anxiety in children undergoing surgery",
            "Postoperative anxiety in children undergoing surgery",
        ),
        ("Outcomes of nurse-led clinics in the UK", "Outcomes of nurse-led clinics in the US"),
        ("Caring for people with dementia at home", "Caring for people with depression at home"),
        ("Mental health services: Part A", "Mental health services: Part B"),
        ("Appendix A", "Appendix B"),
    ],
)
def test_near_miss_titles_are_different_works(first: str, second: str) -> None:
    assert compare(record(1, first), record(2, second)) is None


def test_typos_and_spellings_of_part_numbers_are_the_same_title() -> None:
    for first, second in [
        (
            "Supporting students with dyslexia in higher education",
            "Suporting students with dyslexia in higher education",
        ),
        (
            "The history of the eighteenth century hospital",
            "The history of the eigteenth century hospital",
        ),
        ("Horror flims and the British censor", "Horror films and the British censor"),
        (
            "A survey of metadata quality in open repositories, part 1",
            "A survey of metadata quality in open repositories, Part I",
        ),
    ]:
        assert compare(record(1, first), record(2, second)) is not None, first


def test_short_titles_allow_no_typo() -> None:
    assert compare(record(1, "Peer work"), record(2, "Peer worm")) is None


def test_numbers() -> None:
    assert title_numbers(words("Part II of the 2nd study, part one")) == "1 2 2"
    assert title_numbers(words("What I learned")) == ""


def test_one_typo_keeps_a_candidate_key() -> None:
    # Candidates meet through a shared key; near-identical titles must share one.
    pairs = [
        ("Knowlege transfer partnerships", "Knowledge transfer partnerships"),
        (
            "A collective investment in lived experience practice",
            "A collective investment in lived experiance practice",
        ),
        (
            "Examining a co-produced steering group within a mental health project",
            "Examining a co-produced steering group within mental health project",
        ),
    ]
    for first, second in pairs:
        shared = set(candidate_keys(record(1, first))) & set(candidate_keys(record(2, second)))
        assert shared, (first, second)


def test_large_groups_are_compared_within_a_window() -> None:
    members = [record(i, f"Title number {i:05d} of a long series") for i in range(200)]
    pairs = list(group_pairs(members))
    assert len(pairs) <= len(members) * WINDOW
    small = members[:WINDOWED_GROUP]
    assert len(list(group_pairs(small))) == len(small) * (len(small) - 1) // 2
    assert all(a.record_id < b.record_id for a, b in pairs)


def test_features_round_trip_through_their_row() -> None:
    features = record(
        7, "Knowlege transfer", ["corp:nhs trust", "stirrup v"], identifiers=["hdl:1/2"]
    )
    assert Features.from_row(features.row()) == features


@pytest.mark.parametrize(
    "description",
    [
        # The 30th word straddles the 240th character, where the first reading stops.
        "aaaaaaa " * 29 + "bbbbbbbbbbbbbbb c d e",
        # 31 words within 240 characters, and more after.
        "word " * 60,
        # Fewer than 30 words in all, the last of them past 240 characters.
        "x" * 230 + " yyyyyyyyyyyyyyyyyyyy zz",
        # The 30 words end past 400 characters: the first 400 count, as always.
        "longwordsxx " * 40,
        "Überprüfung der Maßnahmen, ﬁnal " * 12,
    ],
)
def test_the_context_is_the_first_30_words_of_the_first_400_characters(description: str) -> None:
    features = features_of(1, ["Editorial"], [], [], [], [description], 0)
    assert features.context == " ".join(words(description[:400])[:30])
