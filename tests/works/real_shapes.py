"""Records shaped as real bibliographic exports write them, for the cases that made false
merges in real sets: a supplement DOI on many abstracts, one guideline in three journals, a
meeting abstract and its article, a column in every issue, a letter and its reply, notes in
titles, a preprint and its article. Each record names the work it belongs to ("work").
"""

from __future__ import annotations

from typing import Any

SUPPLEMENT_DOI = "https://doi.org/10.1007/s00125-018-4693-0"  # Diabetologia 61(Suppl 1)
GUIDELINE = (
    "American Cancer Society, American Society for Colposcopy and Cervical Pathology, and "
    "American Society for Clinical Pathology screening guidelines for the prevention and "
    "early detection of cervical cancer"
)
GUIDELINE_AUTHORS = ["Saslow, D.", "Solomon, D.", "Lawson, H. W.", "Killackey, M."]
ABSTRACT_TITLE = (
    "Comparison of the effectiveness of some pleural sclerosing agents used for control of "
    "effusions in malignant pleural mesothelioma: a review of 117 cases"
)
NOTES_TITLE = "Human papillomavirus testing in the prevention of cervical cancer: a meta-analysis"


def _record(
    number: int,
    work: str,
    title: str,
    creators: list[str],
    *,
    year: str,
    source: str | None = None,
    identifiers: tuple[str, ...] = (),
    kind: str = "article",
) -> dict[str, Any]:
    metadata: dict[str, list[str]] = {
        "title": [title],
        "creator": creators,
        "date": [year],
        "type": [kind],
        "identifier": list(identifiers),
    }
    if source is not None:
        metadata["source"] = [source]
    return {
        "source": "local",
        "identifier": f"oai:real-shapes.example.org:{number}",
        "datestamp": "2024-01-01T00:00:00Z",
        "metadata": metadata,
        "work": work,
    }


def records() -> list[dict[str, Any]]:
    """The records, each with its true work in "work"."""
    return [
        # One supplement DOI on three different meeting abstracts; the first also harvested
        # from a database that dropped the DOI: one work.
        _record(
            1,
            "dia-s529",
            "Glycaemic variability and hypoglycaemia in type 1 diabetes on insulin pumps",
            ["Okafor, C. N.", "Ellis, M."],
            year="2018",
            source="Diabetologia, 61(Suppl 1), S529",
            identifiers=(SUPPLEMENT_DOI,),
            kind="Meeting abstract",
        ),
        _record(
            2,
            "dia-s557",
            "Beta cell function after bariatric surgery: a two-year follow-up",
            ["Lindqvist, A.", "Chakraborty, S."],
            year="2018",
            source="Diabetologia, 61(Suppl 1), S557",
            identifiers=(SUPPLEMENT_DOI,),
            kind="Meeting abstract",
        ),
        _record(
            3,
            "dia-s57",
            "Sodium-glucose cotransporter 2 inhibitors and ketoacidosis in clinical practice",
            ["Moreau, P.", "Kaur, J."],
            year="2018",
            source="Diabetologia, 61(Suppl 1), S57",
            identifiers=(SUPPLEMENT_DOI,),
            kind="Meeting abstract",
        ),
        _record(
            4,
            "dia-s529",
            "Glycaemic variability and hypoglycaemia in type 1 diabetes on insulin pumps",
            ["Okafor, Chinedu N.", "Ellis, Mark"],
            year="2018",
            source="Diabetologia, 61, S529",
        ),
        # One guideline printed in three journals, the second also from another database.
        _record(
            5,
            "guideline-ajcp",
            GUIDELINE,
            GUIDELINE_AUTHORS,
            year="2012",
            source="American Journal of Clinical Pathology, 137(4), 516-542",
        ),
        _record(
            6,
            "guideline-ca",
            GUIDELINE,
            GUIDELINE_AUTHORS,
            year="2012",
            source="CA: A Cancer Journal for Clinicians, 62(3), 147-172",
        ),
        _record(
            7,
            "guideline-jlgtd",
            GUIDELINE,
            GUIDELINE_AUTHORS,
            year="2012",
            source="Journal of Lower Genital Tract Disease, 16(3), 175-204",
        ),
        _record(
            8,
            "guideline-ca",
            f"{GUIDELINE}. [Review]",
            ["Saslow, Debbie", "Solomon, Diane", "Lawson, Herschel W."],
            year="2012",
            source="CA Cancer J Clin, 62(3), 147-72",
        ),
        # A meeting abstract and the article of the same study.
        _record(
            9,
            "sclerosing-abstract",
            ABSTRACT_TITLE,
            ["Senyigit, A.", "Bayram, H.", "Babayigit, C."],
            year="2000",
            source="European Respiratory Journal, 16(Suppl 31), S359",
        ),
        _record(
            10,
            "sclerosing-article",
            ABSTRACT_TITLE,
            ["Senyigit, A.", "Bayram, H.", "Babayigit, C."],
            year="2000",
            source="Respiration, 67(6), 623-629",
        ),
        # The same column in two issues.
        _record(
            11,
            "column-26-1",
            "Editor's Comments",
            ["Weber, Ron"],
            year="2002",
            source="MIS Quarterly, 26(1)",
        ),
        _record(
            12,
            "column-26-2",
            "Editor's Comments",
            ["Weber, Ron"],
            year="2002",
            source="MIS Quarterly, 26(2)",
        ),
        _record(
            13,
            "remarks-24-1",
            "Remarks from MIS Quarterly Editor - Editor's Comments",
            ["Lee, Allen S."],
            year="2000",
            source="MIS Quarterly, 24(1)",
        ),
        _record(
            14,
            "remarks-24-2",
            "Remarks from MIS Quarterly Editor - Editor's Comments",
            ["Lee, Allen S."],
            year="2000",
            source="MIS Quarterly, 24(2)",
        ),
        # A letter and its reply: one title, other people.
        _record(
            15,
            "letter",
            "A trial of intrapleural streptokinase",
            ["Rosa, Ute W."],
            year="2005",
            source="New England Journal of Medicine, 352(22), 2243-5",
        ),
        _record(
            16,
            "reply",
            "A trial of intrapleural streptokinase",
            ["Bouros, Demosthenes"],
            year="2005",
            source="New England Journal of Medicine, 352(22), 2243-5; author reply 2243-5",
        ),
        # Notes a database adds to titles.
        _record(
            17,
            "notes",
            f"{NOTES_TITLE}. [Review] [45 refs]",
            ["Arbyn, M.", "Sasieni, P."],
            year="2012",
            source="Vaccine, 30(Suppl 5), F88-99",
        ),
        _record(
            18,
            "notes",
            f"{NOTES_TITLE} (Provisional abstract)",
            ["Arbyn, Marc", "Sasieni, Peter"],
            year="2012",
        ),
        _record(
            19,
            "notes",
            f"[{NOTES_TITLE}] LA: Ger",
            ["Arbyn, M."],
            year="2012",
        ),
        # A preprint and its published article, two DOIs of two registrants.
        _record(
            20,
            "preprint",
            "Peer support workers in acute mental health wards: a mixed-methods evaluation",
            ["Stirrup, V.", "Jones, F."],
            year="2021",
            source="medRxiv",
            identifiers=("https://doi.org/10.1101/2021.03.01.21252667",),
            kind="preprint",
        ),
        _record(
            21,
            "preprint",
            "Peer support workers in acute mental health wards: a mixed methods evaluation",
            ["Stirrup, Vicki", "Jones, Fiona"],
            year="2022",
            source="BMC Psychiatry, 22, 120-131",
            identifiers=("https://doi.org/10.1186/s12888-022-03755-1",),
        ),
    ]
