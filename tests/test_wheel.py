"""`pip wheel .` gives a wheel whose extension works in a fresh virtual environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROGRAM = """
import sipsimple, sipsimple.core as core
assert "site-packages" in sipsimple.__file__, sipsimple.__file__
engine = core.Engine()
engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0)
print(core.PJSIP_VERSION, engine.local_udp_port, engine.local_tcp_port, ",".join(engine.available_codecs))
engine.stop()
"""


def test_wheel_installs_and_imports_without_the_build_tree(tmp_path: Path) -> None:
    # Build from a clean copy: a developer's build/ directory must not leak
    # stale files into the wheel under test.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.so", "*.egg-info",
                                                                "__pycache__", ".*_cache", "results"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
                   check=True, timeout=900)
    (wheel,) = wheels.glob("sipsimple-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.startswith("sipsimple/core/_core.") and name.endswith(".so") for name in names)
    assert "sipsimple/core/_core.pyi" in names
    assert not any(name.endswith((".c", ".pyx", ".pxi")) for name in names)

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    # Run from a directory with no sipsimple source in sight.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    completed = subprocess.run([str(python), "-c", PROGRAM], cwd=outside, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    version, udp_port, tcp_port, codecs = completed.stdout.split()
    assert version == "2.12.1"
    assert int(udp_port) > 0 and int(tcp_port) > 0
    assert {"opus", "G722", "speex", "GSM", "PCMU", "PCMA"} <= set(codecs.split(","))
