"""A toolchain's identity: its lock file, and the image tag derived from the lock's sha256."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents, GlobMatchErrorBehavior, PathGlobs
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest

from cpython_fips.toolchain.target_types import ToolchainLockfileField, ToolchainPackagesField

IMAGE_REPOSITORY = "cpython-fips/toolchain"


@dataclass(frozen=True)
class ToolchainImageRequest:
    address: Address


@dataclass(frozen=True)
class ToolchainImage:
    """The image a toolchain's steps run in.

    The tag is derived from the lock's sha256, never from the daemon's image ID, which differs
    between machines (and between two makings of one lock): build steps are keyed on the lock.
    """

    address: Address
    tag: str
    lock_sha256: str
    lock_path: str
    lock_digest: Digest


def lockfile_path(address: Address, lockfile: str | None) -> str:
    return os.path.join(address.spec_path, lockfile or f"{address.target_name}.lock")


def image_tag(address: Address, lock_sha256: str) -> str:
    return f"{IMAGE_REPOSITORY}-{address.target_name}:{lock_sha256[:32]}"


@rule(desc="Read a toolchain's lock")
async def toolchain_image(request: ToolchainImageRequest) -> ToolchainImage:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="a toolchain reference"),
    )
    target = wrapped.target
    if not target.has_field(ToolchainPackagesField):
        raise ValueError(f"{request.address} is not a `toolchain` target.")
    path = lockfile_path(request.address, target[ToolchainLockfileField].value)
    digest = await Get(
        Digest,
        PathGlobs(
            [path],
            glob_match_error_behavior=GlobMatchErrorBehavior.error,
            description_of_origin=(
                f"the lock of {request.address}: make it with "
                f"`./pants generate-toolchain-lock {request.address}`"
            ),
        ),
    )
    [lock] = await Get(DigestContents, Digest, digest)
    lock_sha256 = hashlib.sha256(lock.content).hexdigest()
    return ToolchainImage(
        address=request.address,
        tag=image_tag(request.address, lock_sha256),
        lock_sha256=lock_sha256,
        lock_path=path,
        lock_digest=digest,
    )


def rules():
    return collect_rules()
