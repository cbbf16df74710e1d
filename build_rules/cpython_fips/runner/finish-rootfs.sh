#!/bin/bash
# finish-rootfs.sh LOCK_SHA256
#
# Runs as PID 1 of the second-stage container of a toolchain image (see rootfs.py), whose root
# filesystem is debootstrap's first stage: configures the packages, checks that the installed set
# is exactly the lock (/finish/packages: "name version arch" lines, sorted), and removes what
# differs from run to run or describes the machine. SOURCE_DATE_EPOCH is set by the runner.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 LOCK_SHA256"
lock_sha=$1

/debootstrap/debootstrap --second-stage ||
    { tail -n 30 /debootstrap/debootstrap.log >&2 2>/dev/null || true; die "debootstrap's second stage failed"; }

# shellcheck disable=SC2016  # dpkg-query's own ${...} syntax
diff -u /finish/packages <(dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort) >&2 ||
    die "installed packages differ from the lock (- lock, + installed)"

# The .pyc files that python3's postinst (py3compile) writes differ from run to run (marshal's
# reference flags depend on what was compiled before, in which process). Recompiling the same
# files in one process, in sorted order, is reproducible; the .pyc stay timestamp-based, as
# Debian makes them.
if [ -x /usr/bin/python3 ]; then
    PYTHONHASHSEED=0 python3 - <<'EOF'
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

# Logs, apt caches and lists, dpkg/debconf backups and ldconfig's inode cache differ from run to
# run. (/etc/hostname and /etc/resolv.conf are Docker's here; the runner writes them empty.)
find /var/log /var/cache/apt /var/lib/apt/lists -type f -delete
rm -f /var/lib/dpkg/*-old /var/cache/debconf/*-old /var/cache/ldconfig/aux-cache
# (Only the lock's sha256, not its file name: same lock content, same image.)
printf '# Packages come from the toolchain lock with sha256 %s, not from apt.\n' "$lock_sha" \
    > /etc/apt/sources.list
