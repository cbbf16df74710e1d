#!/bin/bash
# bzip2: libbz2.a, for the bz2 module. Upstream's Makefile has no configure step and no
# pkg-config file: only the library is made, with our compiler and flags given on make's command
# line (plus upstream's -D_FILE_OFFSET_BITS=64, part of the CFLAGS they replace), and a
# bzip2.pc is written.
source "$(dirname "$0")/common.sh"

unpack_source
version=$(sed -n 's/^#define BZ_VERSION *"\([0-9.]*\),.*/\1/p' bzlib_private.h)
log "make libbz2.a (bzip2 $version)"
make -j"$JOBS" libbz2.a CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="$CFLAGS -D_FILE_OFFSET_BITS=64"
stage_files lib libbz2.a
stage_files include bzlib.h
write_pc bzip2 "Lossless, block-sorting data compression" "$version" -lbz2
publish lib/libbz2.a include/bzlib.h lib/pkgconfig/bzip2.pc
