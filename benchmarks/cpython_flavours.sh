#!/bin/bash
# Speed of our CPython builds, from one run of a few standard pyperformance benchmarks:
# `pgo+lto` against `noopt`, and against another Python of the same minor version (by default
# pyenv's). Prints each benchmark's mean time and the ratios (how many times faster pgo+lto is),
# with their geometric mean.
#
#   benchmarks/cpython_flavours.sh [MINOR]          (default 3.13)
#
# Needs the two builds in artifacts/ (./pants package sources/cpython:MINOR-noopt-linux-x86_64
# sources/cpython:MINOR-pgo+lto-linux-x86_64) and PyPI through pip (pyperformance makes a venv
# per interpreter with pyperf). Environment: BENCHMARKS (comma-separated pyperformance names),
# REFERENCE_PYTHON (the third interpreter), PYPERFORMANCE_ARGS (default --fast).
set -euo pipefail

minor=${1:-3.13}
repo=$(cd "$(dirname "$0")/.." && pwd)
benchmarks=${BENCHMARKS:-nbody,richards,float,json_dumps,regex_v8,deltablue,chaos,go}
reference=${REFERENCE_PYTHON:-$(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}/versions/$minor".*/bin/python"$minor" | sort -V | tail -n1)}
read -ra pyperformance_args <<<"${PYPERFORMANCE_ARGS:---fast}"
work=$(mktemp -d "${TMPDIR:-/tmp}/cpython-flavours.XXXXXX")
trap 'rm -rf "$work"' EXIT

declare -A pythons=(
    [noopt]=$repo/artifacts/cpython/$minor-noopt-linux-x86_64/install/bin/python$minor
    [pgo+lto]=$repo/artifacts/cpython/$minor-pgo+lto-linux-x86_64/install/bin/python$minor
    [reference]=$reference
)
for name in "${!pythons[@]}"; do
    [ -x "${pythons[$name]}" ] || { echo "error: no $name interpreter at '${pythons[$name]}'" >&2; exit 1; }
done

python3 -m venv "$work/runner"
"$work/runner/bin/pip" install -q pyperformance==1.14.0 pyperf==2.10.0
for name in noopt pgo+lto reference; do
    echo "== $name: ${pythons[$name]} ($("${pythons[$name]}" -VV | tr '\n' ' '))"
    (cd "$work" && "$work/runner/bin/pyperformance" run "${pyperformance_args[@]}" \
        --python="${pythons[$name]}" -b "$benchmarks" -o "$work/$name.json")
done

"$work/runner/bin/python" - "$work" <<'PY'
import math, sys
import pyperf
work = sys.argv[1]
suites = {name: pyperf.BenchmarkSuite.load(f"{work}/{name}.json") for name in ("noopt", "pgo+lto", "reference")}
names = sorted(suites["pgo+lto"].get_benchmark_names())
print(f"\n{'benchmark':<14}{'noopt':>12}{'pgo+lto':>12}{'reference':>12}{'noopt/pgo':>11}{'ref/pgo':>9}")
ratios = {"noopt": [], "reference": []}
for bench in names:
    mean = {n: s.get_benchmark(bench).mean() for n, s in suites.items()}
    for other in ratios:
        ratios[other].append(mean[other] / mean["pgo+lto"])
    print(f"{bench:<14}" + "".join(f"{mean[n] * 1e3:>10.1f}ms" for n in ("noopt", "pgo+lto", "reference"))
          + f"{ratios['noopt'][-1]:>11.2f}{ratios['reference'][-1]:>9.2f}")
geomean = {n: math.exp(sum(map(math.log, r)) / len(r)) for n, r in ratios.items()}
print(f"\ngeometric mean: pgo+lto is {geomean['noopt']:.2f}x as fast as noopt, "
      f"{geomean['reference']:.2f}x as fast as the reference Python")
PY
