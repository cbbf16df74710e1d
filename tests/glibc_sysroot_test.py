"""glibc sysroots, made by the real `./pants package`, examined with their own tools (LLVM's) in
the toolchain's container: their stubs define no symbol version newer than the floor, functions of
later glibc versions are neither exported nor declared (a program using one does not build) but
for the compatibility functions the sysroot adds, and a program of functions the floor has links
with the sysroot's clang and runs. (The build's own self-check links and runs one of each kind
too, against the container's newer glibc.)"""

from __future__ import annotations

import re
from typing import Dict, Tuple

import pytest

from images import ensure_image, run_container
from pants_launcher_test import REPO, pants

FLOOR = "2.17"
# platform -> (GNU triple, emulator)
PLATFORMS: Dict[str, Tuple[str, str]] = {
    "linux-x86_64": ("x86_64-linux-gnu", ""),
    "linux-aarch64": ("aarch64-linux-gnu", "qemu-aarch64 -L /usr/aarch64-linux-gnu"),
}
# Newer than 2.17: getrandom (2.25), memfd_create and copy_file_range (2.27).
NEWER_FUNCTIONS = ("getrandom", "memfd_create", "copy_file_range")
USES_GETRANDOM = """
#define _GNU_SOURCE
#include <sys/random.h>
int main(void) { char byte; return getrandom(&byte, 1, 0) == 1 ? 0 : 1; }
"""
# clock_gettime moved into libc in 2.17: the floor's own newest symbol.
USES_CLOCK_GETTIME = """
#include <stdio.h>
#include <time.h>
int main(void) { struct timespec now; printf("%d\\n", clock_gettime(CLOCK_MONOTONIC, &now)); }
"""
EXAMINE = r"""
set -euo pipefail
libdir=/sysroot/usr/lib/$TRIPLE
TOOLS=/sysroot/bin/$TRIPLE-
for stub in "$libdir"/*.so.*; do
    echo "defines $(basename "$stub") $("${TOOLS}readelf" -V -W "$stub" |
        sed -n 's/.*Name: \(GLIBC_[0-9.]*\)$/\1/p' | sort -uV | tr '\n' ' ')"
done
echo "exports $("${TOOLS}readelf" --dyn-syms -W "$libdir/libc.so.6" | awk '{print $8}' |
    sed 's/@.*//' | sort -u | tr '\n' ' ')"
cd /tmp
printf '%s' "$USES_GETRANDOM" >getrandom.c
if "${TOOLS}clang" -Werror=implicit-function-declaration -o getrandom getrandom.c \
    2>getrandom.err; then
    echo "getrandom: built"
else
    echo "getrandom: not built: $(grep -c 'call to undeclared function .getrandom' \
        getrandom.err)"
fi
printf '%s' "$USES_CLOCK_GETTIME" >clock.c
"${TOOLS}clang" -o clock clock.c
echo "clock needs $("${TOOLS}objdump" -T clock | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)"
echo "clock prints $($EMULATOR ./clock)"
"""


def version_key(version: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_sysroot_stops_at_the_glibc_floor(platform: str) -> None:
    target = f"sources/glibc-sysroot:glibc-{FLOOR}-{platform}"
    built = pants("package", target, timeout=1200)
    assert built.returncode == 0, built.stderr[-5000:]
    tree = REPO / f"artifacts/sysroots/glibc-{FLOOR}-{platform}"
    triple, emulator = PLATFORMS[platform]
    assert (tree / "usr/include/stdio.h").is_file()
    assert (
        f"#define __GLIBC_MINOR__ {FLOOR.split('.')[1]}"
        in (tree / "usr/include/features.h").read_text()
    )

    examined = run_container(
        ensure_image(platform),
        ["bash", "-c", EXAMINE],
        mounts={tree: "/sysroot"},
        env={
            "TRIPLE": triple,
            "EMULATOR": emulator,
            "USES_GETRANDOM": USES_GETRANDOM,
            "USES_CLOCK_GETTIME": USES_CLOCK_GETTIME,
        },
        timeout=300,
    )
    report = examined.stdout + examined.stderr
    assert examined.returncode == 0, report

    defined = {
        line.split()[1]: line.split()[2:]
        for line in report.splitlines()
        if line.startswith("defines ")
    }
    assert {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"} <= set(defined)
    newest = {
        stub: max(versions, key=lambda v: version_key(v[6:])) for stub, versions in defined.items()
    }
    assert all(version_key(v[6:]) <= version_key(FLOOR) for v in newest.values()), newest
    # The floor itself is there: the stubs are 2.17's, not an older glibc's.
    assert newest["libc.so.6"] == f"GLIBC_{FLOOR}", newest

    [exports] = [line.split()[1:] for line in report.splitlines() if line.startswith("exports ")]
    assert "clock_gettime" in exports and "pthread_create" not in exports  # libpthread's in 2.17
    assert not set(NEWER_FUNCTIONS) & set(exports)

    assert "getrandom: not built: 1" in report, report
    assert f"clock needs GLIBC_{FLOOR}" in report, report
    assert re.search(r"^clock prints 0$", report, re.MULTILINE), report
