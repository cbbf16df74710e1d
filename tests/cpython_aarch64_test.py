"""CPython 3.13 for aarch64-unknown-linux-gnu (noopt), cross-built on x86_64 by the real
`./pants package`, then run as a user on an ARM machine would: unpacked at a new path in arm64
Debian containers, under qemu-user registered with binfmt_misc (`.ci/run` sets that up).

The package goal itself validates the archives (every ELF file built for EM_AARCH64, the glibc
ceiling, the FIPS module's MAC...) and runs each one in a bare arm64 Debian: imports, OpenSSL,
relocation, venv and pip, FIPS mode, and CPython's regression tests from the full archive (not
repeated here). These tests add what a user checks from outside: what the files are, and building
a C extension against the archive with an arm64 Debian's own compiler."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Dict

import pytest

from images import archive_kind, ensure_image, run_container
from pants_launcher_test import REPO, pants

DIST_TARGET = "//dist:cpython-3.13-aarch64-linux-noopt"
TRIPLE = "aarch64-unknown-linux-gnu"
RELEASE = "3.13.15"
BUILD_PYTHON = "sources/cpython:3.13-noopt-linux-x86_64"
EXTENSION = (Path(__file__).parent / "extension").resolve()
PREFIX = "/opt/elsewhere/python"


@pytest.fixture(scope="module")
def packaged() -> Dict[str, Path]:
    # Cold: the x86_64 interpreter the cross build runs, OpenSSL and the libraries for aarch64,
    # the cross build, and the runtime checks under emulation.
    built = pants("package", DIST_TARGET, timeout=3300)
    assert built.returncode == 0, built.stderr[-5000:]
    found = {
        archive_kind(path.name): path
        for path in (REPO / "artifacts").glob(f"cpython-{RELEASE}-{TRIPLE}-noopt-*")
    }
    assert sorted(found) == ["full", "install_only", "install_only_stripped"], found
    return found


@pytest.fixture(scope="module")
def unpacked(packaged: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The install_only_stripped tree, the smallest one users install."""
    destination = tmp_path_factory.mktemp("aarch64")
    with tarfile.open(packaged["install_only_stripped"]) as archive:
        archive.extractall(destination)
    return destination / "python"


def test_the_files_are_aarch64_elf(unpacked: Path) -> None:
    described = run_container(
        ensure_image("linux-x86_64"),
        ["file", "-L", "/tree/bin/python3.13", "/tree/lib/libpython3.13.so.1.0"],
        mounts={unpacked: "/tree"},
    )
    assert described.returncode == 0, described.stderr
    lines = described.stdout.splitlines()
    assert len(lines) == 2 and all("ARM aarch64" in line for line in lines), lines
    # Positive control: the same `file` says x86-64 of an x86_64 file of the image itself.
    control = run_container(ensure_image("linux-x86_64"), ["file", "-L", "/bin/sh"])
    assert "x86-64" in control.stdout, control.stdout


def test_builds_an_extension_module_with_the_arm64_compiler(unpacked: Path) -> None:
    # The archive records the target's own tools (gcc, not the build's aarch64-linux-gnu-gcc).
    ran = run_container(
        ensure_image("test-cc-arm64"),
        [
            "sh",
            "-c",
            'echo "machine: $(uname -m)"; "$@"',
            "-",
            "bash",
            "/extension/check-extension.sh",
            f"{PREFIX}/bin/python3",
        ],
        mounts={unpacked: PREFIX, EXTENSION: "/extension"},
        timeout=1200,
    )
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report
    assert "PASS: built with sysconfig" in report, report
    assert "PASS: built with python-config" in report, report
    assert "aarch64-linux-gnu-gcc" not in report, report
    # The container is arm64 Debian, run under emulation, not the host's x86_64.
    assert "machine: aarch64" in report, report


def test_the_build_python_is_the_native_noopt_interpreter(packaged: Dict[str, Path]) -> None:
    """Every aarch64 flavour of 3.13 depends on the one x86_64 noopt build, as a dependency Pants
    sees; packaging it again is a cache hit."""
    listed = pants("dependencies", "sources/cpython:3.13-pgo+lto-linux-aarch64")
    assert listed.returncode == 0, listed.stderr
    assert BUILD_PYTHON in listed.stdout.split(), listed.stdout
    again = pants("package", BUILD_PYTHON)
    assert again.returncode == 0, again.stderr[-5000:]
    assert f"Starting: Build {BUILD_PYTHON}" not in again.stderr
