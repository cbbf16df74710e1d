#!/bin/bash
# mpdecimal: libmpdec.a, for the decimal module (`--with-system-libmpdec`). C only: no libmpdec++.
source "$(dirname "$0")/common.sh"

unpack_source
autoconf_build --disable-cxx --disable-doc
publish lib/libmpdec.a include/mpdecimal.h lib/pkgconfig/libmpdec.pc
