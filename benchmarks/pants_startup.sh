#!/usr/bin/env bash
# Cold and warm times of `./pants --version` and `./pants test ::` on a fresh clone of this
# repository with an empty HOME, so that neither the bootstrap cache, pip's cache nor Pants'
# caches help the cold run. Usage: benchmarks/pants_startup.sh [WORKDIR]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"
git clone -q "$repo" "$work/clone"
mkdir -p "$work/home"
# pyenv's interpreters stay reachable; everything cached under HOME starts empty.
export PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}" HOME="$work/home"
cd "$work/clone"

n=0
timed() {
  n=$((n + 1))
  local start end status=0
  start=$(date +%s.%N)
  "$@" >"$work/run-$n.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  printf '%-40s %8.2f s  (exit %d, log %s)\n' "$*" "$(echo "$end - $start" | bc)" "$status" \
    "$work/run-$n.log"
}

echo "clone: $work/clone"
timed ./pants --version                 # cold: bootstrap + pantsd start
timed ./pants --version                 # warm: pantsd running
timed ./pants --no-pantsd --version     # warm bootstrap, no daemon
timed ./pants test ::                   # cold test run (empty process cache)
timed ./pants test ::                   # warm: every test cached
# The launcher's own overhead once bootstrapped: warm `./pants --version` against the Pants
# entry point it execs, both talking to the running pantsd.
export NO_SCIE_WARNING=1  # as ./pants sets it, so both invocations look alike to pantsd
direct="$HOME/.cache/cpython-fips-pants/pants-2.17.1/bin/pants"
mean() {
  local start
  start=$(date +%s.%N)
  for _ in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null 2>&1; done
  echo "($(date +%s.%N) - $start) / 10" | bc -l
}
via_launcher=$(mean ./pants --version)
via_entry_point=$(PANTS_BOOTSTRAP_CACHE="$HOME/.cache/cpython-fips-pants" mean "$direct" --version)
printf '%-40s %8.3f s\n' "./pants --version, mean of 10" "$via_launcher"
printf '%-40s %8.3f s\n' "pants entry point --version, mean of 10" "$via_entry_point"
printf '%-40s %8.3f s\n' "launcher overhead" "$(echo "$via_launcher - $via_entry_point" | bc -l)"
./pants kill-pantsd >/dev/null 2>&1 || true
