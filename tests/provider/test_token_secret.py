"""The resumption-token secret lives outside the mirror: the environment, else an
owner-only file beside the store, else provider.token_secret; a rotation keeps the previous
secret accepted for token_lifetime, and a running provider picks it up.

Write commands run through the real `oai` command; tokens come from a real provider on
127.0.0.1 and are followed there.
"""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from oai.cli import main
from provider import tokens
from provider.errors import BadResumptionToken
from provider.settings import ProviderSettings
from store.token_secret import secret_path
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, serve
from tests.provider.replies import resumption_token
from tests.xsd import ResponseValidator

SETTINGS = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=3)
LIST = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}


@pytest.fixture(autouse=True)
def _no_secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OAI_TOKEN_SECRET", raising=False)
    monkeypatch.delenv("OAI_TOKEN_SECRET_PREVIOUS", raising=False)
    yield


def _oai(db: str, tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[provider]\nrepository_identifier = "{REPOSITORY_IDENTIFIER}"\ntoken_lifetime = 600\n',
        encoding="utf-8",
    )
    return CliRunner().invoke(main, ["--config", str(config), "--db", db, *args])


def _first_token(running: RunningProvider) -> str:
    token = resumption_token(etree.fromstring(running.get(**LIST).body))
    assert token is not None and token.text
    return token.text


def _follows(running: RunningProvider, token: str) -> bool:
    """Whether the provider answers the token with a page (not badResumptionToken)."""
    body = running.get(verb="ListIdentifiers", resumptionToken=token).body
    return b"badResumptionToken" not in body and b"<header" in body


def test_a_write_command_keeps_the_secret_beside_the_store_for_its_owner_only(
    filled_db: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    result = _oai(filled_db, tmp_path, "works", "recompute")
    assert result.exit_code == 0, result.output
    path = secret_path(filled_db)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(filled_db)
    meta = dict(conn.execute("SELECT key, value FROM store_meta").fetchall())
    conn.close()
    assert "token_secret" not in meta
    assert not any(line.split()[-1] in meta.values() for line in path.read_text().splitlines())
    # Tokens survive a restart of the provider: both servers use the file.
    with serve(filled_db, response_validator, SETTINGS) as first:
        token = _first_token(first)
    with serve(filled_db, response_validator, SETTINGS) as second:
        assert _follows(second, token)


def _signed_with(secret: str) -> str:
    """A token for the start of a ListIdentifiers list, signed with `secret`."""
    state = tokens.ListState(
        "ListIdentifiers", "oai_dc", None, None, None, 10**9, ("", ""), 0, 3, int(time.time()) + 600
    )
    return tokens.encode(state, secret)


def test_the_secret_an_older_store_kept_moves_to_the_file(
    filled_db: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    legacy = "the-secret-an-m004-store-kept"
    conn = sqlite3.connect(filled_db)
    with conn:
        conn.execute("INSERT INTO store_meta (key, value) VALUES ('token_secret', ?)", [legacy])
        conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm005%'")
    conn.close()
    result = _oai(filled_db, tmp_path, "works", "recompute")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(filled_db)
    stored = conn.execute("SELECT value FROM store_meta WHERE key = 'token_secret'").fetchall()
    conn.close()
    assert stored == []
    assert f"current {legacy}" in secret_path(filled_db).read_text()
    # Tokens issued before the upgrade (signed with the stored secret) still work.
    with serve(filled_db, response_validator, SETTINGS) as after:
        assert _follows(after, _signed_with(legacy))
        assert not _follows(after, _signed_with("another-secret"))


def test_the_environment_comes_first_and_no_file_is_made(
    filled_db: str,
    tmp_path: Path,
    response_validator: ResponseValidator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAI_TOKEN_SECRET", "from-the-environment")
    monkeypatch.setenv("OAI_TOKEN_SECRET_PREVIOUS", "the-one-before")
    assert _oai(filled_db, tmp_path, "works", "recompute").exit_code == 0
    assert not secret_path(filled_db).exists()
    configured = ProviderSettings(
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=3,
        token_secret="from-config",  # noqa: S106 - a test value
    )
    with serve(filled_db, response_validator, configured) as running:
        assert _follows(running, _signed_with("from-the-environment"))
        assert _follows(running, _signed_with("the-one-before"))
        assert not _follows(running, _signed_with("from-config"))
        state = tokens.decode(
            _first_token(running), "ListIdentifiers", ("from-the-environment",), _now()
        )
        assert state.cursor == configured.page_size  # the first page's token, readable
    refused = _oai(filled_db, tmp_path, "rotate-secret")
    assert refused.exit_code == 1
    assert "comes from $OAI_TOKEN_SECRET" in refused.stderr


def test_the_file_comes_before_the_setting(
    filled_db: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    assert _oai(filled_db, tmp_path, "works", "recompute").exit_code == 0
    current = _current(filled_db)
    configured = ProviderSettings(
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=3,
        token_secret="from-config",  # noqa: S106 - a test value
    )
    with serve(filled_db, response_validator, configured) as running:
        assert _follows(running, _signed_with(current))
        assert not _follows(running, _signed_with("from-config"))


def test_a_secret_file_others_may_read_is_refused_in_one_line(
    filled_db: str, tmp_path: Path
) -> None:
    assert _oai(filled_db, tmp_path, "works", "recompute").exit_code == 0
    path = secret_path(filled_db)
    path.chmod(0o644)
    result = _oai(filled_db, tmp_path, "serve", "--get", "/oai?verb=Identify")
    assert result.exit_code == 1
    assert "readable by others" in result.stderr and "chmod 600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_rotation_keeps_harvests_in_progress_going(
    filled_db: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    assert _oai(filled_db, tmp_path, "works", "recompute").exit_code == 0
    with serve(filled_db, response_validator, SETTINGS) as running:
        before = _first_token(running)
        rotated = _oai(filled_db, tmp_path, "rotate-secret")
        assert rotated.exit_code == 0, rotated.output
        assert "accepted for 600 s more" in rotated.stdout
        time.sleep(1.2)  # the running provider reads the file again
        after = _first_token(running)
        fresh = _current(filled_db)
        # Signed with the new secret (decode raises for any other).
        assert (
            tokens.decode(after, "ListIdentifiers", (fresh,), _now()).cursor == SETTINGS.page_size
        )
        with pytest.raises(BadResumptionToken):
            tokens.decode(before, "ListIdentifiers", (fresh,), _now())
        assert _follows(running, before)  # signed with the previous secret
        assert _follows(running, after)
    assert stat.S_IMODE(secret_path(filled_db).stat().st_mode) == 0o600
    with serve(filled_db, response_validator, SETTINGS) as restarted:
        assert _follows(restarted, before) and _follows(restarted, after)


def test_a_previous_secret_past_its_time_is_refused(
    filled_db: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    path = secret_path(filled_db)
    path.write_text(
        "current now-signing\nprevious retired-long-ago 2020-01-01T00:00:00Z\n"
        "previous retired-lately 2999-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    with serve(filled_db, response_validator, SETTINGS) as running:
        assert _follows(running, _signed_with("now-signing"))
        assert _follows(running, _signed_with("retired-lately"))
        assert not _follows(running, _signed_with("retired-long-ago"))


def _current(db: str) -> str:
    """The secret the file says signs tokens."""
    lines = secret_path(db).read_text(encoding="utf-8").splitlines()
    (current,) = [line.split()[1] for line in lines if line.startswith("current ")]
    return current


def _now() -> datetime:
    return datetime.now(UTC)
