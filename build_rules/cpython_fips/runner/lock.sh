#!/bin/bash
# lock.sh SUITE ARCH OUT_LOCK PACKAGE...
#
# Resolves debootstrap's minbase set (every Priority: required package, plus apt)
# together with PACKAGE... and all their dependencies for Debian SUITE/ARCH, and
# writes OUT_LOCK: a header, then one line per .deb:
#   NAME VERSION ARCH SHA256 SIZE PRIORITY FILENAME
# FILENAME is the .deb's path in its Debian archive (the index's Filename field), PRIORITY the
# archive's (debootstrap picks its first stage by it). With these, an image is made from the
# .debs alone, from wherever they are found (the container runner, rootfs.py): no archive index
# is needed.
# A PACKAGE argument "@FILE" reads package names from FILE ('#' starts a comment).
#
# Resolution uses the host's apt on the suite's signed indexes in a throwaway apt
# root (see apt-root.sh): apt's real resolver (alternatives, virtual packages,
# versions across SUITE, SUITE-updates and SUITE-security), no chroot, no root
# needed, and no .deb is downloaded: the sha256 comes from the signed index.
#
# Environment: TOOLCHAIN_COMPONENTS (default "main"), TOOLCHAIN_SUITES (default
# "SUITE SUITE-updates SUITE-security"), TOOLCHAIN_ARCHIVE_URI/TOOLCHAIN_SECURITY_URI.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 SUITE ARCH OUT_LOCK [PACKAGE... | @packages.txt] (none: the minimal base system)" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt-root.sh"

suite=$1 arch=$2 out=$3
shift 3
case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac   # accept uname -m names too
comps=${TOOLCHAIN_COMPONENTS:-main}
suites=${TOOLCHAIN_SUITES:-$suite $suite-updates $suite-security}

pkgs=()
for a in "$@"; do
    if [[ $a == @* ]]; then
        mapfile -t -O "${#pkgs[@]}" pkgs < <(sed 's/#.*//' "${a#@}" | tr -s ' \t' '\n' | grep .)
    else
        pkgs+=("$a")
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/toolchain-lock.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

# shellcheck disable=SC2086  # $suites is a word list
apt_root_init "$work" "$arch" "$comps" $suites

# What debootstrap --variant=minbase would install: Priority: required, plus apt.
required=$(apt_root_packages | awk 'BEGIN { RS = "" }
    /\nPriority: required\n/ { sub(/^Package: /, ""); sub(/\n.*/, ""); print }' | LC_ALL=C sort -u)
# debootstrap adds the empty usr-is-merged package for bookworm (and only bookworm).
[ "$suite" != bookworm ] || required+=$'\nusr-is-merged'

# --print-uris on an empty dpkg status lists every .deb a fresh system needs, as
#   'URI' NAME_VERSION_ARCH.deb SIZE HASH     (an epoch's ':' is written %3a)
# HASH is not always SHA256, so the sha256 is taken from the index stanza instead.
# shellcheck disable=SC2086
if ! apt-get install -qq -y --print-uris $required apt "${pkgs[@]}" >"$work/uris" 2>"$work/err"; then
    cat "$work/err" >&2
    echo "error: apt could not resolve the package set for $suite/$arch" >&2
    exit 1
fi
apt_root_packages > "$work/index"
{
    echo "# cpython-fips toolchain lock, format 2. Written by lock.sh; do not edit by hand."
    echo "# suite: $suite"
    echo "# arch: $arch"
    echo "# suites: $suites"
    echo "# components: $comps"
    echo "# variant: minbase (Priority: required + apt), no Recommends"
    echo "# requested: $(printf '%s\n' "${pkgs[@]}" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')"
    echo "# columns: name version arch sha256 size priority filename"
    # Index stanzas: one field per line (continuation lines start with a space). A .deb indexed
    # by several suites (a security fix later taken into a point release) keeps the first
    # suite's file name: the main archive keeps its files, the security archive has been seen
    # to delete them while its index still lists them.
    awk 'FNR == NR { if (/^Package: /) n = $2; else if (/^Version: /) v = $2
                     else if (/^Architecture: /) a = $2; else if (/^SHA256: /) s = $2
                     else if (/^Size: /) z = $2; else if (/^Priority: /) p = $2
                     else if (/^Filename: /) f = $2
                     else if ($0 == "") { k = n "_" v "_" a
                                          if (n != "" && !(k in info)) info[k] = s " " z " " (p == "" ? "optional" : p) " " f
                                          n = v = a = s = z = p = f = "" }
                     next }
         { k = $2; gsub(/%3a/, ":", k); sub(/\.deb$/, "", k)
           if (!(k in info)) { print "error: no index stanza for " k > "/dev/stderr"; exit 1 }
           split(k, part, "_"); print part[1], part[2], part[3], info[k] }' "$work/index" "$work/uris" | LC_ALL=C sort
} > "$work/lock"
# Written only now, so a failed run leaves OUT_LOCK alone. cat, not mv: mv would
# replace a non-regular OUT_LOCK such as /dev/stdout (or /dev/null!) by a file.
cat "$work/lock" > "$out"
echo "wrote $out: $(grep -vc "^#" "$work/lock") packages" >&2
