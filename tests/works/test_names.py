"""Author names: splitting dc:creator strings, keys, display forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from works.names import display_name, is_corporate, parse_creators, parse_name, split_creators

KEYS = [
    ("Stirrup, V.", "stirrup v"),
    ("Stirrup, Vicki", "stirrup v"),
    ("V. Stirrup", "stirrup v"),
    ("Vicki Stirrup", "stirrup v"),
    ("STIRRUP, V", "stirrup v"),
    ("Stirrup V", "stirrup v"),
    ("Stirrup, Vicki (0000-0002-1825-0097)", "stirrup v"),
    ("Stirrup, Vicki, 1970-", "stirrup v"),
    ("Dimond, I", "dimond i"),
    ("MacInnes, D.", "macinnes d"),
    ("McInnes, D.", "mcinnes d"),  # Mac and Mc are different names
    ("van der Berg, J.", "vanderberg j"),
    ("J. van der Berg", "vanderberg j"),
    ("Berg, J. van der", "vanderberg j"),
    ("Jan Van der Berg", "vanderberg j"),
    ("de la Cruz, Juan", "delacruz j"),
    ("Ludwig van Beethoven", "vanbeethoven l"),
    ("García-López, María", "garcialopez m"),
    ("Garcia Lopez, M.", "garcialopez m"),
    ("Müller, K.", "muller k"),
    ("O'Brien, P.", "obrien p"),
    ("Smith, John, Jr.", "smith j"),
    ("Tolkien, J.R.R.", "tolkien j"),
    ("J. R. R. Tolkien", "tolkien j"),
    ("JRR Tolkien", "tolkien j"),
    ("Smith JR", "smith j"),
    ("Иванов, И. И.", "иванов и"),
    ("Иван Иванов", "иванов и"),
    ("Иванов И.И.", "иванов и"),
    ("Παπαδόπουλος, Γ.", "παπαδοπουλοσ \u03b3"),
    ("山田 太郎", "山田太郎"),
    ("山田, 太郎", "山田太郎"),
    ("Plato", "plato"),
    ("SMITH Jane", "smith j"),
    ("DUPONT Jean", "dupont j"),
    ("Smith J A", "smith j"),
    ("TOLKIEN J R R", "tolkien j"),
    ("Mrs. Jane Doe", "doe j"),
    ("Sir Isaac Newton", "newton i"),
    ("Smith, Professor John", "smith j"),
    ("Johnson & Johnson", "corp:johnsonjohnson"),
    ("Public Health England", "corp:publichealthengland"),
    ("WHO", "corp:who"),
    ("Department of Health and Social Care", "corp:departmentofhealthandsocialcare"),
    ("Oxleas NHS Foundation Trust", "corp:oxleasnhsfoundationtrust"),
]


@pytest.mark.parametrize(("written", "key"), KEYS)
def test_key(written: str, key: str) -> None:
    name = parse_name(written)
    assert name is not None
    assert name.key == key


SPLITS = [
    ("Wattingham, A., Kaur, J. and Stirrup, V.", ["Wattingham, A.", "Kaur, J.", "Stirrup, V."]),
    ("Stirrup, V.; Jones, F.; MacInnes, D.", ["Stirrup, V.", "Jones, F.", "MacInnes, D."]),
    (
        "MacInnes, D., Jones, F., Stirrup, V., Dimond, I and Green, D",
        ["MacInnes, D.", "Jones, F.", "Stirrup, V.", "Dimond, I", "Green, D"],
    ),
    ("Vicki Stirrup and Fiona Jones", ["Vicki Stirrup", "Fiona Jones"]),
    ("Vicki Stirrup, Fiona Jones and Ian Dimond", ["Vicki Stirrup", "Fiona Jones", "Ian Dimond"]),
    ("Smith, J. & Doe, K.", ["Smith, J.", "Doe, K."]),
    ("Stirrup, V. et al.", ["Stirrup, V."]),
    # Left whole: a single name, a body, or an ambiguous list.
    ("Stirrup, Vicki", ["Stirrup, Vicki"]),
    ("van der Berg, Jan", ["van der Berg, Jan"]),
    ("Department of Health and Social Care", ["Department of Health and Social Care"]),
    ("Marks & Spencer Group", ["Marks & Spencer Group"]),
    ("Smith, John, Doe, Jane", ["Smith, John, Doe, Jane"]),
    ("José Ortega y Gasset", ["José Ortega y Gasset"]),
]


@pytest.mark.parametrize(("value", "names"), SPLITS)
def test_split(value: str, names: list[str]) -> None:
    assert split_creators(value) == names


def test_parse_creators_keys_each_person_once_in_order() -> None:
    names = parse_creators(["Stirrup, V.; Jones, F.", "V. Stirrup", "Kaur, J."])
    assert [n.key for n in names] == ["stirrup v", "jones f", "kaur j"]


def test_corporate_names_are_not_people() -> None:
    assert is_corporate("World Health Organization")
    assert is_corporate("Lived Experience Practitioner steering group of the trust")
    assert not is_corporate("Stirrup, Vicki")
    assert not is_corporate("Vicki Stirrup")


def test_display_prefers_the_fullest_form() -> None:
    forms = ["Stirrup, V.", "V. Stirrup", "STIRRUP, VICKI", "Stirrup, Vicki"]
    names = [n for n in map(parse_name, forms) if n is not None]
    assert display_name(names) == "Stirrup, Vicki"
    capitals = [n for n in map(parse_name, ["STIRRUP, VICKI", "Stirrup, V."]) if n is not None]
    assert display_name(capitals) == "STIRRUP, VICKI"  # as written, not put together


@pytest.mark.parametrize(
    "forms",
    [["中村由紀"], ["中村 由紀", "中村由紀"], ["Vicki Stirrup", "Stirrup, V."], ["V Stirrup"]],
)
def test_the_display_name_is_a_form_written_somewhere(forms: list[str]) -> None:
    names = [n for n in map(parse_name, forms) if n is not None]
    assert names and display_name(names) in forms


def test_nothing_to_key() -> None:
    assert parse_name("Various authors") is None
    assert parse_name("Anonymous") is None
    assert parse_name("") is None
    assert parse_name(" ,;. ") is None
    assert parse_creators(["", "et al."]) == []


NAME_TEXT = st.text(
    alphabet=st.sampled_from("abcdefghij ABCDEF.,-'éüØ& ;"), min_size=0, max_size=30
)
_FAMILY = st.sampled_from(["Stirrup", "MacInnes", "García-López", "O'Brien", "Müller", "Kaur"])
_GIVEN = st.sampled_from(["V.", "Vicki", "J. R.", "JRR", "Fiona Anne", "É.", "D"])
_PARTICLE = st.sampled_from(["", "van ", "van der ", "de la ", "von "])


@given(_FAMILY, _GIVEN, _PARTICLE, st.booleans())
def test_keying_the_display_form_gives_the_same_key(
    family: str, given_name: str, particle: str, family_first: bool
) -> None:
    written = (
        f"{particle}{family}, {given_name}" if family_first else f"{given_name} {particle}{family}"
    )
    name = parse_name(written)
    assert name is not None
    # The name put back together as "Family, Given" is the same person.
    again = parse_name(f"{name.family}, {name.given}" if name.given else name.family)
    assert again is not None
    assert again.key == name.key
    both = parse_name(f"{particle}{family}, {given_name}")
    assert both is not None
    assert both.key == name.key


@given(st.lists(NAME_TEXT, max_size=4))
def test_parse_creators_is_total_and_keys_are_folded(values: list[str]) -> None:
    for name in parse_creators(values):
        assert name.key == name.key.casefold()
        assert name.key.strip() == name.key
