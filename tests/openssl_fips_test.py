"""OpenSSL with its FIPS provider, built by the real `./pants package`, then tested in a container
from another path than the build's, as the relocated tree users get. The aarch64 tree is
cross-compiled and tested under qemu in its toolchain's container."""

from __future__ import annotations

from typing import Dict

import pytest

from images import ensure_image, run_container
from pants_launcher_test import REPO, pants

# platform -> environment of test-fips.sh for a tree of that platform
PLATFORMS: Dict[str, Dict[str, str]] = {
    "linux-x86_64": {},
    "linux-aarch64": {
        "OPENSSL_EMULATOR": "qemu-aarch64 -L /usr/aarch64-linux-gnu",
        "STRIP": "aarch64-linux-gnu-strip",
    },
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_openssl_builds_and_its_fips_provider_works_relocated(platform: str) -> None:
    target = f"sources/openssl:{platform}"
    # A cold build takes about ten minutes on two busy cores.
    built = pants("package", target, timeout=2100)
    assert built.returncode == 0, built.stderr[-5000:]
    tree = REPO / f"artifacts/openssl/{platform}"
    for path in (
        "lib/libssl.a",
        "lib/libcrypto.a",
        "lib/ossl-modules/fips.so",
        "ssl/fipsmodule.cnf",
        "ssl/openssl-fips.cnf",
        "include/openssl/ssl.h",
    ):
        assert (tree / path).is_file(), path

    checked = run_container(
        ensure_image(platform),
        ["bash", "-euo", "pipefail", "/in/test-fips.sh"],
        mounts={
            tree: "/opt/elsewhere/openssl",
            REPO / "sources/openssl/test-fips.sh": "/in/test-fips.sh",
        },
        env={"OPENSSL_TREE": "/opt/elsewhere/openssl", **PLATFORMS[platform]},
        timeout=900,
    )
    report = checked.stdout + checked.stderr
    assert checked.returncode == 0, report
    assert "FAIL" not in report
    assert report.count("PASS") >= 9, report

    # Packaging again executes nothing: the build comes from Pants' cache.
    again = pants("package", target)
    assert again.returncode == 0, again.stderr[-5000:]
    assert f"Starting: Build {target}" not in again.stderr
