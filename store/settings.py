"""Typed settings read from TOML tables, shared by every package's settings dataclass.

A table becomes a frozen dataclass: unknown keys and values of the wrong type are a
ConfigError naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

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
