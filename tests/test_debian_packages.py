"""scripts/bootstrap installs every program the project runs: deps/debian_packages.txt against the code.

The list (deps/debian_packages.txt, read by scripts/bootstrap through
deps/debian_packages.sh) names each Debian package and the programs of it
that the project runs. Checked here, after the bootstrap has run:

* every program the Python code runs is in the list: found in the source by
  its syntax (``subprocess.run/Popen/...`` with a literal command, the list a
  command is built in, ``shutil.which("name")``, and wrappers that pass
  their ``*arguments`` to subprocess), or it belongs to one of Debian's
  essential packages, which every Debian system has;
* every program of the list is installed, on PATH (with the sbin
  directories) and owned by its package or a package it depends on;
* every package of the list is installed, and the bootstrap's own reading
  of the list gives the same packages as this test's.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIST = REPO / "deps" / "debian_packages.txt"
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
SYSTEM_DIRECTORIES = ("/usr/bin", "/usr/sbin", "/bin", "/sbin")
SKIPPED_DIRECTORIES = {".git", ".venv", "venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache"}

pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system (no dpkg-query)")


@dataclass
class Entry:
    package: str
    group: str
    programs: list[str] = field(default_factory=list)


def read_list(path: Path = LIST) -> list[Entry]:
    entries, group = [], ""
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if re.fullmatch(r"\[[^]]*\]", line):
            group = line[1:-1].strip()
            continue
        package, *programs = line.split()
        entries.append(Entry(package, group, programs))
    return entries


# --- what the Python code runs ------------------------------------------------------------


def _python_files() -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(REPO):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRECTORIES and not d.startswith(".")]
        for name in files:
            if name.endswith(".py"):
                yield Path(directory) / name


def _is_call_to(node: ast.AST, module: str, names: set[str]) -> bool:
    """Whether ``node`` calls ``module.name`` for a name in ``names``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == module
    )


def _first_string(node: ast.AST | None) -> str | None:
    """The first element of a list or tuple display when it is a string constant."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def programs_run_by(tree: ast.Module) -> set[str]:
    """The programs a module runs, as far as its syntax says."""
    found: set[str] = set()
    # Names bound to a command list: `command = ["turnserver", ...]`, passed to subprocess later.
    commands: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and (program := _first_string(node.value)) is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    commands[target.id] = program
    # Functions that hand their *arguments to subprocess: `def run(*command): subprocess.run(command)`.
    wrappers: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.vararg is not None:
            vararg = node.args.vararg.arg
            for inner in ast.walk(node):
                if (
                    _is_call_to(inner, "subprocess", SUBPROCESS_CALLS)
                    and isinstance(inner, ast.Call)
                    and inner.args
                    and isinstance(inner.args[0], ast.Name)
                    and inner.args[0].id == vararg
                ):
                    wrappers.add(node.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _is_call_to(node, "shutil", {"which"}) and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
        elif _is_call_to(node, "subprocess", SUBPROCESS_CALLS) and node.args:
            argument = node.args[0]
            if (program := _first_string(argument)) is not None:
                found.add(program)
            elif isinstance(argument, ast.Name) and argument.id in commands:
                found.add(commands[argument.id])
        arguments = node.args
        if isinstance(node.func, ast.Name) and node.func.id in wrappers:
            pass
        elif arguments and isinstance(arguments[0], ast.Name) and arguments[0].id in wrappers:
            arguments = arguments[1:]  # executor.submit(run, "ip", ...)
        else:
            continue
        for argument in arguments[:1]:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
            elif (program := _first_string(argument)) is not None:
                found.add(program)
    return {program for program in found if "/" not in program}


def test_the_scan_finds_what_a_module_runs() -> None:
    # The scan itself, on a module written to use each form it knows.
    source = """
import shutil, subprocess
def run(*command):
    subprocess.run(command, check=True)
def start():
    command = ["turnserver", "-c", "x"]
    subprocess.Popen(command)
    subprocess.run(["sipp", "-v"])
    shutil.which("nsd")
    run("ip", "link")
    pool.submit(run, "nsenter", "-t")
    subprocess.run([sys.executable, "-c", "pass"])
"""
    assert programs_run_by(ast.parse(source)) == {"turnserver", "sipp", "nsd", "ip", "nsenter"}


def _package_of(program_path: str) -> str | None:
    """The Debian package that owns a file, trying the /usr-merged and unmerged spellings of its path."""
    candidates = [program_path, os.path.realpath(program_path)]
    candidates += [c.removeprefix("/usr") for c in candidates if c.startswith("/usr/")]
    for candidate in dict.fromkeys(candidates):
        owner = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if owner.returncode == 0:
            line = next(line for line in owner.stdout.splitlines() if not line.startswith("diversion by"))
            return line.split(":", 1)[0].split(",")[0].strip()
    return None


def _field(package: str, name: str) -> str:
    return subprocess.run(
        ["dpkg-query", "-W", f"-f=${{{name}}}", package], capture_output=True, text=True
    ).stdout.strip()


def _is_installed(package: str) -> bool:
    return "install ok installed" in _field(package, "Status")


def _direct_dependencies(package: str) -> set[str]:
    names = set()
    for alternative in re.split(r"[,|]", _field(package, "Depends") + "," + _field(package, "Pre-Depends")):
        name = alternative.strip().split(" ", 1)[0].split(":", 1)[0]
        if name:
            names.add(name)
    return names


def test_every_program_the_python_code_runs_is_in_the_list() -> None:
    listed = {program for entry in read_list() for program in entry.programs}
    callers: dict[str, list[str]] = {}
    for path in _python_files():
        for program in programs_run_by(ast.parse(path.read_text(), str(path))):
            callers.setdefault(program, []).append(str(path.relative_to(REPO)))
    assert {"sipp", "turnserver", "ip", "unshare", "nsenter", "nsd", "baresip", "pkg-config"} <= set(callers)
    unlisted = []
    for program, paths in sorted(callers.items()):
        if program in listed:
            continue
        location = shutil.which(program, path=SEARCH_PATH)
        package = _package_of(location) if location else None
        if package is None or _field(package, "Essential") != "yes":
            unlisted.append(f"{program} (run by {', '.join(sorted(paths))}; package {package or 'unknown'})")
    assert not unlisted, "programs the code runs that deps/debian_packages.txt does not list: " + "; ".join(unlisted)


@pytest.mark.parametrize("entry", read_list(), ids=lambda entry: entry.package)
def test_each_package_of_the_list_is_installed_with_its_programs(entry: Entry) -> None:
    if entry.group == "debian-python" and not _is_installed(entry.package):
        # Installed only for Debian's own Python; this environment was made from another one.
        assert sys.base_prefix != "/usr", f"{entry.package} is missing, yet the environment's Python is Debian's"
        return
    assert _is_installed(entry.package), f"{entry.package} is not installed: scripts/bootstrap installs it"
    owners = {entry.package} | _direct_dependencies(entry.package)
    for program in entry.programs:
        location = shutil.which(program, path=SEARCH_PATH)
        assert location is not None, f"{program} (Debian package {entry.package}) is not on PATH"
        # The package's own copy (the one on PATH may come before it, pyenv's python3, say).
        copies = [location, *(f"{directory}/{program}" for directory in SYSTEM_DIRECTORIES)]
        owned = {copy: _package_of(copy) for copy in copies if os.path.exists(copy)}
        assert owners & set(owned.values()), f"{program}: {owned}, none from {sorted(owners)}"


def test_the_bootstrap_reads_the_same_list() -> None:
    for group in ("", "debian-python"):
        script = f'. deps/debian_packages.sh && debian_package_list deps/debian_packages.txt "{group}"'
        read = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
        assert read.stdout.split() == [entry.package for entry in read_list() if entry.group == group]
    bootstrap = (REPO / "scripts" / "bootstrap").read_text()
    assert "debian_package_list deps/debian_packages.txt)" in bootstrap
    assert "debian_package_list deps/debian_packages.txt debian-python)" in bootstrap


def test_the_python_has_what_the_build_needs() -> None:
    # What scripts/bootstrap's Python packages (or another Python) must give: the headers the extension
    # compiles against, and ensurepip, with which the environment was made.
    assert Path(sysconfig.get_paths()["include"], "Python.h").exists()
    assert importlib.util.find_spec("ensurepip") is not None
