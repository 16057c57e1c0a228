"""config.toml: defaults, validation naming key and file, and the README table agreeing."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from harvester.settings import HarvesterSettings, SourceSettings
from oai.config import Config, ConfigError, StoreSettings, load
from provider.settings import ProviderSettings

ROOT = Path(__file__).resolve().parents[2]
# TOML key -> field name where they differ.
RENAMES = {"set": "set_spec", "from": "from_"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_gives_working_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load(None)
    assert config == Config()
    assert re.match(
        r"^[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+$", config.provider.repository_identifier
    )


def test_shipped_config_is_valid() -> None:
    config = load(ROOT / "config.toml")
    assert config.provider.page_size == 100


def test_a_full_file_is_read_into_typed_settings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[store]
path = "x.db"
[provider]
repository_name = "R"
admin_email = "a@b.org"
repository_identifier = "repo.example.edu"
page_size = 50
token_lifetime = 600
sources = ["local", "arxiv"]
[sources.arxiv]
url = "https://export.arxiv.org/oai2"
set = "physics"
from = "2024-01-01"
""",
    )
    config = load(path)
    assert config.store.path == "x.db"
    assert config.provider.admin_email == ("a@b.org",)
    assert config.provider.sources == ("local", "arxiv")
    assert config.sources == (
        SourceSettings("arxiv", "https://export.arxiv.org/oai2", "oai_dc", "physics", "2024-01-01"),
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[store]\npaht = 'x'\n", "store.paht"),
        ("[provider]\npage_size = 'ten'\n", "provider.page_size"),
        ("[provider]\npage_size = 0\n", "provider.page_size"),
        ("[provider]\nrepository_identifier = 'localhost'\n", "provider.repository_identifier"),
        ("[provider]\nrepository_identifier = '1abc.org'\n", "provider.repository_identifier"),
        ("[provider]\nadmin_email = ['nobody']\n", "provider.admin_email"),
        ("[provider]\nbase_url = 'ftp://x'\n", "provider.base_url"),
        ("[provider]\ntoken_lifetime = 5\n", "provider.token_lifetime"),
        ("[sources.a]\nurl = 'not a url'\n", "sources.a.url"),
        ("[sources.a]\nurl = 'http://x.org/oai'\ncolour = 1\n", "sources.a.colour"),
        ("[sources.a]\nurl = 'http://x.org/oai'\nfrom = '2024'\n", "sources.a.from"),
        ("[sources.'bad name']\nurl = 'http://x.org/oai'\n", "sources.bad name"),
        ("[sources.local]\nurl = 'http://x.org/oai'\n", "sources.local"),
        ("[sourcez]\n", "sourcez"),
        ("[provider]\ntoken_lifetime = 1000000000000\n", "provider.token_lifetime"),
        ('[provider]\nadmin_email = "a@b.org\\n"\n', "provider.admin_email"),
        ("[sources.a]\nurl = 'http://x.org/oai'\nset = 'a b'\n", "sources.a.set"),
        ("[sources.a]\nurl = 'http://x.org/oai'\nfrom = '2020-02-30'\n", "sources.a.from"),
        ("[provider]\nhtml_view = 'yes'\n", "provider.html_view"),
        ("[provider]\nhtml_view = 1\n", "provider.html_view"),
    ],
)
def test_bad_settings_name_key_and_file(tmp_path: Path, text: str, named: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert named in message
    assert str(path) in message


def test_html_view_is_on_by_default_and_can_be_switched_off(tmp_path: Path) -> None:
    assert ProviderSettings().html_view is True
    assert load(_write(tmp_path, "[provider]\nhtml_view = false\n")).provider.html_view is False


def test_named_but_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml")


def _readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_.A-Z]+)` \|", section, flags=re.MULTILINE))


def _settings_keys() -> set[str]:
    keys = {f"store.{f.name}" for f in dataclasses.fields(StoreSettings)}
    keys |= {f"provider.{f.name}" for f in dataclasses.fields(ProviderSettings)}
    keys |= {f"harvester.{f.name}" for f in dataclasses.fields(HarvesterSettings)}
    inverse = {v: k for k, v in RENAMES.items()}
    keys |= {
        f"sources.NAME.{inverse.get(f.name, f.name)}"
        for f in dataclasses.fields(SourceSettings)
        if f.name != "name"
    }
    return keys


def test_readme_table_documents_exactly_the_settings() -> None:
    assert _readme_keys() == _settings_keys()
