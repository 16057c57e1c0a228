"""Dependencies point one way: oai -> provider, harvester, works -> store -> oaiformat.

provider, harvester and works never import each other; nothing imports oai; the format
layer imports nothing of ours.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oai", "provider", "harvester", "works", "store", "oaiformat")
# What each package may import from this project.
ALLOWED: dict[str, set[str]] = {
    "oaiformat": {"oaiformat"},
    "store": {"store", "oaiformat"},
    "provider": {"provider", "store", "oaiformat"},
    "harvester": {"harvester", "store", "oaiformat"},
    "works": {"works", "store", "oaiformat"},
    "oai": {"oai", "provider", "harvester", "works", "store", "oaiformat"},
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
        for package in PACKAGES
        if package != "oai"
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


@pytest.mark.parametrize("package", PACKAGES)
def test_tests_mirror_the_package(package: str) -> None:
    tests = ROOT / "tests" / ("cli" if package == "oai" else package)
    assert any(tests.glob("test_*.py")), f"no tests/{tests.name}/ for {package}"


def test_every_package_and_bench_is_packaged_and_type_checked() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(settings["tool"]["setuptools"]["packages"]) == set(PACKAGES)
    assert set(settings["tool"]["mypy"]["files"]) == {*PACKAGES, "tests", "bench", "docs"}
