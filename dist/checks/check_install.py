"""Checks an installed interpreter from the inside: run it with the interpreter under test.

    python3 check_install.py EXTENSION_MODULES EXPECTED_OPENSSL_VERSION [--fips]

Checks: the extension modules that EXTENSION_MODULES (the `cpython` target's list, e.g.
sources/cpython/extension-modules.txt) requires import, and those it says are built in are; ssl
uses our
OpenSSL; the configuration names no path of the build (so extension builds work); venv and pip
work. With --fips (after OPENSSL_CONF and OPENSSL_MODULES are set as the README says): MD5 is
refused, SHA-256 works. Prints one line per check; exits 1 if any failed.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import sysconfig
import tempfile

# Where the build found its inputs, and its prefix (a whole path component: the tree may well
# be unpacked under some other .../install): none may reach a tool that builds extension modules.
BUILD_PATHS = re.compile(
    r"/in/deps|/in/openssl|/tmp/build|(?:^|[\s=:,'\"]|-[A-Za-z])/install(?=/|\s|$)"
)
BUILD_VARIABLES = (
    "CC", "CXX", "CFLAGS", "CPPFLAGS", "LDFLAGS", "LDSHARED", "CCSHARED", "LIBS", "INCLUDEPY",
    "LIBDIR", "LIBPL", "BINDIR", "CONFINCLUDEPY", "BLDSHARED", "LINKFORSHARED",
)
# SHA-256 of "abc" (FIPS 180-2, appendix B.1).
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

failures = 0


def check(description: str, ok: bool, detail: object = "") -> None:
    global failures
    print(f"{'PASS' if ok else 'FAIL'}: {description}" + (f" ({detail})" if detail else ""))
    failures += not ok


def read_modules(path: str) -> dict:
    """{kind: [module, ...]} from the list's `<module> <kind>` lines."""
    by_kind: dict = {}
    with open(path) as listing:
        for line in listing:
            fields = line.split()
            if len(fields) == 2 and not fields[0].startswith("#"):
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
    check(f"the {len(builtin + required)} required extension modules import", not broken,
          "; ".join(broken))
    # One libcrypto per process: the OpenSSL modules must be linked into libpython (3.11 builds
    # some others, such as _ctypes, as shared libraries).
    not_built_in = [name for name in builtin if name not in sys.builtin_module_names]
    check(f"{', '.join(builtin)} are linked into libpython", not not_built_in, not_built_in)


def check_openssl(expected: str) -> None:
    import ssl
    check(f"ssl uses OpenSSL {expected}", f"OpenSSL {expected} " in ssl.OPENSSL_VERSION + " ",
          ssl.OPENSSL_VERSION)


def check_relocated() -> None:
    prefix = sys.prefix
    check("LIBDIR is under the interpreter's own prefix",
          sysconfig.get_config_var("LIBDIR") == os.path.join(prefix, "lib"),
          f"{sysconfig.get_config_var('LIBDIR')} vs {prefix}")
    leaks = [f"{name}={sysconfig.get_config_var(name)!r}" for name in BUILD_VARIABLES
             if BUILD_PATHS.search(str(sysconfig.get_config_var(name) or ""))]
    check("the build configuration names no path of the build", not leaks, "; ".join(leaks))


def check_venv_and_pip() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        venv = os.path.join(scratch, "venv")
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        check("python -m venv works", made.returncode == 0, made.stderr.strip()[-500:])
        if made.returncode == 0:
            pip = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "--version"],
                                 capture_output=True, text=True)
            check("pip runs in the venv", pip.returncode == 0,
                  (pip.stdout + pip.stderr).strip()[-500:])


def check_fips() -> None:
    import _hashlib
    try:
        _hashlib.new("md5")
        refused = False
    except ValueError:
        refused = True
    check("FIPS: OpenSSL refuses MD5", refused)
    try:
        digest = _hashlib.new("sha256", b"abc").hexdigest()
    except ValueError as error:
        digest = f"refused: {error}"
    # Only the fips provider can supply SHA-256 here (base has no digests), so this also shows
    # that the provider loaded and passed its self-test.
    check("FIPS: SHA-256 works and is right (the fips provider is active)",
          digest == SHA256_ABC, digest)


def main() -> int:
    modules_path, expected_openssl, *flags = sys.argv[1:]
    print(f"Checking {sys.executable} ({sys.version.split()[0]}, prefix {sys.prefix})")
    check_modules(read_modules(modules_path))
    check_openssl(expected_openssl)
    check_relocated()
    check_venv_and_pip()
    if "--fips" in flags:
        check_fips()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
