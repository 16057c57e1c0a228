"""The resumption-token secret's file: beside the store, never in it, readable by its owner
only.

Anyone given the SQLite file (a copy, a Datasette publication) must not be able to forge
resumption tokens, so the secret lives in `<store>.token-secret` (mode 0600). Its first
line signs tokens; a rotation keeps the previous secret on a `previous` line with the time
until which it is still accepted (the token lifetime), so harvests in progress survive.

    # oai-mirror resumption-token secrets: ...
    current <secret>
    previous <secret> <accepted until, UTC>
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from oaiformat.datestamps import format_utc, parse_strict
from store.errors import StoreError

SUFFIX = ".token-secret"
_HEADER = (
    "# oai-mirror resumption-token secrets: the 'current' one signs; a 'previous' one is\n"
    "# still accepted until the time given (UTC). Keep this file readable by its owner only.\n"
)


class SecretFileError(StoreError):
    """The secret file cannot be used: readable by others, or not in its format."""


@dataclass(frozen=True)
class TokenKeys:
    """The secret that signs tokens and the previous ones still accepted, and where they
    came from (for messages)."""

    current: str
    previous: tuple[str, ...] = ()
    origin: str = ""

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every secret a token may be signed with, the current one first."""
        return (self.current, *self.previous)


def secret_path(store_path: str | Path) -> Path:
    """Where the secret file of the store at `store_path` lives."""
    return Path(f"{store_path}{SUFFIX}")


def read_keys(path: Path, now: datetime) -> TokenKeys | None:
    """The keys in the file at `path`, previous ones past their time dropped; None when
    there is no file. Raises SecretFileError when the group or others may read it, or it
    is not in its format."""
    parsed = _read(path, now)
    if parsed is None:
        return None
    current, previous = parsed
    return TokenKeys(current, tuple(secret for secret, _ in previous), str(path))


def _read(path: Path, now: datetime) -> tuple[str, list[tuple[str, str]]] | None:
    """(current secret, [(previous secret, accepted until)] still in their time)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretFileError(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}): anyone who can read"
            f" it can forge resumption tokens; run `chmod 600 {path}`"
        )
    current: str | None = None
    previous: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "previous" and len(words) == 3:
            if _still(words[2], now):
                previous.append((words[1], words[2]))
        elif words[0] == "current" and len(words) == 2 and current is None:
            current = words[1]
        else:
            raise SecretFileError(f"{path}, line {number}: not 'current SECRET' or 'previous ...'")
    if current is None:
        raise SecretFileError(f"{path}: no 'current' secret")
    return current, previous


def _still(until: str, now: datetime) -> bool:
    try:
        return parse_strict(until)[0] > now
    except ValueError:
        return False  # an unreadable time accepts nothing


def create_keys(path: Path, current: str | None = None) -> bool:
    """Create the file with a new secret (or `current`) unless it exists; True when
    created. Owner-only from the first byte (O_EXCL, mode 0600)."""
    try:
        _write_owner_only(path, f"{_HEADER}current {current or new_secret()}\n")
    except FileExistsError:
        return False
    return True


def _write_owner_only(path: Path, text: str) -> None:
    """Write a new file readable by its owner only from the first byte (O_EXCL, 0600),
    synced to disk. Raises FileExistsError when `path` exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def rotate_keys(path: Path, lifetime: int, now: datetime) -> TokenKeys:
    """Replace the current secret with a new one; the old one stays accepted for
    `lifetime` seconds (tokens it signed expire by then). Raises SecretFileError when
    there is no file or it cannot be used."""
    parsed = _read(path, now)
    if parsed is None:
        raise SecretFileError(f"{path} does not exist: no secret to rotate")
    current, previous = parsed
    previous.insert(0, (current, format_utc(now + timedelta(seconds=lifetime))))
    fresh = new_secret()
    lines = [f"current {fresh}\n", *(f"previous {s} {until}\n" for s, until in previous)]
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_owner_only(temporary, _HEADER + "".join(lines))
    os.replace(temporary, path)  # a reader sees the old file or the new one, never half
    return TokenKeys(fresh, tuple(s for s, _ in previous), str(path))


def new_secret() -> str:
    """A fresh random secret (256 bits)."""
    return secrets.token_urlsafe(32)
