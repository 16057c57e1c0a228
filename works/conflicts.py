"""Evidence against "same work": what two records' metadata plainly contradicts.

Pure (no I/O). A hard conflict means two publications: different first pages, a meeting
abstract beside a full article, different volumes of one container, different part
numbers, years too far apart, or DOIs that name two publications. A soft conflict (the
containers' names differ and nothing else does) keeps a pair apart but lists it for review.
Clustering refuses any merge that would put two conflicting records in one work.
"""

from __future__ import annotations

import re

from works.citation import containers_compatible
from works.features import REPOSITORY_REGISTRANTS, Features, doi_registrant

# Years of one publication's records differ by this much at most (a December issue dated the
# next year, online before print); a preprint and its published version by PREPRINT_YEAR_GAP.
MAX_YEAR_GAP = 1
PREPRINT_YEAR_GAP = 3
# Issue numbers above this are taken for something else (one labelled set's "number" is the
# reference manager's record number); below it, two issues of one volume are two texts.
MAX_PLAUSIBLE_ISSUE = 24
# Registrants whose different DOIs may be versions of one deposit (Zenodo mints a DOI per
# version and one for the concept, figshare appends ".v2").
VERSIONED_REGISTRANTS = frozenset({"10.5281", "10.6084"})
_VERSION_SUFFIX = re.compile(r"[./]v\d+$")


def _dois(features: Features) -> list[str]:
    return [p for p in features.pids if p.startswith("doi:")]


def _dois_compatible(x: str, y: str) -> bool:
    """True when two different DOIs may name one work: versions of one deposit, or one of
    them a preprint server's or repository's DOI."""
    first, second = doi_registrant(x), doi_registrant(y)
    if first == second:
        return first in VERSIONED_REGISTRANTS or (
            _VERSION_SUFFIX.sub("", x) == _VERSION_SUFFIX.sub("", y)
        )
    return first in REPOSITORY_REGISTRANTS or second in REPOSITORY_REGISTRANTS


def doi_conflict(a: Features, b: Features) -> str | None:
    """Why the two records' DOIs name different publications, or None: both have DOIs, none
    shared, and no pair of them can be versions or a preprint and its article."""
    first, second = _dois(a), _dois(b)
    if not first or not second or set(first) & set(second):
        return None
    if any(_dois_compatible(x, y) for x in first for y in second):
        return None
    same_registrant = {doi_registrant(x) for x in first} & {doi_registrant(y) for y in second}
    if same_registrant:
        return f"two DOIs of one registrant ({first[0][4:]} / {second[0][4:]})"
    return f"DOIs of two publishers ({first[0][4:]} / {second[0][4:]})"


def one_container(a: Features, b: Features) -> bool:
    """True when both records name a container and the names may be one container's."""
    return bool(a.container and b.container and containers_compatible(a.container, b.container))


def _issues_differ(a: str, b: str) -> bool:
    """True for two plausible issue numbers that differ ("2" / "3"; not "4-6" / "4")."""
    if not (a.isdigit() and b.isdigit()):
        return False
    return a != b and max(int(a), int(b)) <= MAX_PLAUSIBLE_ISSUE


def hard_conflicts(a: Features, b: Features) -> list[str]:
    """The plain contradictions between two records (empty when there are none)."""
    reasons = []
    if a.numbers != b.numbers:
        reasons.append(f"different numbers in the titles ({a.numbers or '-'} / {b.numbers or '-'})")
    if a.year is not None and b.year is not None:
        gap = PREPRINT_YEAR_GAP if a.preprint or b.preprint else MAX_YEAR_GAP
        if abs(a.year - b.year) > gap:
            reasons.append(f"years {a.year} and {b.year} more than {gap} apart")
    if a.pages_known and b.pages_known and a.first_page != b.first_page:
        reasons.append(f"different first pages ({a.first_page} / {b.first_page})")
    same_container = one_container(a, b)
    if same_container and a.volume and b.volume and a.volume != b.volume:
        reasons.append(f"different volumes of one container ({a.volume} / {b.volume})")
    elif (
        same_container
        and a.volume == b.volume
        and _issues_differ(a.issue, b.issue)
        and not (a.pages_known and b.pages_known)
    ):
        reasons.append(f"different issues of one volume ({a.issue} / {b.issue})")
    if (a.abstract and b.full_article) or (b.abstract and a.full_article):
        reasons.append("a meeting abstract and a full article")
    doi = doi_conflict(a, b)
    if doi is not None:
        reasons.append(doi)
    return reasons


def soft_conflicts(a: Features, b: Features) -> list[str]:
    """Contradictions that keep a pair apart but may be a way of writing (listed for review):
    containers whose names cannot be one container, where neither is a preprint server and
    the pages do not show one text (a series and a meeting name one book two ways)."""
    same_pages = a.pages_known and b.pages_known and a.first_page == b.first_page
    if (
        a.container
        and b.container
        and not (a.preprint or b.preprint or same_pages)
        and not containers_compatible(a.container, b.container)
    ):
        return [f"different containers ({a.container} / {b.container})"]
    return []


def conflicts(a: Features, b: Features) -> list[str]:
    """Every reason the two records cannot be one work: hard, then soft."""
    return hard_conflicts(a, b) + soft_conflicts(a, b)
