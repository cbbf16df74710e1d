"""Runs CPython's own regression tests with the interpreter under test (its `test` package).

    python3 regression_tests.py [--fips] [--emulation=qemu-user]

Without --fips: the tests of DEFAULT_MODE. With --fips (after OPENSSL_CONF and OPENSSL_MODULES
are set as the README says): those of FIPS_MODE. Tests that cannot work in the runtime checks'
container are excluded by id, each with its reason (EXCLUDED, and under qemu-user
EXCLUDED_UNDER_QEMU_USER); tests that need a resource the
container does not have (network, a terminal...) are skipped by the test suite itself, and every
skip is reported with its reason. Under qemu-user, a test file that fails or hangs runs once more
(QEMU_USER_OPTIONS). Exits with the test runner's status: non-zero if a test failed, or if no
test ran.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

DEFAULT_MODE = [
    "test_hashlib",
    "test_hmac",
    "test_ssl",
    "test_venv",
    "test_sysconfig",
    "test_embed",
    "test_capi",
    "test_ctypes",
    "test_sqlite3",
    "test_zlib",
    "test_lzma",
    "test_bz2",
    "test_decimal",
    "test_uuid",
    "test_zoneinfo",
    "test_readline",
    "test_site",
    "test_getpath",
    "test_subprocess",
    "test_os",
    "test_socket",
    "test_json",
    "test_pickle",
]
FIPS_MODE = ["test_hashlib", "test_hmac", "test_ssl"]
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
# test ends the whole run (regrtest exits) well within that limit, which then tries it again:
# test_ssl, among the slowest files, takes 20-30 s alone under emulation here.
QEMU_USER_TIMEOUT_SECONDS = 300
QEMU_USER_OPTIONS = ["-w"]
# Natively, the test files run in parallel worker processes. Under qemu-user they run one after
# the other in regrtest's own process: a worker is started from a thread of the main process, and
# a child forked from a multi-threaded emulated process can deadlock in the emulator before it
# executes anything (seen in CI's aarch64 checks, twice in a row: the child kept its parent's
# command line, waiting on a futex, and regrtest's per-test timeout, which runs in the worker,
# never started).
NATIVE_OPTIONS = [f"-j{os.cpu_count() or 1}"]


def report(junit_xml: str) -> None:
    """The failed test cases with their messages, and how many were skipped, by reason, from
    regrtest's JUnit report."""
    reasons: collections.Counter = collections.Counter()
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
        junit_xml = os.path.join(scratch, "junit.xml")
        command = [
            sys.executable,
            "-m",
            "test",
            f"--timeout={QEMU_USER_TIMEOUT_SECONDS if qemu_user else TIMEOUT_SECONDS}",
            *(QEMU_USER_OPTIONS if qemu_user else NATIVE_OPTIONS),
            "--ignorefile",
            ignore_file,
            "--junit-xml",
            junit_xml,
            *tests,
        ]
        print("$ " + " ".join(command), flush=True)
        status = subprocess.run(command, cwd=scratch).returncode
        if os.path.exists(junit_xml):
            report(junit_xml)
    mode = "FIPS mode" if fips else "default mode"
    print(
        f"{'PASS' if status == 0 else 'FAIL'}: CPython's regression tests, {mode} "
        f"(regrtest exited {status})"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
