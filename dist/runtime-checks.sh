#!/bin/bash
# Runs each archive, as unpacked from its bytes under /in/unpacked/<kind>, in a container
# without development packages: imports, OpenSSL, relocation, venv and pip (check_install.py),
# then again in FIPS mode with the shipped configuration; and CPython's own regression tests from
# the full archive (the one that ships them), in both modes (regression_tests.py). Any failed
# check fails the step. Every check runs with a time limit: one that hangs fails, saying which
# processes were left and where they waited.
set -euo pipefail
: "${EXPECTED_OPENSSL_VERSION:?EXPECTED_OPENSSL_VERSION must be set, e.g. 3.5.7}"
: "${EXTENSION_MODULES:?EXTENSION_MODULES must name the list of required extension modules}"

here=$(dirname "$0")
failed=0
# RUNTIME_EMULATION (optional): how this container runs when its architecture is not the host's.
emulation=(${RUNTIME_EMULATION:+"--emulation=$RUNTIME_EMULATION"})

# Time limits in seconds, for one run of check_install.py and of regression_tests.py: several times
# what each takes on our 2-core machines (the aarch64 archives' whole step, six runs of the first
# and two of the second, takes under 7 minutes). Under qemu-user a process can deadlock in the
# emulator itself: the aarch64 checks hung twice (once for over an hour, in CI), with every thread
# of the process in a futex wait and no test's own timeout firing. There, a check that runs out of
# time runs once more, after its processes are listed.
if [ ${#emulation[@]} -eq 0 ]; then
    install_limit=300 regression_limit=1800 attempts=1
else
    install_limit=600 regression_limit=900 attempts=2
fi

# The container's processes, with each thread's state and where it waits in the kernel (under
# qemu-user, the emulator's own threads), for a check that hung.
list_processes() {
    local proc task
    for proc in /proc/[0-9]*; do
        [ -r "$proc/cmdline" ] || continue
        echo "  process ${proc#/proc/}: $(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)"
        for task in "$proc"/task/*; do
            echo "    thread ${task##*/}: $(cut -d' ' -f3 "$task/stat" 2>/dev/null)" \
                "$(cat "$task/wchan" 2>/dev/null)"
        done
    done
}

# Kills every process of the container outside the sessions given: a check's, including those it
# started in sessions of their own (regrtest's workers).
kill_all_but_sessions() {
    local proc stat fields
    for proc in /proc/[0-9]*; do
        stat=$(cat "$proc/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${stat##*) }"
        [[ " $* " == *" ${fields[3]} "* ]] || kill -KILL "${proc#/proc/}" 2>/dev/null || true
    done
}
export -f list_processes kill_all_but_sessions

# Runs a command (a check) with a time limit of $1 seconds, in a session of its own; past the
# limit, lists the processes and kills all but this script's. A check that runs out of time is
# tried again, up to $attempts times in all; one that fails otherwise is not. Returns the last
# try's status.
run_limited() {
    local limit=$1 attempt status pid watchdog timed_out
    shift
    timed_out=$(mktemp)
    for ((attempt = 1; attempt <= attempts; attempt++)); do
        rm -f "$timed_out"
        status=0
        setsid "$@" &
        pid=$!
        # In a session of its own too, so that killing it also ends its sleep.
        # shellcheck disable=SC2016 # expanded by that shell, from its arguments
        setsid bash -c 'sleep "$1" || exit 0
            touch "$2"
            echo "FAIL: still running after $1 s: $3; the processes:"
            list_processes
            kill_all_but_sessions "$4" "$(cut -d" " -f6 /proc/$$/stat)"' \
            watchdog "$limit" "$timed_out" "$*" "$(cut -d' ' -f6 /proc/$$/stat)" &
        watchdog=$!
        wait "$pid" || status=$?
        # Past the limit, the watchdog has more to kill than the check's first process.
        [ -e "$timed_out" ] || kill -KILL -- "-$watchdog" 2>/dev/null || true
        wait "$watchdog" 2>/dev/null || true
        [ -e "$timed_out" ] || break
        if ((attempt < attempts)); then
            echo "== running it again (under emulation, a hang may be the emulator's)"
        fi
    done
    rm -f "$timed_out"
    return "$status"
}

for unpacked in /in/unpacked/*; do
    kind=$(basename "$unpacked")
    # The full archive holds the tree under python/install, the others under python/.
    root=$unpacked/python/install
    [ -d "$root" ] || root=$unpacked/python
    interpreters=("$root"/bin/python3.*[0-9t])
    python=${interpreters[0]}
    # FIPS mode, turned on as the README says.
    fips_mode=(env "OPENSSL_CONF=$root/share/ssl/openssl-fips.cnf"
        "OPENSSL_MODULES=$root/share/ssl/ossl-modules")
    echo "== $kind: $python"
    run_limited "$install_limit" "$python" "$here/checks/check_install.py" "$EXTENSION_MODULES" \
        "$EXPECTED_OPENSSL_VERSION" || failed=1
    echo "== $kind, FIPS mode"
    run_limited "$install_limit" "${fips_mode[@]}" "$python" "$here/checks/check_install.py" \
        "$EXTENSION_MODULES" "$EXPECTED_OPENSSL_VERSION" --fips || failed=1
    # The full archive ships the test package (the others do not): its regression tests run.
    [ "$root" = "$unpacked/python/install" ] || continue
    stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    if [ ! -d "$stdlib/test" ]; then
        echo "FAIL: the full archive has no $stdlib/test: CPython's regression tests cannot run"
        failed=1
        continue
    fi
    echo "== $kind: CPython's regression tests"
    run_limited "$regression_limit" "$python" "$here/checks/regression_tests.py" "${emulation[@]}" \
        || failed=1
    echo "== $kind: CPython's regression tests, FIPS mode"
    run_limited "$regression_limit" "${fips_mode[@]}" "$python" "$here/checks/regression_tests.py" --fips \
        "${emulation[@]}" || failed=1
done
[ "$failed" -eq 0 ] || { echo "error: a runtime check failed (FAIL lines above)" >&2; exit 1; }
echo "all runtime checks passed"
