"""Dependencies point one way: oai -> provider, harvester -> store (STYLE.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oai", "provider", "harvester", "store")
# What each package may import from this project.
ALLOWED: dict[str, set[str]] = {
    "store": {"store"},
    "provider": {"provider", "store"},
    "harvester": {"harvester", "store"},
    "oai": {"oai", "provider", "harvester", "store"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_packages(path)
        if name not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_nothing_outside_oai_imports_oai() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("provider", "harvester", "store")
        for path in (ROOT / package).rglob("*.py")
        if "oai" in _imported_packages(path)
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES)
def test_package_docstring_maps_its_modules(package: str) -> None:
    init = ROOT / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    modules = sorted(p.stem for p in (ROOT / package).glob("*.py") if not p.stem.startswith("_"))
    missing = [name for name in modules if name not in doc]
    assert not missing, f"{init} does not map {missing}"
