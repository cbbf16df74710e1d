#!/bin/bash
# Zstandard: libzstd.a, for CPython 3.14's compression.zstd, made with lib/Makefile's targets
# (no configure step; it takes CC, CFLAGS, CPPFLAGS and AR from the environment). Multi-threaded
# like a distribution's libzstd, so that compression can use workers: with MT=1 the .pc puts
# -pthread in Libs and Cflags, as upstream does for a multi-threaded static library.
source "$(dirname "$0")/common.sh"

unpack_source
cd lib || die "no lib directory in the zstd release"
log "make libzstd.a-mt"
make -j"$JOBS" libzstd.a-mt V=1
make install-static install-includes install-pc MT=1 PREFIX="$DEPS_PREFIX" DESTDIR="$STAGE"
publish lib/libzstd.a include/zstd.h include/zdict.h include/zstd_errors.h lib/pkgconfig/libzstd.pc
