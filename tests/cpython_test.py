"""CPython 3.13 (noopt, x86_64), built by the real `./pants package` with OpenSSL and the static
libraries, then run from another path than the build's in containers that have none of the
build's inputs: a bare Debian (imports, our OpenSSL, venv and pip, FIPS mode), and a Debian
with a C compiler (building an extension module against it).

Then the release archives of every CPython version built here (`//dist:cpython-<minor>-x86_64-
linux-noopt` for 3.10 and 3.13, the same tests for each): names, python-build-standalone's
layout, install_only filtering, stripping that spares the FIPS module, deterministic archives;
3.13's byte-identical when packaged again. (Validation and the runtime checks of each archive, FIPS
mode and CPython's own regression tests included, run inside the package goal, which fails if
they fail.)

Then a dry-run release of them (`make-release --dry-run`): SHA256SUMS, the SBOMs and provenance
validated by CycloneDX's and in-toto's libraries, and uv from PyPI installing each interpreter
from the downloads list (file://), making a venv and building an sdist's C extension against it.

One module, so that the release reuses the build instead of racing it in a second Pants."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from images import archive_kind, ensure_image, fips_mode_env, run_container
from pants_launcher_test import REPO, pants

TARGET = "sources/cpython:3.13-noopt-linux-x86_64"
CHECKS = "dist/checks"
MODULES = "sources/cpython/extension-modules.txt"
# Builds an extension module against the interpreter (a test fixture, not a release check).
EXTENSION = Path(__file__).parent / "extension"
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


def run_in(image: str, tree: Path, command: List[str], env: Dict[str, str] = {}) -> str:
    result = run_container(
        image,
        command,
        mounts={
            tree: PREFIX,
            REPO / CHECKS: "/checks",
            EXTENSION.resolve(): "/extension",
            REPO / MODULES: "/extension-modules.txt",
        },
        env=env,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "FAIL" not in report, report
    return report


def check_install(tree: Path, *flags: str, env: Dict[str, str] = {}) -> str:
    """dist/checks/check_install.py, run by the interpreter under test in a bare Debian."""
    command = [f"{PREFIX}/bin/python3", "/checks/check_install.py", "/extension-modules.txt"]
    return run_in(ensure_image("test-runtime"), tree, [*command, OPENSSL_VERSION, *flags], env)


def test_runs_relocated_without_development_packages(install_tree: Path) -> None:
    report = check_install(install_tree)
    assert report.count("PASS") >= 7, report
    # Outside FIPS mode, as upstream: the calls FIPS mode refuses work.
    assert "PASS: default mode: hashlib.md5(b'x') works" in report, report
    assert "PASS: default mode: hashlib.blake2b(b'x') works" in report, report
    assert "configuration variables names a path of the build" in report, report
    assert "PASS: python -m venv --copies works" in report, report
    assert "PASS: the interpreter does not load libpython*.so" in report, report


def test_fips_mode(install_tree: Path) -> None:
    report = check_install(
        install_tree,
        "--fips",
        env=fips_mode_env(PREFIX),
    )
    # What a FIPS auditor tries first: none may fall back to CPython's own code.
    for call in (
        "hashlib.md5(b'x')",
        "hashlib.new('md5')",
        "hashlib.blake2b(b'x')",
        "hmac.new(b'k', b'x', 'md5')",
    ):
        assert f"PASS: FIPS: {call} raises ValueError" in report, report
    assert "PASS: FIPS: hashlib.md5(b'abc', usedforsecurity=False) works" in report, report
    assert "PASS: FIPS: SHA-256 works" in report, report
    assert "PASS: FIPS: import hashlib, hmac prints nothing" in report, report


def test_builds_an_extension_module_against_it(install_tree: Path) -> None:
    report = run_in(
        ensure_image("test-cc"),
        install_tree,
        ["bash", "/extension/check-extension.sh", f"{PREFIX}/bin/python3"],
    )
    assert "PASS: built with sysconfig" in report, report
    assert "PASS: built with python-config" in report, report


def test_rebuild_is_a_cache_hit(install_tree: Path) -> None:
    again = pants("package", TARGET)
    assert again.returncode == 0, again.stderr[-5000:]
    assert f"Starting: Build {TARGET}" not in again.stderr


TRIPLE = "x86_64-unknown-linux-gnu"
FIPS_MODULE = "share/ssl/ossl-modules/fips.so"
# The CPython versions tested here, and the release each one's pin holds (sources/cpython/BUILD):
# the oldest and the newest that build here, which .ci/run's first build packages. 3.11 (3.11.2)
# builds the same way; it is left out for CI's time (its cold build, validation and runtime
# checks take about 13 minutes of two cores):
# `./pants package //dist:cpython-3.11-x86_64-linux-noopt` runs them.
RELEASES = {"3.10": "3.10.5", "3.13": "3.13.15"}


def dist_target(minor: str) -> str:
    return f"//dist:cpython-{minor}-{TRIPLE.split('-')[0]}-linux-noopt"


def archives(minor: str) -> Dict[str, Path]:
    found = (REPO / "artifacts").glob(f"cpython-{minor}.*-{TRIPLE}-noopt-*")
    return {archive_kind(path.name): path for path in found}


@functools.lru_cache(maxsize=None)
def package(minor: str) -> Dict[str, Path]:
    """The three archives of a version's noopt distribution, packaged once per test session."""
    built = pants("package", dist_target(minor), timeout=3300)
    assert built.returncode == 0, built.stderr[-5000:]
    found = archives(minor)
    assert len(found) == 3, sorted(p.name for p in (REPO / "artifacts").iterdir())
    return found


@pytest.fixture(scope="module", params=sorted(RELEASES))
def minor(request: Any, install_tree: Path) -> str:
    # After 3.13's install tree: its build brings OpenSSL and the libraries every version shares.
    return str(request.param)


@pytest.fixture(scope="module")
def packaged(minor: str) -> Dict[str, Path]:
    return package(minor)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def full_members(path: Path) -> list:
    """Member names of the .tar.zst, in order (listed by zstd in the toolchain image)."""
    listing = run_container(
        ensure_image("linux-x86_64"),
        ["sh", "-c", "zstd -dc /a.tar.zst | tar -t"],
        mounts={path: "/a.tar.zst"},
    )
    assert listing.returncode == 0, listing.stderr
    return listing.stdout.splitlines()


def test_names(minor: str, packaged: Dict[str, Path]) -> None:
    release = RELEASES[minor]
    assert packaged["full"].name == f"cpython-{release}-{TRIPLE}-noopt-20261124.tar.zst"
    assert (
        packaged["install_only"].name
        == f"cpython-{release}-{TRIPLE}-noopt-install_only-20261124.tar.gz"
    )
    assert (
        packaged["install_only_stripped"].name
        == f"cpython-{release}-{TRIPLE}-noopt-install_only_stripped-20261124.tar.gz"
    )


def test_full_archive_layout(minor: str, packaged: Dict[str, Path]) -> None:
    members = full_members(packaged["full"])
    assert members[0] == "python/PYTHON.json", members[:3]
    tops = {"/".join(m.split("/")[:2]) for m in members}
    assert {"python/install", "python/build", "python/licenses"} <= tops, tops
    assert f"python/install/bin/python{minor}" in members
    # CPython's own tests ship in the full archive (the runtime checks run them).
    assert f"python/install/lib/python{minor}/test/test_ssl.py" in members
    assert "python/build/lib/libcrypto.a" in members
    for component in ("cpython", "openssl-3.5", "sqlite", "zlib"):
        assert any(m.startswith(f"python/licenses/{component}/") for m in members), component


def test_install_only_is_filtered_and_deterministic(minor: str, packaged: Dict[str, Path]) -> None:
    raw = packaged["install_only"].read_bytes()
    assert raw[3] & 0x08 == 0, "the gzip header must not record a file name"
    assert raw[4:8] == b"\0\0\0\0", "the gzip header must not record a time"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {
        (946684800, 0, 0, "", "")
    }
    assert all(n.startswith("python/") for n in names)
    assert f"python/bin/python{minor}" in names
    assert not [n for n in names if n.startswith(f"python/lib/python{minor}/test/")]
    assert not [n for n in names if "/lib-dynload/_test" in n]
    assert not [n for n in names if n.endswith(f"libpython{minor}.a")]


def test_stripped_keeps_the_fips_module(minor: str, packaged: Dict[str, Path]) -> None:
    def read(kind: str, member: str) -> bytes:
        with tarfile.open(packaged[kind]) as tar:
            member_file = tar.extractfile(f"python/{member}")
            assert member_file is not None, member
            return member_file.read()

    assert read("install_only", FIPS_MODULE) == read("install_only_stripped", FIPS_MODULE)
    library = f"lib/libpython{minor}.so.1.0"
    assert len(read("install_only_stripped", library)) < len(read("install_only", library))


def test_packaging_again_is_a_cache_hit_and_byte_identical() -> None:
    target = dist_target("3.13")
    before = {kind: sha256(path) for kind, path in package("3.13").items()}
    again = pants("package", target)
    assert again.returncode == 0, again.stderr[-5000:]
    assert "Validate and archive" not in again.stderr
    # A validation-only option changes the packager's cache key, not the archives: it runs
    # again and gives the same bytes; the builds come from the cache. The glibc ceiling 2.17.N
    # allows what 2.17 allows; N differs in every run, so no earlier run's cache entry matches.
    ceiling = f"2.17.{time.time_ns()}"
    repackaged = pants(f"--release-glibc-max-version={ceiling}", "package", target)
    assert repackaged.returncode == 0, repackaged.stderr[-5000:]
    assert "Validate and archive" in repackaged.stderr
    assert "Starting: Build sources/cpython" not in repackaged.stderr
    assert {kind: sha256(path) for kind, path in archives("3.13").items()} == before


def test_the_glibc_floor_is_enforced() -> None:
    """The archives need glibc 2.17 at most, and the packager holds them to it: the run above
    passed at the floor; one below it is refused, naming what needs 2.17 (clock_gettime moved
    into libc in 2.17), and writes no archive."""
    before = {kind: sha256(path) for kind, path in archives("3.13").items()}
    refused = pants("--release-glibc-max-version=2.16", "package", dist_target("3.13"))
    assert refused.returncode != 0
    assert "needs GLIBC_2.17, newer than the glibc floor 2.16" in refused.stderr, refused.stderr[
        -5000:
    ]
    assert {kind: sha256(path) for kind, path in archives("3.13").items()} == before


# The release (`make-release --dry-run`) of the distribution: its files, validated by the formats'
# own libraries, and a real client, uv, installing and using it from the downloads list.
UV = REPO / "tests.release/uv.pex"
RELEASE_VALIDATOR = REPO / "tests.release/validator.pex"
# A binary wheel, and an sdist whose C extension is compiled against the installed interpreter.
WHEEL, SDIST = "markupsafe==3.0.3", "mmh3==5.2.0"


def commit_the_copy() -> str:
    """Makes the test's copy of the repository a git worktree with one commit (the provenance
    names the commit released); returns the commit."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the copy"]):
        done = subprocess.run([*git, *command], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return head.stdout.strip()


@pytest.fixture(scope="module")
def dry_run_release() -> Path:
    for each in RELEASES:
        package(each)
    commit = commit_the_copy()
    made = pants("make-release", "--dry-run", *map(dist_target, RELEASES), timeout=1200)
    assert made.returncode == 0, made.stdout + made.stderr[-5000:]
    match = re.search(r"^Dry-run release 20261124 in (\S+)/ ", made.stdout, re.MULTILINE)
    assert match, made.stdout
    release = REPO / match.group(1)
    provenance = json.loads((release / "provenance.intoto.json").read_text())
    resolved = provenance["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"gitCommit": commit} in [dependency["digest"] for dependency in resolved]
    return release


def test_release_files_check_out(dry_run_release: Path) -> None:
    sums: Dict[str, str] = {}
    for line in (dry_run_release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    packaged = {p.name: p for minor in RELEASES for p in package(minor).values()}
    sboms = [name.replace(".tar.zst", ".cdx.json") for name in packaged if name.endswith(".zst")]
    assert sorted(sums) == sorted(
        [*packaged, *sboms, "download-metadata.json", "provenance.intoto.json"]
    )
    for name, digest in sums.items():
        assert sha256(dry_run_release / name) == digest, name
        if name in packaged:
            assert sha256(packaged[name]) == digest, f"{name} differs from the package"
    validated = subprocess.run(
        [RELEASE_VALIDATOR, dry_run_release], capture_output=True, text=True, timeout=300
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr


def uv_env(tmp_path: Path, downloads: Path) -> Dict[str, str]:
    """uv with its own directories, no configuration, and our downloads list in place of
    python-build-standalone's."""
    return {
        **os.environ,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "cache"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "pythons"),
        "UV_PYTHON_BIN_DIR": str(tmp_path / "bin"),
        "UV_PYTHON_DOWNLOADS_JSON_URL": downloads.as_uri(),
        # The package index is reached with the machine's trust store (which may hold a proxy's
        # CA), not only uv's built-in roots.
        "UV_SYSTEM_CERTS": "1",
    }


def uv(env: Dict[str, str], *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [UV, *map(str, args)], env=env, capture_output=True, text=True, timeout=900
    )


def output_of(python: Path, code: str) -> str:
    """What `python -c code` prints; it must succeed."""
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.parametrize("version", sorted(RELEASES))
def test_uv_installs_and_uses_the_release(
    dry_run_release: Path, tmp_path: Path, version: str
) -> None:
    env = uv_env(tmp_path, dry_run_release / "download-metadata.json")
    # --offline: the interpreter comes from the downloads list's file:// URL, nowhere else.
    installed = uv(env, "python", "install", "--offline", version)
    assert installed.returncode == 0, installed.stderr
    assert f"cpython-{RELEASES[version]}-linux-x86_64-gnu" in installed.stderr, installed.stderr
    venv = tmp_path / "venv"
    made = uv(env, "venv", "--offline", "--managed-python", "--python", version, venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin/python"
    # The venv's base is the installed archive (sys._base_executable names the venv's own
    # python in 3.10).
    probe = output_of(python, "import ssl, sys; print(sys.base_prefix, ssl.OPENSSL_VERSION)")
    base_prefix, openssl = probe.split(" ", 1)
    assert base_prefix.startswith(str(tmp_path / "pythons")), base_prefix
    assert openssl.startswith(f"OpenSSL {OPENSSL_VERSION} "), openssl
    # From the package index: a binary wheel, and an sdist compiled here (gcc, the headers and
    # sysconfig of the installed archive).
    wheel = uv(env, "pip", "install", "--python", python, "--only-binary", ":all:", WHEEL)
    assert wheel.returncode == 0, wheel.stderr
    sdist = uv(
        env, "pip", "install", "--python", python, "--no-binary", SDIST.split("==")[0], SDIST
    )
    assert sdist.returncode == 0, sdist.stderr
    used = output_of(python, "import markupsafe._speedups, mmh3; print(mmh3.hash('cpython-fips'))")
    assert used.lstrip("-").isdigit(), used


def test_uv_refuses_an_archive_whose_sha256_differs(dry_run_release: Path, tmp_path: Path) -> None:
    listing = json.loads((dry_run_release / "download-metadata.json").read_text())
    for entry in listing.values():
        entry["sha256"] = "0" * 64
    wrong = tmp_path / "wrong-sha256.json"
    wrong.write_text(json.dumps(listing))
    env = uv_env(tmp_path, wrong)
    installed = uv(env, "python", "install", "--offline", "3.13")
    assert installed.returncode != 0
    assert "Hash mismatch" in installed.stderr, installed.stderr
    pythons = tmp_path / "pythons"
    assert not any(p.name.startswith("cpython-") for p in pythons.glob("*")), list(
        pythons.glob("*")
    )


# The monorepo's code on our interpreters: the example service (examples/fips_service). Its own
# python_tests run in `./pants test ::` and prove which interpreter runs them; these tests cover
# `run`, `package`, and the provider's released-archive mode.
SERVICE = "examples/fips_service:service"
# The version examples/ runs on (pants.toml's [cpython-fips-provider].versions).
EXAMPLES_VERSION = "3.10"
INTERPRETERS_CACHE = Path.home() / ".cache/pants/named_caches/cpython_fips_interpreters"


def service_output(*options: str) -> dict:
    ran = pants(*options, "run", SERVICE, timeout=3300)
    assert ran.returncode == 0, ran.stdout + ran.stderr[-5000:]
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_run_uses_the_providers_interpreter_in_fips_mode() -> None:
    package(EXAMPLES_VERSION)
    output = service_output()
    assert output["python"] == RELEASES[EXAMPLES_VERSION]
    assert output["openssl"].startswith(f"OpenSSL {OPENSSL_VERSION} "), output
    assert output["fips_mode"] is True and output["verified"] is True, output
    assert str(INTERPRETERS_CACHE) in os.path.realpath(output["executable"]), output
    # Positive control: with FIPS mode off for user code, the same interpreter runs outside it.
    assert service_output("--no-cpython-fips-provider-fips-mode")["fips_mode"] is False


def test_packaged_service_runs_on_nothing_but_the_install_only_tree(tmp_path: Path) -> None:
    packaged = pants("package", SERVICE, timeout=3300)
    assert packaged.returncode == 0, packaged.stderr[-5000:]
    pex = REPO / "artifacts/examples.fips_service/service.pex"
    with tarfile.open(package(EXAMPLES_VERSION)["install_only"]) as archive:
        archive.extractall(tmp_path)
    # A bare Debian: no Python of its own; our tree at a path of its own; FIPS mode as the
    # README turns it on.
    ran = run_container(
        ensure_image("test-runtime"),
        ["sh", "-c", "! command -v python3 && /opt/fips-python/bin/python3 /srv/service.pex"],
        mounts={tmp_path / "python": "/opt/fips-python", pex: "/srv/service.pex"},
        env=fips_mode_env("/opt/fips-python"),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    output = json.loads(ran.stdout.strip().splitlines()[-1])
    assert output["executable"].startswith("/opt/fips-python/bin/python3"), output
    assert output["fips_mode"] is True and output["verified"] is True, output


def release_entry(archive: Path, sha256_digest: str) -> str:
    return (
        f"{EXAMPLES_VERSION}|{TRIPLE}|{archive.as_uri()}|{sha256_digest}|{archive.stat().st_size}"
    )


def test_provider_uses_a_released_archive() -> None:
    archive = package(EXAMPLES_VERSION)["install_only"]
    digest = sha256(archive)
    output = service_output(
        f"--cpython-fips-provider-releases=['{release_entry(archive, digest)}']"
    )
    assert output["python"] == RELEASES[EXAMPLES_VERSION] and output["fips_mode"] is True, output
    # Unpacked under the archive's sha256, not under a built distribution's digest.
    assert f"/{digest[:32]}-fips/" in os.path.realpath(output["executable"]), output


def test_provider_refuses_a_released_archive_with_another_sha256() -> None:
    archive = package(EXAMPLES_VERSION)["install_only"]
    wrong = "0" * 64
    ran = pants(
        f"--cpython-fips-provider-releases=['{release_entry(archive, wrong)}']", "run", SERVICE
    )
    assert ran.returncode != 0
    assert "Could not use the released interpreter archive" in ran.stderr, ran.stderr[-3000:]
    assert f"sha256 {wrong}" in ran.stderr
    assert not list(INTERPRETERS_CACHE.glob(f"{wrong[:32]}*")), "nothing may be unpacked"
