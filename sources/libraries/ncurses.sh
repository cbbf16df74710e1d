#!/bin/bash
# ncurses, wide-character: libncursesw.a (with the terminfo functions: no separate libtinfo) and
# libpanelw.a, libformw.a, libmenuw.a, with their .pc files. The library finds terminal
# descriptions at run time in the usual places; no terminfo database is installed.
#
# Headers go to include/ncursesw/ (`#include <ncursesw/curses.h>`, the .pc's Cflags) and each
# is also at the top of include/ (`#include <curses.h>`, which CPython 3.10/3.11 and libedit
# use), as a distribution lays them out.
source "$(dirname "$0")/common.sh"

unpack_source
# cf_cv_ar_flags: configure would pick `ar -curvU`, which records timestamps and ids in the
# archive; D makes it reproducible.
autoconf_configure \
    --enable-widec --without-shared --with-normal --without-debug --without-profile \
    --without-cxx --without-cxx-binding --without-ada \
    --without-progs --without-tests --without-manpages --disable-db-install \
    --with-terminfo-dirs=/etc/terminfo:/lib/terminfo:/usr/share/terminfo \
    --with-default-terminfo-dir=/usr/share/terminfo \
    --enable-pc-files --with-pkg-config-libdir="$DEPS_PREFIX/lib/pkgconfig" \
    --with-build-cc="$BUILD_CC" --disable-stripping \
    cf_cv_ar_flags=-crvD
log "make -j$JOBS"
make -j"$JOBS"
make install DESTDIR="$STAGE"

(
    cd "$STAGED_PREFIX/include" || exit 1
    for header in ncursesw/*.h; do
        ln -s "$header" .
    done
)
publish lib/libncursesw.a lib/libpanelw.a lib/libformw.a lib/libmenuw.a \
    lib/pkgconfig/ncursesw.pc lib/pkgconfig/panelw.pc \
    include/ncursesw/curses.h include/ncursesw/panel.h include/curses.h include/ncurses.h
