"""Runs the real `./pants` launcher against this repository (the test sandbox holds a copy)."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Dict, Optional

import pytest

REPO = Path.cwd()

OPENSSL_SHA256 = "a8c0d28a529ca480f9f36cf5792e2cd21984552a3c8e4aa11a24aa31aeac98e8"
CPYTHON_SHA256 = "1e66a7945a48390ee4c2a4268a0e4185884059a13c4aab6d148aa208deea4a76"


@atexit.register
def stop_pantsd() -> None:
    """Stops the pantsd that this module's runs started in REPO, which would outlive the test."""
    for pid_file in REPO.glob(".pids/*/pantsd/pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def pants(
    *args: str,
    env: Optional[Dict[str, str]] = None,
    timeout: int = 600,
    repo: Path = REPO,
    daemon: bool = True,
) -> subprocess.CompletedProcess:
    """`./pants args...` in `repo`. With `daemon`, the runs of a test module share one pantsd,
    which builds Pants' rule graph (about 17 s of CPU) once instead of at every run; it is stopped
    when the module's tests end."""
    return subprocess.run(
        ["./pants", "--pantsd" if daemon else "--no-pantsd", "--no-dynamic-ui", *args],
        cwd=repo,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version() -> None:
    result = pants("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.17.1"
    # Bootstrapped already: the launcher goes straight to Pants.
    assert "[pants bootstrap]" not in result.stderr


def test_fetch_obtains_and_verifies_pins_from_debian() -> None:
    result = pants("fetch-sources", "sources/cpython:cpython-3.13", "sources/openssl:openssl-3.5")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "obtained  sources/cpython:cpython-3.13 3.13.15 (Python-3.13.15.tar.xz)" in lines
    assert "obtained  sources/openssl:openssl-3.5 3.5.7 (openssl-3.5.7.tar.gz)" in lines
    assert any(
        line.startswith("          from debian: ")
        and line.endswith("/pool/main/o/openssl/openssl_3.5.7.orig.tar.gz")
        for line in lines
    )
    assert lines[-1] == "2 obtained, 0 not obtained."


def test_tampered_mirror_file_is_refused(tmp_path: Path) -> None:
    tampered = b"not openssl\n" * 1000
    (tmp_path / "openssl-3.5.7.tar.gz").write_bytes(tampered)
    result = pants(
        f"--source-mirrors-mirrors=['{tmp_path}', 'debian']",
        "fetch-sources",
        "sources/openssl:openssl-3.5",
    )
    assert result.returncode == 1
    assert "MISMATCH  sources/openssl:openssl-3.5 3.5.7" in result.stdout
    assert f"expected sha256 {OPENSSL_SHA256}" in result.stdout
    assert f"got sha256 {hashlib.sha256(tampered).hexdigest()}" in result.stdout


def test_missing_python39_is_explained(tmp_path: Path) -> None:
    # A PATH holding only the tools the launcher uses, so no python3.9 can be found on it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "sort", "mkdir", "id", "cat", "sed"):
        found = shutil.which(tool)
        assert found, tool
        os.symlink(found, bin_dir / tool)
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "PANTS_BOOTSTRAP_CACHE": str(tmp_path / "cache"),
        "PANTS_BOOTSTRAP_INSTALL_PYTHON": "0",
    }
    result = subprocess.run(
        ["bash", str(REPO / "pants"), "--version"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Pants 2.17.1 needs Python 3.9 and none was found" in result.stderr
    assert "pyenv install 3.9" in result.stderr


@pytest.mark.parametrize("pin", ["sources/cpython:cpython-3.13"])
def test_pins_are_listed(pin: str) -> None:
    result = pants("list", "sources::")
    assert result.returncode == 0, result.stderr
    assert pin in result.stdout.split()
