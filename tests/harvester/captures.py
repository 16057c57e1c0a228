"""Where each real captured response lives: tests/fixtures/real, or ../shared for the rest.

Captures from permissively licensed projects are copied into tests/fixtures/real (see its
ATTRIBUTION.md); those from GPL-3.0 or EUPL-1.2 projects are read from the shared folder
beside the repository, and the tests that need them are skipped, with the reason shown,
where that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

LOCAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real"
# File-name prefixes of captures from copyleft projects (INDEX.md, "Sources and licences").
COPYLEFT = (
    "inspire-next__",
    "oai-harvest-manager__",
    "plugin-OaipmhHarvester__",
    "paperhive-oai-pmh__",
    "metis-framework__",
)


def is_copyleft(name: str) -> bool:
    """True for a capture taken from a GPL-3.0 or EUPL-1.2 project."""
    return name.startswith(COPYLEFT)


def locate(name: str) -> Path | None:
    """The capture's path: the local copy, else the shared one; None when neither exists."""
    for folder in (LOCAL, SHARED):
        path = folder / name
        if path.is_file():
            return path
    return None


def skip_reason(names: tuple[str, ...] | list[str]) -> str | None:
    """Why a test over these captures cannot run here, or None when all are present."""
    absent = [n for n in names if locate(n) is None]
    if not absent:
        return None
    if is_copyleft(absent[0]):
        return f"{absent[0]} is GPL/EUPL-sourced, kept only in {SHARED}, which is absent"
    return f"{absent[0]} is missing from {LOCAL}"
