"""Toolchain locks whose packages have left Debian's archive: images are made from a mirror
directory, `./pants export-mirror` writes one, and a package found nowhere is a clear error.

Every test makes its image from a lock of its own (a unique tag), so that the image is really
made, and removes it afterwards. The `.deb` that Debian's archive does not have is a real package
built here with dpkg-deb.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest

from images import image_tag
from pants_launcher_test import REPO, pants

BASE_LOCK = REPO / "sources/toolchain/test-runtime.lock"
FIXTURE_DIR = "mirror-fixture"
# Connection refused: an archive that cannot be reached.
UNREACHABLE_ARCHIVE = "http://127.0.0.1:9/debian"


def lock_lines(lock: Path) -> List[List[str]]:
    return [line.split() for line in lock.read_text().splitlines() if not line.startswith("#")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_marker_deb(directory: Path, marker: str) -> Path:
    """A real .deb that no Debian archive has: it installs a file holding `marker`."""
    root = Path(tempfile.mkdtemp())
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        "Package: cpython-fips-mirror-marker\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: cpython-fips tests <tests@invalid>\nPriority: optional\n"
        "Description: marks an image made from a mirror\n"
    )
    (root / "usr/share/cpython-fips").mkdir(parents=True)
    (root / "usr/share/cpython-fips/marker").write_text(marker)
    deb = directory / "cpython-fips-mirror-marker_1.0_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "0"},
    )
    shutil.rmtree(root)
    return deb


def write_fixture(name: str, extra_lines: List[str]) -> str:
    """A toolchain target whose lock is test-runtime's plus `extra_lines`, and a unique comment."""
    directory = REPO / FIXTURE_DIR
    directory.mkdir(exist_ok=True)
    lock = BASE_LOCK.read_text() + "".join(f"{line}\n" for line in extra_lines)
    (directory / f"{name}.lock").write_text(lock + f"# test run {uuid.uuid4()}\n")
    with (directory / "BUILD").open("a") as build:
        build.write(
            f'toolchain(name="{name}", suite="bookworm", suites=["bookworm"], packages=[])\n'
        )
    return f"{FIXTURE_DIR}:{name}"


def marker_line(deb: Path) -> str:
    pool_path = f"pool/main/c/cpython-fips-mirror-marker/{deb.name}"
    size = deb.stat().st_size
    return f"cpython-fips-mirror-marker 1.0 all {sha256(deb)} {size} optional {pool_path}"


@pytest.fixture
def made_images() -> Iterator[List[str]]:
    tags: List[str] = []
    yield tags
    for tag in tags:
        subprocess.run(["docker", "rmi", tag], capture_output=True)


def run_in_image(tag: str, command: str) -> str:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", tag, "sh", "-c", command],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def test_package_missing_from_the_archive_comes_from_a_mirror(
    tmp_path: Path, made_images: List[str]
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    marker = str(uuid.uuid4())
    deb = make_marker_deb(mirror, marker)
    address = write_fixture("with-marker", [marker_line(deb)])
    tag = image_tag("with-marker", REPO / FIXTURE_DIR / "with-marker.lock")
    made_images.append(tag)

    # Positive control: without the mirror, Debian's archive alone cannot make this image.
    without = pants("make-toolchain-image", address)
    assert without.returncode != 0
    # With it, the marker comes from the mirror and everything else from Debian's archive.
    made = pants(
        f"--source-mirrors-mirrors=['debian', '{mirror}']", "make-toolchain-image", address
    )
    assert made.returncode == 0, made.stderr[-5000:]
    assert made.stdout.split() == [tag]
    assert run_in_image(tag, "cat /usr/share/cpython-fips/marker") == marker
    installed = run_in_image(tag, "dpkg-query -W -f '${Package} ${Version}\\n'").splitlines()
    assert "cpython-fips-mirror-marker 1.0" in installed
    assert len(installed) == len(lock_lines(BASE_LOCK)) + 1


def test_package_found_nowhere_is_a_clear_error(tmp_path: Path) -> None:
    # A .deb that is in no archive, no mirror and not in Pants' store (its content is new).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    deb = make_marker_deb(elsewhere, str(uuid.uuid4()))
    address = write_fixture("stale", [marker_line(deb)])
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()

    result = pants(
        f"--source-mirrors-mirrors=['debian', '{empty_mirror}']", "make-toolchain-image", address
    )
    assert result.returncode != 0
    message = result.stderr
    assert f"The toolchain lock {FIXTURE_DIR}/stale.lock of {address}" in message
    assert (
        f"cpython-fips-mirror-marker 1.0 all ({deb.name}, sha256 {sha256(deb)}), tried:" in message
    )
    # Every place tried, in order: Debian's archives (their pool), then the mirror.
    assert f"/pool/main/c/cpython-fips-mirror-marker/{deb.name}:" in message
    assert f"file://{empty_mirror}/{deb.name}:" in message
    assert f"./pants generate-toolchain-lock {address}" in message
    assert "./pants export-mirror" in message
    # Only the missing package is named: the others were found.
    assert "base-files" not in message


def test_exported_mirror_alone_makes_the_image(tmp_path: Path, made_images: List[str]) -> None:
    exported = pants(
        "--export-mirror-destination=artifacts/exported-mirror",
        "export-mirror",
        "sources/toolchain:test-runtime",
        "sources/zlib:zlib",
    )
    assert exported.returncode == 0, exported.stderr[-5000:]
    mirror = REPO / "artifacts/exported-mirror"
    packages = lock_lines(BASE_LOCK)
    for name, _version, _arch, digest, size, _priority, pool_path in packages:
        deb = mirror / Path(pool_path).name
        assert deb.stat().st_size == int(size) and sha256(deb) == digest, name
    assert (mirror / "zlib_1.3.dfsg+really1.3.1.orig.tar.gz").is_file()
    # The debootstrap package that makes the images is exported with the locks' packages.
    assert list(mirror.glob("debootstrap_*_all.deb"))
    assert f"Wrote {len(packages) + 2} files" in exported.stdout

    # A new Pants store, so nothing is already at hand, and Debian's archive unreachable: the
    # exported directory is the only place that has the packages.
    address = write_fixture("from-export", [])
    tag = image_tag("from-export", REPO / FIXTURE_DIR / "from-export.lock")
    made_images.append(tag)
    made = pants(
        f"--local-store-dir={tmp_path / 'store'}",
        f"--source-mirrors-debian-archives=['{UNREACHABLE_ARCHIVE}']",
        f"--source-mirrors-mirrors=['debian', '{mirror}']",
        "make-toolchain-image",
        address,
        timeout=900,
    )
    assert made.returncode == 0, made.stderr[-5000:]
    assert made.stdout.split() == [tag]
    assert len(run_in_image(tag, "dpkg-query -W").splitlines()) == len(packages)
