from __future__ import annotations

import os
import sys

import pytest

from cpython_fips.matrix import BUILD_MATRIX
from cpython_fips.provider.selection import (
    Choice,
    ProviderError,
    ReleasedArchive,
    abi_name,
    choose,
    host_platform,
    sitecustomize,
)

X86_64 = BUILD_MATRIX.platform("linux-x86_64")
URL = "file:///srv/r/cpython-3.13.15-x86_64-unknown-linux-gnu-noopt-install_only-20261124.tar.gz"
RELEASE = ReleasedArchive("3.13", "x86_64-unknown-linux-gnu", URL, "ab" * 32, 123)


def test_constraints_we_build_get_a_distribution_target() -> None:
    assert choose("3.13", ["CPython==3.13.*"], X86_64, "noopt", [], BUILD_MATRIX) == Choice(
        "3.13", distribution="//dist:cpython-3.13-x86_64-linux-noopt"
    )
    assert choose("3.10", ["CPython>=3.10"], X86_64, "pgo+lto", [], BUILD_MATRIX) == Choice(
        "3.10", distribution="//dist:cpython-3.10-x86_64-linux"
    )
    assert choose(
        "3.13", ["CPython==3.13.*"], X86_64, "freethreaded+noopt", [], BUILD_MATRIX
    ) == Choice("3.13", distribution="//dist:cpython-3.13-x86_64-linux-freethreaded-noopt")


def test_what_we_do_not_build_is_left_to_the_interpreter_search() -> None:
    # Pants' own tools (3.9), another implementation, a platform without CPython builds, a
    # version a platform does not build (aarch64 cross builds start at 3.11).
    assert choose("3.9", ["CPython==3.9.*"], X86_64, "noopt", [], BUILD_MATRIX) is None
    assert choose("3.13", ["PyPy==3.13.*"], X86_64, "noopt", [], BUILD_MATRIX) is None
    macos = BUILD_MATRIX.platform("macos-arm64")
    assert choose("3.13", ["CPython==3.13.*"], macos, "noopt", [], BUILD_MATRIX) is None
    aarch64 = BUILD_MATRIX.platform("linux-aarch64")
    assert choose("3.10", ["CPython==3.10.*"], aarch64, "noopt", [], BUILD_MATRIX) is None
    # Positive control: aarch64 builds 3.13.
    assert choose("3.13", ["CPython==3.13.*"], aarch64, "noopt", [], BUILD_MATRIX) == Choice(
        "3.13", distribution="//dist:cpython-3.13-aarch64-linux-noopt"
    )
    assert choose("3.13", ["CPython==3.13.*"], None, "noopt", [], BUILD_MATRIX) is None
    # No free-threaded 3.11.
    assert (
        choose("3.11", ["CPython==3.11.*"], X86_64, "freethreaded+noopt", [], BUILD_MATRIX) is None
    )


def test_versions_limits_what_is_served() -> None:
    served = choose("3.13", ["CPython==3.13.*"], X86_64, "noopt", [], BUILD_MATRIX, ["3.13"])
    assert served == Choice("3.13", distribution="//dist:cpython-3.13-x86_64-linux-noopt")
    assert choose("3.11", ["CPython==3.11.*"], X86_64, "noopt", [], BUILD_MATRIX, ["3.13"]) is None


def test_a_release_wins_over_building() -> None:
    assert choose("3.13", ["CPython==3.13.*"], X86_64, "noopt", [RELEASE], BUILD_MATRIX) == Choice(
        "3.13", release=RELEASE
    )
    # ...for its own version and platform only.
    assert choose("3.11", ["CPython==3.11.*"], X86_64, "noopt", [RELEASE], BUILD_MATRIX) == Choice(
        "3.11", distribution="//dist:cpython-3.11-x86_64-linux-noopt"
    )


def test_release_entries() -> None:
    parsed = ReleasedArchive.parse(f"3.13|x86_64-unknown-linux-gnu|{URL}|{'ab' * 32}|123")
    assert parsed == RELEASE
    assert parsed.filename.startswith("cpython-3.13.15-") and parsed.filename.endswith(".tar.gz")
    with pytest.raises(ProviderError, match="is not `<minor>"):
        ReleasedArchive.parse(f"{URL}|{'ab' * 32}|123")
    with pytest.raises(ProviderError, match="sha256 of 64 hex digits"):
        ReleasedArchive.parse(f"3.13|x86_64-unknown-linux-gnu|{URL}|abc|123")


def test_host_platforms() -> None:
    assert host_platform("linux_x86_64", BUILD_MATRIX) == X86_64
    assert host_platform("linux_arm64", BUILD_MATRIX) == BUILD_MATRIX.platform("linux-aarch64")
    assert host_platform("macos_x86_64", BUILD_MATRIX) is None


def test_fips_mode_is_a_sitecustomize(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sitecustomize(False) is None
    code = sitecustomize(True)
    assert code is not None
    monkeypatch.delenv("OPENSSL_CONF", raising=False)
    monkeypatch.setenv("OPENSSL_MODULES", "/chosen/by/the/user")
    exec(compile(code, "sitecustomize.py", "exec"), {})
    assert os.environ["OPENSSL_CONF"] == os.path.join(sys.base_prefix, "share/ssl/openssl-fips.cnf")
    assert os.environ["OPENSSL_MODULES"] == "/chosen/by/the/user"


def test_abi_names() -> None:
    assert abi_name("3.13", "freethreaded+noopt") == "python3.13t"
    assert abi_name("3.13", "noopt") == "python3.13"
