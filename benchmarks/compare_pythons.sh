#!/bin/bash
# Speed of several Python interpreters, side by side in one run of a few standard pyperformance
# benchmarks. Prints each benchmark's mean time and relative standard deviation per interpreter,
# how many times faster each one is than the first (the baseline), and the geometric mean of
# those ratios. The interpreters take turns benchmark by benchmark, in alternating order, so that
# a machine whose speed drifts during the run (a shared VM's neighbours) slows them alike instead
# of whichever ran its whole suite in the slow minutes.
#
#   benchmarks/compare_pythons.sh NAME=PYTHON NAME=PYTHON [NAME=PYTHON...]
#   e.g. benchmarks/compare_pythons.sh shared=/tmp/a/python/bin/python3 static=/tmp/b/python/bin/python3
#
# Needs PyPI through pip, or pip's configuration pointing at a directory of the wheels of
# pyperformance-requirements.txt (pyperformance makes a venv per interpreter with pyperf; see
# compare_in_trixie.sh). Environment: BENCHMARKS (comma-separated pyperformance names; default: the
# fixed set below), PYPERFORMANCE_ARGS (default --fast), RUNNER_PYTHON (runs pyperformance itself;
# default python3). Run it on a quiet machine: the interpreters are measured one after the other.
set -euo pipefail

(($# >= 2)) || { sed -n '2,11p' "$0" >&2; exit 2; }
# Pure-Python benchmarks of pyperformance without third-party requirements (35 benchmarks: some
# names are groups), so that they run offline and on any CPython 3.10+.
default_benchmarks=chaos,comprehensions,coroutines,deepcopy,deltablue,fannkuch,float,generators,go
default_benchmarks+=,hexiom,json_dumps,json_loads,logging,nbody,nqueens,pathlib,pickle_pure_python
default_benchmarks+=,pidigits,pyflate,raytrace,regex_compile,regex_dna,regex_effbot,regex_v8
default_benchmarks+=,richards,scimark,spectral_norm,sqlite_synth,telco,unpack_sequence
default_benchmarks+=,unpickle_pure_python,xml_etree
benchmarks=${BENCHMARKS:-$default_benchmarks}
here=$(cd "$(dirname "$0")" && pwd)
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

"${RUNNER_PYTHON:-python3}" -m venv "$work/runner"
"$work/runner/bin/pip" install -q -r "$here/pyperformance-requirements.txt"
for pair in "$@"; do
    name=${pair%%=*} python=${pair#*=}
    echo "== $name: $python ($("$python" -VV | tr '\n' ' '))"
    mkdir "$work/$name"
done
pairs=("$@")
IFS=, read -ra benchmark_list <<<"$benchmarks"
for index in "${!benchmark_list[@]}"; do
    benchmark=${benchmark_list[index]}
    for pair in "${pairs[@]}"; do
        name=${pair%%=*} python=${pair#*=}
        echo "== $benchmark with $name"
        # pyperformance makes each interpreter's venv once, in the working directory, and reuses it.
        (cd "$work" && "$work/runner/bin/pyperformance" run "${pyperformance_args[@]}" \
            --python="$python" -b "$benchmark" -o "$work/$name/$benchmark.json")
    done
    # The next benchmark starts with the interpreter that ran last.
    for ((first = 0, last = ${#pairs[@]} - 1; first < last; first++, last--)); do
        swap=${pairs[first]} pairs[first]=${pairs[last]} pairs[last]=$swap
    done
done

"$work/runner/bin/python" - "$work" "${names[@]}" <<'PY'
import math, pathlib, sys
import pyperf
work, baseline, *others = sys.argv[1:]
names = [baseline, *others]
def load_suite(name):
    """The benchmarks of every run of this interpreter (one file per benchmark group)."""
    suite = None
    for path in sorted(pathlib.Path(work, name).glob("*.json")):
        part = pyperf.BenchmarkSuite.load(str(path))
        if suite is None:
            suite = part
        else:
            for benchmark in part.get_benchmarks():
                suite.add_benchmark(benchmark)
    return suite

suites = {name: load_suite(name) for name in names}
benchmarks = sorted(suites[baseline].get_benchmark_names())
# Each interpreter's mean, and its spread: the standard deviation over pyperf's values, relative.
print(f"\n{'benchmark':<24}" + "".join(f"{name + ' (±%)':>22}" for name in names)
      + "".join(f"{baseline + '/' + name:>18}" for name in others))
ratios = {name: [] for name in others}
for bench in benchmarks:
    found = {name: suite.get_benchmark(bench) for name, suite in suites.items()}
    mean = {name: found[name].mean() for name in names}
    spread = {name: 100 * found[name].stdev() / mean[name] if found[name].get_nvalue() > 1 else 0.0
              for name in names}
    for name in others:
        ratios[name].append(mean[baseline] / mean[name])
    print(f"{bench:<24}" + "".join(f"{mean[name] * 1e3:>13.4g}ms ±{spread[name]:>4.1f}%" for name in names)
          + "".join(f"{ratios[name][-1]:>18.3f}" for name in others))
print()
for name in others:
    geomean = math.exp(sum(map(math.log, ratios[name])) / len(ratios[name]))
    faster = sum(ratio > 1 for ratio in ratios[name])
    print(f"geometric mean over {len(ratios[name])} benchmarks: {name} is {geomean:.3f}x as fast as"
          f" {baseline} (faster on {faster})")
PY
