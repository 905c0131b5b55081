# Install the Debian packages that are missing, with apt-get (through sudo
# when not root).
#
# Meant to be sourced (bash) by scripts/bootstrap and the deps/*/build*.sh
# scripts:
#
#     . "$repo/deps/debian_packages.sh"
#     install_debian_packages PACKAGE...
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
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    debian_packages_installed=("${missing[@]}")
}
