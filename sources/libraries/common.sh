# shellcheck shell=bash
# Helpers for the library build scripts (sourced, not run). A script runs in the toolchain
# container as `bash -euo pipefail /in/<library>.sh` with:
#   SOURCE_ARCHIVE             the pinned release tarball (under /in/sources)
#   SOURCE_ARCHIVE_PATCHES_DIR optional: *.patch applied with `patch -p1`, in sorted order
#   DEPS_PREFIX                where the libraries it builds against are mounted (/in/deps) and
#                              the prefix it is configured for itself
#   TARGET_TRIPLE              the GNU triple of the target: the build compiles with
#                              SYSROOT/bin/<triple>-clang and LLVM's tools by that prefix
#   SYSROOT                    the glibc sysroot it compiles and links against
#   HOST_TRIPLE                optional: cross-compile for this GNU triple (TARGET_TRIPLE)
#   JOBS                       parallel jobs
# and installs its headers, static archives and pkg-config files to /out (the content of
# DEPS_PREFIX, as another component sees it).

readonly SRC=/tmp/build/src
readonly STAGE=/tmp/build/stage
readonly OUT=/out
readonly JOBS=${JOBS:-1}
readonly HOST_TRIPLE=${HOST_TRIPLE:-}
: "${TARGET_TRIPLE:?TARGET_TRIPLE must name the GNU triple of the target}"
: "${SYSROOT:?SYSROOT must name the glibc sysroot}"
: "${SOURCE_ARCHIVE:?SOURCE_ARCHIVE must name the release tarball}"
: "${DEPS_PREFIX:?DEPS_PREFIX must name the prefix libraries are configured for}"
# Where `make install DESTDIR=$STAGE` puts the prefix.
readonly STAGED_PREFIX=$STAGE$DEPS_PREFIX

log() { echo "==> [${SECONDS}s] $*"; }
die() { echo "error: $*" >&2; exit 1; }

# Position-independent (the archives end up in libpython.so and extension modules), optimised,
# with debug info (install_only_stripped strips it later), hardened. The build directory is
# the same in every container, so the debug info is reproducible.
export CFLAGS="-O2 -g -fPIC -D_FORTIFY_SOURCE=2 -fstack-protector-strong"
# clang 16 and later reject pre-C99 code that GCC 12 and older only warn about: an undeclared
# function (libffi 3.4's tramp.c calls one), implicit int, int/pointer conversions. The libraries'
# releases are built as with GCC: warnings, not errors.
CFLAGS+=" -Wno-error=implicit-function-declaration -Wno-error=implicit-int"
CFLAGS+=" -Wno-error=int-conversion -Wno-error=incompatible-function-pointer-types"
export CPPFLAGS="-I$DEPS_PREFIX/include"
export LDFLAGS="-L$DEPS_PREFIX/lib -Wl,-z,relro,-z,now -Wl,-z,noexecstack"
# Only the libraries mounted here, never the toolchain's own .pc files. PKG_CONFIG names the
# build machine's pkg-config, which configure scripts would otherwise look for as
# $HOST_TRIPLE-pkg-config when cross-compiling.
export PKG_CONFIG=pkg-config
export PKG_CONFIG_LIBDIR="$DEPS_PREFIX/lib/pkgconfig"
export PKG_CONFIG_PATH=
# The sysroot's clang and LLVM's tools, as a cross toolchain names them, native builds included.
export PATH=$SYSROOT/bin:$PATH
export CC=$TARGET_TRIPLE-clang AR=$TARGET_TRIPLE-ar RANLIB=$TARGET_TRIPLE-ranlib \
    NM=$TARGET_TRIPLE-nm STRIP=$TARGET_TRIPLE-strip
# The build machine's compiler, for helper programs a build compiles and runs itself: clang too,
# which takes the options configure chose for CC. BUILD_CC and CC_FOR_BUILD are the names build
# systems read.
export BUILD_CC=build-clang CC_FOR_BUILD=build-clang

# Extracts SOURCE_ARCHIVE into SRC (without its top directory), applies the pin's patches and
# changes into SRC.
unpack_source() {
    log "unpacking $(basename "$SOURCE_ARCHIVE")"
    [ -f "$SOURCE_ARCHIVE" ] || die "no source archive at $SOURCE_ARCHIVE"
    mkdir -p "$SRC"
    tar -xf "$SOURCE_ARCHIVE" -C "$SRC" --strip-components=1 --no-same-owner
    local patch
    for patch in "${SOURCE_ARCHIVE_PATCHES_DIR:+$SOURCE_ARCHIVE_PATCHES_DIR}"/*.patch; do
        [ -e "$patch" ] || continue
        log "applying $(basename "$patch")"
        patch -d "$SRC" -p1 --forward --quiet <"$patch"
    done
    cd "$SRC" || die "cannot enter $SRC"
}

# Fails unless each library the script builds against (a pkg-config module) is mounted.
require_deps() {
    local module
    for module in "$@"; do
        "$PKG_CONFIG" --exists "$module" ||
            die "$module.pc is not in $PKG_CONFIG_LIBDIR: is the library in the target's dependencies?"
    done
}

# The arguments every autoconf configure script gets: our prefix, static only, and the host
# triple when cross-compiling.
autoconf_args() {
    local args=(--prefix="$DEPS_PREFIX" --libdir="$DEPS_PREFIX/lib" --disable-shared --enable-static)
    [ -z "$HOST_TRIPLE" ] || args+=(--build="$(gcc -dumpmachine)" --host="$HOST_TRIPLE")
    printf '%s\n' "${args[@]}"
}

# ./configure with autoconf_args and the given extra arguments.
autoconf_configure() {
    local args
    mapfile -t args < <(autoconf_args)
    log "configure ${args[*]} $*"
    ./configure "${args[@]}" "$@"
}

# configure (as autoconf_configure), make, make install to STAGE.
autoconf_build() {
    autoconf_configure "$@"
    log "make -j$JOBS"
    make -j"$JOBS"
    make install DESTDIR="$STAGE"
}

# stage_files DIR FILE...: installs files (mode 644) to DIR under the staged prefix, for builds
# without an install target that fits.
stage_files() {
    local dir=$STAGED_PREFIX/$1
    shift
    mkdir -p "$dir"
    install -m 644 "$@" "$dir/"
}

# write_pc NAME DESCRIPTION VERSION LIBS: a pkg-config file for a library that ships none.
write_pc() {
    local name=$1 description=$2 version=$3 libs=$4
    [ -n "$version" ] || die "no version for $name.pc"
    mkdir -p "$STAGED_PREFIX/lib/pkgconfig"
    cat >"$STAGED_PREFIX/lib/pkgconfig/$name.pc" <<EOF
prefix=$DEPS_PREFIX
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: $name
Description: $description
Version: $version
Libs: -L\${libdir} $libs
Cflags: -I\${includedir}
EOF
}

# The ELF machine the target compiler generates code for (as readelf names it).
target_machine() {
    local probe=/tmp/build/probe
    mkdir -p "$probe"
    echo 'int probe;' >"$probe/probe.c"
    "$CC" -c -o "$probe/probe.o" "$probe/probe.c"
    readelf -h "$probe/probe.o" | sed -n 's/^ *Machine: *//p'
}

# Fails unless every object in the archive is for the target machine and position-independent
# (the archive links whole into a shared object).
check_archive() {
    local archive=$1 machine=$2 found
    found=$(readelf -h "$archive" | sed -n 's/^ *Machine: *//p' | sort -u)
    [ "$found" = "$machine" ] || die "$archive holds objects for '$found', not for '$machine'"
    "$CC" -shared -nostdlib -o /tmp/build/probe/whole.so \
        -Wl,--whole-archive "$archive" -Wl,--no-whole-archive ||
        die "$archive does not link into a shared object: not position-independent?"
}

# publish [PATH...]: publishes the staged prefix to /out: headers, static archives and
# pkg-config files only (symbolic links replaced by what they point to). Each PATH (relative to
# the prefix) must have been installed. Libtool archives are dropped: they record paths that
# only hold inside this build.
publish() {
    local path archive machine
    [ -d "$STAGED_PREFIX/lib" ] || die "nothing was installed under $DEPS_PREFIX"
    for path in "$@"; do
        [ -e "$STAGED_PREFIX/$path" ] || die "$path was not installed"
    done
    compgen -G "$STAGED_PREFIX/lib/*.a" >/dev/null || die "no static library was installed"
    [ -d "$STAGED_PREFIX/include" ] || die "no headers were installed"
    mkdir -p "$OUT/lib"
    cp -RL "$STAGED_PREFIX/include" "$OUT/"
    cp -L "$STAGED_PREFIX/lib"/*.a "$OUT/lib/"
    if [ -d "$STAGED_PREFIX/lib/pkgconfig" ]; then
        cp -RL "$STAGED_PREFIX/lib/pkgconfig" "$OUT/lib/"
    fi
    if find "$OUT" -name '*.so*' | grep -q .; then
        die "a shared library was installed; the build must be static only"
    fi
    machine=$(target_machine)
    for archive in "$OUT"/lib/*.a; do
        check_archive "$archive" "$machine"
    done
    log "installed ($machine):"
    (cd "$OUT" && find . -type f | sort | sed 's/^/    /')
}
