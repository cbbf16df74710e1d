"""What a release must satisfy: the data the packager validates against."""

from __future__ import annotations

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

# Extension modules linked into libpython in every distribution: OpenSSL's users, so that there
# is one libcrypto per process.
EXPECTED_BUILTIN_MODULES = ("_hashlib", "_ssl")
# Extension modules every distribution has, built in or in lib-dynload: the ones that need a
# bundled library, and a few core ones as a sanity check.
EXPECTED_MODULES = (
    "_bz2", "_ctypes", "_curses", "_decimal", "_hashlib", "_json", "_lzma", "_pickle", "_socket",
    "_sqlite3", "_ssl", "_struct", "_uuid", "_zoneinfo", "readline", "select", "zlib",
)

# Symbol name prefixes of OpenSSL's API: python and libpython must not export any of them, or
# an extension module with its own OpenSSL could bind to ours (or ours to its).
OPENSSL_SYMBOL_PREFIXES = (
    "SSL_", "SSL3_", "TLS_", "DTLS_", "EVP_", "OPENSSL_", "OSSL_", "ossl_", "CRYPTO_", "X509_",
    "BIO_", "BN_", "RSA_", "EC_", "ERR_", "PEM_", "ASN1_", "HMAC_", "RAND_", "i2d_", "d2i_",
)
# The FIPS provider is OpenSSL: it exports OSSL_provider_init by design.
FIPS_MODULE = "share/ssl/ossl-modules/fips.so"
FIPS_MODULE_CONFIG = "share/ssl/fipsmodule.cnf"
# The key OpenSSL's FIPS provider uses for its own integrity MAC (HMAC-SHA256).
FIPS_MODULE_MAC_KEY = "f4556650ac31d35461610bac4ed81b1a181b2d8a43ea2854cbae22ca74560813"

# File names that hold a component's licence, at the top of its source archive.
LICENSE_FILE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE")

# Left out of the install_only archives: test packages are listed in PYTHON.json, and these
# name patterns (relative to the install tree) cover the test extension modules and the
# static libpython.
INSTALL_ONLY_EXCLUDED_GLOBS = (
    "lib/python3.*/lib-dynload/_test*",
    "lib/python3.*/lib-dynload/_ctypes_test*",
    "lib/python3.*/lib-dynload/_xxtestfuzz*",
    "lib/python3.*/lib-dynload/xx*",
    "lib/python3.*/config-*/libpython*.a",
)
