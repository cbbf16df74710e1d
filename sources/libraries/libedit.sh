#!/bin/bash
# libedit (BSD editline): libedit.a with its readline-compatible API in editline/readline.h,
# for CPython's `--with-readline=editline`. The terminal functions come from ncursesw (a
# dependency, in DEPS_PREFIX).
source "$(dirname "$0")/common.sh"

require_deps ncursesw
unpack_source
# configure looks for tgetent in -lncurses, -lcurses, -ltermcap and -ltinfo only; the library
# there is ncursesw. The name it finds also goes into libedit.pc's Libs.private.
sed -i 's/-lncurses\b/-lncursesw/g' configure
grep -q -- '-lncursesw ' configure || die "configure no longer looks for -lncurses"
autoconf_build --disable-examples
publish lib/libedit.a include/editline/readline.h include/histedit.h lib/pkgconfig/libedit.pc
