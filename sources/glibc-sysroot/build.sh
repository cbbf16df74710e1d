#!/bin/bash
# Makes a sysroot to compile and link against glibc GLIBC_VERSION (e.g. 2.17) with a newer
# toolchain: binaries linked against it need no symbol version newer than that, so they run on
# that glibc and every later one. The stubs come from zig, which generates them for any glibc
# version from its ABI lists (the `ziglang` wheel on PyPI); nothing of the sysroot is shipped.
#
# Runs in the toolchain container: `bash -euo pipefail /in/<script>`, inputs read-only under /in,
# results in /out, no network.
#
# Inputs (environment):
#   ZIGLANG_WHEEL     the pinned `ziglang` wheel (under /in/sources)
#   GLIBC_VERSION     the glibc version, e.g. 2.17
#   HOST_TRIPLE       optional: the GNU triple of a cross build, e.g. aarch64-linux-gnu (default:
#                     the container's own)
#   SYSROOT_EMULATOR  optional: runs the target's programs for the self-check of a cross build
#
# Output (/out), for clang's or GCC's --sysroot:
#   usr/include/            glibc's headers as of GLIBC_VERSION (zig's, with the functions of later
#                           versions left out) and Linux's uapi headers
#   usr/lib/<triple>/       the stub libraries (libc.so.6, libm.so.6, libpthread.so.0, ... and the
#                           dynamic linker's), the link-time names of each (libc.so is a linker
#                           script, as glibc installs it), crt1.o, Scrt1.o, empty crti.o/crtn.o,
#                           libc_nonshared.a
#   SYSROOT.json            what the sysroot is: glibc version, triple, zig version
set -euo pipefail

readonly WORK=/tmp/sysroot-build
readonly OUT=/out
: "${ZIGLANG_WHEEL:?ZIGLANG_WHEEL must name the ziglang wheel}"
: "${GLIBC_VERSION:?GLIBC_VERSION must name a glibc version, e.g. 2.17}"
readonly HOST_TRIPLE=${HOST_TRIPLE:-}
readonly TRIPLE=${HOST_TRIPLE:-$(gcc -dumpmachine)}
readonly TOOL_PREFIX=${HOST_TRIPLE:+$HOST_TRIPLE-}
read -r -a EMULATOR <<<"${SYSROOT_EMULATOR:-}"
readonly EMULATOR
# The libraries glibc splits itself into, linked with -l<name>: each gets its stub.
readonly LIBRARIES=(c m pthread dl rt util resolv)

log() { echo "==> [${SECONDS}s] $*"; }
die() { echo "error: $*" >&2; exit 1; }

# The wheel unpacks to 410 MB, mostly other targets' libc sources and headers: those of Linux
# with glibc are unpacked, with zig's own libraries.
unpack_zig() {
    log "unpacking $(basename "$ZIGLANG_WHEEL")"
    mkdir -p "$WORK/wheel"
    python3 - "$ZIGLANG_WHEEL" "$WORK/wheel" "$(header_directories)" <<'PYTHON'
import re, sys, zipfile
wheel, destination, headers = sys.argv[1], sys.argv[2], sys.argv[3].split()
other_targets = re.compile(
    r"ziglang/lib/(libcxx|libcxxabi|libtsan|libc/(darwin|freebsd|mingw|musl|netbsd|openbsd|wasi))/"
    r"|ziglang/lib/libc/include/(?!(%s)/)" % "|".join(map(re.escape, headers))
)
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(destination, [n for n in archive.namelist() if not other_targets.match(n)])
PYTHON
    ZIG=$WORK/wheel/ziglang/zig
    ZIG_LIB=$WORK/wheel/ziglang/lib
    chmod +x "$ZIG"
    ZIG_VERSION=$("$ZIG" version)
    readonly ZIG ZIG_LIB ZIG_VERSION
}

# zig generates the stubs, the start files and libc_nonshared.a into its cache when it first
# links a program for a target. The link line (-v) names each file it made.
generate_stubs() {
    local zig_target=${TRIPLE%%-*}-linux-gnu.$GLIBC_VERSION link_line mode
    mkdir -p "$WORK/probe"
    echo 'int main(void) { return 0; }' >"$WORK/probe/main.c"
    : >"$WORK/files"
    # Non-PIE (crt1.o) and PIE (Scrt1.o) links. -O2: zig builds its own runtime libraries for
    # the link in the program's mode, and in debug mode (with UBSan's runtime) three times slower.
    for mode in -no-pie "-fPIE -pie"; do
        log "zig cc -target $zig_target $mode"
        # shellcheck disable=SC2086  # $mode is two options
        link_line=$(cd "$WORK/probe" && ZIG_GLOBAL_CACHE_DIR=$WORK/zig-cache \
            ZIG_LOCAL_CACHE_DIR=$WORK/zig-local-cache "$ZIG" cc -target "$zig_target" -O2 $mode \
            -v main.c -o main "${LIBRARIES[@]/#/-l}" 2>&1 | grep '^ld\.lld ') ||
            die "zig cc did not link for $zig_target (zig $ZIG_VERSION)"
        tr ' ' '\n' <<<"$link_line" |
            grep -E '/(S?crt1\.o|lib[a-z_]+\.so\.[0-9]+|libc_nonshared\.a)$' >>"$WORK/files"
    done
}

# Debug info and archive member names would carry zig's cache paths: the objects are stripped
# of it, and libc_nonshared.a is packed again with bare names (its members are named by their
# paths in zig's cache, where they are), in zig's order, without timestamps.
install_libraries() {
    local libdir=$OUT/usr/lib/$TRIPLE file soname member
    local -a members
    mkdir -p "$libdir"
    sort -u "$WORK/files" | while read -r file; do
        case $file in
        *.a)
            mkdir -p "$WORK/nonshared"
            members=()
            while read -r member; do
                # Relative to the directory zig ran in, where its cache is below it.
                [[ $member == /* ]] || member=$WORK/probe/$member
                [ ! -e "$WORK/nonshared/$(basename "$member")" ] ||
                    die "libc_nonshared.a has two members named $(basename "$member")"
                "${TOOL_PREFIX}strip" --strip-debug -o "$WORK/nonshared/$(basename "$member")" \
                    "$member"
                members+=("$(basename "$member")")
            done < <("${TOOL_PREFIX}ar" t "$file")
            (cd "$WORK/nonshared" && "${TOOL_PREFIX}ar" rcD "$libdir/libc_nonshared.a" "${members[@]}")
            ;;
        *.so.*)
            # zig names the dynamic linker's stub libld.so.2; its soname is the real name.
            soname=$("${TOOL_PREFIX}readelf" -d "$file" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
            [ -n "$soname" ] || die "$file has no soname"
            "${TOOL_PREFIX}strip" --strip-debug -o "$libdir/$soname" "$file"
            ;;
        *)
            "${TOOL_PREFIX}strip" --strip-debug -o "$libdir/$(basename "$file")" "$file"
            ;;
        esac
    done
    # Link-time names. libc.so is a linker script, as glibc installs it: libc_nonshared.a has
    # the functions glibc links statically (atexit, pthread_atfork, stat before 2.33). Its
    # absolute paths are taken inside the sysroot.
    local dynamic_linker library
    dynamic_linker=$(cd "$libdir" && echo ld-linux-*.so.*)
    [ -e "$libdir/$dynamic_linker" ] || die "no dynamic linker stub in $libdir"
    printf 'GROUP ( /usr/lib/%s/libc.so.6 /usr/lib/%s/libc_nonshared.a AS_NEEDED ( /usr/lib/%s/%s ) )\n' \
        "$TRIPLE" "$TRIPLE" "$TRIPLE" "$dynamic_linker" >"$libdir/libc.so"
    for library in "${LIBRARIES[@]:1}"; do
        ln -s "$(cd "$libdir" && echo "lib$library.so".[0-9]*)" "$libdir/lib$library.so"
    done
    # zig has no crti.o and crtn.o: with .init_array, nothing goes into .init and .fini.
    "${TOOL_PREFIX}gcc" -c -x c /dev/null -o "$libdir/crti.o"
    cp "$libdir/crti.o" "$libdir/crtn.o"
}

# zig's header directories for the target, least specific first (zig searches them in the other
# order: a header of a more specific directory hides the others').
header_directories() {
    local arch_dir
    case ${TRIPLE%%-*} in
    x86_64) arch_dir=x86 ;;
    *) arch_dir=${TRIPLE%%-*} ;;
    esac
    echo any-linux-any "$arch_dir-linux-any" generic-glibc "$arch_dir-linux-gnu"
}

# glibc's and Linux's headers as zig's compiler sees them.
install_headers() {
    local include=$OUT/usr/include directory
    mkdir -p "$include"
    for directory in $(header_directories); do
        [ -d "$ZIG_LIB/libc/include/$directory" ] || die "zig $ZIG_VERSION has no $directory headers"
        cp -r "$ZIG_LIB/libc/include/$directory/." "$include/"
    done
    # zig defines __GLIBC_MINOR__ on its command line; the sysroot's features.h does.
    local expects='^/\* zig patch: we pass .-D__GLIBC_MINOR__=XX. depending on the target'
    grep -q "$expects" "$include/features.h" ||
        die "zig $ZIG_VERSION's features.h no longer expects __GLIBC_MINOR__ on the command line"
    sed -i "s|$expects.*|#define __GLIBC_MINOR__ ${GLIBC_VERSION#*.}|" "$include/features.h"
}

# A program compiled and linked against the sysroot with the toolchain's GCC needs no symbol
# version newer than GLIBC_VERSION, and runs on the container's newer glibc.
self_check() {
    local check=$WORK/check newest
    mkdir -p "$check"
    cat >"$check/check.c" <<'EOF'
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
static void *square_root(void *argument) { return (void *)(long)sqrt((double)(long)argument); }
int main(int argc, char **argv) {
    pthread_t thread;
    void *result;
    if (pthread_create(&thread, NULL, square_root, (void *)(long)(argc * 49)) != 0) return 1;
    pthread_join(thread, &result);
    printf("%ld %.3f\n", (long)result, pow(2.0, 0.5));
    return 0;
}
EOF
    log "self-check: linking against the sysroot with ${TOOL_PREFIX}gcc"
    # Only the sysroot's headers, start files and libraries: a cross GCC also searches its own
    # target directory (/usr/$TRIPLE), which holds the toolchain's newer glibc.
    "${TOOL_PREFIX}gcc" --sysroot="$OUT" -nostdinc \
        -isystem "$("${TOOL_PREFIX}gcc" -print-file-name=include)" \
        -isystem "$("${TOOL_PREFIX}gcc" -print-file-name=include-fixed)" \
        -isystem "$OUT/usr/include" -B"$OUT/usr/lib/$TRIPLE/" -L"$OUT/usr/lib/$TRIPLE" \
        -O2 -fPIE -pie -static-libgcc -pthread -o "$check/check" "$check/check.c" -lm
    newest=$("${TOOL_PREFIX}objdump" -T "$check/check" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
    newest=${newest#GLIBC_}
    [ "$(printf '%s\n' "$newest" "$GLIBC_VERSION" | sort -V | tail -n 1)" = "$GLIBC_VERSION" ] ||
        die "the check program needs GLIBC_$newest, newer than $GLIBC_VERSION"
    [ "$("${EMULATOR[@]}" "$check/check")" = "7 1.414" ] || die "the check program did not run"
    log "self-check passed: needs GLIBC_$newest at most, ran on the container's glibc"
}

write_description() {
    cat >"$OUT/SYSROOT.json" <<EOF
{"glibc_version": "$GLIBC_VERSION", "triple": "$TRIPLE", "zig_version": "$ZIG_VERSION"}
EOF
}

unpack_zig
generate_stubs
install_libraries
install_headers
self_check
write_description
log "done: glibc $GLIBC_VERSION sysroot for $TRIPLE"
