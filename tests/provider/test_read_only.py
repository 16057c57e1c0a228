"""The provider only reads the mirror: it serves a read-only copy, and signs tokens without
writing a secret into the store."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from provider.settings import ProviderSettings
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, serve
from tests.provider.replies import resumption_token
from tests.xsd import ResponseValidator, xpath_texts

SMALL_PAGES = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=3)


def _walk(running: RunningProvider) -> list[str]:
    """Every identifier of a ListIdentifiers walk, following the tokens."""
    found: list[str] = []
    reply = running.get(verb="ListIdentifiers", metadataPrefix="oai_dc")
    while True:
        doc = etree.fromstring(reply.body)
        found += xpath_texts(doc, "//o:header/o:identifier")
        token = resumption_token(doc)
        if token is None or not token.text:
            return found
        reply = running.get(verb="ListIdentifiers", resumptionToken=token.text)


@pytest.fixture
def read_only_copy(filled_db: str, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read-only"
    folder.mkdir()
    copy = folder / "mirror.db"
    shutil.copyfile(filled_db, copy)
    copy.chmod(0o444)
    folder.chmod(0o555)
    yield copy
    folder.chmod(0o755)


def test_a_read_only_copy_is_served_whole_and_left_alone(
    filled_db: str, read_only_copy: Path, response_validator: ResponseValidator
) -> None:
    with serve(filled_db, response_validator, SMALL_PAGES) as original:
        expected = _walk(original)
    before = read_only_copy.read_bytes()
    with serve(str(read_only_copy), response_validator, SMALL_PAGES) as running:
        assert _walk(running) == expected
    assert len(expected) > 2 * SMALL_PAGES.page_size
    assert read_only_copy.read_bytes() == before
    assert [p.name for p in read_only_copy.parent.iterdir()] == ["mirror.db"]


def test_a_store_without_a_secret_gets_one_for_the_server_lifetime(
    filled_db: str, response_validator: ResponseValidator, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, "provider.app"),
        serve(filled_db, response_validator, SMALL_PAGES) as running,
    ):
        assert len(_walk(running)) > SMALL_PAGES.page_size  # its tokens work
    assert "resumption-token secret" in caplog.text
    assert not Path(f"{filled_db}.token-secret").exists()  # nothing written


def test_the_configured_secret_serves_without_a_warning(
    filled_db: str, response_validator: ResponseValidator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "a-secret-only-these-tests-use"  # noqa: S105 - a test value, not a credential
    settings = ProviderSettings(
        repository_identifier=REPOSITORY_IDENTIFIER, page_size=3, token_secret=secret
    )
    with (
        caplog.at_level(logging.WARNING, "provider.app"),
        serve(filled_db, response_validator, settings) as running,
    ):
        assert len(_walk(running)) > settings.page_size
    assert "resumption-token secret" not in caplog.text
