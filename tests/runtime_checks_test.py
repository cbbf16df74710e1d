"""The time limit of the runtime checks (dist/checks/time-limit.sh), in the containers the checks
run in: the bare bookworm one, and the arm64 one under qemu-user, where the aarch64 archives' checks
once hung for over an hour. A check that hangs, having started a process in a session of its own
(as regrtest does its workers), is listed, killed with everything it started, and tried again; a
check that finishes, or fails, is run once."""

from __future__ import annotations

import re

import pytest

from images import ensure_image, run_container
from pants_launcher_test import REPO

# Each check writes the pids of its processes to /tmp/pids; the script says which are still alive
# after the hung one, and each run_limited call's status.
SCRIPT = r"""
source /checks/time-limit.sh
hang() { setsid sleep 1001 & echo $! >>/tmp/pids; echo $$ >>/tmp/pids; exec sleep 1002; }
export -f hang
run_limited 5 2 bash -c hang; echo "status hang: $?"
# A killed process may take a moment to end, and stays a zombie until its parent reaps it.
alive() { [ -e "/proc/$1" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
sleep 2
for pid in $(cat /tmp/pids); do ! alive "$pid" || echo "left running: $pid"; done
run_limited 60 2 bash -c 'echo $$ >>/tmp/pids; exit 7'; echo "status failing: $?"
run_limited 60 2 bash -c 'echo fine'; echo "status fine: $?"
echo "checks started: $(wc -l </tmp/pids)"
"""


@pytest.mark.parametrize("toolchain", ["test-runtime", "test-runtime-arm64"])
def test_a_hung_check_is_killed_and_tried_again(toolchain: str) -> None:
    ran = run_container(
        ensure_image(toolchain),
        ["bash", "-c", SCRIPT],
        mounts={REPO / "dist/checks": "/checks"},
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    output = ran.stdout
    # Two tries of the hung check, each listed before it was killed; the second try is said.
    assert output.count("TIMED OUT: still running after 5 s: bash -c hang\n") == 2, output
    assert output.count("== running it again: try 2 of 2") == 1, output
    assert "FAIL: bash -c hang ran out of time (5 s) in every try (2)" in output, output
    assert re.search(r"  process \d+: .*sleep 1001", output), output
    assert re.search(r"    thread \d+: S ", output), output
    assert "status hang: 137" in output, output
    # Its processes, including the one in a session of its own, are gone.
    # (The script's own text, in the listing, has the words but no number.)
    assert not re.search(r"left running: \d", output), output
    # Positive controls: a failing check keeps its status and runs once, a good one passes.
    assert "status failing: 7" in output, output
    assert "fine\nstatus fine: 0" in output, output
    # Two tries of the hung check wrote two pids each, the failing one one.
    assert "checks started: 5" in output, output
