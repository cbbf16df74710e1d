"""The `.deb`s of a toolchain lock, fetched as content-addressed files from the places in
`[source-mirrors].mirrors` (Debian's archive pool, then mirrors), like source archives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Tuple

from pants.base.build_root import BuildRoot
from pants.engine.fs import Digest, DigestContents, FileDigest, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

from cpython_fips.toolchain.image import ToolchainImage, ToolchainImageRequest
from cpython_fips.toolchain.lockfile import LockedPackage, Lockfile, parse_lockfile
from cpython_fips.toolchain.subsystems import ContainerRunner
from cpython_fips.upstream.fetch import (
    MISSING_ARCHIVE_HINT,
    DebianArchives,
    PinnedFileFetch,
    PinnedFileRequest,
    attempts_report,
)
from cpython_fips.upstream.pins import locations, template_fields
from cpython_fips.upstream.subsystems import SourceMirrors


class ToolchainPackagesError(Exception):
    pass


def regenerate_command(image: ToolchainImage) -> str:
    return f"./pants generate-toolchain-lock {image.address}"


@dataclass(frozen=True)
class ToolchainLockfile:
    image: ToolchainImage
    lockfile: Lockfile


@dataclass(frozen=True)
class ToolchainPackagesRequest:
    toolchain: ToolchainImageRequest


@dataclass(frozen=True)
class ToolchainPackages:
    """Every `.deb` of the toolchain's lock and the debootstrap package that makes its image, at
    the top level, under their file names."""

    image: ToolchainImage
    digest: Digest
    debootstrap: LockedPackage


@rule(desc="Read a toolchain's lock")
async def read_toolchain_lockfile(request: ToolchainImageRequest) -> ToolchainLockfile:
    image = await Get(ToolchainImage, ToolchainImageRequest, request)
    [lock] = await Get(DigestContents, Digest, image.lock_digest)
    lockfile = parse_lockfile(
        image.lock_path, lock.content.decode(errors="replace"), regenerate_command(image)
    )
    return ToolchainLockfile(image, lockfile)


def package_request(
    package: LockedPackage,
    pin_source: str,
    mirrors: Iterable[str],
    debian_archives: Iterable[str],
    buildroot: str,
) -> PinnedFileRequest:
    return PinnedFileRequest(
        what=f"the package {package} ({package.filename}) of {pin_source}",
        filename=package.filename,
        file_digest=FileDigest(package.sha256, package.size),
        locations=locations(
            mirrors,
            upstream=(),
            debian=[f"{archive}/{package.pool_path}" for archive in debian_archives],
            fields=template_fields(package.filename, package.sha256, package.name, package.version),
            buildroot=buildroot,
        ),
        pin_source=pin_source,
    )


def missing_packages_message(
    image: ToolchainImage, missing: Iterable[Tuple[LockedPackage, PinnedFileFetch]]
) -> str:
    reports = "\n".join(
        f"{package} ({package.filename}, sha256 {package.sha256}), tried:\n"
        f"{attempts_report(fetch.attempts)}"
        for package, fetch in missing
    )
    return (
        f"The toolchain lock {image.lock_path} of {image.address} names packages that could not "
        f"be obtained from any place in [source-mirrors].mirrors:\n{reports}\n"
        "Debian's archive drops superseded versions, so this lock is stale. Either regenerate it "
        f"with `{regenerate_command(image)}` (and commit the new lock: the toolchain changes, "
        "so its build steps run again), or keep the build as it is by adding a mirror that holds "
        "these files: `./pants export-mirror` writes one from a machine that has them. "
        f"{MISSING_ARCHIVE_HINT}"
    )


@rule(desc="Fetch a toolchain's packages", level=LogLevel.DEBUG)
async def fetch_toolchain_packages(
    request: ToolchainPackagesRequest,
    mirrors: SourceMirrors,
    debian_archives: DebianArchives,
    build_root: BuildRoot,
    runner: ContainerRunner,
) -> ToolchainPackages:
    locked = await Get(ToolchainLockfile, ToolchainImageRequest, request.toolchain)
    debootstrap = runner.debootstrap_package
    packages = (*locked.lockfile.packages, debootstrap)
    pin_sources = [locked.lockfile.path] * len(locked.lockfile.packages)
    pin_sources.append("[container-runner].debootstrap")
    fetches = await MultiGet(
        Get(
            PinnedFileFetch,
            PinnedFileRequest,
            package_request(
                package, pin_source, mirrors.mirrors, debian_archives.uris, build_root.path
            ),
        )
        for package, pin_source in zip(packages, pin_sources)
    )
    mismatches = [fetch.mismatch for fetch in fetches if fetch.mismatch]
    if mismatches:
        raise ToolchainPackagesError("\n".join(mismatches))
    missing = [
        (package, fetch) for package, fetch in zip(packages, fetches) if fetch.digest is None
    ]
    if missing:
        raise ToolchainPackagesError(missing_packages_message(locked.image, missing))
    digest = await Get(Digest, MergeDigests(fetch.digest for fetch in fetches if fetch.digest))
    return ToolchainPackages(locked.image, digest, debootstrap)


def rules():
    return collect_rules()
