#!/bin/bash
# Speed of several Python interpreters, side by side in one run of a few standard pyperformance
# benchmarks. Prints each benchmark's mean time per interpreter, how many times faster each one
# is than the first (the baseline), and the geometric mean of those ratios.
#
#   benchmarks/compare_pythons.sh NAME=PYTHON NAME=PYTHON [NAME=PYTHON...]
#   e.g. benchmarks/compare_pythons.sh shared=/tmp/a/python/bin/python3 static=/tmp/b/python/bin/python3
#
# Needs PyPI through pip (pyperformance makes a venv per interpreter with pyperf). Environment:
# BENCHMARKS (comma-separated pyperformance names), PYPERFORMANCE_ARGS (default --fast). Run it on
# a quiet machine: the interpreters are measured one after the other.
set -euo pipefail

(($# >= 2)) || { sed -n '2,11p' "$0" >&2; exit 2; }
benchmarks=${BENCHMARKS:-nbody,richards,float,json_dumps,regex_v8,deltablue,chaos,go}
read -ra pyperformance_args <<<"${PYPERFORMANCE_ARGS:---fast}"
work=$(mktemp -d "${TMPDIR:-/tmp}/compare-pythons.XXXXXX")
trap 'rm -rf "$work"' EXIT

names=()
for pair in "$@"; do
    name=${pair%%=*} python=${pair#*=}
    if [ "$name" = "$pair" ] || [ -z "$name" ]; then
        echo "error: '$pair' is not NAME=PYTHON" >&2
        exit 2
    fi
    [ -x "$python" ] || { echo "error: no $name interpreter at '$python'" >&2; exit 1; }
    names+=("$name")
done

python3 -m venv "$work/runner"
"$work/runner/bin/pip" install -q pyperformance==1.14.0 pyperf==2.10.0
for pair in "$@"; do
    name=${pair%%=*} python=${pair#*=}
    echo "== $name: $python ($("$python" -VV | tr '\n' ' '))"
    (cd "$work" && "$work/runner/bin/pyperformance" run "${pyperformance_args[@]}" \
        --python="$python" -b "$benchmarks" -o "$work/$name.json")
done

"$work/runner/bin/python" - "$work" "${names[@]}" <<'PY'
import math, sys
import pyperf
work, baseline, *others = sys.argv[1:]
names = [baseline, *others]
suites = {name: pyperf.BenchmarkSuite.load(f"{work}/{name}.json") for name in names}
benchmarks = sorted(suites[baseline].get_benchmark_names())
print(f"\n{'benchmark':<14}" + "".join(f"{name:>14}" for name in names)
      + "".join(f"{baseline + '/' + name:>18}" for name in others))
ratios = {name: [] for name in others}
for bench in benchmarks:
    mean = {name: suite.get_benchmark(bench).mean() for name, suite in suites.items()}
    for name in others:
        ratios[name].append(mean[baseline] / mean[name])
    print(f"{bench:<14}" + "".join(f"{mean[name] * 1e3:>12.1f}ms" for name in names)
          + "".join(f"{ratios[name][-1]:>18.3f}" for name in others))
print()
for name in others:
    geomean = math.exp(sum(map(math.log, ratios[name])) / len(ratios[name]))
    print(f"geometric mean: {name} is {geomean:.3f}x as fast as {baseline}")
PY
