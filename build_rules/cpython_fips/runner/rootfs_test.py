"""Tests of rootfs.py (the files and tars of making a toolchain image) on real `.deb`s built here
with dpkg-deb and on tars written here; the containers are tested by the toolchain image tests."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from cpython_fips.runner import rootfs
from cpython_fips.toolchain.lockfile import LockedPackage, Lockfile

EPOCH = 1_700_000_000
CAPABILITY = "SCHILY.xattr.security.capability"


def make_deb(
    directory: Path, name: str, fields: str = "", files: Optional[Dict[str, bytes]] = None
) -> Path:
    root = directory / f"{name}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: tests <t@invalid>\n"
        f"Priority: extra\n{fields}Description: a test package\n"
    )
    for path, content in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    deb = directory / f"{name}_1.0_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)},
    )
    return deb


def lock_of(debs: Dict[str, Tuple[Path, str]]) -> Lockfile:
    packages = tuple(
        LockedPackage(
            name,
            "1.0",
            "amd64",
            hashlib.sha256(deb.read_bytes()).hexdigest(),
            deb.stat().st_size,
            priority,
            f"pool/main/{name[0]}/{name}/{deb.name}",
        )
        for name, (deb, priority) in sorted(debs.items())
    )
    return Lockfile("test.lock", {"suite": "bookworm", "arch": "amd64"}, packages)


def test_seed_is_the_required_packages_and_what_they_depend_on(tmp_path: Path) -> None:
    debs = {
        "base": (
            make_deb(tmp_path, "base", "Depends: absent | alternative, virtual\n"),
            "required",
        ),
        "alternative": (make_deb(tmp_path, "alternative"), "optional"),
        "provider": (make_deb(tmp_path, "provider", "Provides: virtual\n"), "optional"),
        "unneeded": (make_deb(tmp_path, "unneeded", "Depends: base\n"), "optional"),
    }
    lock = lock_of(debs)
    paths = {name: deb for name, (deb, _) in debs.items()}
    seed = rootfs.seed_packages(lock, paths)
    assert sorted(package.name for package in seed) == ["alternative", "base", "provider"]


def test_local_archive_indexes_exactly_the_lock(tmp_path: Path) -> None:
    debs = {
        "one": (make_deb(tmp_path, "one"), "required"),
        "two": (make_deb(tmp_path, "two"), "important"),
    }
    lock = lock_of(debs)
    repo = tmp_path / "repo"
    rootfs.write_local_archive(lock, {name: deb for name, (deb, _) in debs.items()}, repo)
    index = (repo / "dists/bookworm/main/binary-amd64/Packages").read_bytes()
    stanzas = index.decode().split("\n\n")
    # Every stanza ends with a blank line, the last one too: debootstrap reads a stanza when it
    # sees its blank line, so without it the last package is "not found".
    assert stanzas[-1] == "" and len(stanzas) == 3
    for package, stanza in zip(lock.packages, stanzas):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        assert fields["Package"] == package.name
        # The lock's priority replaces the package's own ("extra").
        assert fields["Priority"] == package.priority
        assert fields["Filename"] == package.pool_path
        assert fields["SHA256"] == package.sha256
        assert (repo / package.pool_path).read_bytes() == debs[package.name][0].read_bytes()
    release = (repo / "dists/bookworm/Release").read_text()
    assert (
        f" {hashlib.sha256(index).hexdigest()} {len(index)} main/binary-amd64/Packages" in release
    )


def test_debs_are_checked_against_the_lock(tmp_path: Path) -> None:
    debs = {
        "one": (make_deb(tmp_path, "one"), "required"),
        "two": (make_deb(tmp_path, "two"), "required"),
    }
    lock = lock_of(debs)
    assert set(rootfs.checked_debs(lock, tmp_path)) == {"one", "two"}
    debs["one"][0].write_bytes(b"tampered")
    debs["two"][0].unlink()
    with pytest.raises(rootfs.RootfsError) as error:
        rootfs.checked_debs(lock, tmp_path)
    message = str(error.value)
    assert "one 1.0 amd64: sha256 expected" in message and "two_1.0_amd64.deb is not in" in message


def test_seed_tar_holds_the_packages_files_and_debootstraps_helpers(tmp_path: Path) -> None:
    first = make_deb(tmp_path, "first", files={"usr/bin/tool": b"first"})
    second = make_deb(tmp_path, "second", files={"usr/bin/tool": b"second", "etc/x": b"x"})
    out = io.BytesIO()
    rootfs.seed_tar([first, second], out)
    out.seek(0)
    with tarfile.open(fileobj=out) as seed:
        names = seed.getnames()
        assert len(names) == len(set(names))
        assert read(seed, "usr/bin/tool") == b"first"  # the first package wins
        assert read(seed, "etc/x") == b"x"
        assert seed.getmember("usr/bin/awk").linkname == "mawk"
        assert seed.getmember("usr/bin/wget").mode == 0o755


def read(archive: tarfile.TarFile, name: str) -> bytes:
    content = archive.extractfile(name)
    assert content is not None, name
    return content.read()


def tar_of(members: List[Tuple[tarfile.TarInfo, bytes]]) -> tarfile.TarFile:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, content in members:
            info.size = len(content) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(content) if info.isreg() else None)
    data.seek(0)
    return tarfile.open(fileobj=data)


def member(
    name: str, kind: bytes = tarfile.REGTYPE, mtime: int = EPOCH - 10, **attributes
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = kind, mtime, 0o644
    info.uname = info.gname = "root"
    for key, value in attributes.items():
        setattr(info, key, value)
    return info


def exported(order: int) -> tarfile.TarFile:
    members = [
        (member("usr", tarfile.DIRTYPE, mtime=EPOCH + 500), b""),
        (member("usr/z"), b"shared content"),
        (member("usr/b", tarfile.LNKTYPE, linkname="usr/z"), b""),
        (
            member(
                "usr/new",
                mtime=EPOCH + 1000,
                pax_headers={CAPABILITY: "cap", "SCHILY.xattr.user.x": "y"},
            ),
            b"n",
        ),
        (member(".dockerenv"), b""),
        (member("etc/hostname"), b"0123456789ab\n"),
        (member("dev/console"), b""),
        (member("etc/mtab", tarfile.SYMTYPE, linkname="/proc/mounts"), b""),
    ]
    return tar_of(members if order == 0 else list(reversed(members)))


def first_stage() -> tarfile.TarFile:
    return tar_of(
        [
            (member("dev/console", tarfile.CHRTYPE, devmajor=5, devminor=1), b""),
            (member("usr/ignored"), b"only the Docker paths are taken from the first stage"),
        ]
    )


def normalized(order: int) -> bytes:
    out = io.BytesIO()
    rootfs.write_normalized_rootfs(exported(order), first_stage(), EPOCH, out)
    return out.getvalue()


def test_normalized_rootfs_is_deterministic_and_has_no_docker_files() -> None:
    written = normalized(0)
    assert normalized(1) == written  # whatever order Docker exports in
    with tarfile.open(fileobj=io.BytesIO(written)) as rootfs_tar:
        members = {info.name: info for info in rootfs_tar.getmembers()}
        assert list(members) == sorted(members)
        assert sorted(members) == [
            "dev/console",
            "etc/hostname",
            "usr",
            "usr/b",
            "usr/new",
            "usr/z",
        ]
        # Docker's files: its console replaced by the first stage's device; no /.dockerenv, no
        # /etc/mtab link to Docker's /proc; the container's hostname emptied.
        console = members["dev/console"]
        assert console.ischr() and (console.devmajor, console.devminor) == (5, 1)
        assert members["etc/hostname"].size == 0
        # A hard link group's content goes with its first name in sorted order.
        assert members["usr/b"].isreg() and read(rootfs_tar, "usr/b") == b"shared content"
        assert members["usr/z"].islnk() and members["usr/z"].linkname == "usr/b"
        # mtimes clamped to the epoch, older ones kept; numeric owners only; file capabilities
        # are the one extended attribute kept.
        assert members["usr"].mtime == EPOCH and members["usr/new"].mtime == EPOCH
        assert members["usr/z"].mtime == EPOCH - 10
        assert {info.uname for info in members.values()} == {""}
        assert members["usr/new"].pax_headers == {CAPABILITY: "cap"}


def test_docker_archive_of_a_directory_becomes_a_root_filesystem() -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.PAX_FORMAT) as docker_archive:
        for info, content in [
            (member("target", tarfile.DIRTYPE), b""),
            (member("target/bin/sh"), b"shell"),
            (member("target/bin/dash", tarfile.LNKTYPE, linkname="target/bin/sh"), b""),
        ]:
            info.size = len(content)
            docker_archive.addfile(info, io.BytesIO(content) if info.isreg() else None)
    archive.seek(0)
    out = io.BytesIO()
    rootfs.strip_top_directory(archive, "target", out)
    out.seek(0)
    with tarfile.open(fileobj=out) as stripped:
        assert stripped.getnames() == ["bin/sh", "bin/dash"]
        assert stripped.getmember("bin/dash").linkname == "bin/sh"
        assert read(stripped, "bin/sh") == b"shell"
