"""CPython 3.13 (noopt, x86_64), built by the real `./pants package` with OpenSSL and the static
libraries, then run from another path than the build's in containers that have none of the
build's inputs: a bare Debian (imports, our OpenSSL, venv and pip, FIPS mode), and a Debian
with a C compiler (building an extension module against it)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

from images import ensure_image
from pants_launcher_test import REPO, pants

TARGET = "sources/cpython:3.13-noopt-linux-x86_64"
CHECKS = "dist/checks"
# Where the tests mount the tree: not the build's prefix (/install).
PREFIX = "/opt/elsewhere/python"
OPENSSL_VERSION = "3.5.7"


@pytest.fixture(scope="module")
def install_tree() -> Path:
    # A cold run builds OpenSSL, eleven libraries and CPython.
    built = pants("package", TARGET, timeout=3300)
    assert built.returncode == 0, built.stderr[-5000:]
    tree = REPO / "artifacts/cpython/3.13-noopt-linux-x86_64/install"
    assert (tree / "bin/python3.13").is_file()
    return tree


def run_in(image: str, tree: Path, command: List[str], env: List[str] = []) -> str:
    result = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "none",
            "-v", f"{tree}:{PREFIX}:ro", "-v", f"{REPO / CHECKS}:/checks:ro",
            *(arg for variable in env for arg in ("-e", variable)),
            image, *command,
        ],
        capture_output=True, text=True, timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "FAIL" not in report, report
    return report


def test_runs_relocated_without_development_packages(install_tree: Path) -> None:
    report = run_in(
        ensure_image("test-runtime"), install_tree,
        [f"{PREFIX}/bin/python3", "/checks/check_install.py", OPENSSL_VERSION],
    )
    assert report.count("PASS") >= 7, report


def test_fips_mode(install_tree: Path) -> None:
    report = run_in(
        ensure_image("test-runtime"), install_tree,
        [f"{PREFIX}/bin/python3", "/checks/check_install.py", OPENSSL_VERSION, "--fips"],
        env=[f"OPENSSL_CONF={PREFIX}/share/ssl/openssl-fips.cnf",
             f"OPENSSL_MODULES={PREFIX}/share/ssl/ossl-modules"],
    )
    assert "PASS: FIPS: OpenSSL refuses MD5" in report, report
    assert "PASS: FIPS: SHA-256 works" in report, report


def test_builds_an_extension_module_against_it(install_tree: Path) -> None:
    report = run_in(
        ensure_image("test-cc"), install_tree,
        ["bash", "/checks/check-extension.sh", f"{PREFIX}/bin/python3"],
    )
    assert "PASS: built with sysconfig" in report, report
    assert "PASS: built with python-config" in report, report


def test_rebuild_is_a_cache_hit(install_tree: Path) -> None:
    again = pants("package", TARGET)
    assert again.returncode == 0, again.stderr[-5000:]
    assert f"Starting: Build {TARGET}" not in again.stderr
