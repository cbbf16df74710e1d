# shellcheck shell=bash
# Sourced by runtime-checks.sh: running a check with a time limit (tested by
# tests/runtime_checks_test.py).

# The container's processes, with each thread's state and where it waits in the kernel (under
# qemu-user, the emulator's own threads), for a check that hung.
list_processes() {
    local proc task
    for proc in /proc/[0-9]*; do
        [ -r "$proc/cmdline" ] || continue
        echo "  process ${proc#/proc/}: $(tr '\0\n' '  ' <"$proc/cmdline" 2>/dev/null)"
        for task in "$proc"/task/*; do
            echo "    thread ${task##*/}: $(cut -d' ' -f3 "$task/stat" 2>/dev/null)" \
                "$(cat "$task/wchan" 2>/dev/null)"
        done
    done
}

# Kills a process and every process it started: its descendants, and the members of their
# sessions (regrtest starts each worker in a session of its own), from a snapshot of /proc.
kill_tree() {
    local proc stat fields pid grown=1
    local -A parent session doomed=(["$1"]=1)
    for proc in /proc/[0-9]*; do
        stat=$(cat "$proc/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${stat##*) }"
        parent[${proc#/proc/}]=${fields[1]} session[${proc#/proc/}]=${fields[3]}
    done
    while ((grown)); do
        grown=0
        for pid in "${!parent[@]}"; do
            [ -z "${doomed[$pid]:-}" ] || continue
            if [ -n "${doomed[${parent[$pid]}]:-}" ] || [ -n "${doomed[${session[$pid]}]:-}" ]; then
                doomed[$pid]=1 grown=1
            fi
        done
    done
    kill -KILL "${!doomed[@]}" 2>/dev/null || true
}
export -f list_processes kill_tree

# run_limited LIMIT ATTEMPTS COMMAND...: runs a command (a check) with a time limit of LIMIT
# seconds, in a session of its own; past the limit, lists the container's processes and kills
# the command's. A command that runs out of time is tried again, up to ATTEMPTS times in all; one
# that fails otherwise is not. Returns the last try's status.
run_limited() {
    local limit=$1 attempts=$2 attempt status pid watchdog timed_out
    shift 2
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
            echo "TIMED OUT: still running after $1 s: $3"
            echo "the processes, when it was killed:"
            list_processes
            kill_tree "$4"' watchdog "$limit" "$timed_out" "$*" "$pid" &
        watchdog=$!
        wait "$pid" || status=$?
        # Past the limit, the watchdog has more to kill than the check's first process. Before
        # it, the watchdog ends: the process first (it may not have its own session yet), then
        # its session's (its sleep).
        if [ ! -e "$timed_out" ]; then
            kill -KILL "$watchdog" 2>/dev/null || true
            kill -KILL -- "-$watchdog" 2>/dev/null || true
        fi
        wait "$watchdog" 2>/dev/null || true
        [ -e "$timed_out" ] || break
        if ((attempt < attempts)); then
            echo "== running it again: try $((attempt + 1)) of $attempts"
        else
            echo "FAIL: $* ran out of time (${limit} s) in every try ($attempts)"
        fi
    done
    rm -f "$timed_out"
    return "$status"
}
