#!/bin/bash
# make-image.sh LOCK IMAGE_TAG
#
# Builds a root filesystem holding exactly the packages of LOCK (written by
# lock.sh) and imports it into Docker as IMAGE_TAG, labelled with the lock's
# sha256. Every .deb is checked against the lock's sha256 before use.
#
# How: fetch the archive indexes (apt-root.sh), pick out the stanza of each locked
# name/version/arch, download those .debs, and lay them out as a tiny local
# archive that holds nothing else. debootstrap then installs from that archive
# only, so it cannot pick any other version. No network is used inside the chroot.
#
# Environment: TMPDIR (scratch), KEEP_TAR=FILE (keep a copy of the rootfs tar),
# TOOLCHAIN_ARCHIVE_URI / TOOLCHAIN_SECURITY_URI (e.g. a snapshot archive, for
# locked versions the live archive no longer serves).
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[${SECONDS}s] $*" >&2; }
[ $# -eq 2 ] || { echo "usage: $0 LOCK IMAGE_TAG" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "error: make-image.sh needs root (debootstrap chroots into the new tree and creates device nodes). Run:" >&2
    echo "  sudo $(realpath "$0") ${*@Q}" >&2
    exit 1
fi
for tool in debootstrap docker; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $tool)"
done
here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt-root.sh"

lock=$(realpath "$1") tag=$2
[ -f "$lock" ] || die "no such lock file: $1"
field() { sed -n "s/^# $1: //p" "$lock" | head -n1; }
suite=$(field suite) arch=$(field arch) suites=$(field suites) comps=$(field components)
for f in suite arch suites comps; do
    [ -n "${!f}" ] || die "$lock has no '# ${f/comps/components}:' header line; write locks with lock.sh"
done
[ "$arch" = "$(dpkg --print-architecture)" ] ||
    die "$lock is for $arch but this host is $(dpkg --print-architecture); only native images are supported"
bad_line=$(grep -v '^#' "$lock" | awk 'NF != 4 || length($4) != 64 || $4 ~ /[^0-9a-f]/ { print NR ": " $0; exit }')
[ -z "$bad_line" ] || die "$lock: malformed package line (want 'name version arch sha256'): $bad_line"
lock_sha=$(sha256sum "$lock" | cut -c1-64)

work=$(mktemp -d "${TMPDIR:-/tmp}/toolchain-image.XXXXXX")
cleanup() {
    # A failed debootstrap can leave proc/sys mounted in the target: unmount
    # before deleting, and never let rm cross into another file system.
    findmnt -rn -o TARGET | grep -F "$work/" | sort -r | xargs -r -n1 umount -l || true
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # make signals run the EXIT trap too
repo=$work/repo rootfs=$work/rootfs
pkgdir=$repo/dists/$suite/main/binary-$arch
mkdir -p "$pkgdir"

# shellcheck disable=SC2086  # $suites is a word list
apt_root_init "$work/apt" "$arch" "$comps" $suites

# Keep the index stanza (with the archive's Priority, which debootstrap relies on)
# of every locked package, and list what to download. Fails naming each package
# that the archive does not have, or has with another sha256 than the lock.
apt_root_packages | awk -v lock="$lock" -v packages="$pkgdir/Packages" -v urls="$work/urls" '
    BEGIN {
        while ((getline l < lock) > 0)
            if (l !~ /^#/ && split(l, f, " ") == 4) want[f[1] " " f[2] " " f[3]] = f[4]
        RS = ""
    }
    {
        n = split($0, line, "\n"); p = v = a = s = fn = base = ""
        for (i = 1; i <= n; i++) {
            split(line[i], kv, ": ")
            if (kv[1] == "Package") p = kv[2];  else if (kv[1] == "Version") v = kv[2]
            else if (kv[1] == "Architecture") a = kv[2]; else if (kv[1] == "SHA256") s = kv[2]
            else if (kv[1] == "Filename") fn = kv[2]; else if (kv[1] == "X-Base-URI") base = kv[2]
        }
        k = p " " v " " a
        if (!(k in want) || (k in found)) next
        found[k] = s
        if (s != want[k]) next
        sub(/\nX-Base-URI: [^\n]*/, ""); print $0 "\n" > packages
        print base "/" fn, fn, k, s > urls
    }
    END {
        for (k in want)
            if (!(k in found)) {
                print "error: " k ": not in the archive indexes (" lock ")" > "/dev/stderr"; bad = 1
            } else if (found[k] != want[k]) {
                print "error: " k ": sha256 expected " want[k] " (lock), archive index has " found[k] > "/dev/stderr"; bad = 1
            }
        exit bad
    }' || die "the archive does not match $lock (see above)"

log "downloading $(wc -l < "$work/urls") packages"
awk -v repo="$repo" '{ d = repo "/" $2; sub(/\/[^\/]*$/, "", d); print d }' "$work/urls" | sort -u | xargs mkdir -p
awk -v repo="$repo" '{ print $1, repo "/" $2 }' "$work/urls" |
    xargs /usr/lib/apt/apt-helper download-file >"$work/download.log" 2>&1 ||
    { tail -n 20 "$work/download.log" >&2; echo "error: some downloads failed (checked one by one below)" >&2; }
bad=0
while read -r url file name version a want; do
    if [ ! -f "$repo/$file" ]; then
        echo "error: $name $version $a: could not be downloaded from $url" >&2; bad=1; continue
    fi
    got=$(sha256sum "$repo/$file" | cut -c1-64)
    [ "$got" = "$want" ] || { echo "error: $name $version $a: sha256 expected $want (lock), got $got" >&2; bad=1; }
done < "$work/urls"
[ "$bad" = 0 ] || die "packages do not match $lock"

# Unsigned local Release: the .debs were verified above, against the lock.
{
    printf 'Suite: %s\nCodename: %s\nComponents: main\nArchitectures: %s\nSHA256:\n' "$suite" "$suite" "$arch"
    printf ' %s %s main/binary-%s/Packages\n' "$(sha256sum < "$pkgdir/Packages" | cut -c1-64)" \
        "$(stat -c %s "$pkgdir/Packages")" "$arch"
} > "$repo/dists/$suite/Release"

# One timestamp derived from the lock: the newest .deb's build time (the mtime of
# its first ar member, bytes 25-36). Files written during installation get it,
# files from the .debs keep their own (older) mtimes, and shadow's "last
# password change" uses it via SOURCE_DATE_EPOCH.
SOURCE_DATE_EPOCH=$(find "$repo/pool" -name '*.deb' -exec sh -c 'head -c 36 "$1" | tail -c 12; echo' _ {} \; |
    tr -d ' ' | sort -n | tail -n1)
export SOURCE_DATE_EPOCH

log "debootstrap $suite/$arch (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
include=$(grep -v '^#' "$lock" | cut -d' ' -f1 | paste -sd, -)
debootstrap --variant=minbase --no-check-gpg --arch="$arch" --include="$include" \
    "$suite" "$rootfs" "file://$repo" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; [ -f "$rootfs/debootstrap/debootstrap.log" ] &&
      tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2; die "debootstrap failed"; }

# The installed set must be exactly the lock.
# shellcheck disable=SC2016  # dpkg-query's own ${...} syntax
chroot "$rootfs" dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort > "$work/installed"
grep -v '^#' "$lock" | cut -d' ' -f1-3 | LC_ALL=C sort | diff -u - "$work/installed" >&2 ||
    die "installed packages differ from $lock (- lock, + installed)"

# The .pyc files that python3's postinst (py3compile) writes differ from run to
# run (marshal's reference flags depend on what was compiled before, in which
# process). Recompiling the same files in one process, in sorted order, is
# reproducible; the .pyc stay timestamp-based, as Debian makes them.
if [ -x "$rootfs/usr/bin/python3" ]; then
    chroot "$rootfs" env PYTHONHASHSEED=0 python3 - <<'EOF'
import os, py_compile, sys
tag = '.' + sys.implementation.cache_tag
pycs = sorted(os.path.join(d, f) for d, _, fs in os.walk('/usr') for f in fs if f.endswith('.pyc'))
for pyc in pycs:
    d, f = os.path.split(pyc)
    src = os.path.join(os.path.dirname(d), f[:f.rindex(tag)] + '.py')
    os.remove(pyc)
    py_compile.compile(src, cfile=pyc, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
EOF
fi

# Drop what differs from run to run or only describes this build host:
# logs, apt caches and lists, dpkg/debconf backups, ldconfig's inode cache,
# and the host's resolv.conf/hostname that debootstrap copies (Docker provides them).
find "$rootfs/var/log" "$rootfs/var/cache/apt" "$rootfs/var/lib/apt/lists" -type f -delete
rm -f "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/cache/debconf/*-old "$rootfs/var/cache/ldconfig/aux-cache"
: > "$rootfs/etc/resolv.conf"
: > "$rootfs/etc/hostname"
# (Only the lock's sha256, not its file name: same lock content, same image.)
printf '# Packages come from the toolchain lock with sha256 %s, not from apt.\n' "$lock_sha" \
    > "$rootfs/etc/apt/sources.list"

log "writing the rootfs tar"
# Deterministic tar: sorted names, numeric owners, no atime/ctime, mtimes clamped.
tar --create --file "$work/rootfs.tar" --directory "$rootfs" --sort=name --numeric-owner \
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --xattrs --xattrs-include=security.capability .
tar_sha=$(sha256sum "$work/rootfs.tar" | cut -c1-64)
[ -z "${KEEP_TAR:-}" ] || cp "$work/rootfs.tar" "$KEEP_TAR"

log "docker import"
image=$(docker import \
    --change "LABEL org.cpython-fips.toolchain-lock=$lock_sha" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$work/rootfs.tar" "$tag")
log "image $tag ($image): lock sha256 $lock_sha, rootfs tar sha256 $tar_sha, $(stat -c %s "$work/rootfs.tar") bytes"
