from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Dict

import pytest
import zstandard

from cpython_fips.releaser.releaser import (
    DOWNLOADS,
    PROVENANCE,
    SHA256SUMS,
    Archives,
    ReleaseError,
    make_release,
    parse_sha256sums,
)

TAG = "20261124"
ZLIB_SHA256 = "60dd315c07f616887caa029408308a018ace66e3d142726a97db164b3b8f69fb"
CPYTHON_SHA256 = "1e66a7945a48390ee4c2a4268a0e4185884059a13c4aab6d148aa208deea4a76"
PINS = [
    {
        "address": "sources/cpython:cpython-3.13",
        "product": "cpython",
        "version": "3.13.15",
        "sha256": CPYTHON_SHA256,
        "urls": ["https://www.python.org/ftp/python/3.13.15/Python-3.13.15.tar.xz"],
        "license": "Python-2.0 AND CNRI-Python",
        "repack": None,
        "patches": ["sources/cpython/patches/3.13/0001-hashlib-fips-mode.patch"],
    },
    {
        "address": "sources/zlib:zlib",
        "product": "zlib",
        "version": "1.3.1",
        "sha256": ZLIB_SHA256,
        "urls": ["https://zlib.net/zlib-1.3.1.tar.gz"],
        "license": "Zlib",
        "repack": "Debian's dfsg repack",
        "patches": [],
    },
]
LOCKS = [{"path": "sources/toolchain/linux-x86_64.lock", "sha256": "ab" * 32}]


def distribution(directory: Path, build_options: str, version: str = "3.13.15") -> dict:
    """A distribution's three archives: a real .tar.zst with a PYTHON.json, two stand-ins."""
    stem = f"cpython-{version}-x86_64-unknown-linux-gnu-{build_options}"
    info = {
        "python_version": version,
        "target_triple": "x86_64-unknown-linux-gnu",
        "build_options": build_options,
        "cpython_fips": {"components": [{"name": "zlib", "sha256": ZLIB_SHA256}]},
    }
    data = json.dumps(info).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        member = tarfile.TarInfo("python/PYTHON.json")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    names = [
        f"{stem}-{TAG}.tar.zst",
        f"{stem}-install_only-{TAG}.tar.gz",
        f"{stem}-install_only_stripped-{TAG}.tar.gz",
    ]
    (directory / names[0]).write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    for name in names[1:]:
        (directory / name).write_bytes(name.encode())
    return {
        "target": f"//dist:{stem}",
        "archives": names,
        "pins": PINS,
        "locks": LOCKS,
    }


def manifest(*distributions: dict) -> dict:
    return {
        "tag": TAG,
        "base_url": "https://example.org/releases/20261124/",
        "dry_run": True,
        "builder_id": "urn:test",
        "git": {"commit": "c0ffee" * 6 + "c0ff", "dirty": False},
        "distributions": list(distributions),
    }


def read_all(directory: Path) -> Dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_release_files_are_complete_right_and_deterministic(tmp_path: Path) -> None:
    archives = tmp_path / "archives"
    archives.mkdir()
    noopt = distribution(archives, "noopt")
    written = make_release(manifest(noopt), archives, tmp_path / "one")
    sbom_name = f"cpython-3.13.15-x86_64-unknown-linux-gnu-noopt-{TAG}.cdx.json"
    assert written == sorted([DOWNLOADS, PROVENANCE, SHA256SUMS, sbom_name])

    one = read_all(tmp_path / "one")
    sums = parse_sha256sums(one[SHA256SUMS].decode())
    assert sorted(sums) == sorted([*noopt["archives"], DOWNLOADS, PROVENANCE, sbom_name])
    for name, digest in sums.items():
        content = (archives / name).read_bytes() if name in noopt["archives"] else one[name]
        assert hashlib.sha256(content).hexdigest() == digest, name

    [(key, entry)] = json.loads(one[DOWNLOADS]).items()
    assert key == "cpython-3.13.15-linux-x86_64-gnu"
    stripped = noopt["archives"][2]
    assert entry["url"] == f"https://example.org/releases/20261124/{stripped}"
    assert entry["sha256"] == sums[stripped]
    assert (entry["major"], entry["minor"], entry["patch"], entry["build"]) == (3, 13, 15, TAG)

    sbom = json.loads(one[sbom_name])
    zlib = next(c for c in sbom["components"] if c["name"] == "zlib")
    assert zlib["purl"].startswith("pkg:generic/zlib@1.3.1?checksum=sha256:" + ZLIB_SHA256)
    assert {"name": "cpython-fips:repack", "value": "Debian's dfsg repack"} in zlib["properties"]
    assert "timestamp" not in sbom["metadata"]

    statement = json.loads(one[PROVENANCE])
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert [s["name"] for s in statement["subject"]] == noopt["archives"]
    dependencies = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    digests = [d["digest"] for d in dependencies]
    assert {"gitCommit": "c0ffee" * 6 + "c0ff"} in digests
    assert {"sha256": LOCKS[0]["sha256"]} in digests
    assert {"sha256": ZLIB_SHA256} in digests

    make_release(manifest(noopt), archives, tmp_path / "two")
    assert read_all(tmp_path / "two") == one


def test_uv_lists_the_optimised_build_and_the_freethreaded_one(tmp_path: Path) -> None:
    noopt = distribution(tmp_path, "noopt")
    release = distribution(tmp_path, "pgo+lto")
    freethreaded = distribution(tmp_path, "freethreaded+pgo+lto")
    make_release(manifest(noopt, release, freethreaded), tmp_path, tmp_path / "out")
    listing = json.loads((tmp_path / "out" / DOWNLOADS).read_text())
    assert sorted(listing) == [
        "cpython-3.13.15+freethreaded-linux-x86_64-gnu",
        "cpython-3.13.15-linux-x86_64-gnu",
    ]
    assert "-pgo+lto-install_only_stripped-" in listing["cpython-3.13.15-linux-x86_64-gnu"]["url"]
    assert listing["cpython-3.13.15+freethreaded-linux-x86_64-gnu"]["variant"] == "freethreaded"


def test_two_builds_uv_cannot_tell_apart_are_refused(tmp_path: Path) -> None:
    first = distribution(tmp_path, "noopt")
    second = dict(first, target="//dist:another")
    with pytest.raises(ReleaseError, match="both cpython-3.13.15-linux-x86_64-gnu"):
        make_release(manifest(first, second), tmp_path, tmp_path / "out")


def test_a_bundled_component_without_a_pin_is_refused(tmp_path: Path) -> None:
    unpinned = dict(distribution(tmp_path, "noopt"), pins=[PINS[0]])
    with pytest.raises(ReleaseError, match=r"without a pin in the build graph: \['zlib'\]"):
        make_release(manifest(unpinned), tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_archives_are_told_apart_by_name() -> None:
    names = [
        "a-noopt-1.tar.zst",
        "a-noopt-install_only-1.tar.gz",
        "a-noopt-install_only_stripped-1.tar.gz",
    ]
    assert Archives.classify(reversed(names)).all() == tuple(names)
    with pytest.raises(ReleaseError, match="one archive of each kind"):
        Archives.classify(names[:2])
    with pytest.raises(ReleaseError, match="not an archive of a release"):
        Archives.classify([*names, "notes.txt"])
