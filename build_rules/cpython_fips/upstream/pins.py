"""Pins and where to look for them: pure logic, no rules.

A pinned file (a source archive, or a toolchain lock's `.deb`) is tried at a sequence of locations
built from the `[source-mirrors].mirrors` entries, in the user's order:

- `upstream`: the pin's own `urls` (a `.deb` has none);
- `debian`: the file in the pool of each Debian archive the host's apt is configured with (a
  source pin's `debian_orig`, a `.deb`'s path in the archive it was locked from);
- `pypi`: a source pin's file among its `pypi_project`'s files in the package indexes the build is
  configured with (`[python-repos].indexes`), where each index says it is stored (fetched by
  package_index.py, not by URL);
- any other entry is a mirror: a URL or a local directory, either a template with `{filename}`,
  `{sha256}`, `{name}` or `{version}` placeholders, or a prefix under which the file is looked up
  by its file name.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlparse

from pants.engine.addresses import Address
from pants.engine.fs import FileDigest
from pants.engine.target import Target

from cpython_fips.upstream.target_types import (
    SourceArchiveDebianOrigField,
    SourceArchiveDebianSourcePackageField,
    SourceArchiveFilenameField,
    SourceArchiveLicenseField,
    SourceArchivePyPIProjectField,
    SourceArchiveRepackField,
    SourceArchiveSha256Field,
    SourceArchiveSizeField,
    SourceArchiveUrlsField,
    SourceArchiveVersionField,
)

UPSTREAM = "upstream"
DEBIAN = "debian"
PYPI = "pypi"

# Suites of Debian's own archives; apt entries for other suites (third-party repositories) are
# not searched for Debian source packages.
DEBIAN_CODENAMES = frozenset(
    {
        "buster",
        "bullseye",
        "bookworm",
        "trixie",
        "forky",
        "duke",
        "sid",
        "stable",
        "testing",
        "unstable",
        "oldstable",
        "oldoldstable",
    }
)


@dataclass(frozen=True)
class SourceArchivePin:
    address: Address
    version: str
    filename: str
    sha256: str
    size: int
    license: str
    urls: Tuple[str, ...]
    debian_orig: Optional[str]
    debian_source_package: Optional[str]
    pypi_project: Optional[str]
    repack: Optional[str]

    @classmethod
    def from_target(cls, target: Target) -> "SourceArchivePin":
        urls = tuple(target[SourceArchiveUrlsField].value or ())
        filename = target[SourceArchiveFilenameField].value or posixpath.basename(
            urlparse(urls[0]).path
        )
        return cls(
            address=target.address,
            version=target[SourceArchiveVersionField].value,
            filename=filename,
            sha256=target[SourceArchiveSha256Field].value,
            size=target[SourceArchiveSizeField].value,
            license=target[SourceArchiveLicenseField].value,
            urls=urls,
            debian_orig=target[SourceArchiveDebianOrigField].value,
            debian_source_package=target[SourceArchiveDebianSourcePackageField].value,
            pypi_project=target[SourceArchivePyPIProjectField].value,
            repack=target[SourceArchiveRepackField].value,
        )

    @property
    def name(self) -> str:
        return self.address.target_name

    @property
    def file_digest(self) -> FileDigest:
        return FileDigest(self.sha256, self.size)

    @property
    def template_fields(self) -> Mapping[str, str]:
        return template_fields(self.filename, self.sha256, self.name, self.version)


@dataclass(frozen=True)
class Location:
    """One place a pin may be found: `mirror` is the `[source-mirrors].mirrors` entry behind it."""

    mirror: str
    url: str


def debian_pool_url(
    archive_uri: str, orig_filename: str, source_package: Optional[str] = None
) -> str:
    """The URL of a file of a source package in a Debian archive's pool (the layout `apt-get
    source` downloads from): `pool/main/<prefix>/<source package>/<file>`, the source package
    being the file name's part before `_` unless named (a binary package's `.deb`). Debian's
    security archive files its pool under `pool/updates/`."""
    package = source_package or orig_filename.split("_", 1)[0]
    prefix = package[:4] if package.startswith("lib") else package[0]
    archive_uri = archive_uri.rstrip("/")
    pool = "pool/updates/main" if archive_uri.endswith("-security") else "pool/main"
    return f"{archive_uri}/{pool}/{prefix}/{package}/{orig_filename}"


def template_fields(filename: str, sha256: str, name: str, version: str) -> Mapping[str, str]:
    """The values of a mirror template's placeholders."""
    return {"filename": filename, "sha256": sha256, "name": name, "version": version}


def mirror_url(entry: str, fields: Mapping[str, str], buildroot: str) -> str:
    if "://" not in entry:
        path = entry if os.path.isabs(entry) else os.path.join(buildroot, entry)
        entry = "file://" + quote(os.path.normpath(path))
    if "{" not in entry:
        entry = entry.rstrip("/") + "/{filename}"
    return entry.format(**fields)


def locations(
    mirrors: Iterable[str],
    *,
    upstream: Sequence[str],
    debian: Sequence[str],
    fields: Mapping[str, str],
    buildroot: str,
) -> Tuple[Location, ...]:
    """Where to look for one file by URL, in the order of `mirrors`: `upstream` and `debian` are
    the file's URLs for those entries. (The `pypi` entry has none: the package indexes are asked
    where the file is, see package_index.py.)"""
    found: List[Location] = []
    named: Mapping[str, Sequence[str]] = {UPSTREAM: upstream, DEBIAN: debian, PYPI: ()}
    for entry in mirrors:
        if entry in named:
            found.extend(Location(entry, url) for url in named[entry])
        else:
            found.append(Location(entry, mirror_url(entry, fields, buildroot)))
    return tuple(dict.fromkeys(found))


def candidate_locations(
    pin: SourceArchivePin,
    mirrors: Iterable[str],
    debian_archives: Iterable[str],
    buildroot: str,
) -> Tuple[Location, ...]:
    debian_orig = pin.debian_orig
    return locations(
        mirrors,
        upstream=pin.urls,
        debian=[
            debian_pool_url(archive, debian_orig, pin.debian_source_package)
            for archive in debian_archives
        ]
        if debian_orig
        else [],
        fields=pin.template_fields,
        buildroot=buildroot,
    )


def _is_debian_suite(suite: str) -> bool:
    return suite.split("-", 1)[0].split("/", 1)[0] in DEBIAN_CODENAMES


def debian_archive_uris(apt_sources: str) -> Tuple[str, ...]:
    """The archive URIs of Debian's own suites in apt source files, one-line (`sources.list`) or
    deb822 (`*.sources`) format, in the order they appear."""
    uris = []
    for stanza in re.split(r"\n\s*\n", apt_sources):
        fields = {}
        for line in stanza.splitlines():
            line = line.split("#", 1)[0].rstrip()
            if not line:
                continue
            one_line = re.match(r"^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if one_line:
                uri, suite = one_line.groups()
                if _is_debian_suite(suite):
                    uris.append(uri)
                continue
            key, sep, value = line.partition(":")
            if sep and not line[0].isspace():
                fields[key.strip().lower()] = value.split()
        if fields.get("enabled", ["yes"])[0].lower() == "no":
            continue
        if any(_is_debian_suite(suite) for suite in fields.get("suites", ())):
            uris.extend(fields.get("uris", ()))
    return tuple(dict.fromkeys(uri.rstrip("/") for uri in uris))
