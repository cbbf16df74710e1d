from __future__ import annotations

import pytest

from cpython_fips.matrix import BUILD_MATRIX, FLAVOURS, flavour_error, version_key


def test_versions_compare_as_numbers() -> None:
    assert version_key("3.9") < version_key("3.10") < version_key("3.13")
    assert [v.key for v in BUILD_MATRIX.versions] == sorted(v.key for v in BUILD_MATRIX.versions)


def test_freethreaded_flavours_need_313() -> None:
    assert flavour_error("3.12", "freethreaded+noopt") == (
        "the flavour 'freethreaded+noopt' needs CPython 3.13 or later, not 3.12"
    )
    assert flavour_error("3.13", "freethreaded+pgo+lto") is None
    assert flavour_error("3.10", "noopt") is None
    assert "unknown flavour 'fast'" in str(flavour_error("3.13", "fast"))


def test_every_distribution_has_its_own_name() -> None:
    names = [
        f"cpython-{version.minor}-{platform.dist_name}{flavour.dist_suffix}"
        for platform, version, flavour in BUILD_MATRIX.distributions()
    ]
    assert len(names) == len(set(names))
    # 5 versions x 3 platforms x 2 flavours, and 2 freethreaded ones for 3.13 and 3.14.
    assert len(names) == 5 * 3 * 2 + 2 * 3 * 2
    assert (
        "cpython-3.14-x86_64-linux" in names
        and "cpython-3.12-x86_64-linux-freethreaded" not in names
    )


def test_unbuilt_cells_say_why_and_what_is_built() -> None:
    macos = BUILD_MATRIX.platform("macos-arm64")
    [v313] = [v for v in BUILD_MATRIX.versions if v.minor == "3.13"]
    message = BUILD_MATRIX.unavailable(macos, v313)
    assert message.startswith("CPython for aarch64-apple-darwin is not built yet")
    assert (
        "Built today: CPython 3.10, 3.11, 3.12, 3.13, 3.14 for x86_64-unknown-linux-gnu; "
        "3.11, 3.12, 3.13, 3.14 for aarch64-unknown-linux-gnu" in message
    )
    x86_64 = BUILD_MATRIX.platform("linux-x86_64")
    aarch64 = BUILD_MATRIX.platform("linux-aarch64")
    assert BUILD_MATRIX.unavailable(x86_64, v313) == ""
    assert BUILD_MATRIX.unavailable(aarch64, v313) == ""
    [v310] = [v for v in BUILD_MATRIX.versions if v.minor == "3.10"]
    assert BUILD_MATRIX.unavailable(aarch64, v310).startswith(
        "CPython 3.10 is not cross-built for aarch64-unknown-linux-gnu: cross builds start at 3.11"
    )
    built = {(p.name, v.minor, f.name) for p, v, f in BUILD_MATRIX.cpython_builds()}
    assert ("linux-x86_64", "3.10", "noopt") in built
    assert ("linux-aarch64", "3.13", "freethreaded+pgo+lto") in built
    assert ("linux-aarch64", "3.10", "noopt") not in built
    not_freethreaded = len([f for f in FLAVOURS if not f.freethreaded])
    # x86_64: 5 versions; aarch64: 3.11 to 3.14; freethreaded: 3.13 and 3.14 on both.
    assert len(built) == (5 + 4) * not_freethreaded + 2 * 2 * 2


def test_version_settings_for_the_build_script() -> None:
    by_minor = {v.minor: v for v in BUILD_MATRIX.versions}
    assert by_minor["3.10"].build_env() == {"CPYTHON_BUILTIN_MODULES": "setup-local"}
    assert by_minor["3.13"].build_env() == {"CPYTHON_BUILTIN_MODULES": "module-buildtype"}
    assert by_minor["3.14"].build_env()["CPYTHON_EXTRA_CONFIGURE_ARGS"] == "py_cv_module__hmac=n/a"
    # Line editing is libedit's everywhere; zstd only where compression.zstd needs it.
    assert all(
        "libedit" in v.libraries() and "readline" not in v.libraries() for v in by_minor.values()
    )
    assert ["zstd" in v.libraries() for v in BUILD_MATRIX.versions] == [False] * 4 + [True]


def test_unknown_platform() -> None:
    with pytest.raises(ValueError, match="unknown platform 'linux-riscv64'; the platforms are"):
        BUILD_MATRIX.platform("linux-riscv64")


def test_cross_settings() -> None:
    x86_64, aarch64 = BUILD_MATRIX.platform("linux-x86_64"), BUILD_MATRIX.platform("linux-aarch64")
    [v313] = [v for v in BUILD_MATRIX.versions if v.minor == "3.13"]
    native = {"TARGET_TRIPLE": "x86_64-linux-gnu"}
    assert x86_64.library_env() == native and x86_64.openssl_env() == native
    assert aarch64.library_env() == {
        "TARGET_TRIPLE": "aarch64-linux-gnu",
        "HOST_TRIPLE": "aarch64-linux-gnu",
    }
    assert aarch64.openssl_env()["OPENSSL_EMULATOR"].startswith("qemu-aarch64 ")
    assert x86_64.cpython_env() == native and x86_64.build_python(v313) is None
    assert x86_64.sysroot == "sources/glibc-sysroot:glibc-2.17-linux-x86_64"
    assert aarch64.cpython_env()["CPYTHON_EMULATOR"].startswith("qemu-aarch64 ")
    # What configure would otherwise guess pessimistically (or fail on) in a cross build.
    cache = aarch64.cpython_env()["CPYTHON_CROSS_CONFIGURE_CACHE"].splitlines()
    assert {"ac_cv_computed_gotos=yes", "ac_cv_aligned_required=no"} <= set(cache)
    # Every aarch64 flavour runs the one native noopt interpreter of its version.
    assert aarch64.build_python(v313) == "sources/cpython:3.13-noopt-linux-x86_64"


def test_bolt_for_native_x86_64_release_builds_from_313() -> None:
    x86_64 = BUILD_MATRIX.platform("linux-x86_64")
    aarch64 = BUILD_MATRIX.platform("linux-aarch64")
    version = {v.minor: v for v in BUILD_MATRIX.versions}
    flavour = {f.name: f for f in FLAVOURS}
    bolt = {"CPYTHON_BOLT": "1"}
    assert x86_64.optimisation_env(version["3.13"], flavour["pgo+lto"]) == bolt
    assert x86_64.optimisation_env(version["3.14"], flavour["pgo+lto"]) == bolt
    assert x86_64.optimisation_env(version["3.13"], flavour["freethreaded+pgo+lto"]) == {}
    assert x86_64.optimisation_env(version["3.12"], flavour["pgo+lto"]) == {}
    assert x86_64.optimisation_env(version["3.13"], flavour["noopt"]) == {}
    assert x86_64.optimisation_env(version["3.13"], flavour["freethreaded+noopt"]) == {}
    # A cross build cannot run BOLT's instrumented interpreter.
    assert aarch64.optimisation_env(version["3.13"], flavour["pgo+lto"]) == {}
