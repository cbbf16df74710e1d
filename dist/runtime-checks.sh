#!/bin/bash
# Runs each archive, as unpacked from its bytes under /in/unpacked/<kind>, in a container
# without development packages: imports, OpenSSL, relocation, venv and pip (check_install.py),
# then again in FIPS mode with the shipped configuration; and CPython's own regression tests from
# the full archive (the one that ships them), in both modes (regression_tests.py). Any failed
# check fails the step. Every check runs with a time limit: one still running past it is killed
# with every process it started, after the container's processes are listed with where they wait,
# and fails the step (under emulation it runs once more first, see below). With REGRESSION_TESTS=0
# (a further system of the distribution's `runtime_toolchain`), only the install checks run.
set -euo pipefail
: "${EXPECTED_OPENSSL_VERSION:?EXPECTED_OPENSSL_VERSION must be set, e.g. 3.5.7}"
: "${EXTENSION_MODULES:?EXTENSION_MODULES must name the list of required extension modules}"

here=$(dirname "$0")
# run_limited: a check, with a time limit.
# shellcheck source=checks/time-limit.sh
source "$here/checks/time-limit.sh"
failed=0
# RUNTIME_EMULATION (optional): how this container runs when its architecture is not the host's.
emulation=(${RUNTIME_EMULATION:+"--emulation=$RUNTIME_EMULATION"})

# Time limits in seconds, for one run of check_install.py and of regression_tests.py: several times
# what each takes on our 2-core machines (the aarch64 archives' whole step, six runs of the first
# and two of the second, takes about 7 minutes). Under qemu-user a process can deadlock in the
# emulator itself: the aarch64 checks hung twice (once for over an hour, in CI), with every thread
# of the process in a futex wait and no test's own timeout firing. There, a check that runs out of
# time runs once more, after its processes are listed (time-limit.sh).
if [ ${#emulation[@]} -eq 0 ]; then
    install_limit=300 regression_limit=1800 attempts=1
else
    install_limit=600 regression_limit=900 attempts=2
fi

# fips_mode ROOT: the environment of FIPS mode for the tree at ROOT, turned on as the README says.
fips_mode() {
    fips_env=(env "OPENSSL_CONF=$1/share/ssl/openssl-fips.cnf"
        "OPENSSL_MODULES=$1/share/ssl/ossl-modules")
}

# The archives' install checks, in both modes, are independent of one another and mostly one
# process each: they run as many at a time as there are CPUs (one after another, the aarch64
# archives' six took most of their step under qemu, with one of two cores idle). Each one's output
# is kept, and printed in the order they were started once all have ended.
install_results=$(mktemp -d)
install_checks=()
# start_install_check TITLE COMMAND...: starts a check in the background once fewer than one per
# CPU are running.
start_install_check() {
    local number=${#install_checks[@]}
    install_checks+=("$1")
    shift
    while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
    {
        local status=0
        run_limited "$install_limit" "$attempts" "$@" >"$install_results/$number.out" 2>&1 ||
            status=$?
        echo "$status" >"$install_results/$number.status"
    } &
}

full_archive=""
for unpacked in /in/unpacked/*; do
    kind=$(basename "$unpacked")
    # The full archive holds the tree under python/install, the others under python/.
    root=$unpacked/python/install
    [ -d "$root" ] || root=$unpacked/python
    interpreters=("$root"/bin/python3.*[0-9t])
    python=${interpreters[0]}
    install_check=("$here/checks/check_install.py" "$EXTENSION_MODULES" "$EXPECTED_OPENSSL_VERSION"
        ${RUNTIME_EMULATION:+--emulated})
    fips_mode "$root"
    start_install_check "$kind: $python" "$python" "${install_check[@]}"
    start_install_check "$kind, FIPS mode" "${fips_env[@]}" "$python" "${install_check[@]}" --fips
    # The full archive ships the test package (the others do not): its regression tests run below.
    if [ "$root" = "$unpacked/python/install" ]; then
        full_archive=$kind full_root=$root full_python=$python
    fi
done
wait
for number in "${!install_checks[@]}"; do
    echo "== ${install_checks[$number]}"
    cat "$install_results/$number.out"
    [ "$(cat "$install_results/$number.status")" = 0 ] || failed=1
done

# CPython's regression tests, from the full archive, in both modes: each run takes every CPU.
if [ -z "$full_archive" ]; then
    echo "FAIL: no full archive (with python/install) among /in/unpacked: no regression tests ran"
    failed=1
elif [ "${REGRESSION_TESTS:-1}" = 0 ]; then
    echo "== $full_archive: CPython's regression tests run in the first runtime system only"
else
    stdlib=$("$full_python" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    if [ ! -d "$stdlib/test" ]; then
        echo "FAIL: the full archive has no $stdlib/test: CPython's regression tests cannot run"
        failed=1
    else
        regression_tests=("$here/checks/regression_tests.py" "${emulation[@]}")
        echo "== $full_archive: CPython's regression tests"
        run_limited "$regression_limit" "$attempts" "$full_python" "${regression_tests[@]}" ||
            failed=1
        echo "== $full_archive: CPython's regression tests, FIPS mode"
        fips_mode "$full_root"
        run_limited "$regression_limit" "$attempts" "${fips_env[@]}" "$full_python" \
            "${regression_tests[@]}" --fips || failed=1
    fi
fi
[ "$failed" -eq 0 ] || { echo "error: a runtime check failed (FAIL lines above)" >&2; exit 1; }
echo "all runtime checks passed"
