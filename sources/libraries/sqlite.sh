#!/bin/bash
# SQLite: libsqlite3.a, for the sqlite3 module, from the canonical source tree (configure
# generates the amalgamation with tclsh and helper programs built with BUILD_CC). Thread-safe
# (the default), with extension loading (for --enable-loadable-sqlite-extensions), math and JSON
# functions, and the features CPython's builds usually have: FTS3 (with the AND/OR/NOT
# syntax), FTS4, FTS5, R*Tree, Geopoly, the dbstat virtual table and column metadata
# (sqlite3_column_table_name() and friends).
# No Tcl extension, no shell: only the library, its headers and sqlite3.pc are made.
source "$(dirname "$0")/common.sh"

unpack_source
# The features configure has no option for (it moves them from CFLAGS to where the helper
# programs also see them).
CFLAGS+=" -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_COLUMN_METADATA"
CFLAGS+=" -DSQLITE_ENABLE_FTS3_PARENTHESIS"
# ac_cv_search_deflate=no: zlib is only for the shell, but would be linked (and listed in
# sqlite3.pc) if the toolchain had it.
autoconf_configure --disable-tcl --disable-readline --enable-threadsafe --enable-load-extension \
    --enable-math --enable-json --enable-fts3 --enable-fts4 --enable-fts5 --enable-rtree \
    --enable-geopoly ac_cv_search_deflate=no
log "make -j$JOBS libsqlite3.la"
make -j"$JOBS" libsqlite3.la sqlite3.h sqlite3.pc
make lib_install DESTDIR="$STAGE"
stage_files include sqlite3.h src/sqlite3ext.h
stage_files lib/pkgconfig sqlite3.pc
publish lib/libsqlite3.a include/sqlite3.h include/sqlite3ext.h lib/pkgconfig/sqlite3.pc
