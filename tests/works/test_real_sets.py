"""The real labelled duplicate sets beside the repository (../shared/dedupe-real), scored by
their own scorer through the installed `oai`: issue 9's floors, precision 0.99, recall 0.95.
The sets are not copied here (their README asks so); without them the test skips."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[3] / "shared" / "dedupe-real"
PRECISION = 0.99
RECALL = 0.95


@pytest.mark.skipif(not (REAL / "score.py").is_file(), reason=f"{REAL} is absent")
def test_real_labelled_sets_meet_the_floors(tmp_path: Path) -> None:
    oai = shutil.which("oai")
    assert oai is not None, "the oai command is not installed"
    figures_file = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(REAL / "score.py"), "--oai", oai, "--json", str(figures_file)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(figures_file.read_text(encoding="utf-8"))
    assert len(figures) >= 3
    below = {
        name: (round(f["precision"], 4), round(f["recall"], 4))
        for name, f in figures.items()
        if f["precision"] < PRECISION or f["recall"] < RECALL
    }
    assert not below, below
