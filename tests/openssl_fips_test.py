"""OpenSSL with its FIPS provider, built by the real `./pants package`, then tested in a container
from another path than the build's, as the relocated tree users get."""

from __future__ import annotations

import hashlib
import subprocess

from pants_launcher_test import REPO, pants

TARGET = "sources/openssl:linux-x86_64"
PROCESS_STARTED = f"Starting: Build {TARGET}"


def toolchain_image() -> str:
    lock = (REPO / "sources/toolchain/linux-x86_64.lock").read_bytes()
    return f"cpython-fips/toolchain-linux-x86_64:{hashlib.sha256(lock).hexdigest()[:32]}"


def test_openssl_builds_and_its_fips_provider_works_relocated() -> None:
    # A cold build takes about ten minutes on two busy cores.
    built = pants("package", TARGET, timeout=2100)
    assert built.returncode == 0, built.stderr[-5000:]
    tree = REPO / "artifacts/openssl/linux-x86_64"
    for path in ("lib/libssl.a", "lib/libcrypto.a", "lib/ossl-modules/fips.so",
                 "ssl/fipsmodule.cnf", "ssl/openssl-fips.cnf", "include/openssl/ssl.h"):
        assert (tree / path).is_file(), path

    checked = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "none",
            "-v", f"{tree}:/opt/elsewhere/openssl:ro",
            "-v", f"{REPO}/sources/openssl/test-fips.sh:/in/test-fips.sh:ro",
            "-e", "OPENSSL_TREE=/opt/elsewhere/openssl",
            toolchain_image(), "bash", "-euo", "pipefail", "/in/test-fips.sh",
        ],
        capture_output=True, text=True, timeout=600,
    )
    report = checked.stdout + checked.stderr
    assert checked.returncode == 0, report
    assert "FAIL" not in report
    assert report.count("PASS") >= 5, report

    # Packaging again executes nothing: the build comes from Pants' cache.
    again = pants("package", TARGET)
    assert again.returncode == 0, again.stderr[-5000:]
    assert PROCESS_STARTED not in again.stderr
