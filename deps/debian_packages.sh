# Install the Debian packages that are missing, with apt-get (through sudo
# when not root).
#
# Meant to be sourced (bash) by scripts/bootstrap and the deps/*/build*.sh
# scripts:
#
#     . "$repo/deps/debian_packages.sh"
#     install_debian_packages PACKAGE...
#     mapfile -t packages < <(debian_package_list "$repo/deps/debian_packages.txt" [GROUP])
#
# Packages already installed are not looked up again, so a second call costs
# one dpkg-query per package. Sets debian_packages_installed to the packages
# this call installed. apt's output goes to stderr: a script whose stdout is
# its result (deps/pjsip/build_pjsua2.sh) can call it.

install_debian_packages() {
    local package
    local missing=()
    debian_packages_installed=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    printf '\n==> installing Debian packages: %s\n' "${missing[*]}" >&2
    local sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            printf 'these Debian packages are missing: %s\nrun this as root, or install sudo\n' "${missing[*]}" >&2
            return 1
        fi
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    debian_packages_installed=("${missing[@]}")
}

# The packages of a list in deps/debian_packages.txt's format (one a line,
# the package first; "#" comments; "[group]" lines), one a line: those before
# the first group line, or those of GROUP.
debian_package_list() {
    local file=$1 group=${2:-}
    awk -v wanted="$group" '
        { sub(/#.*/, "") }
        /^[[:space:]]*\[[^]]*\][[:space:]]*$/ { gsub(/[][[:space:]]/, ""); current = $0; next }
        NF && current == wanted { print $1 }
    ' "$file"
}
