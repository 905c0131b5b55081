# Fetch a Debian source package with `apt-get source --download-only`,
# without touching the machine's apt setup.
#
# Meant to be sourced by the deps/*/build.sh scripts (bash):
#
#     . "$here/../apt_source.sh"
#     files=$(apt_source_download PACKAGE DEST_DIR ["why, for the log"])
#
# `deb-src` entries are derived at run time from the machine's own `deb`
# entries (deb822 *.sources files and one-line *.list files), so no mirror
# host name is ever written into the repository. They are used through a
# private apt state directory, ${SIPSIMPLE_CACHE:-$HOME/.cache/sipsimple}/apt
# (lists, caches), shared by all users of this file and guarded by a lock.
#
# apt_source_download prints the paths of the package's files in DEST_DIR
# (.dsc, orig and debian tarballs), one a line, sorted. It is idempotent:
# when DEST_DIR already holds a .dsc of PACKAGE and every file that .dsc
# lists, nothing is downloaded. All logging goes to stderr, through the
# caller's `log` function when it has one.

# Write deb-src entries mirroring the machine's deb entries: deb822 stanzas
# into $1, one-line entries into $1.list (when there are any).
write_deb_src_entries() {
    local out=$1
    : > "$out"
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Each stanza: turn "Types: deb" into "Types: deb-src", keep the rest.
        awk '
            /^[Tt]ypes:/ { if ($0 ~ /(^|[ \t])deb([ \t]|$)/) { print "Types: deb-src"; keep=1 } else { keep=0; skip=1 } next }
            /^$/ { print ""; skip=0; next }
            { if (!skip) print }
        ' "$f" >> "$out"
        echo >> "$out"
    done
    # One-line format: "deb [opts] URI suite comps" -> "deb-src ...".
    local lists=() l
    [ -f /etc/apt/sources.list ] && lists+=(/etc/apt/sources.list)
    for l in /etc/apt/sources.list.d/*.list; do [ -f "$l" ] && lists+=("$l"); done
    if [ ${#lists[@]} -gt 0 ]; then
        grep -h -E '^[[:space:]]*deb[[:space:]]' "${lists[@]}" | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' > "$out.list" || true
    fi
}

_apt_source_log() {
    if declare -F log >/dev/null; then log "$@"; else printf '[apt-source] %s\n' "$*" >&2; fi
}

# True when $2 holds a .dsc of package $1 and all the files it lists.
_apt_source_complete() {
    local pkg=$1 dest=$2 dsc name
    dsc=$(ls "$dest/${pkg}"_*.dsc 2>/dev/null | sort | tail -n1 || true)
    [ -n "$dsc" ] || return 1
    # The "Files:" field: " md5 size name" lines until the next field.
    while read -r name; do
        [ -f "$dest/$name" ] || return 1
    done < <(awk '/^Files:/ { f=1; next } /^[^ \t]/ { f=0 } f && NF == 3 { print $3 }' "$dsc")
}

# The package's files in $2, one a line.
_apt_source_list() {
    local pkg=$1 dest=$2 f
    for f in "$dest/${pkg}"_*; do [ -f "$f" ] && printf '%s\n' "$f"; done | sort
}

apt_source_download() {
    local pkg=$1 dest=$2 why=${3:-}
    mkdir -p "$dest"
    dest=$(cd "$dest" && pwd)
    if ! _apt_source_complete "$pkg" "$dest"; then
        local base=${SIPSIMPLE_CACHE:-$HOME/.cache/sipsimple}
        local apt_dir=$base/apt
        mkdir -p "$base"
        (
            # One private apt update at a time (pjsip and sipp may build
            # concurrently).
            exec 9> "$base/apt.lock" && flock 9 || exit 1
            # Another run may have fetched it while we waited.
            _apt_source_complete "$pkg" "$dest" && exit 0
            _apt_source_log "fetching Debian source package '$pkg'${why:+ ($why)}"
            rm -rf "$apt_dir" \
                && mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
                && write_deb_src_entries "$apt_dir/sources.list.d/deb-src.sources" || exit 1
            if [ -s "$apt_dir/sources.list.d/deb-src.sources.list" ]; then
                mv "$apt_dir/sources.list.d/deb-src.sources.list" "$apt_dir/sources.list.d/deb-src.list"
            fi
            rm -f "$apt_dir/sources.list.d/deb-src.sources.list"
            local apt_opts=(
                -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
                -o "Dir::Etc::SourceList=/dev/null"
                -o "Dir::State::Lists=$apt_dir/lists"
                -o "Dir::Cache=$apt_dir/cache"
            )
            # (set -e does not reach in here: this subshell is on the left
            # of ||, so every step checks its status.)
            apt-get -q "${apt_opts[@]}" update >&2 || exit 1
            cd "$dest" && apt-get -q "${apt_opts[@]}" source --download-only "$pkg" >&2 || exit 1
        ) || { _apt_source_log "apt-get source $pkg failed"; return 1; }
        _apt_source_complete "$pkg" "$dest" \
            || { _apt_source_log "apt-get source $pkg left no complete .dsc in $dest"; return 1; }
    fi
    _apt_source_list "$pkg" "$dest"
}
