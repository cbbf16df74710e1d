"""The build graph as Pants sees it: every target-to-target reference is a dependency, so
`./pants dependencies` lists what a distribution is built from, and changing a pin selects the
distributions that use it (`--changed-dependents`)."""

from __future__ import annotations

import subprocess

from pants_launcher_test import REPO, pants

DISTRIBUTION = "dist:cpython-3.13-x86_64-linux"


def test_dependencies_are_the_real_graph() -> None:
    result = pants("dependencies", "--transitive", f"//{DISTRIBUTION}")
    assert result.returncode == 0, result.stderr
    listed = set(result.stdout.split())
    assert {
        "sources/toolchain:linux-x86_64",  # the build's toolchain
        "sources/toolchain:test-runtime",  # where the archives are checked
        "sources/cpython:3.13-pgo+lto-linux-x86_64",
        "sources/cpython:cpython-3.13",
        "sources/openssl:linux-x86_64",
        "sources/openssl:openssl-3.5",
        "sources/openssl:openssl-fips-provider-3.0",
        "sources/libraries:zlib-linux-x86_64",
        "sources/zlib:zlib",
        "sources/libraries:libedit-linux-x86_64",
    } <= listed
    # zstd is 3.14's (compression.zstd), not 3.13's.
    assert "sources/libraries:zstd-linux-x86_64" not in listed


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True)


def test_a_changed_library_pin_selects_the_distributions_that_use_it() -> None:
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=test", "-c", "user.email=test@invalid", "commit", "-q", "-m", "base")
    zstd = REPO / "sources/zstd/BUILD"
    zstd.write_text(zstd.read_text().replace('license="', 'description="changed",\n    license="'))

    result = pants("--changed-since=HEAD", "--changed-dependents=transitive", "list")
    assert result.returncode == 0, result.stderr
    changed = set(result.stdout.split())
    # zstd is used by 3.14 only: its interpreters and distributions, not 3.13's.
    assert {
        "sources/zstd:zstd",
        "sources/libraries:zstd-linux-x86_64",
        "sources/cpython:3.14-noopt-linux-x86_64",
        "dist:cpython-3.14-x86_64-linux",
        "dist:cpython-3.14-x86_64-linux-freethreaded-noopt",
    } <= changed
    assert "sources/cpython:3.13-noopt-linux-x86_64" not in changed
    assert DISTRIBUTION not in changed
    # aarch64's 3.14 builds on the aarch64 zstd; a cell not built names no interpreter, so
    # nothing selects it.
    assert "dist:cpython-3.14-aarch64-linux" in changed
    assert "dist:cpython-3.14-aarch64-macos" not in changed


def test_a_cell_the_build_does_not_implement_fails_at_once_saying_so() -> None:
    for cell, reason in [
        ("cpython-3.13-aarch64-macos", "needs a macOS arm64 host"),
        ("cpython-3.10-aarch64-linux-noopt", "cross builds start at 3.11"),
    ]:
        result = pants("package", f"//dist:{cell}")
        assert result.returncode != 0
        assert f"dist:{cell} cannot be packaged: " in result.stderr and reason in result.stderr
        assert (
            "Built today: CPython 3.10, 3.11, 3.12, 3.13, 3.14 for x86_64-unknown-linux-gnu"
            in result.stderr
        )
        assert "does not exist" not in result.stderr
    # Positive control: a cell the build implements resolves its whole graph (nothing is built).
    assert pants("dependencies", "--transitive", "//dist:cpython-3.14-x86_64-linux").returncode == 0
