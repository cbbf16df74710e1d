#!/bin/bash
# libuuid from util-linux: libuuid.a, uuid/uuid.h and uuid.pc, for the _uuid module. Nothing else
# of util-linux is built: no programs, other libraries, translations, bindings or docs.
source "$(dirname "$0")/common.sh"

unpack_source
autoconf_build --disable-all-programs --enable-libuuid --disable-nls --disable-asciidoc \
    --disable-poman --disable-bash-completion --without-python --without-systemd --without-udev
publish lib/libuuid.a include/uuid/uuid.h lib/pkgconfig/uuid.pc
