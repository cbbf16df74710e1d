#!/bin/bash
# XZ Utils: liblzma.a only, for the lzma module: no programs, scripts, translations or docs.
source "$(dirname "$0")/common.sh"

unpack_source
autoconf_build --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
    --disable-lzma-links --disable-scripts --disable-doc --disable-nls
publish lib/liblzma.a include/lzma.h include/lzma/version.h lib/pkgconfig/liblzma.pc
