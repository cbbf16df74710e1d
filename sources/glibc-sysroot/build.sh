#!/bin/bash
# Makes a sysroot to compile and link against glibc GLIBC_VERSION (e.g. 2.17) with the toolchain's
# clang: binaries linked against it need no symbol version newer than that, so they run on that
# glibc and every later one. The stubs come from zig, which generates them for any glibc version
# from its ABI lists (the `ziglang` wheel on PyPI); nothing of the sysroot is shipped but the
# compatibility functions linked from it (see compat.c).
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
#   COMPILER_RUNTIME_DEB  optional: the Debian package of LLVM's runtime for the target
#                     (libclang-rt-<version>-dev), for a target the toolchain has none of
# and the files beside it: compat.c, compat.h.
#
# Output (/out):
#   bin/<triple>-clang      the C compiler of the components: the toolchain's clang for the triple,
#                           with this sysroot (found from the script's own path) and lld
#   bin/<triple>-<tool>     ar, nm, ranlib, strip, objcopy, objdump, readelf: LLVM's, by the names
#                           that autoconf and OpenSSL look for; and llvm-ar, llvm-profdata,
#                           llvm-bolt, merge-fdata, which CPython's configure looks for in PATH
#   bin/build-clang         clang for the build machine itself (BUILD_CC)
#   usr/include/            glibc's headers as of GLIBC_VERSION (zig's, with the functions of later
#                           versions left out), Linux's uapi headers, crypt.h, and the declarations
#                           of the compatibility functions
#   usr/lib/<triple>/       the stub libraries (libc.so.6, libm.so.6, libpthread.so.0, ... and the
#                           dynamic linker's, and libcrypt.so.1), the link-time names of each
#                           (libc.so is a linker script, as glibc installs it), crt1.o, Scrt1.o,
#                           empty crti.o/crtn.o, libc_nonshared.a, libc_compat.a
#   usr/lib/gcc/<triple>/<version>/
#                           GCC's start files and libgcc, from the toolchain's GCC: clang finds its
#                           runtime there, as it finds it in a Debian system
#   lib/clang/<major>/      clang's resource directory for the target (bin/<triple>-clang's
#                           -resource-dir): its headers, and the target's profile runtime for PGO
#   SYSROOT.json            what the sysroot is: glibc version, triple, zig, clang and GCC versions
set -euo pipefail

readonly WORK=/tmp/sysroot-build
readonly OUT=/out
readonly HERE=${BASH_SOURCE[0]%/*}
: "${ZIGLANG_WHEEL:?ZIGLANG_WHEEL must name the ziglang wheel}"
: "${GLIBC_VERSION:?GLIBC_VERSION must name a glibc version, e.g. 2.17}"
readonly HOST_TRIPLE=${HOST_TRIPLE:-}
readonly TRIPLE=${HOST_TRIPLE:-$(gcc -dumpmachine)}
readonly LIBDIR=$OUT/usr/lib/$TRIPLE
readonly INCLUDE=$OUT/usr/include
read -r -a EMULATOR <<<"${SYSROOT_EMULATOR:-}"
readonly EMULATOR
# The libraries glibc splits itself into, linked with -l<name>: each gets its stub.
readonly LIBRARIES=(c m pthread dl rt util resolv)

log() { echo "==> [${SECONDS}s] $*"; }
die() { echo "error: $*" >&2; exit 1; }

# The toolchain's LLVM: one version is installed (sources/toolchain/BUILD).
find_llvm() {
    local found=(/usr/lib/llvm-*/bin/clang)
    if [ "${#found[@]}" -ne 1 ] || [ ! -x "${found[0]}" ]; then
        die "the toolchain has ${#found[@]} LLVM installations (/usr/lib/llvm-*), not one"
    fi
    LLVM=${found[0]%/clang}
    CLANG_VERSION=$("$LLVM/clang" -dumpversion)
    readonly LLVM CLANG_VERSION
}

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
    local file soname member library
    local -a members
    mkdir -p "$LIBDIR"
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
                "$LLVM/llvm-strip" --strip-debug -o "$WORK/nonshared/$(basename "$member")" \
                    "$member"
                members+=("$(basename "$member")")
            done < <("$LLVM/llvm-ar" t "$file")
            (cd "$WORK/nonshared" && "$LLVM/llvm-ar" rcD "$LIBDIR/libc_nonshared.a" "${members[@]}")
            ;;
        *.so.*)
            # zig names the dynamic linker's stub libld.so.2; its soname is the real name.
            soname=$("$LLVM/llvm-readelf" -d "$file" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
            [ -n "$soname" ] || die "$file has no soname"
            "$LLVM/llvm-strip" --strip-debug -o "$LIBDIR/$soname" "$file"
            ;;
        *)
            "$LLVM/llvm-strip" --strip-debug -o "$LIBDIR/$(basename "$file")" "$file"
            ;;
        esac
    done
    for library in "${LIBRARIES[@]:1}"; do
        ln -s "$(cd "$LIBDIR" && echo "lib$library.so".[0-9]*)" "$LIBDIR/lib$library.so"
    done
    # zig has no crti.o and crtn.o: with .init_array, nothing goes into .init and .fini.
    "$LLVM/clang" --target="$TRIPLE" -c -x c /dev/null -o "$LIBDIR/crti.o"
    cp "$LIBDIR/crti.o" "$LIBDIR/crtn.o"
}

# libc.so is a linker script, as glibc installs it: libc_nonshared.a has the functions glibc links
# statically (atexit, pthread_atfork, stat before 2.33), libc_compat.a the later glibc versions'
# functions that this sysroot adds. Its absolute paths are taken inside the sysroot.
write_libc_script() {
    local dynamic_linker
    dynamic_linker=$(cd "$LIBDIR" && echo ld-linux-*.so.*)
    [ -e "$LIBDIR/$dynamic_linker" ] || die "no dynamic linker stub in $LIBDIR"
    printf 'GROUP ( %s %s %s AS_NEEDED ( %s ) )\n' "/usr/lib/$TRIPLE/libc.so.6" \
        "/usr/lib/$TRIPLE/libc_nonshared.a" "/usr/lib/$TRIPLE/libc_compat.a" \
        "/usr/lib/$TRIPLE/$dynamic_linker" >"$LIBDIR/libc.so"
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
    local directory
    mkdir -p "$INCLUDE"
    for directory in $(header_directories); do
        [ -d "$ZIG_LIB/libc/include/$directory" ] || die "zig $ZIG_VERSION has no $directory headers"
        cp -r "$ZIG_LIB/libc/include/$directory/." "$INCLUDE/"
    done
    # zig defines __GLIBC_MINOR__ on its command line; the sysroot's features.h does.
    local expects='^/\* zig patch: we pass .-D__GLIBC_MINOR__=XX. depending on the target'
    grep -q "$expects" "$INCLUDE/features.h" ||
        die "zig $ZIG_VERSION's features.h no longer expects __GLIBC_MINOR__ on the command line"
    sed -i "s|$expects.*|#define __GLIBC_MINOR__ ${GLIBC_VERSION#*.}|" "$INCLUDE/features.h"
}

# bin/NAME, a script that runs PROGRAM with its arguments.
write_wrapper() {
    printf '#!/bin/sh\nexec %s "$@"\n' "$2" >"$OUT/bin/$1"
}

# The wrappers in bin/: the clang of every component build, and LLVM's binary tools under the
# names build systems look for.
install_tools() {
    local tool
    mkdir -p "$OUT/bin"
    # -static-libgcc: libgcc's functions are linked in, never libgcc_s.so.1, which is not on
    # the NEEDED allow-list (and the toolchain's needs glibc 2.35). -Qunused-arguments: the link
    # options are unused when only compiling, and configure scripts that test options with
    # -Werror would take the warning for a missing feature.
    cat >"$OUT/bin/$TRIPLE-clang" <<EOF
#!/bin/sh
# clang for $TRIPLE against the sysroot this script is in (<sysroot>/bin/$TRIPLE-clang).
exec $LLVM/clang --target=$TRIPLE --sysroot="\${0%/bin/*}" \\
    -resource-dir="\${0%/bin/*}/lib/clang/${CLANG_VERSION%%.*}" -fuse-ld=lld -static-libgcc \\
    -Qunused-arguments "\$@"
EOF
    for tool in ar nm ranlib strip objcopy objdump readelf; do
        write_wrapper "$TRIPLE-$tool" "$LLVM/llvm-$tool"
    done
    # The build machine's compiler, for programs a build runs while building (BUILD_CC): clang
    # too, so that the options a configure script picks for clang suit it.
    write_wrapper build-clang "$LLVM/clang"
    for tool in llvm-ar llvm-profdata llvm-bolt merge-fdata; do
        [ ! -x "$LLVM/$tool" ] || write_wrapper "$tool" "$LLVM/$tool"
    done
    chmod 755 "$OUT"/bin/*
    CC=$OUT/bin/$TRIPLE-clang
    readonly CC
}

# GCC's start files (crtbegin.o, crtend.o ...) and libgcc, of the toolchain's GCC for the target
# (a cross GCC's under /usr/lib/gcc-cross), where clang looks for a GCC installation in a
# sysroot. Not libgcc_s: the compiler links libgcc statically.
install_gcc_runtime() {
    local found from file to
    mapfile -t found < <(find /usr/lib/gcc /usr/lib/gcc-cross -path "*/$TRIPLE/*/crtbegin.o" \
        2>/dev/null)
    [ "${#found[@]}" -eq 1 ] || die "the toolchain has ${#found[@]} GCC runtimes for $TRIPLE, not one"
    from=${found[0]%/crtbegin.o}
    GCC_VERSION=${from##*/}
    readonly GCC_VERSION
    to=$OUT/usr/lib/gcc/$TRIPLE/$GCC_VERSION
    mkdir -p "$to"
    for file in crtbegin.o crtbeginS.o crtbeginT.o crtend.o crtendS.o libgcc.a libgcc_eh.a; do
        [ -f "$from/$file" ] || die "no $file in $from"
        cp "$from/$file" "$to/"
    done
}

# clang's resource directory for the target, which bin/<triple>-clang names: the toolchain's
# headers (stddef.h, the intrinsics...) and the target's profile runtime, which links the
# instrumented programs of PGO builds: the toolchain's own for its architecture, for another the
# one of COMPILER_RUNTIME_DEB (the same LLVM version's).
install_resource_dir() {
    local from to runtime=libclang_rt.profile-${TRIPLE%%-*}.a
    from=$("$LLVM/clang" -print-resource-dir)
    to=$OUT/lib/clang/${CLANG_VERSION%%.*}
    mkdir -p "$to/lib/linux"
    cp -r "$from/include" "$to/"
    if [ -n "${COMPILER_RUNTIME_DEB:-}" ]; then
        dpkg-deb --extract "$COMPILER_RUNTIME_DEB" "$WORK/compiler-runtime"
        from=$WORK/compiler-runtime$from
    fi
    [ -f "$from/lib/linux/$runtime" ] ||
        die "no $runtime in ${COMPILER_RUNTIME_DEB:-the toolchain}: LLVM $CLANG_VERSION's runtime for $TRIPLE is needed"
    cp "$from/lib/linux/$runtime" "$to/lib/linux/"
}

# glibc's first symbol version for the architecture (GLIBC_2.2.5 on x86_64, GLIBC_2.17 on
# aarch64), the version of libcrypt's functions in glibc: malloc's in the libc stub. (The stub
# defines older versions too, which no x86_64 symbol has.)
base_version() {
    "$LLVM/llvm-readelf" --dyn-syms -W "$LIBDIR/libc.so.6" |
        sed -n 's/.* malloc@@*\(GLIBC_[0-9.]*\)$/\1/p'
}

# libcrypt.so.1 for CPython's _crypt (before 3.13), which zig has no stub of: crypt and crypt_r at
# glibc's version of them, which libxcrypt's libcrypt.so.1 (every distribution's now) defines too.
# crypt.h: glibc's declarations (crypt.h beside this script).
install_libcrypt() {
    local version
    version=$(base_version)
    [ -n "$version" ] || die "no GLIBC_ version in the libc stub"
    mkdir -p "$WORK/crypt"
    printf '%s { global: crypt; crypt_r; local: *; };\n' "$version" >"$WORK/crypt/crypt.map"
    printf 'char *crypt(void) { return 0; }\nchar *crypt_r(void) { return 0; }\n' >"$WORK/crypt/crypt.c"
    "$CC" -shared -nostdlib -fPIC -Wl,-soname,libcrypt.so.1 \
        -Wl,--version-script="$WORK/crypt/crypt.map" -o "$LIBDIR/libcrypt.so.1" "$WORK/crypt/crypt.c"
    ln -s libcrypt.so.1 "$LIBDIR/libcrypt.so"
    [ -e "$INCLUDE/crypt.h" ] || install -m 644 "$HERE/crypt.h" "$INCLUDE/crypt.h"
}

# Functions of glibc versions after GLIBC_VERSION that CPython uses when configure finds them
# (compat.c): declared where glibc declares them (compat.h's sections, each put inside its
# header's include guard), defined in libc_compat.a.
install_compat() {
    local header
    for header in sys/mman.h unistd.h sys/uio.h; do
        [ -f "$INCLUDE/$header" ] || die "no $header in the sysroot"
        python3 - "$INCLUDE/$header" "$HERE/compat.h" "$header" <<'PYTHON'
import re, sys
header, compat, name = sys.argv[1:]
sections = re.split(r"^/\* section: (\S+) \*/\n", open(compat).read(), flags=re.M)
section = dict(zip(sections[1::2], sections[2::2]))[name]
text = open(header).read()
at = text.rindex("#endif")
open(header, "w").write(text[:at] + section + text[at:])
PYTHON
    done
    mkdir -p "$WORK/compat"
    "$CC" -c -O2 -fPIC -Wall -Werror -o "$WORK/compat/compat.o" "$HERE/compat.c"
    "$LLVM/llvm-ar" rcD "$LIBDIR/libc_compat.a" "$WORK/compat/compat.o"
}

# Programs compiled and linked with bin/<triple>-clang need no symbol version newer than
# GLIBC_VERSION, and run on the container's newer glibc: one of functions the floor has, one of
# the compatibility functions.
self_check() {
    local check=$WORK/check newest program
    mkdir -p "$check"
    cat >"$check/floor.c" <<'EOF'
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
    cat >"$check/compat.c" <<'EOF'
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    char text[] = "compat", back[sizeof text] = "";
    struct iovec out = {text, sizeof text}, in = {back, sizeof back};
    int fd = memfd_create("check", MFD_CLOEXEC), copy = memfd_create("copy", 0);
    loff_t from = 0;
    if (fd < 0 || copy < 0 || pwritev2(fd, &out, 1, 0, 0) != sizeof text) return 1;
    if (copy_file_range(fd, &from, copy, NULL, sizeof text, 0) != sizeof text) return 2;
    if (preadv2(copy, &in, 1, 0, RWF_HIPRI & 0) != sizeof text) return 3;
    if (close_range(fd, fd, 0) != 0) return 4;
    printf("%s %d\n", back, close(fd));
    return 0;
}
EOF
    for program in floor compat; do
        log "self-check: $program.c with $(basename "$CC")"
        # With 64-bit file offsets, as CPython compiles: glibc's headers redirect some calls then.
        "$CC" -O2 -fPIE -pie -pthread -D_FILE_OFFSET_BITS=64 -Werror=implicit-function-declaration \
            -o "$check/$program" "$check/$program.c" -lm
        newest=$("$LLVM/llvm-objdump" -T "$check/$program" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
        newest=${newest#GLIBC_}
        [ "$(printf '%s\n' "$newest" "$GLIBC_VERSION" | sort -V | tail -n 1)" = "$GLIBC_VERSION" ] ||
            die "$program needs GLIBC_$newest, newer than $GLIBC_VERSION"
        "${EMULATOR[@]}" "$check/$program" >"$check/$program.out" ||
            die "$program did not run (exit status $?)"
        log "$program needs GLIBC_$newest at most and printed: $(cat "$check/$program.out")"
    done
    [ "$(cat "$check/floor.out")" = "7 1.414" ] || die "floor printed the wrong result"
    [ "$(cat "$check/compat.out")" = "compat -1" ] || die "compat printed the wrong result"
    # What a PGO build does: an instrumented program links (with the resource directory's
    # profile runtime), writes its raw profile where LLVM_PROFILE_FILE says, and that merges.
    log "self-check: a profile of floor.c (-fprofile-instr-generate, run, llvm-profdata merge)"
    "$CC" -O2 -pthread -fprofile-instr-generate -o "$check/profiled" "$check/floor.c" -lm
    LLVM_PROFILE_FILE=$check/floor.profraw "${EMULATOR[@]}" "$check/profiled" >/dev/null
    "$LLVM/llvm-profdata" merge -o "$check/floor.profdata" "$check/floor.profraw"
    [ -s "$check/floor.profdata" ] || die "llvm-profdata merged no profile"
}

write_description() {
    cat >"$OUT/SYSROOT.json" <<EOF
{"glibc_version": "$GLIBC_VERSION", "triple": "$TRIPLE", "zig_version": "$ZIG_VERSION", "clang_version": "$CLANG_VERSION", "gcc_runtime_version": "$GCC_VERSION"}
EOF
}

find_llvm
unpack_zig
generate_stubs
install_libraries
install_headers
install_tools
install_resource_dir
install_gcc_runtime
install_libcrypt
install_compat
write_libc_script
self_check
write_description
log "done: glibc $GLIBC_VERSION sysroot for $TRIPLE"
