#!/bin/bash
# What linking libpython into the interpreter buys, within one build: the shipped static
# interpreter against the same build's libpython.so run by CPython's own `main` (Py_BytesMain,
# Programs/python.c), which is what bin/python3 was before the interpreter was linked statically.
# Both run the same PGO/LTO-optimised code from one tree, so the ratio isolates the linkage.
#
#   benchmarks/static_interpreter.sh ARCHIVE    (an install_only .tar.gz or the full .tar.zst)
#
# Needs a C compiler on the host (the stub is compiled against the archive's headers) and
# compare_pythons.sh's PyPI access. Environment: compare_pythons.sh's.
set -euo pipefail

(($# == 1)) || { sed -n '2,10p' "$0" >&2; exit 2; }
archive=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/static-interpreter.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $archive in
    *.tar.zst) tar -C "$work" --zstd -xf "$archive"; root=$work/python/install ;;
    *.tar.gz) tar -C "$work" -xzf "$archive"; root=$work/python ;;
    *) echo "error: $archive is neither a .tar.zst nor a .tar.gz release archive" >&2; exit 2 ;;
esac
interpreters=("$root"/bin/python3.*[0-9t])
static=${interpreters[0]}
config=$static-config
[ -x "$config" ] || { echo "error: no $config in $archive" >&2; exit 1; }

# The stub lives next to the static interpreter, so both compute the same prefix; it finds
# libpython in ../lib as the shared interpreter did.
shared=$root/bin/python-shared-libpython
printf '#include <Python.h>\nint main(int argc, char **argv) { return Py_BytesMain(argc, argv); }\n' \
    >"$work/python.c"
read -ra cflags < <("$config" --cflags)
read -ra ldflags < <("$config" --embed --ldflags)
# shellcheck disable=SC2016 # $ORIGIN is for the dynamic linker, not the shell
cc "${cflags[@]}" -o "$shared" "$work/python.c" "${ldflags[@]}" -Wl,-rpath,'$ORIGIN/../lib'
if ! ldd "$shared" | grep -q libpython; then
    echo "error: $shared does not load libpython" >&2
    exit 1
fi
"$here/compare_pythons.sh" "shared=$shared" "static=$static"
