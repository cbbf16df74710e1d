#!/bin/bash
# Our interpreters against Debian's own, side by side: one container of Debian trixie (made from
# the locked sources/toolchain:bench-trixie), without network, measures its python3.13 (the
# baseline: GCC 14, PGO, LTO, a statically linked interpreter) and each given interpreter in one
# run of compare_pythons.sh, which prints per-benchmark times, their spread and the geometric-mean
# ratio.
#
#   benchmarks/compare_in_trixie.sh NAME=PATH [NAME=PATH...]
#   e.g. benchmarks/compare_in_trixie.sh ours=artifacts/cpython-3.13.15-x86_64-unknown-linux-gnu-install_only-20261202.tar.gz \
#            previous=/tmp/previous/cpython-3.13.15-x86_64-unknown-linux-gnu-pgo+lto-20261101.tar.zst \
#            pyenv=/root/.pyenv/versions/3.13.0
#
# PATH: a release archive (install_only .tar.gz or full .tar.zst), unpacked here, or an install
# tree (bin/python3 below it), mounted read-only at its own path. Needs Docker, Pants (for the
# image) and pip's access to PyPI on the host: the wheels of pyperformance-requirements.txt are
# downloaded here and installed in the container from a directory. Environment: compare_pythons.sh's.
# Run it on a quiet machine; it says so when the load average says the machine is not.
set -euo pipefail

(($# >= 1)) || { sed -n '2,16p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/compare-in-trixie.XXXXXX")
trap 'rm -rf "$work"' EXIT

mounts=() pairs=()
for pair in "$@"; do
    name=${pair%%=*} path=${pair#*=}
    if [ "$name" = "$pair" ] || [ -z "$name" ] || [ "$name" = trixie ]; then
        echo "error: '$pair' is not NAME=PATH (NAME other than trixie, the baseline)" >&2
        exit 2
    fi
    [ -e "$path" ] || { echo "error: no $name at '$path'" >&2; exit 1; }
    path=$(realpath "$path")
    if [ -d "$path" ]; then
        [ -x "$path/bin/python3" ] || { echo "error: $path has no bin/python3" >&2; exit 1; }
        mounts+=(-v "$path:$path:ro")
        pairs+=("$name=$path/bin/python3")
        continue
    fi
    mkdir "$work/$name"
    case $path in
        *.tar.zst) tar -C "$work/$name" --zstd -xf "$path"; root=/opt/$name/python/install ;;
        *.tar.gz) tar -C "$work/$name" -xzf "$path"; root=/opt/$name/python ;;
        *) echo "error: $path is neither a .tar.zst nor a .tar.gz release archive" >&2; exit 2 ;;
    esac
    mounts+=(-v "$work/$name:/opt/$name:ro")
    pairs+=("$name=$root/bin/python3")
done

image=$(cd "$here/.." && ./pants --no-pantsd make-toolchain-image sources/toolchain:bench-trixie)
python=$(docker run --rm --network none "$image" python3.13 -c \
    'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}", platform.machine())')
read -r python_version machine <<<"$python"

# The wheels the container installs: pyperformance's own, and what it installs in each venv.
python3 -m venv "$work/download"
"$work/download/bin/pip" download -q -d "$work/wheels" --only-binary=:all: \
    --python-version "$python_version" --platform "manylinux_2_17_$machine" \
    --platform "manylinux2014_$machine" -r "$here/pyperformance-requirements.txt"
printf '[global]\nno-index = true\nfind-links = /wheels\n' >"$work/pip.conf"

read -r load _ </proc/loadavg
echo "load average (1 min) before the run: $load$(awk -v l="$load" 'BEGIN { if (l > 0.5) print " -- NOT a quiet machine: the figures are not comparable" }')"
# pyperformance's venvs see only HOME and PATH of the environment: pip finds the wheels through its
# global configuration file. The install trees are read-only; the venvs and results are the
# container's own, under /tmp.
docker run --rm --network none --tmpfs /tmp:exec,size=4g \
    -v "$here:/benchmarks:ro" -v "$work/wheels:/wheels:ro" -v "$work/pip.conf:/etc/pip.conf:ro" \
    "${mounts[@]}" -e BENCHMARKS -e PYPERFORMANCE_ARGS -e RUNNER_PYTHON=python3.13 -w /tmp \
    "$image" bash /benchmarks/compare_pythons.sh "trixie=/usr/bin/python3.13" "${pairs[@]}"
