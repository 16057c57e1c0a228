"""store.token_secret: the owner-only file of resumption-token secrets."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.token_secret import (
    SecretFileError,
    create_keys,
    read_keys,
    rotate_keys,
    secret_path,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_created_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    path = secret_path(tmp_path / "m.db")
    assert path.name == "m.db.token-secret"
    assert create_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = read_keys(path, NOW)
    assert keys is not None and len(keys.current) >= 40 and keys.previous == ()
    assert not create_keys(path, "another")
    assert read_keys(path, NOW) == keys


def test_rotations_keep_previous_secrets_for_their_lifetime(tmp_path: Path) -> None:
    path = tmp_path / "s"
    create_keys(path, "first")
    second = rotate_keys(path, 600, NOW)
    third = rotate_keys(path, 600, NOW + timedelta(seconds=300))
    assert third.previous == (second.current, "first")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    later = read_keys(path, NOW + timedelta(seconds=700))  # "first" is past its time
    assert later is not None and later.accepted == (third.current, second.current)
    much_later = read_keys(path, NOW + timedelta(seconds=1000))
    assert much_later is not None and much_later.accepted == (third.current,)


def test_no_file_is_none_and_cannot_be_rotated(tmp_path: Path) -> None:
    assert read_keys(tmp_path / "none", NOW) is None
    with pytest.raises(SecretFileError, match="does not exist"):
        rotate_keys(tmp_path / "none", 600, NOW)


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("current x\n", 0o640, "readable by others"),
        ("current x\n", 0o604, "readable by others"),
        ("# only a comment\n", 0o600, "no 'current' secret"),
        ("current x\nsomething else\n", 0o600, "line 2"),
    ],
)
def test_a_file_that_cannot_be_used_is_refused(
    tmp_path: Path, text: str, mode: int, message: str
) -> None:
    path = tmp_path / "s"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    with pytest.raises(SecretFileError, match=message):
        read_keys(path, NOW)
