#!/bin/bash
# Builds a relocatable CPython against our static OpenSSL and third-party libraries.
#
# Runs in the toolchain container: `bash -euo pipefail /in/build.sh`, inputs read-only under
# /in, results in /out, no network, JOBS/MAKEFLAGS set.
#
# Inputs (environment):
#   CPYTHON_ARCHIVE, CPYTHON_ARCHIVE_SHA256   the pinned release tarball, or
#   CPYTHON_SOURCE_TREE, CPYTHON_SOURCE_TREE_DIGEST
#                          an extracted source tree that stands in for the pin (unpinned build)
#   CPYTHON_ARCHIVE_PATCHES_DIR  optional: the pin's patches (*.patch below it, `patch -p1`, in
#                          the sorted order of their paths), applied to either
#   CPYTHON_FLAVOUR        noopt | pgo+lto | freethreaded+noopt | freethreaded+pgo+lto
#   CPYTHON_BUILTIN_MODULES  how the `builtin` modules get into libpython: module-buildtype
#                          (MODULE_BUILDTYPE=static, 3.11+) or setup-local (Modules/Setup.local,
#                          3.10)
#   CPYTHON_EXTRA_CONFIGURE_ARGS  optional: this version's own configure arguments, one per line
#   CPYTHON_BOLT           optional, 1 in a native pgo+lto build: BOLT lays the interpreter out
#                          after PGO and LTO (configure's --enable-bolt), from a profile of the
#                          same training task
#   CPYTHON_EXTENSION_MODULES  the modules it must build, and the test modules
#                          (extension-modules.txt: see its header)
#   OPENSSL_PREFIX         the `openssl` target's install tree (/in/openssl)
#   DEPS_PREFIX            the static libraries, merged (/in/deps)
#   TARGET_TRIPLE          the GNU triple the interpreter runs on: the build compiles with
#                          SYSROOT/bin/<triple>-clang and LLVM's tools by that prefix
#   SYSROOT                the glibc sysroot it compiles and links against
#   HOST_TRIPLE            a cross build only: TARGET_TRIPLE again, with
#   CPYTHON_BUILD_PYTHON_TREE  the install tree of a native interpreter of the same source
#                          (configure's --with-build-python), and
#   CPYTHON_EMULATOR       the command that runs the target's programs here (qemu-user): the
#                          smoke test, the byte-code and build-info.json, and PGO's profile run
#   CPYTHON_CROSS_CONFIGURE_CACHE  configure's results for the target that it cannot find out
#                          itself in a cross build (ac_cv_...=...), one per line
#   CPYTHON_SYSROOT_PACKAGES  optional, a cross build: a directory of the target's Debian
#                          packages (.deb) of the system libraries the interpreter loads
#                          (libcrypt for _crypt, before 3.13), which the emulator's target
#                          directory lacks: the interpreter runs with them here (it links
#                          against SYSROOT's stubs)
#
# Output (/out):
#   install/          the interpreter, configured for the prefix /install but relocatable:
#                     RPATH $ORIGIN/../lib, a _sysconfigdata that computes its paths from its
#                     own location, pkg-config files relative to their directory, no path of
#                     the build's inputs in any text file; FIPS files under share/ssl/.
#   build-info.json   what was built, from what, how (read by the packaging step)
#
# Extension modules are linked into libpython (MODULE_BUILDTYPE=static, CPython 3.11+; in 3.10
# the OpenSSL users only, through Modules/Setup.local), so OpenSSL's libcrypto exists once per
# process; -Wl,--exclude-libs,ALL keeps the symbols of the
# static libraries out of libpython's dynamic symbol table, so an extension module that brings
# its own OpenSSL does not bind to ours, nor ours to its.
set -euo pipefail

readonly BUILD_PREFIX=/install
readonly WORK=/tmp/build
readonly SRC=$WORK/cpython
readonly STAGE=$WORK/stage
# The shared libraries of CPYTHON_SYSROOT_PACKAGES, unpacked.
readonly SYSROOT_EXTRA=$WORK/sysroot
: "${TARGET_TRIPLE:?TARGET_TRIPLE must name the GNU triple of the target}"
: "${SYSROOT:?SYSROOT must name the glibc sysroot}"
# The sysroot's clang and LLVM's tools: <triple>-clang, <triple>-ar ..., and llvm-profdata and
# llvm-ar, which configure looks for in PATH for PGO and LTO.
export PATH=$SYSROOT/bin:$PATH
export CC=$TARGET_TRIPLE-clang AR=$TARGET_TRIPLE-ar READELF=$TARGET_TRIPLE-readelf
readonly OUT=/out
readonly JOBS=${JOBS:-1}
HERE=$(dirname "$0")
readonly HERE
readonly FLAVOUR=${CPYTHON_FLAVOUR:?CPYTHON_FLAVOUR must be set}
# Not built: nis needs libnsl, which is not on the systems we run on (3.12 and older have it).
readonly DISABLED_MODULES=(nis)
readonly BUILTIN_MODULES_VIA=${CPYTHON_BUILTIN_MODULES:?CPYTHON_BUILTIN_MODULES must be set}
EXTRA_CONFIGURE_ARGS=()
[ -z "${CPYTHON_EXTRA_CONFIGURE_ARGS:-}" ] || mapfile -t EXTRA_CONFIGURE_ARGS <<<"$CPYTHON_EXTRA_CONFIGURE_ARGS"
readonly EXTRA_CONFIGURE_ARGS
readonly HOST=${HOST_TRIPLE:-}
EMULATOR=() CROSS_CONFIGURE_CACHE=()
if [ -n "$HOST" ]; then
    : "${CPYTHON_BUILD_PYTHON_TREE:?a cross build (HOST_TRIPLE) needs CPYTHON_BUILD_PYTHON_TREE}"
    read -ra EMULATOR <<<"${CPYTHON_EMULATOR:?a cross build (HOST_TRIPLE) needs CPYTHON_EMULATOR}"
    mapfile -t CROSS_CONFIGURE_CACHE <<<"${CPYTHON_CROSS_CONFIGURE_CACHE:?a cross build (HOST_TRIPLE) needs CPYTHON_CROSS_CONFIGURE_CACHE}"
fi
readonly EMULATOR CROSS_CONFIGURE_CACHE
# LLVM 19's tail duplication no longer copies the interpreter loop's dispatch, a computed goto
# with hundreds of predecessors and successors, into the code of each instruction: every
# instruction jumps back to one shared indirect jump, which the CPU predicts far worse (about 10%
# slower on pyperformance, measured upstream: llvm-project issue 106846, fixed in LLVM 20). Raising
# the limit that stops it restores the duplication. With LTO the code is generated when linking, so
# the linker gets it too; check_dispatch_duplicated verifies it in every interpreter we build.
readonly TAIL_DUPLICATION_LIMIT=-tail-dup-pred-size=5000
# The pgo+lto training task: configure's default, the regression tests' --pgo subset, with a
# per-test timeout of 80 minutes instead of none, which is what makes regrtest scale the tests' own
# timeouts for a slow machine (SHORT_TIMEOUT to timeout/40 = 120 s, LONG_TIMEOUT to 1200 s). The
# task's exit status fails the build (the Makefile's profile-run-stamp and profile-bolt-stamp,
# check_bolted_interpreter), and test_sqlite3 once failed it beside another build when its child
# process overran the default SHORT_TIMEOUT of 30 s. (regrtest refuses --pgo with --rerun.) The
# tests run in JOBS worker processes (-j), as the build's make does, instead of one after another
# on one core: the task runs three times in a BOLT build (PGO's profile, BOLT's profile, the check
# of the rewritten interpreter), the second one instrumented and slow, and once under qemu-user in
# a cross build. Each process writes its own profile (the profiles' %p, BOLT's
# -instrumentation-file-append-pid), which are merged as before.
readonly PROFILE_TASK="-m test --pgo --timeout=4800 -j$JOBS"
readonly BOLT=${CPYTHON_BOLT:-0}
# llvm-bolt's options for instrumenting and rewriting: configure's default, which leaves alone the
# functions LLVM 19's BOLT cannot rewrite (computed gotos), and libffi (its functions' names start
# with ffi_; -skip-funcs takes regular expressions): its hand-written assembly jumps into a table
# of fixed-size blocks by a computed offset, blocks BOLT removed as unreachable, so that the
# instrumented interpreter crashed in its first ctypes call.
readonly BOLT_COMMON_FLAGS=(
    -update-debug-sections
    "-skip-funcs=_PyEval_EvalFrameDefault,sre_ucs1_match/1,sre_ucs2_match/1,sre_ucs4_match/1,ffi_.*"
)
# ... and for rewriting the interpreter from the profile, configure's default without the options
# that broke this interpreter with llvm-bolt 19 (found by running the training task with the
# rewritten interpreter, and by the packager's validation):
#   -icf=1       folds identical functions although C compares their addresses: datetime + int
#                no longer raised TypeError (test_datetime);
#   -frame-opt=hot  the interpreter crashed at start;
#   -inline-all (and -inline-ap, which only tunes it)  llvm-bolt itself crashed updating the debug
#                information (-update-debug-sections), which the full archive's users keep;
#   -use-gnu-stack  puts BOLT's new segment in the PT_GNU_STACK header's place: without that
#                header, the interpreter's stack is executable.
readonly BOLT_APPLY_FLAGS=(
    -reorder-blocks=ext-tsp -reorder-functions=cdsort -split-functions -split-eh
    -reorder-functions-use-hot-size -peepholes=none -jump-tables=aggressive
    -indirect-call-promotion=all -dyno-stats
)
if [ "$BOLT" = 1 ]; then
    # BOLT's instrumented interpreter runs the training task on the build machine.
    [ -z "$HOST" ] || die "CPYTHON_BOLT is for native builds, not a cross build to $HOST"
    [[ $FLAVOUR == *pgo+lto ]] || die "CPYTHON_BOLT is for the pgo+lto flavours, not $FLAVOUR"
fi
: "${OPENSSL_PREFIX:?OPENSSL_PREFIX must name the OpenSSL install tree}"
: "${DEPS_PREFIX:?DEPS_PREFIX must name the merged static libraries}"
# The extension modules every build must have, and the test modules (see the file's header).
readonly MODULES_FILE=${CPYTHON_EXTENSION_MODULES:?CPYTHON_EXTENSION_MODULES must name the extension-modules list}
# The modules of a kind for this VERSION: a line's `before=X.Y` leaves it out from X.Y on.
modules_of() {
    awk -v kind="$1" -v version="$VERSION" '
        function minor_key(v,  parts) { split(v, parts, "."); return parts[1] * 1000 + parts[2] }
        !/^#/ && NF && $2 == kind {
            if ($3 ~ /^before=/ && minor_key(version) >= minor_key(substr($3, 8))) next
            print $1
        }' "$MODULES_FILE"
}
# BUILT_IN_MODULES, REQUIRED_MODULES and TEST_MODULE_PATTERNS, once VERSION is known.
read_module_lists() {
    mapfile -t BUILT_IN_MODULES < <(modules_of builtin)
    mapfile -t REQUIRED_MODULES < <(modules_of builtin; modules_of required)
    mapfile -t TEST_MODULE_PATTERNS < <(modules_of test)
    readonly BUILT_IN_MODULES REQUIRED_MODULES TEST_MODULE_PATTERNS
}

# A fixed build date: it is compiled into sys.version (__DATE__, __TIME__), and with it set the
# installed .pyc files are checked against their source's hash rather than its mtime, which the
# release archives set to a fixed value.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-946684800}

log() { echo "==> [${SECONDS}s] $*"; }
die() { echo "error: $*" >&2; exit 1; }

# The interpreter of an install tree: bin/python3.13, or bin/python3.13t (freethreaded).
interpreter_in() {
    local found=("$1"/bin/python3.*[0-9t])
    [ -x "${found[0]}" ] || die "no interpreter in $1/bin"
    echo "${found[0]}"
}

# The PGO targets run make again with LDFLAGS_NODIST="$(LDFLAGS_NODIST) ..." on its command line,
# which expands the variable once more: its `\$$ORIGIN` arrives as `RIGIN`, and every binary
# gets a second RUNPATH entry, RIGIN/../lib, relative to the working directory (a place to
# inject libraries from). configure's copy of the flags (CONFIGURE_LDFLAGS_NODIST) is in every
# link command anyway, so the PGO builds give make an empty LDFLAGS_NODIST to pass on.
PGO_MAKE_ARGS=("LDFLAGS_NODIST=")
# BOLT rewrites the interpreter only: configure adds libpython.so to BOLT_BINARIES in a shared
# build, but the interpreter, which links libpython's objects itself, never loads it, so the
# profile run would write no profile of it and the merge would fail.
# shellcheck disable=SC2016  # $(BUILDPYTHON) is make's
[ "$BOLT" != 1 ] || PGO_MAKE_ARGS+=('BOLT_BINARIES=$(BUILDPYTHON)')
readonly PGO_MAKE_ARGS

# Builds the instrumented interpreter of a PGO build (the Makefile's profile-gen-stamp) without
# LTO, which configure's --with-lto gives both builds: clang's PGO instruments the source
# (-fprofile-instr-generate), so the profile counts the same regions whatever the instrumented
# build's optimisation, and only the optimised build uses LTO. This spares the instrumented build
# its ThinLTO links (libpython.so's and the static interpreter's, each compiling all of
# libpython's code again). The last -fno-lto wins over configure's -flto=thin, on the compiler's
# command lines (CFLAGS_NODIST after configure's copy) and on the linker's.
make_instrumented_build() {
    make -j"$JOBS" "${PGO_MAKE_ARGS[@]}" "CFLAGS_NODIST=$CFLAGS_NODIST -fno-lto" \
        "LDFLAGS_NODIST=-fno-lto" profile-gen-stamp
}

# Runs a program built for the target: under the emulator in a cross build.
# The target's environment under the emulator: where the dynamic loader finds the system
# libraries of SYSROOT_EXTRA (libpython needs libcrypt.so.1 when _crypt is linked into it).
EMULATOR_ENV=()
run_target() {
    "${EMULATOR[@]}" "${EMULATOR_ENV[@]}" "$@"
}

apply_patches() {
    local patches=() patch
    [ -n "${CPYTHON_ARCHIVE_PATCHES_DIR:-}" ] || return 0
    mapfile -t patches < <(find "$CPYTHON_ARCHIVE_PATCHES_DIR" -type f -name '*.patch' | LC_ALL=C sort)
    [ "${#patches[@]}" -gt 0 ] || die "no *.patch in $CPYTHON_ARCHIVE_PATCHES_DIR"
    for patch in "${patches[@]}"; do
        log "applying patch ${patch#"$CPYTHON_ARCHIVE_PATCHES_DIR"/}"
        patch -p1 --forward --batch <"$patch"
    done
}

# The source tree in an unpacked archive: its top directory (python.org's Python-X.Y.Z/), or the
# one directory below that holds CPython's tree (a repack such as PyPI's python-sources sdist).
source_root_in() {
    local roots=()
    mapfile -t roots < <(find "$1" -mindepth 3 -maxdepth 4 -path '*/Include/patchlevel.h' \
        -printf '%h\n' | xargs -r -n1 dirname)
    [ "${#roots[@]}" -eq 1 ] || die "$(basename "$CPYTHON_ARCHIVE") holds ${#roots[@]} CPython trees (Include/patchlevel.h at depth 1 or 2), not one"
    echo "${roots[0]}"
}

unpack() {
    local root
    if [ -n "${CPYTHON_SOURCE_TREE:-}" ]; then
        log "copying the local source tree (unpinned build, digest ${CPYTHON_SOURCE_TREE_DIGEST:-?})"
        mkdir -p "$SRC"
        cp -R "$CPYTHON_SOURCE_TREE/." "$SRC/"
        chmod -R u+w "$SRC"
    else
        log "unpacking $(basename "${CPYTHON_ARCHIVE:?CPYTHON_ARCHIVE or CPYTHON_SOURCE_TREE must be set}")"
        mkdir -p "$WORK/archive"
        tar -xf "$CPYTHON_ARCHIVE" -C "$WORK/archive" --no-same-owner
        root=$(source_root_in "$WORK/archive")
        mv "$root" "$SRC"
        rm -rf "$WORK/archive"
    fi
    cd "$SRC"
    apply_patches
    VERSION=$(sed -n 's/^#define PY_VERSION[[:space:]]*"\(.*\)"/\1/p' Include/patchlevel.h)
    [ -n "$VERSION" ] || die "no PY_VERSION in Include/patchlevel.h"
    log "CPython $VERSION, flavour $FLAVOUR"
}

configure_args() {
    local module disabled=()
    for module in "${DISABLED_MODULES[@]}"; do disabled+=("py_cv_module_$module=n/a"); done
    local args=(
        --prefix="$BUILD_PREFIX"
        --enable-shared
        --with-system-libmpdec
        --with-ensurepip=install
        --enable-loadable-sqlite-extensions
        # libedit (BSD licence), not GNU readline (GPL).
        --with-readline=editline
        # No dbm/gdbm: their libraries are not built (GPL gdbm, Berkeley DB).
        --with-dbmliborder=
        "${disabled[@]}"
        # MD5, SHA-1, SHA-2 and SHA-3 come from OpenSSL only, so that in FIPS mode no hash used
        # for security can fall back to CPython's own code (FIPS.md); BLAKE2, which OpenSSL's
        # FIPS provider lacks, stays built in and the pin's hashlib patch confines it.
        --with-builtin-hashlib-hashes=blake2
        "${EXTRA_CONFIGURE_ARGS[@]}"
    )
    if [ -n "$HOST" ]; then
        args+=(
            --build="$(gcc -dumpmachine)"
            --host="$HOST"
            --with-build-python="$(interpreter_in "$CPYTHON_BUILD_PYTHON_TREE")"
            "${CROSS_CONFIGURE_CACHE[@]}"
        )
    fi
    case $FLAVOUR in
        *pgo+lto)
            args+=(--enable-optimizations --with-lto "PROFILE_TASK=$PROFILE_TASK")
            [ "$BOLT" != 1 ] || args+=(
                --enable-bolt
                "BOLT_COMMON_FLAGS=${BOLT_COMMON_FLAGS[*]}"
                "BOLT_APPLY_FLAGS=${BOLT_COMMON_FLAGS[*]} ${BOLT_APPLY_FLAGS[*]}"
            )
            ;;
        *noopt) ;;
        *) die "unknown flavour $FLAVOUR" ;;
    esac
    case $FLAVOUR in
        freethreaded+*) args+=(--disable-gil) ;;
    esac
    printf '%s\n' "${args[@]}"
}

# Unpacks CPYTHON_SYSROOT_PACKAGES into SYSROOT_EXTRA, where the emulator's dynamic loader finds
# them for the interpreter that runs here (the profile run, byte-code, the smoke test); nothing of
# it is linked against (SYSROOT has the stub of each library) or installed.
unpack_sysroot_packages() {
    local deb
    [ -n "${CPYTHON_SYSROOT_PACKAGES:-}" ] || return 0
    [ -n "$HOST" ] || die "CPYTHON_SYSROOT_PACKAGES is for cross builds (HOST_TRIPLE)"
    for deb in "$CPYTHON_SYSROOT_PACKAGES"/*.deb; do
        [ -f "$deb" ] || die "no .deb in $CPYTHON_SYSROOT_PACKAGES"
        log "unpacking ${deb##*/} into the build's sysroot"
        dpkg-deb --extract "$deb" "$SYSROOT_EXTRA"
    done
    # qemu-user's -E sets it in the target's environment only; the profile task's subprocesses
    # inherit it from there.
    EMULATOR_ENV=(-E "LD_LIBRARY_PATH=$SYSROOT_EXTRA/lib/$HOST:$SYSROOT_EXTRA/usr/lib/$HOST")
}

build() {
    local args
    mapfile -t args < <(configure_args)
    # Where the libraries are, for configure's checks and the build: these paths are removed
    # from the installed configuration afterwards (see relocate.py). pkg-config --static adds
    # the libraries' own dependencies (libedit needs ncursesw, libcrypto libdl). OpenSSL is
    # found through its .pc too: `--with-openssl=DIR` would link `-lssl -lcrypto` after -ldl,
    # which a static libcrypto needs after it.
    export CPPFLAGS="-I$DEPS_PREFIX/include"
    export LDFLAGS="-L$DEPS_PREFIX/lib"
    unpack_sysroot_packages
    export PKG_CONFIG="pkg-config --static"
    export PKG_CONFIG_LIBDIR="$DEPS_PREFIX/lib/pkgconfig:$OPENSSL_PREFIX/lib/pkgconfig"
    export PKG_CONFIG_PATH=
    # 3.11's check for the sqlite3 library puts pkg-config's -lm before the library it tests;
    # a static libsqlite3 needs libm after it.
    export LIBS="-lm"
    # Only for CPython's own binaries, not recorded for extension modules: find libpython next
    # to the executable; hide the static libraries' symbols; hardening. `\$$` survives make
    # and the shell as a literal $ORIGIN.
    # shellcheck disable=SC2016  # $ORIGIN is for the dynamic linker, not the shell
    export LDFLAGS_NODIST='-Wl,-rpath,\$$ORIGIN/../lib -Wl,--exclude-libs,ALL -Wl,-z,relro,-z,now -Wl,-z,noexecstack'
    LDFLAGS_NODIST+=" -Wl,-mllvm,$TAIL_DUPLICATION_LIMIT"
    export CFLAGS_NODIST="-fstack-protector-strong -mllvm $TAIL_DUPLICATION_LIMIT"
    case $BUILTIN_MODULES_VIA in
        # Every stdlib extension module that configure enables is linked into libpython.
        module-buildtype) export MODULE_BUILDTYPE=static ;;
        # configure makes the Makefile's module rules from Modules/Setup.local, if present.
        setup-local) write_setup_local ;;
        *) die "unknown CPYTHON_BUILTIN_MODULES $BUILTIN_MODULES_VIA" ;;
    esac
    log "configure ${args[*]}"
    ./configure "${args[@]}" >"$WORK/configure.log" 2>&1 || {
        tail -n 40 "$WORK/configure.log"; die "configure failed (config.log above)"
    }
    if [ "$BUILTIN_MODULES_VIA" = module-buildtype ]; then
        check_modules_configured
        make_test_modules_shared
    fi
    link_interpreter_statically
    log "make -j$JOBS (flavour $FLAVOUR)"
    if [ -n "$HOST" ] && [[ $FLAVOUR == *pgo+lto ]]; then
        make_cross_with_profile
    elif [[ $FLAVOUR == *pgo+lto ]]; then
        make_instrumented_build
        make -j"$JOBS" "${PGO_MAKE_ARGS[@]}"
        [ "$BOLT" != 1 ] || check_bolted_interpreter
    else
        make -j"$JOBS"
    fi
    check_dispatch_duplicated
    log "make install"
    # COMPILEALL_OPTS: the standard library's byte-code is compiled in one process, in sorted
    # order. make install's default, a pool of processes (-j0), made .pyc files that differed
    # from build to build: marshal's reference flags follow reference counts, which depend on
    # what a worker compiled before. (3.10 and 3.11 take the variable through a backport.)
    make -j1 install DESTDIR="$STAGE" COMPILEALL_OPTS=-j1 >"$WORK/install.log" 2>&1 || {
        tail -n 40 "$WORK/install.log"; die "make install failed"
    }
}

# A variable of the Makefile, expanded by make.
make_variable() {
    # shellcheck disable=SC2016  # $(...) is make's
    printf 'print-variable:\n\t@echo $(%s)\n' "$1" |
        make -s --no-print-directory -f Makefile -f - print-variable
}

# The interpreter loop's dispatch is copied into each instruction's code (TAIL_DUPLICATION_LIMIT):
# its function has at least one indirect jump for every two of the instructions it dispatches to
# (the computed goto's targets, Python/opcode_targets.h), not the one shared jump of LLVM 19's
# default, whatever the target's branch instruction (x86_64 jmp *reg, aarch64 br reg).
check_dispatch_duplicated() {
    local targets interpreter jumps
    targets=$(grep -c '&&TARGET_' Python/opcode_targets.h)
    interpreter=$(make_variable BUILDPYTHON)
    "$TARGET_TRIPLE-objdump" -d --no-show-raw-insn --disassemble-symbols=_PyEval_EvalFrameDefault \
        "$interpreter" >"$WORK/interpreter-loop.s" ||
        die "$TARGET_TRIPLE-objdump could not disassemble $interpreter"
    grep -q '<_PyEval_EvalFrameDefault>:' "$WORK/interpreter-loop.s" ||
        die "$interpreter has no symbol _PyEval_EvalFrameDefault to count the interpreter loop's jumps in"
    jumps=$(grep -cE '[[:space:]](jmp[a-z]*[[:space:]]+\*|br[[:space:]]+x[0-9]+)' "$WORK/interpreter-loop.s") || true
    log "the interpreter loop has $jumps indirect jumps for $targets instructions"
    [ "$jumps" -ge $((targets / 2)) ] ||
        die "the interpreter loop's dispatch is not duplicated ($jumps indirect jumps for $targets instructions): the compiler ignored $TAIL_DUPLICATION_LIMIT"
}

# The interpreter BOLT rewrote runs the training task once more, which the interpreter before it
# passed: BOLT's rewriting went wrong on this interpreter before (BOLT_APPLY_FLAGS), and the
# runtime checks' regression tests would not have seen it.
check_bolted_interpreter() {
    local task
    task=$(make_variable PROFILE_TASK)
    log "the interpreter BOLT rewrote runs the training task: ./python $task"
    # shellcheck disable=SC2086  # the task is a list of arguments
    ./python $task >"$WORK/bolt-check.log" 2>&1 || {
        tail -n 40 "$WORK/bolt-check.log"
        die "the interpreter BOLT rewrote fails the training task that it passed before BOLT (above): llvm-bolt miscompiled it; see BOLT_APPLY_FLAGS"
    }
    log "it passes: $(tail -n 1 "$WORK/bolt-check.log")"
}

# PGO in a cross build: the Makefile's profile run starts ./python directly, which the build
# machine cannot execute. Its stages are run here instead, the profile task under the emulator:
# an instrumented build, the task (the Makefile's PROFILE_TASK, as upstream trains) writing
# clang's raw profiles where the Makefile has them written (LLVM_PROF_FILE), their merge
# (LLVM_PROF_MERGER), then the optimised build from the merged profile.
make_cross_with_profile() {
    local task profiles profile_file merge
    make_instrumented_build
    # The task's tests start the interpreter again as a subprocess: only the host's binfmt_misc
    # registration of qemu-user runs those (README, host requirements), and QEMU_LD_PREFIX gives
    # them the target's libraries, as the emulator's -L gives them to the first process.
    export QEMU_LD_PREFIX=${CPYTHON_EMULATOR##* -L }
    run_target ./python -c 'import subprocess, sys; subprocess.run([sys.executable, "-c", ""], check=True)' ||
        die "the profile task's subprocesses cannot run: register qemu-user with binfmt_misc with the F flag on the host (README, host requirements)"
    task=$(make_variable PROFILE_TASK)
    # LLVM_PROFILE_FILE=<build tree>/code-%p.profclangr, which qemu-user passes on to the target.
    profile_file=$(make_variable LLVM_PROF_FILE)
    [[ $profile_file == LLVM_PROFILE_FILE=* ]] || die "the Makefile has no LLVM_PROF_FILE: not a clang build?"
    export "${profile_file?}"
    log "profile run under ${EMULATOR[*]}: ./python $task"
    # A failed test does not fail the build here (as in 3.12's Makefile; 3.13's fails the native
    # build): the task runs for its profile, a test can fail for the emulator's own reasons
    # (signals, timing, /proc), and the runtime checks run the regression tests on the archive in
    # an arm64 container. The failures' summary is logged.
    # shellcheck disable=SC2086  # the task is a list of arguments
    run_target ./python $task >"$WORK/profile-run.log" 2>&1 || {
        tail -n 20 "$WORK/profile-run.log"
        log "warning: tests of the profile task failed under the emulator (above); the profile is kept"
    }
    unset LLVM_PROFILE_FILE
    profiles=$(find . -name '*.profclangr' | wc -l)
    [ "$profiles" -gt 0 ] || die "the profile task wrote no profile (*.profclangr)"
    log "profile run done: $profiles raw profiles ($(tail -n 1 "$WORK/profile-run.log"))"
    merge=$(make_variable LLVM_PROF_MERGER)
    log "merging them: $merge"
    eval "$merge"
    make clean-retain-profile >/dev/null
    touch profile-run-stamp
    make -j"$JOBS" "${PGO_MAKE_ARGS[@]}"
}

# The interpreter carries the core and the built-in modules itself, linked from their objects as
# a static build links them, instead of loading libpython.so through $ORIGIN/../lib: a copy of it
# (`python -m venv --copies`) runs anywhere, and calls into the runtime are direct. libpython.so
# is still built and installed, for embedders (`python3-config --embed`). Extension modules find
# the C API in the executable (-export-dynamic, LINKFORSHARED); --exclude-libs,ALL still hides
# the static libraries' symbols, since Python's own objects are not in an archive.
link_interpreter_statically() {
    # shellcheck disable=SC2016  # $(...) are make variables
    if grep -q '^LINK_PYTHON_OBJS=\$(BLDLIBRARY)$' Makefile; then
        sed -i 's/^LINK_PYTHON_OBJS=.*/LINK_PYTHON_OBJS=$(LIBRARY_OBJS)/' Makefile
    # 3.10 names libpython in the interpreter's link command itself.
    elif grep -q -- '-o $@ Programs/python.o $(BLDLIBRARY) ' Makefile; then
        sed -i 's|-o $@ Programs/python.o $(BLDLIBRARY) |-o $@ Programs/python.o $(LIBRARY_OBJS) |' Makefile
    else
        die "the Makefile does not link the interpreter with \$(BLDLIBRARY): update link_interpreter_statically"
    fi
    log "the interpreter links libpython's objects statically"
}

# 3.10 has no MODULE_BUILDTYPE: the `builtin` modules are listed in Modules/Setup.local, which
# links them into libpython, and setup.py, which builds the other modules as shared libraries,
# leaves them out. (The test modules are among setup.py's: shared, as upstream builds them.)
write_setup_local() {
    local cflags libs module sources
    cflags=$($PKG_CONFIG --cflags openssl)
    # makesetup takes -l and -L words, not -pthread.
    libs=$($PKG_CONFIG --libs openssl | sed 's/-pthread\b/-lpthread/g')
    {
        echo "# cpython-fips: the modules linked into libpython (sources/cpython/build.sh)"
        echo "*static*"
        for module in "${BUILT_IN_MODULES[@]}"; do
            case $module in
                _hashlib) sources=_hashopenssl.c ;;
                _ssl) sources=_ssl.c ;;
                *) die "write_setup_local has no Setup line for the built-in module $module" ;;
            esac
            echo "$module $sources $cflags $libs"
        done
        # setup.py builds none of these (configure's py_cv_module_*=n/a is 3.11+).
        echo "*disabled*"
        printf '%s\n' "${DISABLED_MODULES[@]}"
    } >Modules/Setup.local
    log "Modules/Setup.local: ${BUILT_IN_MODULES[*]} linked into libpython"
}

# configure decides which modules it can build; a missing library must fail the build here, not
# give an interpreter without ssl.
check_modules_configured() {
    local module state missing=()
    for module in "${REQUIRED_MODULES[@]}"; do
        state=$(sed -n "s/^MODULE_${module^^}_STATE=//p" Makefile)
        case $state in
            yes | "") ;;  # "" : always built (no configure check)
            *) missing+=("$module ($state)") ;;
        esac
    done
    [ ${#missing[@]} -eq 0 ] || die "configure will not build: ${missing[*]} (see config.log)"
}

# MODULE_BUILDTYPE=static also links the test modules (_testcapi, _testinternalcapi, xxsubtype,
# _xxtestfuzz..., but not _xxsubinterpreters, a real module) into libpython, where they do not
# belong, and _testinternalcapi then breaks the link of _freeze_module. They are moved to a
# *shared* section of Modules/Setup.stdlib (lib-dynload, as upstream builds them), and the
# Makefile is regenerated from it. (3.11 builds modules that Setup.stdlib leaves commented out,
# such as _ctypes and _curses, with setup.py, as shared libraries.)
make_test_modules_shared() {
    local setup=Modules/Setup.stdlib names
    # The patterns as one regular expression over module names: _test* -> _test[A-Za-z0-9_]*.
    names=$(printf '%s\n' "${TEST_MODULE_PATTERNS[@]}" | sed 's/\*/[A-Za-z0-9_]*/g' | paste -sd'|')
    awk -v test_line="^($names)[ \t]" '
         $0 ~ test_line { tests = tests $0 "\n"; next }
         { print }
         END { printf "\n*shared*\n%s", tests }' "$setup" >"$setup.new"
    mv "$setup.new" "$setup"
    log "test modules built as shared libraries: $(sed -n '/^\*shared\*$/,$p' "$setup" | awk 'NF && !/^[*#]/ { printf "%s ", $1 }')"
    # The Makefile from Setup files, as configure makes it, but always with Setup.stdlib: 3.11's
    # configure leaves it out (except for WebAssembly) and builds its modules with setup.py, as
    # shared libraries each with its own copy of libcrypto.
    sh Modules/makesetup -c Modules/config.c.in -s Modules \
        Modules/Setup.local Modules/Setup.stdlib Modules/Setup.bootstrap Modules/Setup >/dev/null
    mv config.c Modules/
}

install_fips_files() {
    local ssl=$OUT/install/share/ssl
    mkdir -p "$ssl/ossl-modules"
    cp "$OPENSSL_PREFIX/ssl/openssl-fips.cnf" "$OPENSSL_PREFIX/ssl/fipsmodule.cnf" "$ssl/"
    # Byte for byte: the provider checks its own MAC when it loads.
    cp "$OPENSSL_PREFIX/lib/ossl-modules/fips.so" "$ssl/ossl-modules/"
}

publish() {
    mkdir -p "$OUT"
    cp -a "$STAGE$BUILD_PREFIX" "$OUT/install"
    install_fips_files
    log "making the installed configuration relocatable"
    # No path of the build's inputs or of its build tree stays in the configuration.
    python3 "$HERE/relocate.py" --build-tools="$TARGET_TRIPLE-" "$OUT/install" "$BUILD_PREFIX" \
        "$SRC" "$DEPS_PREFIX" "$OPENSSL_PREFIX" "$SYSROOT" ${HOST:+"$CPYTHON_BUILD_PYTHON_TREE"} \
        ${CPYTHON_SYSROOT_PACKAGES:+"$SYSROOT_EXTRA"}
    # relocate.py deleted the byte-code of the _sysconfigdata it rewrote. Compile it again with the
    # installed interpreter, hash-checked (SOURCE_DATE_EPOCH is set) like the rest of the stdlib:
    # byte-code written on import would record the build's wall-clock time as the source's
    # mtime, and the archives would differ from build to build.
    local python
    python=$(interpreter_in "$OUT/install")
    run_target "$python" -m py_compile "$OUT"/install/lib/python3.*/_sysconfigdata_*.py
}

# Runs the installed interpreter from another path than the build's, as a user would.
smoke_test() {
    local moved=$WORK/moved python
    cp -a "$OUT/install" "$moved"
    python=$(interpreter_in "$moved")
    log "smoke test: ${EMULATOR[*]} $python"
    run_target "$python" - "${BUILT_IN_MODULES[*]}" "${REQUIRED_MODULES[@]}" <<'EOF'
import importlib, os, ssl, sys, sysconfig
for name in sys.argv[1].split():
    assert name in sys.builtin_module_names, f"{name} is not built in"
for name in sys.argv[2:]:
    importlib.import_module(name)
prefix = os.path.dirname(os.path.dirname(sys.executable))
libdir = sysconfig.get_config_var("LIBDIR")
assert libdir == os.path.join(prefix, "lib"), f"LIBDIR {libdir} is not under {prefix}"
print("    ", sys.version.replace("\n", " "), "|", ssl.OPENSSL_VERSION, "| LIBDIR", libdir)
EOF
}

write_build_info() {
    local python args
    python=$(interpreter_in "$OUT/install")
    mapfile -t args < <(configure_args)
    CPYTHON_COMPILER=$("$CC" --version | head -n 1)
    export CPYTHON_COMPILER
    # -B: running it must not write byte-code into the install tree.
    run_target "$python" -B "$HERE/describe.py" "$VERSION" "$FLAVOUR" "${args[@]}" >"$OUT/build-info.json"
}

main() {
    unpack
    read_module_lists
    build
    publish
    smoke_test
    write_build_info
    log "done: CPython $VERSION $FLAVOUR"
}

main
