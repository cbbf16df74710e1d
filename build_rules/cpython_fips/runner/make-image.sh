#!/bin/bash
# make-image.sh LOCK DEBS_DIR IMAGE_TAG
#
# Builds a root filesystem holding exactly the packages of LOCK (written by
# lock.sh, format 2) and imports it into Docker as IMAGE_TAG, labelled with the
# lock's sha256. DEBS_DIR holds every .deb of the lock under its file name (the
# Pants rules fetch them from Debian's archive or a mirror, see README); each is
# checked against the lock's sha256 before use.
#
# How: lay the .debs out as a tiny local archive that holds nothing else, with a
# Packages index made from each .deb's own control fields plus the lock's
# priority, file name, size and sha256. debootstrap then installs from that
# archive only, so it cannot pick any other version. No network is used at all,
# and no archive index: a .deb that has left Debian's archive still makes its
# image from a mirror.
#
# Environment: TMPDIR (scratch), KEEP_TAR=FILE (keep a copy of the rootfs tar).
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[${SECONDS}s] $*" >&2; }
[ $# -eq 3 ] || { echo "usage: $0 LOCK DEBS_DIR IMAGE_TAG" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "error: make-image.sh needs root (debootstrap chroots into the new tree and creates device nodes). Run:" >&2
    echo "  sudo $(realpath "$0") ${*@Q}" >&2
    exit 1
fi
for tool in debootstrap docker dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install ${tool/dpkg-deb/dpkg})"
done

lock=$(realpath "$1") debs=$(realpath "$2") tag=$3
[ -f "$lock" ] || die "no such lock file: $1"
[ -d "$debs" ] || die "no such directory: $2"
head -n1 "$lock" | grep -q 'toolchain lock, format 2\.' ||
    die "$lock is not a format 2 lock; regenerate it with ./pants generate-toolchain-lock"
field() { sed -n "s/^# $1: //p" "$lock" | head -n1; }
suite=$(field suite) arch=$(field arch)
for f in suite arch; do
    [ -n "${!f}" ] || die "$lock has no '# $f:' header line; write locks with lock.sh"
done
# A foreign architecture's image (arm64 on an amd64 host, for the runtime checks of a cross
# build): debootstrap's second stage runs the new system's programs in the chroot, and the image's
# containers run them too, through qemu-user registered with binfmt_misc. The registration needs
# the F flag (the emulator is opened when it is registered), so that it works inside a chroot and
# a container, which do not have the host's emulator binary.
host_arch=$(dpkg --print-architecture)
platform=linux/$arch
if [ "$arch" != "$host_arch" ]; then
    case $arch in
        arm64) qemu=aarch64 ;;
        *) die "$lock is for $arch: images of a foreign architecture are made for arm64 only" ;;
    esac
    handler=/proc/sys/fs/binfmt_misc/qemu-$qemu
    if ! { [ -r "$handler" ] && grep -qx enabled "$handler" && grep -q '^flags: .*F' "$handler"; }; then
        die "$lock is for $arch and this host is $host_arch: programs for $arch must run here through qemu-user registered with binfmt_misc with the F flag ($handler). On Debian: apt-get install qemu-user-static binfmt-support, then update-binfmts --enable qemu-$qemu (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc first if it is not mounted)"
    fi
fi
bad_line=$(grep -v '^#' "$lock" | awk 'NF != 7 || length($4) != 64 || $4 ~ /[^0-9a-f]/ || $5 !~ /^[0-9]+$/ ||
    $7 !~ /^pool\/[^ ]*\.deb$/ || $7 ~ /\.\./ { print NR ": " $0; exit }')
[ -z "$bad_line" ] || die "$lock: malformed package line (want 'name version arch sha256 size priority filename'): $bad_line"
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

# Check every .deb against the lock, put it where the lock's file name says, and
# write its index stanza: the .deb's control fields with the archive's priority.
log "checking $(grep -vc '^#' "$lock") packages"
bad=0
while read -r name version a sha size priority filename; do
    deb=$debs/${filename##*/}
    if [ ! -f "$deb" ]; then
        echo "error: $name $version $a: ${filename##*/} is not in $debs" >&2; bad=1; continue
    fi
    got=$(sha256sum "$deb" | cut -c1-64)
    if [ "$got" != "$sha" ]; then
        echo "error: $name $version $a: sha256 expected $sha (lock), got $got ($deb)" >&2; bad=1; continue
    fi
    mkdir -p "$repo/$(dirname "$filename")"
    ln "$deb" "$repo/$filename" 2>/dev/null || cp "$deb" "$repo/$filename"
    {
        dpkg-deb --field "$deb" | grep -v '^Priority:'
        printf 'Priority: %s\nFilename: %s\nSize: %s\nSHA256: %s\n\n' "$priority" "$filename" "$size" "$sha"
    } >> "$pkgdir/Packages"
done < <(grep -v '^#' "$lock")
[ "$bad" = 0 ] || die "the packages in $debs do not match $lock"

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
image=$(docker import --platform "$platform" \
    --change "LABEL org.cpython-fips.toolchain-lock=$lock_sha" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$work/rootfs.tar" "$tag")
log "image $tag ($image): lock sha256 $lock_sha, rootfs tar sha256 $tar_sha, $(stat -c %s "$work/rootfs.tar") bytes"
