"""The README's `sqlite3 mirror.db "..."` examples, run with the sqlite3 command-line shell
on a mirror with works, harvested set names and records: each answers, and what a person
reads is text (the published XML included, though it is stored as a BLOB)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.provider.stores import build_works
from tests.tools import required

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r'^sqlite3 mirror\.db "(.+)"$', re.MULTILINE)


def _sqlite3() -> str:
    missing = "the sqlite3 command-line shell is not installed (Debian: apt-get install sqlite3)"
    return required(shutil.which("sqlite3"), missing)


def test_the_readme_shows_sqlite3_examples() -> None:
    assert len(EXAMPLE.findall(README.read_text(encoding="utf-8"))) >= 4


@pytest.mark.parametrize("query", EXAMPLE.findall(README.read_text(encoding="utf-8")))
def test_a_readme_example_answers_in_the_sqlite3_shell(tmp_path: Path, query: str) -> None:
    shell = _sqlite3()
    mirror = build_works(tmp_path / "mirror.db", hostile=False)
    done = subprocess.run(
        [shell, "-readonly", str(mirror), query],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), f"no rows for {query}"
    if "record_xml" in query:
        assert done.stdout.startswith("<record") and "dc:title" in done.stdout
