"""Toolchain lock files (written by `runner/lock.sh`): pure logic, no rules, no Pants imports
(the container runner, a tool of another resolve, reads locks with it too).

A lock names every `.deb` of an image by its sha256 and size, like a `source_archive` pin, so a
`.deb` is a content-addressed input that may come from Debian's archive or from any mirror.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Dict, Tuple

LOCK_FORMAT = 2
_FIRST_LINE = re.compile(r"^# cpython-fips toolchain lock, format (\d+)\.")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LockfileError(Exception):
    pass


@dataclass(frozen=True)
class LockedPackage:
    """One `.deb`: `filename` is its path in the Debian archive it was resolved from."""

    name: str
    version: str
    architecture: str
    sha256: str
    size: int
    priority: str
    pool_path: str

    @property
    def filename(self) -> str:
        return posixpath.basename(self.pool_path)

    def __str__(self) -> str:
        return f"{self.name} {self.version} {self.architecture}"


@dataclass(frozen=True)
class Lockfile:
    path: str
    header: Dict[str, str]
    packages: Tuple[LockedPackage, ...]

    @property
    def suites(self) -> Tuple[str, ...]:
        return tuple(self.header.get("suites", "").split())


def parse_package(line: str) -> LockedPackage:
    """A package line of a lock: 'name version arch sha256 size priority filename'. ValueError if
    the line is not one."""
    fields = line.split()
    if (
        len(fields) != 7
        or not _SHA256.match(fields[3])
        or not fields[4].isdigit()
        or not fields[6].startswith("pool/")
        or ".." in fields[6].split("/")
    ):
        raise ValueError(f"not a lock's package line: {line!r}")
    name, version, architecture, sha256, size, priority, pool_path = fields
    return LockedPackage(name, version, architecture, sha256, int(size), priority, pool_path)


def parse_lockfile(path: str, content: str, regenerate: str) -> Lockfile:
    """`regenerate` is the command that writes this lock again, for error messages."""

    def error(problem: str) -> LockfileError:
        return LockfileError(f"{path}: {problem}. Regenerate the lock with `{regenerate}`.")

    lines = content.splitlines()
    first = _FIRST_LINE.match(lines[0]) if lines else None
    if first is None:
        raise error("not a toolchain lock (its first line is not lock.sh's header)")
    if int(first.group(1)) != LOCK_FORMAT:
        raise error(f"lock format {first.group(1)}, but this version reads format {LOCK_FORMAT}")
    header: Dict[str, str] = {}
    packages = []
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
            continue
        try:
            packages.append(parse_package(line))
        except ValueError:
            raise error(
                f"line {number} is not 'name version arch sha256 size priority filename': {line!r}"
            ) from None
    if not packages:
        raise error("it lists no packages")
    return Lockfile(path=path, header=header, packages=tuple(packages))
