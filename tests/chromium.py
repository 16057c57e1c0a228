"""Headless Chromium, driven as a subprocess: the browser tests and docs/screenshots.py.

Only 127.0.0.1 is ever loaded, and the flags keep Chromium off the network (no updates,
sync, QUIC or background requests); each run gets a fresh profile directory.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT = 90  # seconds one Chromium run may take on a loaded two-core machine


def find_chromium() -> str | None:
    """The Chromium executable: on PATH, or where Debian's package puts it; None if absent."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _run(chromium: str, profile: Path, *args: str) -> bytes:
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]!r}")
    return done.stdout


def dump_dom(chromium: str, url: str, profile: Path) -> str:
    """The DOM Chromium renders for `url`, serialised."""
    return _run(chromium, profile, "--dump-dom", url).decode("utf-8")


def screenshot(chromium: str, url: str, target: Path, size: tuple[int, int], profile: Path) -> None:
    """Write a PNG of `url` as Chromium renders it in a window of `size` (width, height)."""
    _run(
        chromium,
        profile,
        f"--screenshot={target}",
        f"--window-size={size[0]},{size[1]}",
        "--hide-scrollbars",
        url,
    )
