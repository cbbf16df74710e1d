"""The release archives of `./pants package //dist:cpython-3.13-x86_64-linux-noopt`: names,
python-build-standalone's layout, install_only filtering, stripping that spares the FIPS module,
deterministic archives, and byte-identical output when packaged again. (Validation and the
runtime checks of each archive run inside the package goal: it fails if they fail.)"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import tarfile
from pathlib import Path
from typing import Dict

import pytest

from images import ensure_image
from pants_launcher_test import REPO, pants

TARGET = "//dist:cpython-3.13-x86_64-linux-noopt"
TRIPLE = "x86_64-unknown-linux-gnu"
FIPS_MODULE = "share/ssl/ossl-modules/fips.so"


def kind_of(name: str) -> str:
    for kind in ("install_only_stripped", "install_only"):
        if f"-{kind}-" in name:
            return kind
    return "full"


def archives() -> Dict[str, Path]:
    found = (REPO / "artifacts").glob(f"cpython-3.13.*-{TRIPLE}-noopt-*")
    return {kind_of(path.name): path for path in found}


@pytest.fixture(scope="module")
def packaged() -> Dict[str, Path]:
    built = pants("package", TARGET, timeout=3300)
    assert built.returncode == 0, built.stderr[-5000:]
    assert "Validate and archive" in built.stderr
    found = archives()
    assert len(found) == 3, sorted(p.name for p in (REPO / "artifacts").iterdir())
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def full_members(path: Path) -> list:
    """Member names of the .tar.zst, in order (listed by zstd in the toolchain image)."""
    listing = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{path}:/a.tar.zst:ro",
         ensure_image("linux-x86_64"), "sh", "-c", "zstd -dc /a.tar.zst | tar -t"],
        capture_output=True, text=True, timeout=600,
    )
    assert listing.returncode == 0, listing.stderr
    return listing.stdout.splitlines()


def test_names(packaged: Dict[str, Path]) -> None:
    assert packaged["full"].name == f"cpython-3.13.15-{TRIPLE}-noopt-20261124.tar.zst"
    assert packaged["install_only"].name == f"cpython-3.13.15-{TRIPLE}-noopt-install_only-20261124.tar.gz"
    assert packaged["install_only_stripped"].name.endswith("-noopt-install_only_stripped-20261124.tar.gz")


def test_full_archive_layout(packaged: Dict[str, Path]) -> None:
    members = full_members(packaged["full"])
    assert members[0] == "python/PYTHON.json", members[:3]
    tops = {"/".join(m.split("/")[:2]) for m in members}
    assert {"python/install", "python/build", "python/licenses"} <= tops, tops
    assert "python/install/bin/python3.13" in members
    assert "python/build/lib/libcrypto.a" in members
    for component in ("cpython", "openssl-3.5", "sqlite", "zlib"):
        assert any(m.startswith(f"python/licenses/{component}/") for m in members), component


def test_install_only_is_filtered_and_deterministic(packaged: Dict[str, Path]) -> None:
    raw = packaged["install_only"].read_bytes()
    assert raw[3] & 0x08 == 0, "the gzip header must not record a file name"
    assert raw[4:8] == b"\0\0\0\0", "the gzip header must not record a time"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(946684800, 0, 0, "", "")}
    assert all(n.startswith("python/") for n in names)
    assert "python/bin/python3.13" in names
    assert not [n for n in names if n.startswith("python/lib/python3.13/test/")]
    assert not [n for n in names if "/lib-dynload/_test" in n]
    assert not [n for n in names if n.endswith("libpython3.13.a")]


def test_stripped_keeps_the_fips_module(packaged: Dict[str, Path]) -> None:
    def read(kind: str, member: str) -> bytes:
        with tarfile.open(packaged[kind]) as tar:
            return tar.extractfile(f"python/{member}").read()

    assert read("install_only", FIPS_MODULE) == read("install_only_stripped", FIPS_MODULE)
    library = "lib/libpython3.13.so.1.0"
    assert len(read("install_only_stripped", library)) < len(read("install_only", library))


def test_packaging_again_is_byte_identical(packaged: Dict[str, Path]) -> None:
    before = {kind: sha256(path) for kind, path in packaged.items()}
    again = pants("package", TARGET)
    assert again.returncode == 0, again.stderr[-5000:]
    # The packager ran again (it is not cached across runs); the builds came from the cache.
    assert "Validate and archive" in again.stderr
    assert "Starting: Build sources/cpython" not in again.stderr
    assert {kind: sha256(path) for kind, path in archives().items()} == before
