#!/usr/bin/env bash
# Build SIPp with TLS (OpenSSL) for the test suite.
#
# Debian's `sip-tester` binary package is built without OpenSSL (its source
# package even Build-Conflicts with libssl-dev), so it cannot use `-t l1`/`-t ln`.
# This script builds the same SIPp from source with -DUSE_SSL=1.
#
# Source, first match wins:
#   1. $SIPP_SOURCE: a SIPp source directory or release tarball (the tree
#      holding CMakeLists.txt and src/sipp.cpp).
#   2. Debian's source package `sip-tester`, fetched by deps/apt_source.sh
#      (deb-src entries derived at run time from the machine's apt setup,
#      private apt state) and unpacked with Debian's patches by
#      `dpkg-source -x`.
#
# Everything lands under $SIPSIMPLE_CACHE (default ~/.cache/sipsimple):
#   sipp/downloads/          the source package's files
#   sipp/src/<source-key>/   unpacked source tree (never modified)
#   sipp/<build-key>/sipp    the built binary (sipp/<build-key>/build: cmake tree)
# The build key covers the source key, the cmake options, this script and the
# compiler/cmake versions, so an unchanged rerun only checks a stamp file.
#
# Build dependencies (Debian packages) are installed with apt-get when
# dpkg-query says they are missing.
#
# On success prints the absolute path of the `sipp` binary on stdout (and
# nothing else); logs go to stderr, prefixed with "[sipp]".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SIPSIMPLE_CACHE:-$HOME/.cache/sipsimple}/sipp
mkdir -p "$cache/src" "$cache/downloads"
cache=$(cd "$cache" && pwd)

log() { printf '[sipp] %s\n' "$*" >&2; }
. "$here/../apt_source.sh"

# TLS is what the tests need; PCAP gives RTP stream / pcap play for media
# tests. SCTP and GSL are left out (not needed, extra packages).
cmake_options=(
    -DUSE_SSL=1
    -DUSE_PCAP=1
    -DUSE_SCTP=0
    -DUSE_GSL=0
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
    # SIPp's CMakeLists predates cmake 4, which refuses old
    # cmake_minimum_required() values without this (ignored by cmake 3).
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5
)
build_packages=(cmake make g++ pkg-config libssl-dev libncurses-dev libpcap-dev)

# --- build dependencies -----------------------------------------------------

ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing build dependencies: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
}

# Debian's cmake (a build dependency) unless it is missing; a cmake earlier on
# PATH (e.g. pip's cmake 4.x) works too thanks to CMAKE_POLICY_VERSION_MINIMUM,
# but a fixed choice keeps the build key stable across environments.
pick_cmake() {
    if [ -x /usr/bin/cmake ] && /usr/bin/cmake --version >/dev/null 2>&1; then
        echo /usr/bin/cmake
    else
        command -v cmake
    fi
}

# --- locate the source ------------------------------------------------------

# The SIPp root inside a directory: the one holding CMakeLists.txt and
# src/sipp.cpp.
find_sipp_root() {
    local top=$1 candidate
    candidate=$(find "$top" -maxdepth 3 -path '*/src/sipp.cpp' -print -quit 2>/dev/null || true)
    [ -n "$candidate" ] || return 1
    candidate=$(dirname "$(dirname "$candidate")")
    [ -f "$candidate/CMakeLists.txt" ] || return 1
    echo "$candidate"
}

sipp_version() {
    local v
    v=$(sed -n 's/.*SIPP_VERSION[^"]*"\([^"]*\)".*/\1/p' "$1/include/version.h" 2>/dev/null | head -n1 || true)
    echo "${v:-version unknown}"
}

source_dir=""
if [ -n "${SIPP_SOURCE:-}" ]; then
    if [ -d "$SIPP_SOURCE" ]; then
        source_dir=$(find_sipp_root "$(cd "$SIPP_SOURCE" && pwd)") \
            || { log "SIPP_SOURCE=$SIPP_SOURCE holds no SIPp tree"; exit 1; }
        # A directory may change: key on the contents of its sources.
        source_key="dir-$( (cd "$source_dir" && find . -path ./.git -prune -o -type f \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name 'CMakeLists.txt' -o -name '*.in' \) -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)"
    elif [ -f "$SIPP_SOURCE" ]; then
        source_key="tar-$(sha256sum "$SIPP_SOURCE" | cut -c1-16)"
        source_dir="$cache/src/$source_key"
        if [ ! -d "$source_dir" ]; then
            tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
            tar -xf "$SIPP_SOURCE" -C "$tmp"
            root=$(find_sipp_root "$tmp") || { log "no SIPp tree in $SIPP_SOURCE"; rm -rf "$tmp"; exit 1; }
            mv "$root" "$source_dir"; rm -rf "$tmp"
        fi
    else
        log "SIPP_SOURCE=$SIPP_SOURCE is neither a directory nor a file"; exit 1
    fi
else
    files=$(apt_source_download sip-tester "$cache/downloads" "SIPp") || {
        log "could not download Debian's source package 'sip-tester';"
        log "set SIPP_SOURCE to a SIPp source directory or release tarball"
        exit 1
    }
    dsc=$(printf '%s\n' "$files" | grep -E '\.dsc$' | sort -V | tail -n1)
    # Key on the .dsc: it names the version and the hashes of every file.
    source_key="deb-$(sha256sum "$dsc" | cut -c1-16)"
    source_dir="$cache/src/$source_key"
    if [ ! -d "$source_dir" ]; then
        ensure_packages dpkg-dev
        log "unpacking $(basename "$dsc") (with Debian's patches)"
        tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
        (cd "$tmp" && dpkg-source --no-copy -x "$dsc" tree >&2) \
            || { rm -rf "$tmp"; log "dpkg-source -x $dsc failed"; exit 1; }
        mv "$tmp/tree" "$source_dir"; rm -rf "$tmp"
    fi
fi
log "source: $source_dir ($(sipp_version "$source_dir"))"

# --- build ------------------------------------------------------------------

ensure_packages "${build_packages[@]}"
cmake_bin=$(pick_cmake)

build_key=$( {
    echo "$source_key"
    printf '%s\n' "${cmake_options[@]}"
    cat "$here/build.sh"
    gcc --version | head -n1
    "$cmake_bin" --version | head -n1
} | sha256sum | cut -c1-16)
out_dir="$cache/$build_key"
binary="$out_dir/sipp"

if [ -f "$out_dir/.complete" ] && [ -x "$binary" ]; then
    log "cached build $build_key"
    echo "$binary"
    exit 0
fi

# One build at a time per cache.
exec 8> "$cache/.build.lock"
flock 8
if [ -f "$out_dir/.complete" ] && [ -x "$binary" ]; then
    log "cached build $build_key (built meanwhile)"
    echo "$binary"
    exit 0
fi

log "building SIPp with TLS (key $build_key, $("$cmake_bin" --version | head -n1))"
rm -rf "$out_dir"
mkdir -p "$out_dir/build"
# Build out of tree from a private copy: SIPp's CMakeLists writes into its
# source directory (include/version.cmake).
cp -a "$source_dir" "$out_dir/tree"
jobs=$(nproc 2>/dev/null || echo 2)
"$cmake_bin" -S "$out_dir/tree" -B "$out_dir/build" "${cmake_options[@]}" > "$out_dir/cmake.log" 2>&1 \
    || { tail -n 40 "$out_dir/cmake.log" >&2; log "cmake configure failed (log: $out_dir/cmake.log)"; exit 1; }
"$cmake_bin" --build "$out_dir/build" --target sipp -j "$jobs" > "$out_dir/make.log" 2>&1 \
    || { tail -n 60 "$out_dir/make.log" >&2; log "build failed (log: $out_dir/make.log)"; exit 1; }
cp "$out_dir/build/sipp" "$binary"

# The point of this build: refuse a binary without TLS.
version=$("$binary" -v 2>&1 | grep -m1 -E 'SIPp v' | sed 's/^[[:space:]]*//' || true)
case "$version" in
    *TLS*) log "built $version" ;;
    *) log "built binary lacks TLS: '${version:-no version line}'"; exit 1 ;;
esac
# Keep the binary and the logs only.
rm -rf "$out_dir/tree" "$out_dir/build"
touch "$out_dir/.complete"
# Keep the cache small: drop other builds.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$build_key" ! -name src ! -name downloads -exec rm -rf {} + 2>/dev/null || true
echo "$binary"
