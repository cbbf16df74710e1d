#!/bin/bash
# Speed of our CPython builds, from one run of a few standard pyperformance benchmarks
# (compare_pythons.sh): `pgo+lto` and another Python of the same minor version (by default
# pyenv's) against `noopt`.
#
#   benchmarks/cpython_flavours.sh [MINOR]          (default 3.13)
#
# Needs the two builds in artifacts/ (./pants package sources/cpython:MINOR-noopt-linux-x86_64
# sources/cpython:MINOR-pgo+lto-linux-x86_64). Environment: REFERENCE_PYTHON (the third
# interpreter), and compare_pythons.sh's.
set -euo pipefail

minor=${1:-3.13}
here=$(cd "$(dirname "$0")" && pwd)
builds=$here/../artifacts/cpython
reference=${REFERENCE_PYTHON:-$(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}/versions/$minor".*/bin/python"$minor" | sort -V | tail -n1)}
exec "$here/compare_pythons.sh" \
    "noopt=$builds/$minor-noopt-linux-x86_64/install/bin/python$minor" \
    "pgo+lto=$builds/$minor-pgo+lto-linux-x86_64/install/bin/python$minor" \
    "reference=$reference"
