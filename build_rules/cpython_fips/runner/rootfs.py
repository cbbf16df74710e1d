"""A toolchain image's root filesystem, made from its lock with nothing on the host but Docker.

No debootstrap and no root on the host: debootstrap runs in containers, in three stages.

1. The *seed*: a root filesystem written here from the lock's own `.deb`s, the Priority-required
   packages and what they depend on, unpacked without being configured, plus a pinned
   `debootstrap` (`seed_tar`). It is imported as a throwaway image of the lock's architecture.
2. The *first stage*: `debootstrap --foreign` in a seed container unpacks the lock's packages into
   /target, from a local archive holding the lock's `.deb`s and nothing else
   (`write_local_archive`).
3. The *second stage*: /target, imported as a throwaway image, completes itself:
   `debootstrap --second-stage` configures the packages in a container of it (a chroot would need
   device nodes, which a container may create but not open), then `finish-rootfs.sh` checks the
   installed set against the lock and removes what differs from run to run.

The second stage's filesystem, exported by Docker, is rewritten as a deterministic tar
(`write_normalized_rootfs`) and imported under the toolchain's tag. This module is the pure part:
files and tars, no Docker.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from debian.arfile import ArFile
from debian.deb822 import PkgRelation
from debian.debfile import DebFile

from cpython_fips.digests import sha256_of
from cpython_fips.toolchain.lockfile import LockedPackage, Lockfile, parse_lockfile

REGENERATE = "./pants generate-toolchain-lock <toolchain>"
# The Debian architectures images are made for (Docker's names for them are the same).
ARCHITECTURES = ("amd64", "arm64")
# Added to the seed: debootstrap looks for wget even when its archive is a local directory, and
# awk is an alternatives link that an unconfigured system lacks.
SEED_WGET = b'#!/bin/sh\necho "wget: the seed of a toolchain image has no network" >&2\nexit 1\n'
SEED_AWK_TARGET = "mawk"
# What Docker puts into every container's filesystem (its "init layer"), over the image's own
# files. `docker export` shows Docker's versions; the rootfs keeps what the first stage made.
DOCKER_INIT_LAYER = (
    ".dockerenv",
    "dev/console",
    "dev/pts",
    "dev/shm",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "sys",
)
# Empty in every image, as Docker provides them to each container: debootstrap copies the
# seed container's (its hostname is the container's id).
EMPTIED = ("etc/hostname", "etc/resolv.conf")
# File capabilities are the one extended attribute an image's files may need (ping, say).
KEPT_PAX_HEADERS = ("SCHILY.xattr.security.capability",)


class RootfsError(Exception):
    pass


def read_lock(path: Path) -> Lockfile:
    lock = parse_lockfile(str(path), path.read_text(errors="replace"), REGENERATE)
    for field in ("suite", "arch"):
        if not lock.header.get(field):
            raise RootfsError(f"{path} has no '# {field}:' header line; write locks with lock.sh")
    if lock.header["arch"] not in ARCHITECTURES:
        raise RootfsError(
            f"{path} is for {lock.header['arch']}: images are made for amd64 and arm64"
        )
    return lock


def checked_debs(lock: Lockfile, debs_dir: Path) -> Dict[str, Path]:
    """Every package's `.deb` in `debs_dir`, checked against the lock's sha256, by package name."""
    found: Dict[str, Path] = {}
    problems: List[str] = []
    for package in lock.packages:
        deb = debs_dir / package.filename
        if not deb.is_file():
            problems.append(f"{package}: {package.filename} is not in {debs_dir}")
            continue
        got = sha256_of(deb)
        if got != package.sha256:
            problems.append(
                f"{package}: sha256 expected {package.sha256} (lock), got {got} ({deb})"
            )
            continue
        found[package.name] = deb
    if problems:
        raise RootfsError(
            f"the packages in {debs_dir} do not match {lock.path}:\n" + "\n".join(problems)
        )
    return found


def control_text(deb: Path) -> str:
    control = DebFile(str(deb)).control.get_content("control", encoding="utf-8")
    if control is None:
        raise RootfsError(f"{deb} has no control file")
    return control.rstrip("\n")


def write_local_archive(lock: Lockfile, debs: Mapping[str, Path], repo: Path) -> None:
    """An unsigned archive of exactly the lock's `.deb`s under `repo`, which debootstrap installs
    from (no other version can be picked). Its index holds each `.deb`'s own control fields with
    the lock's priority (debootstrap picks its first stage by it), file name, size and sha256."""
    suite, arch = lock.header["suite"], lock.header["arch"]
    index_dir = repo / "dists" / suite / "main" / f"binary-{arch}"
    index_dir.mkdir(parents=True)
    stanzas = []
    for package in lock.packages:
        deb = debs[package.name]
        target = repo / package.pool_path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(deb, target)
        except OSError:  # another file system
            target.write_bytes(deb.read_bytes())
        fields = [
            line for line in control_text(deb).splitlines() if not line.startswith("Priority:")
        ]
        fields += [
            f"Priority: {package.priority}",
            f"Filename: {package.pool_path}",
            f"Size: {package.size}",
            f"SHA256: {package.sha256}",
        ]
        stanzas.append("\n".join(fields) + "\n\n")  # debootstrap reads a stanza at its blank line
    index = "".join(stanzas).encode()
    (index_dir / "Packages").write_bytes(index)
    (repo / "dists" / suite / "Release").write_text(
        f"Suite: {suite}\nCodename: {suite}\nComponents: main\nArchitectures: {arch}\nSHA256:\n"
        f" {hashlib.sha256(index).hexdigest()} {len(index)} main/binary-{arch}/Packages\n"
    )


def source_date_epoch(debs: Iterable[Path]) -> int:
    """The lock's one timestamp: the newest `.deb`'s build time (its first ar member's mtime).

    Files written while the image is made get it; files from the `.deb`s keep their own, older
    mtimes; shadow's "last password change" uses it through SOURCE_DATE_EPOCH."""
    return max(ArFile(str(deb)).getmembers()[0].mtime for deb in debs)


def _relations(control: Mapping[str, str]) -> List[List[str]]:
    """Each Pre-Depends/Depends relation as its alternatives' package names."""
    relations = []
    for field in ("Pre-Depends", "Depends"):
        for alternatives in PkgRelation.parse_relations(control[field]) if field in control else []:
            relations.append([alternative["name"] for alternative in alternatives])
    return relations


def seed_packages(lock: Lockfile, debs: Mapping[str, Path]) -> List[LockedPackage]:
    """The Priority-required packages and, recursively, what they depend on (the first
    alternative the lock has, by name or by a package that provides it): enough of a system for
    debootstrap's first stage, which only unpacks."""
    by_name = {package.name: package for package in lock.packages}
    controls = {name: DebFile(str(deb)).control.debcontrol() for name, deb in debs.items()}
    providers: Dict[str, str] = {}
    for name, control in controls.items():
        provides = control.get("Provides")
        for alternatives in PkgRelation.parse_relations(provides) if provides else []:
            for provided in alternatives:
                providers.setdefault(provided["name"], name)
    wanted = [package.name for package in lock.packages if package.priority == "required"]
    chosen: Set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in chosen:
            continue
        chosen.add(name)
        for names in _relations(controls[name]):
            for dependency in names:
                present = dependency if dependency in by_name else providers.get(dependency)
                if present is not None:
                    wanted.append(present)
                    break
    return [package for package in lock.packages if package.name in chosen]


def _normalized_name(name: str) -> str:
    name = posixpath.normpath(name.lstrip("/"))
    return "" if name == "." else name


def seed_tar(debs: Sequence[Path], out: IO[bytes]) -> None:
    """The data members of `debs` (in order; the first of two members of one name wins, as
    directories repeat across packages) as one tar, with `wget` and `awk` for debootstrap."""
    written: Set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as seed:
        for deb in debs:
            with DebFile(str(deb)).data.tgz() as data:
                for member in data:
                    name = _normalized_name(member.name)
                    if not name or name in written:
                        continue
                    written.add(name)
                    member.name = name
                    if member.islnk():
                        member.linkname = _normalized_name(member.linkname)
                    seed.addfile(member, data.extractfile(member) if member.isreg() else None)
        if "usr/bin/wget" not in written:
            info = tarfile.TarInfo("usr/bin/wget")
            info.mode, info.size = 0o755, len(SEED_WGET)
            seed.addfile(info, io.BytesIO(SEED_WGET))
        if "usr/bin/awk" not in written:
            info = tarfile.TarInfo("usr/bin/awk")
            info.type, info.linkname = tarfile.SYMTYPE, SEED_AWK_TARGET
            seed.addfile(info)


def strip_top_directory(archive: IO[bytes], top: str, out: IO[bytes]) -> None:
    """Docker's archive of a container's directory `top` (members `top/...`) as the tar of that
    directory's contents, for importing it as a root filesystem."""
    prefix = top.strip("/") + "/"
    with tarfile.open(fileobj=archive, mode="r|") as source, tarfile.open(
        fileobj=out, mode="w|", format=tarfile.PAX_FORMAT
    ) as target:
        for member in source:
            if not member.name.startswith(prefix):
                continue
            member.name = member.name[len(prefix) :]
            if member.islnk():
                member.linkname = member.linkname.removeprefix(prefix)
            target.addfile(member, source.extractfile(member) if member.isreg() else None)


@dataclass(frozen=True)
class _Entry:
    """A member of the exported filesystem: where its content is, and its metadata."""

    info: tarfile.TarInfo
    source: tarfile.TarFile


def _read_members(archive: tarfile.TarFile) -> Iterator[Tuple[str, tarfile.TarInfo]]:
    for member in archive.getmembers():
        name = _normalized_name(member.name)
        if name:
            yield name, member


def write_normalized_rootfs(
    exported: tarfile.TarFile, first_stage: tarfile.TarFile, epoch: int, out: IO[bytes]
) -> None:
    """The deterministic tar of a root filesystem from Docker's export of the container that
    made it: names sorted, numeric owners and no names, mtimes clamped to `epoch`, no extended
    attributes but file capabilities, hard links to the first name of their group in sorted
    order. Docker's own files (`DOCKER_INIT_LAYER`) are replaced by the first stage's (dropped
    if it had none), but for those in `EMPTIED`, which are empty."""
    replaced = set(DOCKER_INIT_LAYER) - set(EMPTIED)
    entries: Dict[str, _Entry] = {
        name: _Entry(member, exported)
        for name, member in _read_members(exported)
        if name not in replaced
    }
    for name, member in _read_members(first_stage):
        if name in replaced:
            entries[name] = _Entry(member, first_stage)
    # Hard links: each group's content is written under its first name in sorted order.
    link_groups: Dict[str, List[str]] = {}
    for name, entry in entries.items():
        if entry.info.islnk():
            link_groups.setdefault(_normalized_name(entry.info.linkname), []).append(name)
    first_of_group: Dict[str, str] = {}
    content_of: Dict[str, str] = {}
    for target, links in link_groups.items():
        group = sorted([target, *links])
        for name in group:
            first_of_group[name] = group[0]
            content_of[name] = target
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as rootfs:
        for name in sorted(entries):
            entry = entries[name]
            info = _normalized_info(name, entry.info, epoch)
            content: Optional[IO[bytes]] = None
            first = first_of_group.get(name, name)
            if first != name:
                info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
            elif name in EMPTIED:
                info.type, info.size = tarfile.REGTYPE, 0
            elif entry.info.isreg() or name in content_of:
                source = entries[content_of.get(name, name)]
                info.type, info.size = tarfile.REGTYPE, source.info.size
                content = source.source.extractfile(source.info)
            rootfs.addfile(info, content)


def _normalized_info(name: str, member: tarfile.TarInfo, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = member.type
    info.mode = member.mode
    info.uid, info.gid = member.uid, member.gid
    info.uname = info.gname = ""
    info.mtime = min(int(member.mtime), epoch)
    info.linkname = member.linkname if member.issym() else ""
    info.devmajor, info.devminor = member.devmajor, member.devminor
    info.pax_headers = {
        key: value for key, value in member.pax_headers.items() if key in KEPT_PAX_HEADERS
    }
    return info
