"""Checks an installed interpreter from the inside: run it with the interpreter under test.

    python3 check_install.py EXTENSION_MODULES EXPECTED_OPENSSL_VERSION [--fips] [--emulated]

Checks: the extension modules that EXTENSION_MODULES (the `cpython` target's list, e.g.
sources/cpython/extension-modules.txt) requires import, and those it says are built in are; ssl
uses our OpenSSL; no configuration variable names a path of the build (so extension builds
work); started with an argv[0] that names no file, it still finds its prefix; venv and pip
work; the interpreter carries libpython (`venv --copies` works); the os functions of glibc
versions after the archives' floor (memfd_create, copy_file_range...) work. With --fips (after
OPENSSL_CONF and OPENSSL_MODULES are set as the README says): every hash used for security comes
from the FIPS provider or raises ValueError (MD5, BLAKE2, HMAC-MD5...), usedforsecurity=False
still works, TLS offers no ChaCha20; without --fips, all of them work. Prints one line per check;
exits 1 if any failed.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import importlib
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile
from typing import Callable

# Where the build found its inputs (/in/...), its build tree (/tmp/build), a Pants sandbox, and
# its prefix (a whole path component: the tree may well be unpacked under some other
# .../install): no configuration variable may name one.
BUILD_PATHS = re.compile(
    r"/in/|/tmp/build|pants-sandbox|(?:^|[\s=:,'\"]|-[A-Za-z])/install(?=/|\s|$)"
)
# SHA-256 of "abc" (FIPS 180-2, appendix B.1).
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

failures = 0


def check(description: str, ok: bool, detail: object = "") -> None:
    global failures
    print(f"{'PASS' if ok else 'FAIL'}: {description}" + (f" ({detail})" if detail else ""))
    failures += not ok


def read_modules(path: str) -> dict:
    """{kind: [module, ...]} from the list's `<module> <kind> [before=X.Y]` lines, for this
    interpreter's version."""
    by_kind: dict = {}
    with open(path) as listing:
        for line in listing:
            fields = line.split()
            if len(fields) not in (2, 3) or fields[0].startswith("#"):
                continue
            if len(fields) == 3:
                before = tuple(int(part) for part in fields[2].split("=", 1)[1].split("."))
                if sys.version_info[:2] >= before:
                    continue
            by_kind.setdefault(fields[1], []).append(fields[0])
    return by_kind


def check_modules(modules: dict) -> None:
    builtin, required = modules.get("builtin", []), modules.get("required", [])
    check("the list names the modules to check", bool(builtin and required), modules)
    broken = []
    # The extension modules themselves: `decimal` would fall back to `_pydecimal` without them.
    for name in builtin + required:
        try:
            importlib.import_module(name)
        except Exception as error:  # any failure to import is a finding, not a crash
            broken.append(f"{name}: {error}")
    check(
        f"the {len(builtin + required)} required extension modules import",
        not broken,
        "; ".join(broken),
    )
    # One libcrypto per process: the OpenSSL modules must be linked into libpython (3.11 builds
    # some others, such as _ctypes, as shared libraries).
    not_built_in = [name for name in builtin if name not in sys.builtin_module_names]
    check(f"{', '.join(builtin)} are linked into libpython", not not_built_in, not_built_in)


def check_openssl(expected: str) -> None:
    import ssl

    check(
        f"ssl uses OpenSSL {expected}",
        f"OpenSSL {expected} " in ssl.OPENSSL_VERSION + " ",
        ssl.OPENSSL_VERSION,
    )


def check_relocated() -> None:
    prefix = sys.prefix
    check(
        "LIBDIR is under the interpreter's own prefix",
        sysconfig.get_config_var("LIBDIR") == os.path.join(prefix, "lib"),
        f"{sysconfig.get_config_var('LIBDIR')} vs {prefix}",
    )
    variables = sysconfig.get_config_vars()
    # The interpreter's own prefix may be anywhere, even below /in (the runtime checks).
    leaks = [
        f"{name}={value!r}"
        for name, value in sorted(variables.items())
        if BUILD_PATHS.search(str(value).replace(prefix, "<prefix>"))
    ]
    check(
        f"none of the {len(variables)} configuration variables names a path of the build",
        not leaks,
        "; ".join(leaks),
    )


def check_bare_argv0() -> None:
    """Started with an argv[0] that names no file (exec -a, subprocess's executable=), the
    interpreter still finds its own prefix (patches/3.13/0002), not the build's --prefix."""
    run = subprocess.run(
        ["no-such-python", "-c", "import sys, ssl; print(sys.prefix)"],
        executable=sys.executable,
        capture_output=True,
        text=True,
    )
    check(
        "an interpreter run with an argv[0] that names no file finds its prefix",
        run.returncode == 0
        and os.path.realpath(run.stdout.strip()) == os.path.realpath(sys.prefix),
        (run.stdout + run.stderr).strip()[-500:],
    )


def check_venv_and_pip() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        venv = os.path.join(scratch, "venv")
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        check("python -m venv works", made.returncode == 0, made.stderr.strip()[-500:])
        if made.returncode == 0:
            pip = subprocess.run(
                [os.path.join(venv, "bin", "python"), "-m", "pip", "--version"],
                capture_output=True,
                text=True,
            )
            check(
                "pip runs in the venv",
                pip.returncode == 0,
                (pip.stdout + pip.stderr).strip()[-500:],
            )


def check_build_configuration() -> None:
    """What configure decides by running test programs, which a cross build must be told: a
    wrong guess makes a slower or different interpreter, not a failing one."""
    print(f"    running on {platform.machine()}")
    check(
        "str hashing uses SipHash (configure found unaligned access allowed)",
        sys.hash_info.algorithm.startswith("siphash"),
        sys.hash_info.algorithm,
    )
    check(
        "the interpreter dispatches with computed gotos",
        sysconfig.get_config_var("HAVE_COMPUTED_GOTOS") == 1,
        sysconfig.get_config_var("HAVE_COMPUTED_GOTOS"),
    )


def works(description: str, call: Callable[[], object], expected: object, emulated: bool) -> None:
    """A check of one system call. Under qemu-user (`emulated`), an ENOSYS is the emulator's,
    which lacks some calls (qemu 7.2 has no pwritev2): what the archives give, as documented, on
    any kernel without the call. Natively, only the expected result passes."""
    try:
        outcome = call()
    except OSError as error:
        if error.errno == errno.ENOSYS and emulated:
            print(f"SKIP: {description}: the emulator lacks the system call (ENOSYS)")
            return
        outcome = error
    check(description, outcome == expected, outcome)


def check_functions_after_the_glibc_floor(emulated: bool) -> None:
    """The os functions of glibc versions after the archives' floor (2.17) exist and work here:
    the interpreter makes the system calls itself (the sysroot's compatibility functions, or
    CPython's own syscall()), whatever the glibc, on a kernel that has them."""
    works("os.getrandom works", lambda: len(os.getrandom(16)), 16, emulated)
    descriptor = os.memfd_create("check", os.MFD_CLOEXEC)
    copy = os.memfd_create("copy")
    data = b"after the floor"
    buffer = bytearray(len(data))
    try:
        check("os.memfd_create works", os.write(descriptor, data) == len(data))
        works(
            "os.pwritev with flags works",
            lambda: os.pwritev(descriptor, [data], 0, os.RWF_DSYNC),
            len(data),
            emulated,
        )
        works(
            "os.copy_file_range works",
            lambda: os.copy_file_range(descriptor, copy, len(data), 0, 0),
            len(data),
            emulated,
        )
        os.pwrite(copy, data, 0)
        works(
            "os.preadv works",
            lambda: (os.preadv(copy, [buffer], 0), bytes(buffer)),
            (len(data), data),
            emulated,
        )
    finally:
        os.close(descriptor)
        os.close(copy)

    def pidfd_open() -> bool:
        pidfd = os.pidfd_open(os.getpid())
        os.close(pidfd)
        return pidfd >= 0

    works("os.pidfd_open works", pidfd_open, True, emulated)


def check_static_interpreter() -> None:
    """The interpreter carries libpython: a copy of it runs anywhere."""
    with open("/proc/self/maps") as maps:
        loaded = sorted({line.split()[-1] for line in maps if "libpython" in line})
    check("the interpreter does not load libpython*.so", not loaded, loaded)
    with tempfile.TemporaryDirectory() as scratch:
        venv = os.path.join(scratch, "venv")
        made = subprocess.run(
            [sys.executable, "-m", "venv", "--copies", "--without-pip", venv],
            capture_output=True,
            text=True,
        )
        check("python -m venv --copies works", made.returncode == 0, made.stderr.strip()[-500:])
        if made.returncode == 0:
            copy = os.path.join(venv, "bin", "python")
            run = subprocess.run(
                [copy, "-c", "import ssl, sqlite3, sys; print(sys.prefix)"],
                capture_output=True,
                text=True,
            )
            check(
                "the venv's copied interpreter runs and imports ssl and sqlite3",
                run.returncode == 0 and run.stdout.strip() == venv,
                (run.stdout + run.stderr).strip()[-500:],
            )


# Calls whose hash is used for security (the default): in FIPS mode they must come from the FIPS
# provider or raise ValueError, never from CPython's own code (sources/openssl/FIPS.md).
REFUSED_IN_FIPS_MODE = {
    "hashlib.md5(b'x')": lambda: hashlib.md5(b"x"),
    "hashlib.new('md5')": lambda: hashlib.new("md5"),
    "hashlib.blake2b(b'x')": lambda: hashlib.blake2b(b"x"),
    "hashlib.blake2s(b'x')": lambda: hashlib.blake2s(b"x"),
    "hashlib.new('blake2b')": lambda: hashlib.new("blake2b"),
    "hmac.new(b'k', b'x', 'md5')": lambda: hmac.new(b"k", b"x", "md5"),
    "hmac.new(b'k', b'x', hashlib.md5)": lambda: hmac.new(b"k", b"x", hashlib.md5),
    "hmac.digest(b'k', b'x', 'md5')": lambda: hmac.digest(b"k", b"x", "md5"),
    "hmac.new(b'k', b'x', 'blake2b')": lambda: hmac.new(b"k", b"x", "blake2b"),
    "hashlib.pbkdf2_hmac('md5', ...)": lambda: hashlib.pbkdf2_hmac("md5", b"p", b"s" * 16, 1000),
}
# Not for security (checksums, cache keys): served by a non-FIPS provider on request, in FIPS mode
# too; and the FIPS-approved hashes. Each: the call, and its digest of b"abc" (RFC 1321, FIPS 180-2,
# FIPS 202, RFC 7693 test vectors).
ALLOWED_IN_FIPS_MODE = {
    "hashlib.md5(b'abc', usedforsecurity=False)": (
        lambda: hashlib.md5(b"abc", usedforsecurity=False),
        "900150983cd24fb0d6963f7d28e17f72",
    ),
    "hashlib.new('md5', b'abc', usedforsecurity=False)": (
        lambda: hashlib.new("md5", b"abc", usedforsecurity=False),
        "900150983cd24fb0d6963f7d28e17f72",
    ),
    "hashlib.sha1(b'abc', usedforsecurity=False)": (
        lambda: hashlib.sha1(b"abc", usedforsecurity=False),
        "a9993e364706816aba3e25717850c26c9cd0d89d",
    ),
    "hashlib.blake2s(b'abc', usedforsecurity=False)": (
        lambda: hashlib.blake2s(b"abc", usedforsecurity=False),
        "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    ),
    "hashlib.sha1(b'abc')": (
        lambda: hashlib.sha1(b"abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d",
    ),
    "hashlib.sha256(b'abc')": (lambda: hashlib.sha256(b"abc"), SHA256_ABC),
    "hashlib.sha3_256(b'abc')": (
        lambda: hashlib.sha3_256(b"abc"),
        "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    ),
}


def refused(call) -> str:
    """Empty if `call` raises ValueError, else what it returned."""
    try:
        result = call()
    except ValueError:
        return ""
    return f"returned {result!r}"


def digest_of(call) -> str:
    try:
        return call().hexdigest()
    except ValueError as error:
        return f"refused: {error}"


def import_output() -> str:
    """What `import hashlib, hmac` prints in a fresh interpreter (nothing, when it is right)."""
    run = subprocess.run(
        [sys.executable, "-c", "import hashlib, hmac"], capture_output=True, text=True
    )
    return (run.stdout + run.stderr).strip()


def check_fips() -> None:
    import _hashlib  # type: ignore[import]  # CPython's private C module: no type stubs

    check("FIPS: the default property query is fips=yes", _hashlib.get_fips_mode() == 1)
    printed = import_output()
    check("FIPS: import hashlib, hmac prints nothing", not printed, printed)
    for name, call in REFUSED_IN_FIPS_MODE.items():
        outcome = refused(call)
        check(f"FIPS: {name} raises ValueError", not outcome, outcome)
    # _hashlib's SHA-256 with the default query can only come from the fips provider, so this
    # also shows that the provider loaded and passed its self-test.
    digest = digest_of(lambda: _hashlib.new("sha256", b"abc"))
    check(
        "FIPS: SHA-256 works and is right (the fips provider is active)",
        digest == SHA256_ABC,
        digest,
    )
    for name, (call, expected) in ALLOWED_IN_FIPS_MODE.items():
        digest = digest_of(call)
        check(f"FIPS: {name} works and is right", digest == expected, digest)
    import ssl

    context = ssl.create_default_context()
    chacha = [c["name"] for c in context.get_ciphers() if "CHACHA20" in c["name"]]
    check("FIPS: ssl.create_default_context() offers no ChaCha20-Poly1305", not chacha, chacha)


def check_default_mode() -> None:
    """Outside FIPS mode, everything as upstream CPython."""
    import _hashlib

    check("default mode: FIPS mode is off", _hashlib.get_fips_mode() == 0)
    for name, call in REFUSED_IN_FIPS_MODE.items():
        outcome = refused(call)
        check(f"default mode: {name} works", bool(outcome), outcome or "raised ValueError")


def main() -> int:
    modules_path, expected_openssl, *flags = sys.argv[1:]
    print(f"Checking {sys.executable} ({sys.version.split()[0]}, prefix {sys.prefix})")
    check_modules(read_modules(modules_path))
    check_openssl(expected_openssl)
    check_relocated()
    check_bare_argv0()
    check_venv_and_pip()
    check_build_configuration()
    check_functions_after_the_glibc_floor("--emulated" in flags)
    check_static_interpreter()
    if "--fips" in flags:
        check_fips()
    else:
        check_default_mode()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
