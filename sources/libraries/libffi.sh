#!/bin/bash
# libffi: libffi.a, for ctypes. --disable-multi-os-directory installs it to lib/ rather than the
# multilib directory (lib/../lib64 on x86_64).
source "$(dirname "$0")/common.sh"

unpack_source
autoconf_build --disable-docs --disable-multi-os-directory
publish lib/libffi.a include/ffi.h include/ffitarget.h lib/pkgconfig/libffi.pc
