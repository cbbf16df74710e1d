#!/bin/bash
# Restoring from the remote cache against building, from one run each:
#
#   1. a BuildGrid remote cache on loopback with an empty store (tests/remote_cache/);
#   2. cold: `./pants GOAL ARGS...` with an empty local cache (process store and named
#      caches), writing every step to the remote cache;
#   3. the local cache wiped again, then the same command: every step comes from the remote.
#
# Prints both wall times, their ratio and the restore's cache counters.
#
#   benchmarks/remote_cache_restore.sh [GOAL ARGS...]
#       default: package //dist:cpython-3.13-x86_64-linux-noopt
#       e.g.:    test examples::   (the monorepo's tests, on the interpreter they need)
#
# Needs what the build needs (Docker), redis-server
# and a Python 3.11 for BuildGrid. Toolchain images already in the daemon are reused by the cold
# build (the script says whether they were there); remove them first to time a fresh machine.
set -euo pipefail

if (($#)); then command=("$@"); else command=(package //dist:cpython-3.13-x86_64-linux-noopt); fi
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
work=$(mktemp -d "${TMPDIR:-/tmp}/remote-cache-restore.XXXXXX")
server="python3 tests/remote_cache/buildgrid_server.py"
pex=artifacts/tests.remote_cache/buildgrid.pex

stop() {
    $server stop --pex "$pex" --state-dir "$work/server" || true
    rm -rf "$work"
}
trap stop EXIT

echo "== images already in the daemon: $(docker images --format '{{.Repository}}:{{.Tag}}' 'cpython-fips/*' | tr '\n' ' ')"
./pants --no-pantsd package tests/remote_cache:buildgrid >/dev/null
address=$($server start --pex "$pex" --state-dir "$work/server" --port 0)
token=$($server token --pex "$pex" --state-dir "$work/server")
export PANTS_CONFIG_FILES=pants.remote-cache.toml
export PANTS_REMOTE_STORE_ADDRESS="$address"
export PANTS_REMOTE_STORE_HEADERS="+{\"authorization\": \"Bearer $token\"}"

# One `package` on a local cache of its own; prints its wall time in seconds.
package_with_empty_local_cache() {
    local name=$1
    local started=$EPOCHREALTIME
    ./pants --no-pantsd --no-dynamic-ui \
        --local-store-dir="$work/$name/store" --named-caches-dir="$work/$name/named-caches" \
        "${command[@]}" >"$work/$name.log" 2>&1 || {
        echo "error: the $name build failed; the end of its log:" >&2
        tail -n 40 "$work/$name.log" >&2
        exit 1
    }
    python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$started" "$EPOCHREALTIME"
}

echo "== cold: ./pants ${command[*]}, writing to the remote cache"
cold=$(package_with_empty_local_cache cold)
echo "== restore on a wiped local cache"
rm -rf "$work/cold"
restore=$(package_with_empty_local_cache restore)

echo "cold build:  ${cold} s"
echo "restore:     ${restore} s"
echo "ratio:       $(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.1f}")' "$cold" "$restore") (cold / restore)"
echo "restore counters:"
grep -E '^  (local_execution_requests|remote_cache_requests(_cached|_uncached)?|remote_cache_read_errors|remote_cache_total_time_saved_ms):' "$work/restore.log"
echo "build steps the restore ran (none expected):"
grep -E 'Starting: (Build sources|Strip|Validate and archive|Run the archives)' "$work/restore.log" || echo "  none"
