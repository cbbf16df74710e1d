"""Runs CPython's own regression tests with the interpreter under test (its `test` package).

    python3 regression_tests.py [--fips] [--emulation=qemu-user]

Without --fips: the tests of DEFAULT_MODE. With --fips (after OPENSSL_CONF and OPENSSL_MODULES
are set as the README says): those of FIPS_MODE. Tests that cannot work in the runtime checks'
container are excluded by id, each with its reason (EXCLUDED, and under qemu-user
EXCLUDED_UNDER_QEMU_USER); tests that need a resource the
container does not have (network, a terminal...) are skipped by the test suite itself, and every
skip is reported with its reason. Each test file runs in a regrtest process of its own, as many at
a time as there are CPUs (JOBS). Under qemu-user, a test file that fails or hangs runs once more
(QEMU_USER_OPTIONS). Exits non-zero if regrtest did for any test file: a test failed, or no test
of the file ran.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from typing import IO, Dict, List

# The slowest first, so that the last files to start are short ones (under qemu-user here, one
# file at a time per CPU: test_subprocess 113 s, test_socket 62 s, test_pickle, test_os, test_capi
# and test_ssl about 30 s each, most of the others under 15 s).
DEFAULT_MODE = [
    "test_subprocess",
    "test_socket",
    "test_venv",
    "test_embed",
    "test_pickle",
    "test_os",
    "test_capi",
    "test_ssl",
    "test_ctypes",
    "test_json",
    "test_decimal",
    "test_hashlib",
    "test_hmac",
    "test_sysconfig",
    "test_site",
    "test_sqlite3",
    "test_zlib",
    "test_lzma",
    "test_bz2",
    "test_uuid",
    "test_zoneinfo",
    "test_readline",
    "test_getpath",
]
FIPS_MODE = ["test_ssl", "test_hashlib", "test_hmac"]
# Tests named otherwise before a version: {name: (first version with that name, older name)}.
RENAMED = {"test_sqlite3": ((3, 11), "test_sqlite")}
# Tests that older versions do not have: {name: first version}.
ADDED_IN = {"test_getpath": (3, 11)}

# Test ids (fnmatch patterns of regrtest's --ignorefile) that cannot pass in the runtime checks'
# container, through no fault of the distribution, and why.
EXCLUDED = {
    # test.test_ctypes.test_find from 3.12, ctypes.test.test_find before.
    "*test_find.FindLibraryLinux.test_find_library_with_gcc": (
        "ctypes.util finds libraries with gcc, and the container has no compiler"
    ),
    "*test_find.FindLibraryLinux.test_find_library_with_ld": (
        "ctypes.util finds libraries with ld, and the container has no linker"
    ),
    "test.test_socket.GeneralModuleTests.testGetServBy": (
        "the container has no /etc/services (Debian's netbase), so no service names resolve"
    ),
    "test.test_socket.GeneralModuleTests.testGetaddrinfo": (
        "getaddrinfo(host, 'http') needs /etc/services, which the container does not have"
    ),
    "test.test_pickle.*.test_unpickle_module_race": (
        "its cleanup (import_helper.forget) unlinks <module>.pyc in every sys.path directory, "
        "which fails with EROFS on the install tree, mounted read-only in the container"
    ),
}

# Test ids that fail only because the container runs under qemu-user (the aarch64 archives on an
# x86_64 host), where system calls and /proc are emulated; they pass on the target hardware.
EXCLUDED_UNDER_QEMU_USER = {
    "test.test_socket.Recvmsg*SCMRightsStreamTest.testCmsgTrunc*": (
        "qemu-user's recvmsg() does not truncate SCM_RIGHTS control data as the kernel does"
    ),
    "test.test_os.ForkTests.test_fork_warns_when_non_python_thread_exists": (
        "os.fork() counts threads in /proc/self/stat, whose thread count qemu-user does not "
        "report"
    ),
    "test.test_subprocess.POSIXProcessTestCase.test_restore_signals": (
        "it reads the ignored signals from /proc/<pid>/status, which qemu-user does not report "
        "for the guest"
    ),
    "test.test_os*.TimerfdTests.test_timerfd_initval": (
        "it requires that less than 5 ms pass between timerfd_settime() and timerfd_gettime(); "
        "an emulated process on a loaded machine took 6-11 ms (the aarch64 pgo+lto checks, "
        "beside two other emulated runs)"
    ),
}
# Tests of older versions that expect of OpenSSL what 3.5 no longer does: {id: (the first version
# whose test passes here, why)}.
_ABORT_SEEN_AS_SYSCALL_ERROR = (
    "when the server aborts the connection, OpenSSL 3.5 may report the reset before the server's "
    "alert, as a system-call error ('[SYS] unknown error' from this version's _ssl.c), which the "
    "test does not expect; 3.13's _ssl.c raises ConnectionResetError there and its test accepts "
    "it (seen to fail in some runs only)"
)
EXCLUDED_BEFORE = {
    "test.test_ssl.TestPostHandshakeAuth.test_pha_required_nocert": (
        (3, 13),
        _ABORT_SEEN_AS_SYSCALL_ERROR,
    ),
    "test.test_ssl.ThreadedTests.test_wrong_cert_tls13": ((3, 13), _ABORT_SEEN_AS_SYSCALL_ERROR),
}

# A test that hangs is a failure, not a stuck build step.
TIMEOUT_SECONDS = 900
# Under qemu-user a test process can deadlock in the emulator itself (runtime-checks.sh, which
# also limits this whole run to 15 minutes there). Then a test file that fails runs once more on
# its own (regrtest's -w; the report says so), and the per-test timeout is shorter, so that a hung
# test ends its file's run (regrtest exits) well within that limit, which then tries the whole run
# again: test_ssl, among the slowest files, takes 20-30 s alone under emulation here.
QEMU_USER_TIMEOUT_SECONDS = 300
QEMU_USER_OPTIONS = ["-w"]
# Each test file runs in a regrtest process of its own, as many at a time as there are CPUs,
# started by this script rather than by regrtest's -j: regrtest starts its workers from threads of
# its main process, and under qemu-user a child forked from a multi-threaded emulated process can
# deadlock in the emulator before it executes anything (seen in CI's aarch64 checks, twice in a
# row: the child kept its parent's command line, waiting on a futex, and regrtest's per-test
# timeout, which runs in the worker, never started). This script has no threads.
JOBS = os.cpu_count() or 1
# How often the script looks for test processes that have ended.
POLL_SECONDS = 0.5


def report(junit_xmls: List[str]) -> None:
    """The failed test cases with their messages, and how many were skipped, by reason, from
    regrtest's JUnit reports."""
    reasons: collections.Counter = collections.Counter()
    for junit_xml in junit_xmls:
        for case in ElementTree.parse(junit_xml).iter("testcase"):
            for outcome in case:
                message = (outcome.get("message") or outcome.text or "").strip()
                if outcome.tag in ("failure", "error"):
                    print(f"{outcome.tag}: {case.get('name')}: {message[-2000:]}")
                elif outcome.tag == "skipped":
                    reasons[message or "no reason given"] += 1
    print(f"skipped test cases: {sum(reasons.values())}")
    for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:5d}  {reason}")


def junit_path(scratch: str, test: str) -> str:
    """Where regrtest writes the JUnit report of one test file's run."""
    return os.path.join(scratch, f"{test}.xml")


@dataclasses.dataclass
class TestFileRun:
    """One test file's regrtest process, its output going to a file in the scratch directory."""

    test: str
    process: subprocess.Popen
    output: IO[str]
    started: float


def run_test_files(regrtest: List[str], tests: List[str], scratch: str) -> Dict[str, int]:
    """Runs each test file with `regrtest` (its command line, but for the output options and the
    test's name), JOBS at a time; prints each file's output once it has ended. Returns each
    file's exit status."""
    pending = list(tests)
    running: List[TestFileRun] = []
    statuses: Dict[str, int] = {}
    while pending or running:
        while pending and len(running) < JOBS:
            test = pending.pop(0)
            command = [*regrtest, "--junit-xml", junit_path(scratch, test), test]
            print("$ " + " ".join(command), flush=True)
            output = open(os.path.join(scratch, f"{test}.log"), "w+")
            process = subprocess.Popen(
                command, cwd=scratch, stdout=output, stderr=subprocess.STDOUT
            )
            running.append(TestFileRun(test, process, output, time.monotonic()))
        time.sleep(POLL_SECONDS)
        for run in [run for run in running if run.process.poll() is not None]:
            running.remove(run)
            statuses[run.test] = run.process.returncode
            seconds = time.monotonic() - run.started
            run.output.seek(0)
            print(f"--- {run.test}: regrtest exited {run.process.returncode} after {seconds:.0f} s")
            print(run.output.read(), flush=True)
            run.output.close()
    return statuses


def main() -> int:
    fips = "--fips" in sys.argv[1:]
    qemu_user = "--emulation=qemu-user" in sys.argv[1:]
    tests = [
        RENAMED[test][1] if test in RENAMED and sys.version_info < RENAMED[test][0] else test
        for test in (FIPS_MODE if fips else DEFAULT_MODE)
        if sys.version_info >= ADDED_IN.get(test, (3,))
    ]
    excluded = {
        **EXCLUDED,
        **(EXCLUDED_UNDER_QEMU_USER if qemu_user else {}),
        **{
            test_id: reason
            for test_id, (fixed_in, reason) in EXCLUDED_BEFORE.items()
            if sys.version_info < fixed_in
        },
    }
    # The suite writes scratch files to its working directory: a fresh one, outside the tree.
    with tempfile.TemporaryDirectory() as scratch:
        ignore_file = os.path.join(scratch, "excluded.txt")
        with open(ignore_file, "w") as ignored:
            ignored.writelines(f"{test_id}\n" for test_id in excluded)
        for test_id, reason in excluded.items():
            print(f"excluded: {test_id}: {reason}")
        regrtest = [
            sys.executable,
            "-m",
            "test",
            f"--timeout={QEMU_USER_TIMEOUT_SECONDS if qemu_user else TIMEOUT_SECONDS}",
            *(QEMU_USER_OPTIONS if qemu_user else []),
            "--ignorefile",
            ignore_file,
        ]
        statuses = run_test_files(regrtest, tests, scratch)
        junit_xmls = [junit_path(scratch, test) for test in tests]
        report([junit_xml for junit_xml in junit_xmls if os.path.exists(junit_xml)])
    failed = {test: status for test, status in statuses.items() if status != 0}
    mode = "FIPS mode" if fips else "default mode"
    print(
        f"{'FAIL' if failed else 'PASS'}: CPython's regression tests, {mode} "
        f"({len(tests)} test files; regrtest exited non-zero for {failed or 'none'})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
