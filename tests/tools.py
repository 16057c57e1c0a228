"""Programs some tests drive (headless Chromium, the sqlite3 shell): where one is missing
those tests skip with the reason shown, except under CI, where .ci/run installs it and
they fail instead."""

from __future__ import annotations

import os

import pytest


def under_ci() -> bool:
    """Whether the CI variable is set to something true."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def required(found: str | None, missing: str) -> str:
    """`found` (a program's path); when None, skip saying `missing`, or fail under CI."""
    if found is None:
        if under_ci():
            pytest.fail(f"{missing}; CI must run these tests (.ci/run installs it)")
        pytest.skip(missing)
    return found
