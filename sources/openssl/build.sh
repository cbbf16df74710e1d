#!/bin/bash
# Builds OpenSSL as static, hidden-visibility libraries for CPython's _ssl and
# _hashlib, plus a FIPS provider (fips.so) and the files needed to turn it on.
#
# Runs in the toolchain container: `bash -euo pipefail /in/<script>`, inputs
# read-only under /in, results in /out, no network, JOBS/MAKEFLAGS set.
#
# Inputs (environment):
#   OPENSSL_ARCHIVE        OpenSSL release tarball for the libraries and bin/openssl.
#   FIPS_PROVIDER_ARCHIVE  optional: another release (a CMVP-validated one) whose
#                          fips.so is shipped instead of OPENSSL_ARCHIVE's own. It is
#                          built unpatched; only its provider is installed.
#   OPENSSL_ARCHIVE_PATCHES_DIR  optional: *.patch applied to OPENSSL_ARCHIVE's tree
#                          with `patch -p1`, in sorted order (the patches of its pin).
#   FIPS_PROVIDER_ARCHIVE_PATCHES_DIR  must be unset: the provider is never patched.
#   OPENSSL_TARGET         Configure target, e.g. linux-x86_64 (default) or linux-aarch64.
#   TARGET_TRIPLE          the GNU triple of the target, e.g. aarch64-linux-gnu: the build
#                          uses the tools of SYSROOT/bin by that prefix (<triple>-clang ...).
#   SYSROOT                the glibc sysroot the build compiles and links against.
#   OPENSSL_EMULATOR       optional: runs the target's programs for the smoke test of a
#                          cross build, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu".
#   OPENSSL_FIPS_CNF       optional: path of openssl-fips.cnf (default: beside this script).
#   SOURCE_DATE_EPOCH      optional: build date recorded in libcrypto (default: the
#                          release's own date, for reproducible output).
#
# Output (/out), relocatable: see FIPS.md for turning FIPS on in the unpacked tree.
#   include/openssl/*.h  lib/libcrypto.a  lib/libssl.a  lib/pkgconfig/*.pc
#   lib/ossl-modules/fips.so  ssl/fipsmodule.cnf  ssl/openssl-fips.cnf  bin/openssl
#
# Symbol visibility: every C object is compiled with -fvisibility=hidden, so linking
# libcrypto.a into a shared object exports none of OpenSSL's C functions. Symbols
# defined by OpenSSL's generated assembly have no visibility attribute and stay
# DEFAULT (the build logs them); the final link should therefore also use
# -Wl,--exclude-libs,libcrypto.a:libssl.a to keep them out of the dynamic table.
set -euo pipefail

# The libraries are configured for this prefix, but nothing is ever installed there:
# only the modules and engines directories baked into libcrypto come from it. It is
# deliberately a path that does not exist on any system, so a relocated libcrypto
# never loads a module from a directory somebody else controls; openssl-fips.cnf
# names the module explicitly instead (see FIPS.md).
readonly PREFIX=/nonexistent/openssl
# OPENSSLDIR is where libcrypto looks at run time for its default configuration
# (openssl.cnf) and CA certificates (cert.pem, certs/), and it cannot follow the
# tree when it moves. /etc/ssl is where Debian, Ubuntu, Alpine, Arch and SUSE keep
# their CA store, and Fedora/RHEL link /etc/ssl/certs into /etc/pki, so the host's
# trust store is found on the common distributions (python-build-standalone makes
# the same choice); a directory inside the tree would hold no certificates at all.
# The price: without OPENSSL_CONF, libcrypto also reads the host's openssl.cnf.
readonly OPENSSLDIR=/etc/ssl
readonly WORK=/tmp/openssl-build
readonly OUT=/out
readonly JOBS=${JOBS:-1}
readonly OPENSSL_TARGET=${OPENSSL_TARGET:-linux-x86_64}
: "${TARGET_TRIPLE:?TARGET_TRIPLE must name the GNU triple of the target}"
: "${SYSROOT:?SYSROOT must name the glibc sysroot}"
# The sysroot's clang and LLVM's tools, as a cross toolchain names them (Configure's
# --cross-compile-prefix), native builds included.
readonly TOOLS=$TARGET_TRIPLE-
export PATH=$SYSROOT/bin:$PATH
# A cross build: the target's programs do not run here without the emulator.
CROSS=true
[ "$TARGET_TRIPLE" != "$(gcc -dumpmachine)" ] || CROSS=false
readonly CROSS
readonly PATCHES_DIR=${OPENSSL_ARCHIVE_PATCHES_DIR:-}
readonly FIPS_PROVIDER_ARCHIVE=${FIPS_PROVIDER_ARCHIVE:-}
readonly FIPS_CNF=${OPENSSL_FIPS_CNF:-$(dirname "$0")/openssl-fips.cnf}
: "${OPENSSL_ARCHIVE:?OPENSSL_ARCHIVE must name the OpenSSL release tarball (under /in)}"

log() { echo "==> [${SECONDS}s] $*"; }
die() { echo "error: $*" >&2; exit 1; }
indent() { sed 's/^/    /'; }

# Flags for every OpenSSL tree we configure. Configure appends them to its own
# defaults (-O3 -Wall ...): -D goes to CPPFLAGS, -f to CFLAGS, -Wl to LDFLAGS.
configure_args() {
    # shellcheck disable=SC2054  # the commas belong to -Wl options
    local args=(
        "$OPENSSL_TARGET" --prefix="$PREFIX" --libdir=lib --openssldir="$OPENSSLDIR"
        no-shared no-legacy no-tests enable-fips
        --cross-compile-prefix="$TOOLS" CC=clang
        # Position independent: the archives are linked into Python's shared
        # extension modules.
        -fPIC
        # Python must not export OpenSSL's symbols (see the top of this file).
        -fvisibility=hidden
        -D_FORTIFY_SOURCE=2 -fstack-protector-strong
        -Wl,-z,relro,-z,now -Wl,-z,noexecstack
    )
    printf '%s\n' "${args[@]}"
}

# Unpacks ARCHIVE into DIR and prints the source tree's path (openssl-<version>).
extract() {
    local archive=$1 dir=$2 trees
    [ -f "$archive" ] || die "no such archive: $archive"
    mkdir -p "$dir"
    tar -xzf "$archive" -C "$dir"
    trees=("$dir"/*/)
    [ "${#trees[@]}" -eq 1 ] || die "$archive does not unpack to a single directory"
    [ -f "${trees[0]}VERSION.dat" ] || die "$archive is not an OpenSSL 3 source release"
    echo "${trees[0]%/}"
}

release_version() {
    # shellcheck source=/dev/null disable=SC2153  # MAJOR=3, MINOR=5, PATCH ... from the release
    (. "$1/VERSION.dat" && echo "$MAJOR.$MINOR.$PATCH${PRE_RELEASE_TAG:+-$PRE_RELEASE_TAG}")
}

apply_patches() {
    local src=$1 patches=() p
    [ -n "$PATCHES_DIR" ] || return 0
    [ -d "$PATCHES_DIR" ] || die "OPENSSL_ARCHIVE_PATCHES_DIR is not a directory: $PATCHES_DIR"
    mapfile -t patches < <(find "$PATCHES_DIR" -maxdepth 1 -type f -name '*.patch' | LC_ALL=C sort)
    for p in "${patches[@]}"; do
        log "applying patch $(basename "$p")"
        patch -p1 --forward --batch -d "$src" < "$p"
    done
}

# providers/fips.module.sources lists every source file inside the FIPS module
# boundary. Patches that change one of them make this release's fips.so differ
# from upstream's: worth a warning (a validated provider must come unpatched,
# from FIPS_PROVIDER_ARCHIVE, which is never patched).
warn_if_patches_touch_fips_sources() {
    local src=$1 touched
    [ -n "$PATCHES_DIR" ] || return 0
    touched=$(find "$PATCHES_DIR" -maxdepth 1 -type f -name '*.patch' -exec sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' {} + |
        LC_ALL=C sort -u | grep -Fxf "$src/providers/fips.module.sources" || true)
    [ -z "$touched" ] ||
        echo "warning: OPENSSL_ARCHIVE_PATCHES_DIR changes FIPS module sources: $(echo "$touched" | paste -sd" ")" >&2
}

# The visibility fix. With -fvisibility=hidden, fips_entry.c's OSSL_provider_init
# (the one symbol fips.so must export; fips.ld's version script already makes
# every other symbol local) would be hidden too, and libcrypto could not find it
# with dlsym: the provider would never load. We do not patch fips_entry.c: it is
# inside the FIPS boundary (listed in fips-sources.checksums), and a validated
# module must be built from unmodified sources. Instead this makefile fragment
# gives that single object -fvisibility=default (the last -fvisibility wins) via
# a target-specific variable. It reaches every make, including OpenSSL's
# recursive ones, through the MAKEFILES environment variable, which makes GNU
# make read the listed files first (they never supply the default goal).
readonly ENTRY_OBJECT=providers/fips/fips-dso-fips_entry.o
write_visibility_makefile() {
    cat > "$WORK/fips-entry-visibility.mk" <<EOF
# Written by build.sh: compile the FIPS provider's entry point with default visibility.
$ENTRY_OBJECT: CFLAGS += -fvisibility=default
EOF
}

# Runs make in TREE for each target in turn (targets that share recursive makes
# are not safe to run in parallel with each other; each one uses -j itself).
make_in() {
    local tree=$1 target; shift
    for target in "$@"; do
        log "make $target ($(basename "$tree"))"
        MAKEFILES="$WORK/fips-entry-visibility.mk" make -C "$tree" -j"$JOBS" "$target"
    done
}

configure_tree() {
    local src=$1 args
    mapfile -t args < <(configure_args)
    log "configure $(basename "$src"): ${args[*]}"
    (cd "$src" && ./Configure "${args[@]}")
    # Fails loudly if a release renames the object the fragment above refers to.
    grep -q "^$ENTRY_OBJECT:" "$src/Makefile" ||
        die "$ENTRY_OBJECT has no rule in $src/Makefile: update ENTRY_OBJECT"
}

# install_fips copies fips.so and the fipsmodule.cnf that the build generated for
# it (module MAC computed over that very file) under DESTDIR. It depends on
# build_sw, the whole release; `-o build_sw` stops make from building it, since
# only the provider is wanted and build_modules has already made it.
install_fips() {
    local tree=$1 destdir=$2
    log "make install_fips ($(basename "$tree")) into $destdir"
    MAKEFILES="$WORK/fips-entry-visibility.mk" \
        make -C "$tree" -o build_sw DESTDIR="$destdir" install_fips
}

build_libraries() {
    local src=$1 stage=$2 targets=(build_libs build_programs)
    # Without FIPS_PROVIDER_ARCHIVE, this release's own provider is shipped.
    [ -n "$FIPS_PROVIDER_ARCHIVE" ] || targets+=(build_modules)
    configure_tree "$src"
    make_in "$src" "${targets[@]}"
    log "install headers, static libraries, pkg-config files and bin/openssl"
    make -C "$src" DESTDIR="$stage" install_dev
    make -C "$src" DESTDIR="$stage" install_programs
    [ -n "$FIPS_PROVIDER_ARCHIVE" ] || install_fips "$src" "$stage"
}

build_fips_provider() {
    local src=$1 stage=$2
    log "FIPS provider from OpenSSL $(release_version "$src") (FIPS_PROVIDER_ARCHIVE, unpatched)"
    configure_tree "$src"
    make_in "$src" build_modules
    install_fips "$src" "$stage"
}

# pkg-config resolves ${pcfiledir} to the directory holding the .pc file, so the
# files stay correct wherever the tree is unpacked.
make_pc_files_relocatable() {
    local pc
    for pc in "$OUT"/lib/pkgconfig/*.pc; do
        # shellcheck disable=SC2016  # ${pcfiledir} is for pkg-config
        sed -i 's|^prefix=.*|prefix=${pcfiledir}/../..|' "$pc"
        ! grep -q "$PREFIX" "$pc" || die "$pc still names $PREFIX"
    done
}

assemble_output() {
    local libs=$1 provider=$2
    log "assembling $OUT"
    mkdir -p "$OUT"/{bin,include,lib/pkgconfig,lib/ossl-modules,ssl}
    cp -R "$libs$PREFIX/include/openssl" "$OUT/include/"
    cp "$libs$PREFIX"/lib/libcrypto.a "$libs$PREFIX"/lib/libssl.a "$OUT/lib/"
    cp "$libs$PREFIX"/lib/pkgconfig/*.pc "$OUT/lib/pkgconfig/"
    cp "$libs$PREFIX/bin/openssl" "$OUT/bin/"
    cp "$provider$PREFIX/lib/ossl-modules/fips.so" "$OUT/lib/ossl-modules/"
    cp "$provider$OPENSSLDIR/fipsmodule.cnf" "$OUT/ssl/"
    cp "$FIPS_CNF" "$OUT/ssl/openssl-fips.cnf"
    make_pc_files_relocatable
}

check_provider_exports() {
    local so=$OUT/lib/ossl-modules/fips.so exported
    exported=$(readelf --dyn-syms -W "$so" | awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" { print $5, $6, $8 }')
    log "symbols exported by fips.so (binding, visibility, name):"
    indent <<<"$exported"
    grep -qx 'GLOBAL DEFAULT OSSL_provider_init' <<<"$exported" ||
        die "fips.so does not export OSSL_provider_init: the provider could not be loaded"
}

# Prints "VISIBILITY NAME" for each global symbol defined in the given ELF files.
defined_globals() {
    readelf -sW "$@" | awk '$1 ~ /^[0-9]+:$/ && ($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" { print $6, $8 }'
}

# Counts the visibility of the global symbols each archive defines. The C API
# must be hidden (checked on one function each); the DEFAULT ones come from
# OpenSSL's assembly, which -fvisibility does not affect.
check_archive_visibility() {
    local archive probe symbols
    for archive in libcrypto.a:EVP_MD_fetch libssl.a:SSL_CTX_new; do
        probe=${archive#*:} archive=${archive%:*}
        symbols=$(defined_globals "$OUT/lib/$archive")
        log "visibility of the global symbols defined in $archive:"
        awk '{ n[$1]++ } END { for (v in n) printf "    %-8s %d\n", v, n[v] }' <<<"$symbols"
        grep -qx "HIDDEN $probe" <<<"$symbols" ||
            die "$probe in $archive is not HIDDEN: -fvisibility=hidden was not applied"
    done
    log "DEFAULT-visibility symbols (from assembly; keep them out with --exclude-libs):"
    defined_globals "$OUT/lib/libcrypto.a" "$OUT/lib/libssl.a" | awk '$1 == "DEFAULT" { print $2 }' |
        LC_ALL=C sort -u | paste -sd' ' | fold -s -w 100 | indent
}

# What CPython's _ssl/_hashlib would export: link a small shared object against
# the archives. Without --exclude-libs only the assembly symbols listed above may
# appear; with it, nothing of OpenSSL's.
check_linked_exports() {
    local dir=$WORK/probe cc=${TOOLS}clang nm=${TOOLS}nm n
    mkdir -p "$dir"
    cat > "$dir/probe.c" <<'EOF_C'
#include <openssl/evp.h>
#include <openssl/ssl.h>
int probe(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL_CTX_free(ctx);
    return EVP_MD_get_size(EVP_sha256());
}
EOF_C
    "$cc" -shared -fPIC -o "$dir/probe.so" "$dir/probe.c" -I"$OUT/include" \
        "$OUT/lib/libssl.a" "$OUT/lib/libcrypto.a" -pthread -ldl
    n=$("$nm" -D --defined-only "$dir/probe.so" | grep -cv ' probe$' || true)
    "$nm" -D --defined-only "$dir/probe.so" | awk '{ print $3 }' | grep -E '^(BIO|ERR|EVP|OSSL|SSL|X509)_' &&
        die "a shared object linked with the archives exports OpenSSL C functions (above)"
    log "a shared object linked with the archives exports $n OpenSSL symbols (assembly only)"
    "$cc" -shared -fPIC -o "$dir/probe.so" "$dir/probe.c" -I"$OUT/include" \
        "$OUT/lib/libssl.a" "$OUT/lib/libcrypto.a" -pthread -ldl -Wl,--exclude-libs,ALL
    n=$("$nm" -D --defined-only "$dir/probe.so" | grep -cv ' probe$' || true)
    [ "$n" -eq 0 ] || die "with -Wl,--exclude-libs,ALL it still exports $n symbols"
    log "with -Wl,--exclude-libs,ALL it exports none"
}

# Hardening that shows in the ELF files: full RELRO (relro + now) and a
# non-executable stack, for the provider and the program.
check_hardening() {
    local f segments dynamic symbols
    for f in "$OUT/lib/ossl-modules/fips.so" "$OUT/bin/openssl"; do
        segments=$(readelf -lW "$f") dynamic=$(readelf -dW "$f") symbols=$(readelf -sW "$f")
        grep -q GNU_RELRO <<<"$segments" || die "$f: no RELRO segment"
        grep -q BIND_NOW <<<"$dynamic" || die "$f: not linked with -z now"
        awk '$1 == "GNU_STACK" { print $(NF - 1) }' <<<"$segments" | grep -qx RW ||
            die "$f: executable stack"
        grep -q __stack_chk_fail <<<"$symbols" || die "$f: no stack protector"
        grep -q '__[a-z0-9_]*_chk@' <<<"$symbols" || die "$f: no _FORTIFY_SOURCE calls"
    done
    log "fips.so and bin/openssl: full RELRO, non-executable stack, stack protector, fortified calls"
}

# Loads the shipped provider through the shipped configuration, from the output
# tree's own location: the tree must work wherever it is (test-fips.sh checks more).
smoke_test() {
    local expected=$1 listing emulator
    read -ra emulator <<<"${OPENSSL_EMULATOR:-}"
    if "$CROSS" && [ "${#emulator[@]}" -eq 0 ]; then
        log "cross build without OPENSSL_EMULATOR: skipping the run-time smoke test"
        return 0
    fi
    log "smoke test: bin/openssl with ssl/openssl-fips.cnf"
    listing=$(OPENSSL_CONF="$OUT/ssl/openssl-fips.cnf" OPENSSL_MODULES="$OUT/lib/ossl-modules" \
        "${emulator[@]}" "$OUT/bin/openssl" list -providers)
    indent <<<"$listing"
    awk '/^  fips$/ { f = 1 } f && /version:/ { print $2; exit }' <<<"$listing" | grep -qx "$expected" ||
        die "the fips provider is not version $expected"
    awk '/^  fips$/ { f = 1 } f && /status:/ { print $2; exit }' <<<"$listing" | grep -qx active ||
        die "the fips provider is not active"
}

report() {
    local f
    log "done: $OUT"
    for f in lib/libcrypto.a lib/libssl.a lib/ossl-modules/fips.so bin/openssl; do
        printf '    %-26s %10d bytes\n' "$f" "$(stat -c %s "$OUT/$f")"
    done
    # CPU time does not depend on what else the machine was running. (No pipe:
    # `times` in a subshell would report the subshell's own, zero, time.)
    times > "$WORK/cpu-times"
    echo "    CPU time of the build processes (user, system): $(tail -n1 "$WORK/cpu-times")"
}

main() {
    local src provider_src="" libs_stage=$WORK/stage-libs provider_stage fips_version
    [ -f "$FIPS_CNF" ] || die "openssl-fips.cnf not found at $FIPS_CNF (set OPENSSL_FIPS_CNF)"
    [ -z "${FIPS_PROVIDER_ARCHIVE_PATCHES_DIR:-}" ] ||
        die "the FIPS provider's pin has patches: a validated provider is built from unmodified sources (remove them from its source_archive)"
    mkdir -p "$WORK" "$OUT"
    write_visibility_makefile

    src=$(extract "$OPENSSL_ARCHIVE" "$WORK/libs")
    # Reproducible: libcrypto records the build date (`openssl version -b`).
    export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$src/VERSION.dat")}
    log "OpenSSL $(release_version "$src") for $OPENSSL_TARGET with ${TOOLS}clang ($SYSROOT), JOBS=$JOBS"
    apply_patches "$src"

    provider_stage=$libs_stage
    if [ -n "$FIPS_PROVIDER_ARCHIVE" ]; then
        provider_src=$(extract "$FIPS_PROVIDER_ARCHIVE" "$WORK/fips-provider")
        provider_stage=$WORK/stage-fips
        build_fips_provider "$provider_src" "$provider_stage"
        fips_version=$(release_version "$provider_src")
    else
        warn_if_patches_touch_fips_sources "$src"
        fips_version=$(release_version "$src")
        log "FIPS provider from OpenSSL $fips_version (the libraries' own release)"
    fi
    build_libraries "$src" "$libs_stage"

    assemble_output "$libs_stage" "$provider_stage"
    check_provider_exports
    check_archive_visibility
    check_linked_exports
    check_hardening
    smoke_test "$fips_version"
    report
}

main "$@"
