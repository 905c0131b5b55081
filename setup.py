"""Build sipsimple.core._core against pjproject's static libraries.

pjproject is obtained and built by deps/pjsip/build.sh (cached under
~/.cache/sipsimple); set SIPSIMPLE_PJSIP_PREFIX to use an already-built
prefix instead. The extension links pjproject statically, so the wheel needs
only the system libraries pjproject itself uses (OpenSSL, libsrtp2, Opus,
Speex, GSM, ALSA, libuuid).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parent


def pjsip_prefix() -> Path:
    prefix = os.environ.get("SIPSIMPLE_PJSIP_PREFIX")
    if prefix:
        return Path(prefix)
    result = subprocess.run(
        ["bash", str(ROOT / "deps" / "pjsip" / "build.sh")], stdout=subprocess.PIPE, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit("building pjproject failed (deps/pjsip/build.sh)")
    return Path(result.stdout.strip().splitlines()[-1])


def pkg_config(prefix: Path, *args: str) -> list[str]:
    environment = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    output = subprocess.run(
        ["pkg-config", "--static", *args, "libpjproject"],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    return shlex.split(output)


def core_extension() -> Extension:
    prefix = pjsip_prefix()
    cflags = pkg_config(prefix, "--cflags")
    libs = pkg_config(prefix, "--libs")
    core = ROOT / "sipsimple" / "core"
    return Extension(
        "sipsimple.core._core",
        sources=["sipsimple/core/_core.pyx"],
        # Relink when pjproject was rebuilt, recompile when any area changed.
        depends=[str(path) for path in [*sorted(core.glob("*.px[di]")), *sorted((prefix / "lib").glob("*.a"))]],
        # Cython's generated C defines helpers and temporaries for every
        # feature it might use; those unused in this module are not ours to fix.
        extra_compile_args=[*cflags, "-Wno-unused-function", "-Wno-unused-variable"],
        # Keep pjproject's symbols private to the extension.
        extra_link_args=[*libs, "-Wl,--exclude-libs,ALL"],
    )


setup(
    ext_modules=cythonize(
        [core_extension()],
        compiler_directives={"language_level": "3", "embedsignature": True},
        include_path=[str(ROOT)],
    ),
)
