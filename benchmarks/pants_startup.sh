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
./pants kill-pantsd >/dev/null 2>&1 || true

# The launcher's own overhead once bootstrapped: 100 runs against a bootstrap cache whose
# "Pants" is /bin/true, against 100 runs of /bin/true itself.
fake="$work/fake-bootstrap"
mkdir -p "$fake/pants-2.17.1/bin"
touch "$fake/pants-2.17.1/.bootstrapped" "$fake/pex-v2.1.137"
ln -s /bin/true "$fake/pants-2.17.1/bin/pants"
hundred() {
  local start
  start=$(date +%s.%N)
  for _ in $(seq 100); do "$@"; done
  echo "$(date +%s.%N) - $start" | bc -l
}
launcher=$(PANTS_BOOTSTRAP_CACHE="$fake" hundred ./pants)
baseline=$(hundred /bin/true)
printf '%-40s %8.1f ms\n' "launcher overhead per run" "$(echo "($launcher - $baseline) * 10" | bc -l)"
