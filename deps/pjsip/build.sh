#!/usr/bin/env bash
# Obtain the pjproject source and build its static libraries (-fPIC) for
# sipsimple.core._core.
#
# Source, first match wins:
#   1. $PJSIP_SOURCE: a pjproject source directory or release tarball.
#   2. Debian's source package `ring` (Jami), which carries a complete
#      pjproject tree, fetched by deps/apt_source.sh: `deb-src` entries are
#      derived at run time from the machine's own apt configuration and used
#      through a private apt state directory, so the system's apt setup is
#      left untouched.
#
# Everything lands under $SIPSIMPLE_CACHE (default ~/.cache/sipsimple):
#   pjproject/src/<source-key>/      extracted source tree (never modified)
#   pjproject/build/<build-key>/     configured tree, built in place
#   pjproject/build/<build-key>/prefix/   installed headers, libs, .pc file
# The build key covers the source key, config_site.h, the configure flags and
# this script, so an unchanged rebuild only checks a stamp file. The three
# newest builds are kept, so two checkouts whose keys differ (two branches)
# do not rebuild over each other, and a prefix another checkout may be
# compiling against is not removed under it.
#
# On success prints the prefix directory on stdout (and nothing else).
#
# Sourcing this file (deps/pjsip/build_pjsua2.sh does) only defines the
# settings (configure_flags, build_cflags, cache) and the functions
# locate_source, set_build_key and build_prefix; nothing runs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SIPSIMPLE_CACHE:-$HOME/.cache/sipsimple}/pjproject
mkdir -p "$cache/src" "$cache/build" "$cache/downloads"

log() { printf '[pjsip] %s\n' "$*" >&2; }
. "$here/../apt_source.sh"

configure_flags=(
    --disable-video --disable-libwebrtc --disable-libyuv --disable-v4l2
    --disable-ilbc-codec --disable-g7221-codec --disable-opencore-amr
    --disable-silk --disable-bcg729 --disable-sdl --disable-ffmpeg
    --disable-openh264 --disable-upnp --disable-pjsua2
    --with-external-gsm --with-external-speex --with-external-srtp
    --enable-shared=no --enable-epoll
)
# NDEBUG: without it every PJ_ASSERT_RETURN in pjproject calls assert() before
# returning its error, so a wrong argument or state reaching PJSIP would
# abort the whole process instead of coming back as a status code.
build_cflags="-O2 -g -fPIC -DNDEBUG"

# --- locate the source ------------------------------------------------------

# Find the pjproject root inside a directory: the directory holding
# version.mak and pjsip/.
find_pjproject_root() {
    local top=$1 candidate
    candidate=$(find "$top" -maxdepth 8 -name version.mak -path '*pjproject*' -print -quit 2>/dev/null || true)
    [ -n "$candidate" ] || candidate=$(find "$top" -maxdepth 2 -name version.mak -print -quit 2>/dev/null || true)
    [ -n "$candidate" ] && [ -d "$(dirname "$candidate")/pjsip" ] || return 1
    dirname "$candidate"
}

fetch_from_debian() {
    local tarball
    tarball=$(apt_source_download ring "$cache/downloads" "carries pjproject" | grep -E '/ring_[^/]*\.orig\.tar\.[^/]*$' | head -n1 || true)
    [ -n "$tarball" ] || { log "apt-get source ring gave no orig tarball"; exit 1; }
    echo "$tarball"
}

# Extract the pjproject subtree from the ring orig tarball into $1.
extract_from_ring_tarball() {
    local tarball=$1 dest=$2 tmp
    tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
    log "extracting pjproject from $(basename "$tarball")"
    tar -xf "$tarball" -C "$tmp" --wildcards '*/daemon/contrib/tarballs-unpacked/pjproject-*' 2>/dev/null \
        || tar -xf "$tarball" -C "$tmp" --wildcards '*pjproject*'
    local root
    root=$(find_pjproject_root "$tmp") || { log "no pjproject tree in $tarball"; exit 1; }
    mv "$root" "$dest"
    rm -rf "$tmp"
}

# Sets source_dir (the pjproject tree, never modified) and source_key.
locate_source() {
    local tarball tmp root
    source_dir=""
    if [ -n "${PJSIP_SOURCE:-}" ]; then
        if [ -d "$PJSIP_SOURCE" ]; then
            source_dir=$(find_pjproject_root "$(cd "$PJSIP_SOURCE" && pwd)") \
                || { log "PJSIP_SOURCE=$PJSIP_SOURCE holds no pjproject tree"; exit 1; }
            source_key="dir-$(printf '%s' "$source_dir" | sha256sum | cut -c1-12)-$(cat "$source_dir/version.mak" | sha256sum | cut -c1-8)"
        elif [ -f "$PJSIP_SOURCE" ]; then
            source_key="tar-$(sha256sum "$PJSIP_SOURCE" | cut -c1-16)"
            source_dir="$cache/src/$source_key"
            if [ ! -d "$source_dir" ]; then
                tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
                tar -xf "$PJSIP_SOURCE" -C "$tmp"
                root=$(find_pjproject_root "$tmp") || { log "no pjproject tree in $PJSIP_SOURCE"; exit 1; }
                mv "$root" "$source_dir"; rm -rf "$tmp"
            fi
        else
            log "PJSIP_SOURCE=$PJSIP_SOURCE is neither a directory nor a file"; exit 1
        fi
    else
        tarball=$(fetch_from_debian)
        source_key="ring-$(sha256sum "$tarball" | cut -c1-16)"
        source_dir="$cache/src/$source_key"
        [ -d "$source_dir" ] || extract_from_ring_tarball "$tarball" "$source_dir"
    fi
    log "source: $source_dir ($(grep -E '^export PJ_VERSION_(MAJOR|MINOR|REV) ' "$source_dir/version.mak" | awk '{print $4}' | paste -sd.))"
}

# --- build ------------------------------------------------------------------

# Apply deps/pjsip/patches/*.patch (ours, each saying why at its top) to a
# copy of the source tree. A patch whose code is not in this tree (upstream
# pjproject instead of Debian's ring tree, say) is skipped, and said so.
apply_patches() {
    local tree=$1 patch
    for patch in "$here"/patches/*.patch; do
        [ -f "$patch" ] || continue
        if patch -p1 -s -f --dry-run -d "$tree" < "$patch" > /dev/null 2>&1; then
            patch -p1 -s -f -d "$tree" < "$patch" >&2
            log "applied $(basename "$patch")"
        else
            log "skipped $(basename "$patch"): it does not apply to this tree"
        fi
    done
}

# Sets build_key, build_dir and prefix. Needs locate_source.
set_build_key() {
    build_key=$( {
        echo "$source_key"
        cat "$here/config_site.h"
        printf '%s\n' "${configure_flags[@]}" "$build_cflags"
        cat "$here/build.sh"
        cat "$here"/patches/*.patch 2>/dev/null || true
        gcc --version | head -n1
    } | sha256sum | cut -c1-16)
    build_dir="$cache/build/$build_key"
    prefix="$build_dir/prefix"
}

# Sets build_key, build_dir and prefix, building the libraries into prefix
# unless a complete build of the same key is there. Needs locate_source.
build_prefix() {
    set_build_key
    if [ -f "$build_dir/.complete" ]; then
        log "cached build $build_key"
        return 0
    fi

    # One build at a time per cache: two concurrent runs (say pip wheel and the
    # tests) would otherwise remove each other's half-built tree.
    exec 9>"$cache/build.lock"
    flock 9
    if [ ! -f "$build_dir/.complete" ]; then
        log "building pjproject (key $build_key); this takes a minute or two once"
        rm -rf "$build_dir"
        mkdir -p "$build_dir"
        cp -a "$source_dir" "$build_dir/tree"
        apply_patches "$build_dir/tree"
        cp "$here/config_site.h" "$build_dir/tree/pjlib/include/pj/config_site.h"
        (
            cd "$build_dir/tree"
            chmod +x configure aconfigure 2>/dev/null || true
            ./configure --prefix="$prefix" "${configure_flags[@]}" \
                CFLAGS="$build_cflags" CXXFLAGS="$build_cflags" > "$build_dir/configure.log" 2>&1 \
                || { tail -n 40 "$build_dir/configure.log" >&2; exit 1; }
            jobs=$(nproc 2>/dev/null || echo 2)
            { make dep && make -j"$jobs" lib && make install; } > "$build_dir/make.log" 2>&1 \
                || { tail -n 60 "$build_dir/make.log" >&2; exit 1; }
        )
        # The installed prefix (headers, static libraries, libpjproject.pc) is
        # all the extension build needs; the build tree is most of the size.
        rm -rf "$build_dir/tree"
        touch "$build_dir/.complete"
        # Keep the cache small, but leave the two newest other builds: another
        # checkout may be using one (see the top). Half-built trees of
        # interrupted runs go; none is being built, this run holds the lock.
        local other
        for other in "$cache"/build/*/; do
            [ -f "$other.complete" ] || rm -rf "$other"
        done
        ls -1t "$cache"/build/*/.complete | tail -n +4 | xargs -r dirname | xargs -r rm -rf
        log "built into $prefix"
    fi
    exec 9>&-
}

main() {
    locate_source
    build_prefix
    echo "$prefix"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
