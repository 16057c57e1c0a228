"""config.toml, read once into frozen settings; every key is documented in the README.

Each TOML table becomes a frozen dataclass: unknown keys and values of the wrong type are a
ConfigError naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from harvester.settings import HarvesterSettings, SourceSettings
from oaiformat.datestamps import parse_strict
from oaiformat.identifiers import METADATA_PREFIX, REPOSITORY_IDENTIFIER, SET_SPEC, SOURCE_NAME
from provider.settings import ProviderSettings

DEFAULT_PATH = "config.toml"
_EMAIL = re.compile(r"^\S+@(\S+\.)+\S+$")


T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is unknown or has a bad value; the message names key and file."""


@dataclass(frozen=True)
class StoreSettings:
    """The [store] table."""

    # Path of the SQLite mirror; created with its schema when missing.
    path: str = "mirror.db"


def _check(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _check(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is tuple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(_check(item, args[0], where) for item in items)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")


def read_table(
    cls: type[T],
    table: Mapping[str, Any],
    *,
    section: str,
    file: str,
    renames: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> T:
    """Build the dataclass `cls` from a TOML table.

    `renames` maps TOML keys to field names (e.g. "from" -> "from_"); `extra` sets fields
    that do not come from the file. Raises ConfigError naming `section.key` and `file`.
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}] in {file} must be a table")
    renames = renames or {}
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = dict(extra or {})
    for key, value in table.items():
        name = renames.get(key, key)
        if name not in names or name in values:
            raise ConfigError(f"unknown key {section}.{key} in {file}")
        values[name] = _check(value, hints[name], f"{section}.{key} in {file}")
    return cls(**values)


@dataclass(frozen=True)
class Config:
    """All settings: [store], [provider] and each [sources.NAME]."""

    store: StoreSettings = field(default_factory=StoreSettings)
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    harvester: HarvesterSettings = field(default_factory=HarvesterSettings)
    sources: tuple[SourceSettings, ...] = ()


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _check_provider(settings: ProviderSettings, file: str) -> None:
    if not REPOSITORY_IDENTIFIER.fullmatch(settings.repository_identifier):
        raise ConfigError(
            f"provider.repository_identifier in {file} must be a domain name of two or more"
            f" labels, each starting with a letter; got {settings.repository_identifier!r}"
        )
    if not settings.admin_email or not all(_EMAIL.fullmatch(e) for e in settings.admin_email):
        raise ConfigError(f"provider.admin_email in {file} must list e-mail addresses")
    if settings.base_url is not None and not _is_http_url(settings.base_url):
        raise ConfigError(f"provider.base_url in {file} must be an http(s) URL")
    for key, value, low, high in (
        ("page_size", settings.page_size, 1, 10_000),
        ("token_lifetime", settings.token_lifetime, 60, 10 * 365 * 86_400),
        ("threads", settings.threads, 1, 256),
    ):
        if not low <= value <= high:
            raise ConfigError(f"provider.{key} in {file} must be from {low} to {high}, got {value}")
    if settings.sources is not None:
        for name in settings.sources:
            if not SOURCE_NAME.fullmatch(name):
                raise ConfigError(f"provider.sources in {file}: {name!r} is not a source name")


def _check_harvester(settings: HarvesterSettings, file: str) -> None:
    if settings.contact_email is not None and not _EMAIL.fullmatch(settings.contact_email):
        raise ConfigError(f"harvester.contact_email in {file} must be an e-mail address")
    for key, value, low in (
        ("connect_timeout", settings.connect_timeout, 1),
        ("read_timeout", settings.read_timeout, 1),
        ("response_timeout", settings.response_timeout, 1),
        ("max_attempts", settings.max_attempts, 1),
        ("retry_budget", settings.retry_budget, 0),
        ("max_retry_after", settings.max_retry_after, 0),
        ("politeness_delay", settings.politeness_delay, 0),
        ("max_response_bytes", settings.max_response_bytes, 1024),
        ("spool_bytes", settings.spool_bytes, 1024),
        ("page_cap", settings.page_cap, 1),
        ("empty_page_limit", settings.empty_page_limit, 1),
        ("run_time_cap", settings.run_time_cap, 0),
    ):
        if value < low:
            raise ConfigError(f"harvester.{key} in {file} must be at least {low}, got {value}")


def _check_source(source: SourceSettings, file: str) -> None:
    where = f"sources.{source.name}"
    if not SOURCE_NAME.fullmatch(source.name) or source.name == "local":
        raise ConfigError(
            f"[{where}] in {file}: a source name is letters, digits and -_.!~*'() only, and"
            " 'local' is reserved for imported records"
        )
    if not _is_http_url(source.url):
        raise ConfigError(f"{where}.url in {file} must be an http(s) URL, got {source.url!r}")
    if not METADATA_PREFIX.fullmatch(source.metadata_prefix):
        raise ConfigError(f"{where}.metadata_prefix in {file} is not a metadataPrefix")
    if source.set_spec is not None and not SET_SPEC.fullmatch(source.set_spec):
        raise ConfigError(f"{where}.set in {file} is not a setSpec, got {source.set_spec!r}")
    if source.from_ is not None:
        try:
            parse_strict(source.from_)
        except ValueError as exc:
            raise ConfigError(
                f"{where}.from in {file} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"
            ) from exc


def parse(data: dict[str, Any], file: str) -> Config:
    """Build a Config from parsed TOML. Raises ConfigError naming the key and the file."""
    unknown = set(data) - {"store", "provider", "harvester", "sources"}
    if unknown:
        raise ConfigError(f"unknown table or key {sorted(unknown)[0]} in {file}")
    store = read_table(StoreSettings, data.get("store", {}), section="store", file=file)
    provider = read_table(ProviderSettings, data.get("provider", {}), section="provider", file=file)
    _check_provider(provider, file)
    harvester = read_table(
        HarvesterSettings, data.get("harvester", {}), section="harvester", file=file
    )
    _check_harvester(harvester, file)
    tables = data.get("sources", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"sources in {file} must be tables [sources.NAME]")
    sources = []
    for name, table in tables.items():
        if not isinstance(table, dict) or "url" not in table:
            raise ConfigError(f"[sources.{name}] in {file} needs a url")
        source = read_table(
            SourceSettings,
            table,
            section=f"sources.{name}",
            file=file,
            renames={"set": "set_spec", "from": "from_"},
            extra={"name": name},
        )
        _check_source(source, file)
        sources.append(source)
    return Config(store, provider, harvester, tuple(sources))


def load(path: str | Path | None) -> Config:
    """Read config.toml; a missing default file gives the defaults.

    Raises ConfigError when an explicitly named file is missing, or on any bad content.
    """
    target = Path(path or DEFAULT_PATH)
    if not target.exists():
        if path is None:
            return Config()
        raise ConfigError(f"config file {target} does not exist")
    try:
        with target.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML ({exc})") from exc
    return parse(data, str(target))
