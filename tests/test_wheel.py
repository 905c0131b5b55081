"""`pip wheel .` gives a wheel that holds every module of the source tree and whose extension works.

The wheel is built once per module, from a clean copy of the tree, and installed in a fresh virtual
environment; the programs below run there, from a directory with no sipsimple source in sight.
"""

from __future__ import annotations

import json
import pkgutil
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The wheel's build compiles the extension from scratch (about 4 minutes on an idle 2-core machine, more
# under load), then pip installs it: the suite's 300 s per test is too short for the test that builds it.
pytestmark = pytest.mark.timeout(1800)

ENGINE_PROGRAM = """
import sipsimple, sipsimple.core as core
assert "site-packages" in sipsimple.__file__, sipsimple.__file__
engine = core.Engine()
engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
print(core.PJSIP_VERSION, engine.local_udp_port, engine.local_tcp_port, ",".join(engine.available_codecs))
engine.stop()
"""

# Imports each module named in argv[1:] and prints, as JSON, the modules that failed (with the error) and
# those that were found anywhere but in the environment's site-packages.
IMPORT_PROGRAM = """
import importlib, json, sys, sysconfig
from pathlib import Path
site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
failed, elsewhere = {}, {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
        continue
    where = Path(module.__file__).resolve()
    if not where.is_relative_to(site_packages):
        elsewhere[name] = str(where)
print(json.dumps({"failed": failed, "elsewhere": elsewhere}))
"""


@dataclass(frozen=True)
class InstalledWheel:
    names: list[str]  # the files in the wheel
    python: Path  # the interpreter of a fresh environment with the wheel installed
    outside: Path  # an empty directory to run programs from


def source_modules(directory: Path = REPO / "sipsimple", prefix: str = "sipsimple.") -> Iterator[tuple[str, bool]]:
    """(name, is_package) of every module under sipsimple/ in the source tree, found by pkgutil, imported never."""
    for info in pkgutil.iter_modules([str(directory)]):
        yield prefix + info.name, info.ispkg
        if info.ispkg:
            yield from source_modules(directory / info.name, f"{prefix}{info.name}.")


def is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split("."))


def in_wheel(module: str, is_package: bool, names: set[str]) -> bool:
    path = module.replace(".", "/")
    if is_package:
        return f"{path}/__init__.py" in names
    # A Python module, or an extension module whatever its platform tag.
    return f"{path}.py" in names or any(name.startswith(f"{path}.") and name.endswith(".so") for name in names)


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    tmp_path = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: a developer's build/ directory must not leak
    # stale files into the wheel under test.
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.so", "*.egg-info", "__pycache__", ".*_cache", "results"
        ),
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        timeout=900,
    )
    (wheel,) = wheels.glob("sipsimple-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return InstalledWheel(names, python, outside)


def test_wheel_installs_and_imports_without_the_build_tree(installed_wheel: InstalledWheel) -> None:
    names = installed_wheel.names
    assert any(name.startswith("sipsimple/core/_core.") and name.endswith(".so") for name in names)
    assert "sipsimple/core/_core.pyi" in names
    assert {"sipsimple/py.typed", "sipsimple/core/py.typed"} <= set(names)
    assert not any(name.endswith((".c", ".pyx", ".pxi")) for name in names)

    completed = subprocess.run(
        [str(installed_wheel.python), "-c", ENGINE_PROGRAM],
        cwd=installed_wheel.outside,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    version, udp_port, tcp_port, codecs = completed.stdout.split()
    assert version == "2.12.1"
    assert int(udp_port) > 0 and int(tcp_port) > 0
    assert {"opus", "G722", "speex", "GSM", "PCMU", "PCMA"} <= set(codecs.split(","))


def test_every_package_directory_is_a_package() -> None:
    # pkgutil (below) and the wheel's package discovery (namespaces off) both pass over a directory
    # without __init__.py: its modules would be missing from the wheel and from the check alike.
    for directory in (REPO / "sipsimple").rglob("*"):
        if directory.is_dir() and directory.name != "__pycache__" and any(directory.glob("*.py")):
            assert (directory / "__init__.py").is_file(), f"{directory.relative_to(REPO)} has no __init__.py"


def test_the_wheel_holds_and_imports_every_module_of_the_source_tree(installed_wheel: InstalledWheel) -> None:
    modules = dict(source_modules())
    # The walk itself works: it finds nested packages and modules, not only the top.
    assert {"sipsimple.configuration.backend.file", "sipsimple.account.registration", "sipsimple.core"} <= set(modules)

    names = set(installed_wheel.names)
    missing = sorted(module for module, is_package in modules.items() if not in_wheel(module, is_package, names))
    assert not missing, f"modules of the source tree missing from the wheel: {missing}"

    public = sorted(module for module in modules if is_public(module))
    completed = subprocess.run(
        [str(installed_wheel.python), "-c", IMPORT_PROGRAM, *public],
        cwd=installed_wheel.outside,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["failed"] == {}, f"public modules that do not import from the installed wheel: {report['failed']}"
    assert report["elsewhere"] == {}, f"modules imported from outside the installed wheel: {report['elsewhere']}"
