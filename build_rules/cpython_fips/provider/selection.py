"""Which of our distributions serves a set of interpreter constraints: pure logic, no rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from cpython_fips.matrix import BuildMatrix, Platform

# Pants' platform names -> the build matrix's.
PANTS_PLATFORMS = {
    "linux_x86_64": "linux-x86_64",
    "linux_arm64": "linux-aarch64",
    "macos_arm64": "macos-arm64",
}


class ProviderError(ValueError):
    pass


@dataclass(frozen=True)
class ReleasedArchive:
    """A released `install_only` archive (`[cpython-fips-provider].releases`)."""

    minor: str
    triple: str
    url: str
    sha256: str
    size: int

    @classmethod
    def parse(cls, entry: str) -> "ReleasedArchive":
        fields = entry.split("|")
        if len(fields) != 5 or not re.fullmatch(r"3\.\d+", fields[0]):
            raise ProviderError(
                f"[cpython-fips-provider].releases: {entry!r} is not "
                "`<minor>|<target triple>|<url>|<sha256>|<size>`"
            )
        minor, triple, url, sha256, size = fields
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not size.isdigit():
            raise ProviderError(
                f"[cpython-fips-provider].releases: {entry!r} needs a sha256 of 64 hex digits and "
                "a size in bytes"
            )
        return cls(minor, triple, url, sha256, int(size))

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Choice:
    """Where the interpreter of `minor` comes from: a //dist target, or a released archive."""

    minor: str
    distribution: Optional[str] = None
    release: Optional[ReleasedArchive] = None


def host_platform(pants_platform: str, matrix: BuildMatrix) -> Optional[Platform]:
    name = PANTS_PLATFORMS.get(pants_platform)
    return matrix.platform(name) if name else None


def choose(
    minor: Optional[str],
    constraints: Iterable[str],
    platform: Optional[Platform],
    flavour: str,
    releases: Iterable[ReleasedArchive],
    matrix: BuildMatrix,
    versions: Optional[Iterable[str]] = None,
) -> Optional[Choice]:
    """What serves constraints whose oldest allowed version is `minor`, or None where we have
    nothing for them (another implementation than CPython, a version or platform we do not
    build, a version outside `versions` when given): the usual interpreter search serves
    those."""
    if minor is None or platform is None:
        return None
    if versions is not None and minor not in versions:
        return None
    if not all(constraint.startswith("CPython") for constraint in constraints):
        return None
    for release in releases:
        if (release.minor, release.triple) == (minor, platform.triple):
            return Choice(minor, release=release)
    for built_platform, version, built_flavour in matrix.cpython_builds():
        if (built_platform, version.minor) == (platform, minor) and built_flavour.name == flavour:
            return Choice(
                minor,
                distribution=(
                    f"//dist:cpython-{minor}-{platform.dist_name}{built_flavour.dist_suffix}"
                ),
            )
    return None


def interpreter_fingerprint(content_id: str, fips_mode: bool) -> str:
    """The named cache directory of an unpacked interpreter: one per archive and mode."""
    return f"{content_id[:32]}{'-fips' if fips_mode else ''}"


def sitecustomize(fips_mode: bool) -> Optional[str]:
    """The `sitecustomize` module that turns FIPS mode on for the code an interpreter runs."""
    if not fips_mode:
        return None
    return '''\
"""cpython-fips: FIPS mode for the code this interpreter runs ([cpython-fips-provider].fips_mode).

OpenSSL reads OPENSSL_CONF when hashlib or ssl first use it, after this module runs; settings
the environment already has win. Subprocesses and virtualenvs inherit it.
"""
import os as _os
import sys as _sys

_ssl_dir = _os.path.join(_sys.base_prefix, "share", "ssl")
_os.environ.setdefault("OPENSSL_CONF", _os.path.join(_ssl_dir, "openssl-fips.cnf"))
_os.environ.setdefault("OPENSSL_MODULES", _os.path.join(_ssl_dir, "ossl-modules"))
del _os, _sys, _ssl_dir
'''


def abi_name(minor: str, flavour: str) -> str:
    """`python3.13`, or `python3.13t` for a free-threaded build: its interpreter's name and its
    library directory's."""
    return f"python{minor}{'t' if flavour.startswith('freethreaded') else ''}"
