#!/bin/bash
# GNU readline: libreadline.a and libhistory.a, with the terminal functions from ncursesw (a
# dependency, in DEPS_PREFIX).
source "$(dirname "$0")/common.sh"

require_deps ncursesw
unpack_source
# bash_cv_wcwidth_broken: configure runs a program that asks wcwidth about a combining character
# in the en_US.UTF-8 locale, which the toolchain lacks: it would call glibc's wcwidth broken in a
# native build (and assume it is not when cross-compiling). It is not.
autoconf_build --with-curses --disable-install-examples bash_cv_wcwidth_broken=no

# configure finds tgetent in -lncursesw but names the pkg-config module for every ncurses
# "ncurses": the .pc must require the module that is there.
pc=$STAGED_PREFIX/lib/pkgconfig/readline.pc
grep -q '^Requires.private: ncurses$' "$pc" || die "unexpected Requires.private in readline.pc"
sed -i 's/^Requires.private: ncurses$/Requires.private: ncursesw/' "$pc"
publish lib/libreadline.a lib/libhistory.a include/readline/readline.h \
    include/readline/history.h lib/pkgconfig/readline.pc
