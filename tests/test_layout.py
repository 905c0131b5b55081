"""Where test support lives stays true: the dependencies point one way, data folders hold data.

- nothing outside tests/ imports tests (scripts and benchmarks share code with the tests through devkit/);
- devkit/ imports neither tests nor sipsimple, and the wheel does not ship it;
- tests/scenarios/ holds SIPp scenarios only: every program a test starts lives in tests/peers/.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parent.parent


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from (REPO / folder).rglob("*.py")


def imported_modules(path: Path) -> set[str]:
    """The top-level names of what `path` imports, wherever in the file (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_nothing_outside_tests_imports_tests() -> None:
    files = list(python_files("scripts", "benchmarks", "devkit", "sipsimple"))
    assert any(path.name == "demo_call.py" for path in files)  # the walk finds the scripts
    offenders = sorted(str(path.relative_to(REPO)) for path in files if "tests" in imported_modules(path))
    assert not offenders, f"these import tests (move what they need to devkit/): {offenders}"


def test_devkit_needs_neither_tests_nor_sipsimple() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_modules(path) & {"tests", "sipsimple"})
        for path in python_files("devkit")
        if imported_modules(path) & {"tests", "sipsimple"}
    }
    assert not offenders, offenders


def test_the_wheel_takes_sipsimple_only() -> None:
    find = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(REPO), include=find["include"], exclude=find.get("exclude", ()))
    assert "sipsimple" in packages
    assert all(package == "sipsimple" or package.startswith("sipsimple.") for package in packages), packages


def test_scenario_folders_hold_no_programs() -> None:
    programs = sorted(str(path.relative_to(REPO)) for path in (REPO / "tests" / "scenarios").rglob("*.py"))
    assert not programs, f"peer programs belong in tests/peers/: {programs}"
