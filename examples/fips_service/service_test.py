"""These tests prove which interpreter runs the monorepo's code: this repository's CPython 3.10
distribution (`[cpython-fips-provider]` in pants.toml), with its OpenSSL, in FIPS mode."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys

import pytest

from examples.fips_service import service

# The pins of the distribution (sources/cpython/BUILD, sources/openssl/BUILD).
CPYTHON_VERSION = "3.10.5"
OPENSSL_VERSION = "OpenSSL 3.5.7 "


def test_runs_on_our_interpreter() -> None:
    assert sys.version.split()[0] == CPYTHON_VERSION
    assert ssl.OPENSSL_VERSION.startswith(OPENSSL_VERSION), ssl.OPENSSL_VERSION
    # Unpacked by the provider into its named cache, from the distribution's install_only archive.
    assert "/cpython_fips_interpreters/" in os.path.realpath(sys.executable)
    # Our build: the static interpreter (no libpython loaded), FIPS files beside it.
    with open("/proc/self/maps") as maps:
        assert "libpython" not in maps.read()
    assert os.path.isfile(os.path.join(sys.base_prefix, "share/ssl/ossl-modules/fips.so"))


def test_fips_mode_is_on() -> None:
    assert service.environment()["fips_mode"] is True
    assert os.environ["OPENSSL_CONF"].endswith("/share/ssl/openssl-fips.cnf")


def test_md5_for_security_is_refused() -> None:
    with pytest.raises(ValueError):
        hashlib.md5(b"data")
    # Positive control: the same hash, declared as not used for security, works.
    assert service.legacy_checksum(b"data") == "8d777f385d3dfec8815d20f7496026dc"


def test_approved_algorithms_work() -> None:
    tag = service.sign(b"k", b"message")
    assert service.verify(b"k", b"message", tag)
    assert not service.verify(b"k", b"other message", tag)
    assert service.fingerprint(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_tls_offers_only_approved_suites() -> None:
    ciphers = {cipher["name"] for cipher in service.server_context().get_ciphers()}
    assert ciphers and not any("CHACHA20" in name for name in ciphers), ciphers


def test_subprocesses_inherit_fips_mode() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import hashlib; hashlib.md5(b'x')"], capture_output=True, text=True
    )
    assert child.returncode != 0 and "ValueError" in child.stderr, child.stderr
