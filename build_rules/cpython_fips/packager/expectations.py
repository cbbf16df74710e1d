"""What a release must satisfy: the data the packager validates against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

# Shared libraries a Linux distribution's binaries may need: glibc's own (as in
# python-build-standalone's allow-list), and the distribution's libpython.
ALLOWED_NEEDED_LINUX = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libc.so.6",
        "libcrypt.so.1",
        "libdl.so.2",
        "libm.so.6",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
    }
)
ALLOWED_NEEDED_PREFIXES = ("libpython3.",)

# The ELF machine (pyelftools' name of e_machine) of each target architecture: every ELF file of
# a distribution must be built for its target, which a cross build could get wrong unnoticed.
ELF_MACHINES = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}


def elf_machine(target_triple: str) -> str:
    architecture = target_triple.split("-", 1)[0]
    if architecture not in ELF_MACHINES:
        raise ValueError(f"no ELF machine is known for the target {target_triple}")
    return ELF_MACHINES[architecture]


# Symbol name prefixes of OpenSSL's API: python and libpython must not export any of them, or
# an extension module with its own OpenSSL could bind to ours (or ours to its).
OPENSSL_SYMBOL_PREFIXES = (
    "SSL_",
    "SSL3_",
    "TLS_",
    "DTLS_",
    "EVP_",
    "OPENSSL_",
    "OSSL_",
    "ossl_",
    "CRYPTO_",
    "X509_",
    "BIO_",
    "BN_",
    "RSA_",
    "EC_",
    "ERR_",
    "PEM_",
    "ASN1_",
    "HMAC_",
    "RAND_",
    "i2d_",
    "d2i_",
)
# The FIPS provider is OpenSSL: it exports OSSL_provider_init by design.
FIPS_MODULE = "share/ssl/ossl-modules/fips.so"
FIPS_MODULE_CONFIG = "share/ssl/fipsmodule.cnf"
# The key OpenSSL's FIPS provider uses for its own integrity MAC (HMAC-SHA256).
FIPS_MODULE_MAC_KEY = "f4556650ac31d35461610bac4ed81b1a181b2d8a43ea2854cbae22ca74560813"

# File names that hold a component's licence, at the top of its source archive.
LICENSE_FILE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE")

# Left out of the install_only archives, besides the test packages (listed in PYTHON.json) and
# the test extension modules (ModuleExpectations.test_patterns): the static libpython.
INSTALL_ONLY_EXCLUDED_GLOBS = ("lib/python3.*/config-*/libpython*.a",)


@dataclass(frozen=True)
class ModuleExpectations:
    """The extension modules a distribution must have, and its test modules: the `cpython`
    target's `extension_modules` file (sources/cpython/extension-modules.txt; see its header),
    which the build script and the runtime checks read too."""

    # Linked into libpython.
    builtin: Tuple[str, ...]
    # Built in or in lib-dynload (the built-in ones included).
    required: Tuple[str, ...]
    # Shell globs naming test modules.
    test_patterns: Tuple[str, ...]

    @classmethod
    def parse(cls, text: str, python_version: Tuple[int, ...]) -> "ModuleExpectations":
        """The expectations of CPython `python_version` (a line's `before=X.Y` leaves it out of
        X.Y and later)."""
        by_kind: Dict[str, List[str]] = {"builtin": [], "required": [], "test": []}
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            condition = fields[2] if len(fields) == 3 else ""
            before = condition[len("before=") :]
            if (
                len(fields) not in (2, 3)
                or fields[1] not in by_kind
                or (condition and not (condition.startswith("before=") and before))
            ):
                raise ValueError(
                    f"line {number}: {line.strip()!r}: expected `<module> <kind> "
                    f"[before=X.Y]`, the kind one of {', '.join(by_kind)}"
                )
            if before and python_version[:2] >= tuple(int(part) for part in before.split(".")):
                continue
            by_kind[fields[1]].append(fields[0])
        builtin = tuple(by_kind["builtin"])
        return cls(builtin, builtin + tuple(by_kind["required"]), tuple(by_kind["test"]))

    def install_only_excluded_globs(self) -> Tuple[str, ...]:
        """Relative to the install tree: the test modules' shared libraries, and the static
        libpython."""
        return (
            *(f"lib/python3.*/lib-dynload/{pattern}.*" for pattern in self.test_patterns),
            *INSTALL_ONLY_EXCLUDED_GLOBS,
        )
