#!/bin/bash
# zlib: libz.a. Its configure script is not autoconf's: it takes the cross compiler from CHOST.
source "$(dirname "$0")/common.sh"

unpack_source
log "configure --static"
CHOST=$HOST_TRIPLE ./configure --prefix="$DEPS_PREFIX" --static
make -j"$JOBS" libz.a
make install DESTDIR="$STAGE"
publish lib/libz.a include/zlib.h include/zconf.h lib/pkgconfig/zlib.pc
