"""A small service of the monorepo: signs and checks messages, and serves them over TLS.

It runs on the interpreter this repository builds (`[cpython-fips-provider]`): hashlib, hmac and
ssl come from its OpenSSL, in FIPS mode where the provider turns it on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import sys


def sign(key: bytes, message: bytes) -> str:
    """An HMAC-SHA-256 tag of `message`: FIPS-approved, so it works in either mode."""
    return hmac.new(key, message, "sha256").hexdigest()


def verify(key: bytes, message: bytes, tag: str) -> bool:
    return hmac.compare_digest(sign(key, message), tag)


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def legacy_checksum(data: bytes) -> str:
    """MD5, as an old protocol needs it: refused in FIPS mode unless it is declared as not used
    for security."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def server_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


def environment() -> dict:
    """What the service runs on: the interpreter, its OpenSSL, and whether FIPS mode is on."""
    import _hashlib  # type: ignore[import]  # OpenSSL's hashlib, in the interpreter itself

    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "openssl": ssl.OPENSSL_VERSION,
        "fips_mode": bool(_hashlib.get_fips_mode()),
    }


def main() -> None:
    key = b"service key"
    tag = sign(key, b"hello")
    print(json.dumps({**environment(), "tag": tag, "verified": verify(key, b"hello", tag)}))


if __name__ == "__main__":
    main()
