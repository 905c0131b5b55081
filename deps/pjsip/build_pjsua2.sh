#!/usr/bin/env bash
# Build pjsua2's Python binding (SWIG, pjsip-apps/src/swig in the pjproject
# tree) from the pjproject build sipsimple uses, for the benchmarks' pjsua2
# peers: the same source tree, config_site.h, configure flags and CFLAGS as
# deps/pjsip/build.sh, whose settings and functions this script sources.
#
# The module links the static libraries of build.sh's prefix (pjlib,
# pjlib-util, pjnath, pjmedia, pjsip, pjsip-simple, pjsip-ua): the very
# objects sipsimple.core._core links. Only libpjsua2 (build.sh configures
# --disable-pjsua2) and libpjsua (build.sh's has pjsua's default of 4 calls)
# are compiled here, in a scratch copy of the source tree configured like
# build.sh's, plus the SWIG wrapper. One define differs, for these two
# libraries and the wrapper only (pjsua2_defines below): PJSUA_MAX_CALLS.
#
# Needs swig (Debian package, installed when missing), a C++ compiler and the
# headers of the Python the module is for: $PYTHON (default python3), whose
# ABI is part of the cache key.
#
# Result, cached under $SIPSIMPLE_CACHE (default ~/.cache/sipsimple):
#   pjsua2/<key>/pjsua2.py, _pjsua2<EXT_SUFFIX>   the module (import pjsua2)
#   pjsua2/<key>/pjsua2-build.json                how it was built
# The key covers build.sh's build key (source, config_site.h, flags, gcc),
# the defines, this script, swig, g++ and Python, so a second run only checks
# a stamp file. The three newest builds are kept.
#
# On success prints the module's directory on stdout (and nothing else): put
# it first on PYTHONPATH. The benchmarks (benchmarks/run) do; the tests keep
# the pjsua2-python wheel.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/build.sh"
. "$here/../debian_packages.sh"
# build.sh's log says [pjsip]; this script's own lines say [pjsua2].
say() { printf '[pjsua2] %s\n' "$*" >&2; }

python=${PYTHON:-python3}
pjsua2_cache=${SIPSIMPLE_CACHE:-$HOME/.cache/sipsimple}/pjsua2
mkdir -p "$pjsua2_cache"

# pjsua keeps its calls in a static array of PJSUA_MAX_CALLS slots and clamps
# uaConfig.maxCalls to it; pjsua.h's default is 4. The benchmarks hold 200
# calls at once, and the media benchmark's ceiling search needs room above
# pjsua2's real limit on this machine (it passed 256). Each slot is a ~150 KiB
# pjsua_call (with this config_site.h) that pjsua_init zeroes, so every slot
# is resident from the start: 512 costs ~75 MiB per process (not counted in
# any per-call figure, which are differences).
pjsua2_defines=(-DPJSUA_MAX_CALLS=512)

# A shared object cannot take the prefix's static libraries unless they are
# position-independent code.
case " $build_cflags " in
    *" -fPIC "*) ;;
    *) say "build.sh's CFLAGS ($build_cflags) lack -fPIC: its libraries cannot go into a Python module"; exit 1 ;;
esac

install_debian_packages swig g++

locate_source
set_build_key
swig_version=$(swig -version | awk '/SWIG Version/ { print $3 }')
python_abi=$("$python" -c 'import sys, sysconfig; print(sys.version.split()[0], sysconfig.get_config_var("EXT_SUFFIX"), sysconfig.get_paths()["include"])')
pjsua2_key=$( {
    echo "$build_key"
    printf '%s\n' "${pjsua2_defines[@]}"
    cat "$here/build_pjsua2.sh"
    echo "swig $swig_version"
    g++ --version | head -n1
    echo "$python_abi"
} | sha256sum | cut -c1-16)
out="$pjsua2_cache/$pjsua2_key"

if [ -f "$out/.complete" ]; then
    say "cached build $pjsua2_key"
    echo "$out"
    exit 0
fi

# build.sh's libraries, built if missing (under its own lock). Then a shared
# hold on that lock while linking against them: build.sh removes old builds
# only while holding it exclusively.
while :; do
    build_prefix
    exec 9>"$cache/build.lock"
    flock -s 9
    [ -f "$build_dir/.complete" ] && break
    exec 9>&-
done
exec 8>"$pjsua2_cache/build.lock"
flock 8
if [ ! -f "$out/.complete" ]; then
    start=$(date +%s)
    say "building pjsua2 for Python $python_abi (key $pjsua2_key); this takes two minutes or so once"
    # Scratch trees of interrupted runs go too: this run holds the lock.
    rm -rf "$pjsua2_cache"/.work-* "$out"
    work="$pjsua2_cache/.work-$pjsua2_key"
    mkdir -p "$work"
    tree="$work/tree"
    cp -a "$source_dir" "$tree"
    apply_patches "$tree"
    cp "$here/config_site.h" "$tree/pjlib/include/pj/config_site.h"
    flags=()
    for flag in "${configure_flags[@]}"; do
        [ "$flag" = --disable-pjsua2 ] || flags+=("$flag")
    done
    cflags="$build_cflags ${pjsua2_defines[*]}"
    jobs=$(nproc 2>/dev/null || echo 2)
    (
        cd "$tree"
        chmod +x configure aconfigure 2>/dev/null || true
        ./configure --prefix="$work/unused" "${flags[@]}" CFLAGS="$cflags" CXXFLAGS="$cflags" \
            > "$work/configure.log" 2>&1 || { tail -n 40 "$work/configure.log" >&2; exit 1; }
        # Configured like build.sh's tree: the generated headers must match
        # the ones installed in its prefix.
        for header in pj/config_site.h pj/compat/os_auto.h pj/compat/m_auto.h \
            pjmedia/config_auto.h pjmedia-codec/config_auto.h pjsip/sip_autoconf.h; do
            generated=$(find . -path "*/include/$header" -print -quit)
            cmp -s "$generated" "$prefix/include/$header" \
                || { say "$header differs from $prefix/include/$header"; exit 1; }
        done
        # libpjsua and libpjsua2 only: -o keeps make from building the pjsip
        # libraries they depend on; the module links the prefix's.
        target=$(awk '/^export TARGET_NAME :=/ { print $4 }' build.mak)
        keep=()
        for lib in pjsip pjsip-simple pjsip-ua; do
            keep+=(-o "lib$lib-$target.a" -o "lib$lib.so")
        done
        make -C pjsip/build -j"$jobs" "${keep[@]}" pjsua2-lib > "$work/make.log" 2>&1 \
            || { tail -n 60 "$work/make.log" >&2; exit 1; }
        built=$(find . -name '*.a' -printf '%f\n' | sort | paste -sd' ')
        [ "$built" = "libpjsua-$target.a libpjsua2-$target.a" ] \
            || { say "expected only libpjsua and libpjsua2 in the scratch tree, found: $built"; exit 1; }

        # The wrapper, as pjsip-apps/src/swig/python/Makefile generates it,
        # with -threads (each call into pjsua2 releases the GIL, callbacks
        # from pjsua's worker thread take it), as the pjsua2-python wheel.
        # Compiled with the flags and libraries pjproject's helper.mak gives
        # its setup.py, linked against the scratch libpjsua/libpjsua2 first
        # and the prefix's libraries for the rest.
        cd pjsip-apps/src/swig/python
        includes=()
        for dir in pjlib pjlib-util pjnath pjmedia pjsip; do
            includes+=(-I"$tree/$dir/include")
        done
        swig "${includes[@]}" -c++ -w312 -threads -python -o pjsua2_wrap.cpp ../pjsua2.i > "$work/swig.log" 2>&1 \
            || { tail -n 40 "$work/swig.log" >&2; exit 1; }
        read -r -a wrap_cflags <<< "$(make --no-print-directory -f helper.mak cflags | paste -sd' ')"
        read -r -a wrap_ldflags <<< "$(make --no-print-directory -f helper.mak ldflags | paste -sd' ')"
        read -r -a wrap_libs <<< "$(make --no-print-directory -f helper.mak libs | sed 's/^/-l/' | paste -sd' ')"
        python_include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
        suffix=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
        {
            g++ -c -fPIC "${wrap_cflags[@]}" -I"$python_include" -o pjsua2_wrap.o pjsua2_wrap.cpp \
            && g++ -shared -o "_pjsua2$suffix" pjsua2_wrap.o "${wrap_ldflags[@]}" -L"$prefix/lib" "${wrap_libs[@]}"
        } > "$work/compile.log" 2>&1 || { tail -n 60 "$work/compile.log" >&2; exit 1; }
        mkdir -p "$work/out"
        cp pjsua2.py "_pjsua2$suffix" "$work/out/"
    )
    version=$(grep -E '^export PJ_VERSION_(MAJOR|MINOR|REV) ' "$source_dir/version.mak" | awk '{print $4}' | paste -sd.)
    PJSUA2_VERSION=$version PJSUA2_DEFINES="${pjsua2_defines[*]}" PJSUA2_SOURCE=$source_dir \
        PJSUA2_PREFIX=$prefix PJSUA2_CFLAGS=$build_cflags PJSUA2_SWIG=$swig_version \
        "$python" - "$work/out/pjsua2-build.json" <<'PY'
import json
import os
import sys

defines = os.environ["PJSUA2_DEFINES"].split()
info = {
    "pjproject_version": os.environ["PJSUA2_VERSION"],
    "built_by": "deps/pjsip/build_pjsua2.sh",
    "source": os.environ["PJSUA2_SOURCE"],
    "prefix": os.environ["PJSUA2_PREFIX"],
    "cflags": os.environ["PJSUA2_CFLAGS"],
    "defines": defines,
    "pjsua_max_calls": int(next(d for d in defines if d.startswith("-DPJSUA_MAX_CALLS=")).split("=", 1)[1]),
    "swig": os.environ["PJSUA2_SWIG"],
}
with open(sys.argv[1], "w") as f:
    json.dump(info, f, indent=2)
    f.write("\n")
PY
    # Check it loads before it counts as built.
    (cd "$work/out" && "$python" -c 'import pjsua2; pjsua2.Endpoint().libVersion()') \
        || { say "the built module does not import"; exit 1; }
    touch "$work/out/.complete"
    mv "$work/out" "$out"
    rm -rf "$work"
    ls -1t "$pjsua2_cache"/*/.complete | tail -n +4 | xargs -r dirname | xargs -r rm -rf
    say "built into $out in $(( $(date +%s) - start )) s"
fi
echo "$out"
