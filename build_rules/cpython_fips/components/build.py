"""Building a component: its script, files and pinned archives, run as one container step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest, MergeDigests, RemovePrefix
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import HydratedSources, HydrateSourcesRequest, SourcesField, Target
from pants.util.frozendict import FrozenDict

from cpython_fips.components.target_types import (
    ComponentEnvField,
    ComponentFilesField,
    ComponentScriptField,
    ComponentTimeoutField,
    ComponentToolchainField,
    SourceArchiveReferenceField,
)
from cpython_fips.references import referenced_target
from cpython_fips.toolchain.step import ContainerStep, ContainerStepResult
from cpython_fips.upstream.fetch import FetchedSourceArchive
from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.target_types import SourceArchivePatchesField

# Where the step finds its inputs: the script and files at the top of /in, the archives and
# their patches below.
SOURCES_DIR = "sources"
PATCHES_DIR = "patches"


@dataclass(frozen=True)
class ComponentFieldSet(PackageFieldSet):
    """The fields every component target has; each kind's field set adds its own."""

    toolchain: ComponentToolchainField
    script: ComponentScriptField
    files: ComponentFilesField
    env: ComponentEnvField
    timeout: ComponentTimeoutField


@dataclass(frozen=True)
class ComponentBuildRequest:
    """`archives` maps an environment variable to a `source_archive` field: the script finds
    the archive's path in that variable, and its patches' directory in `<variable>_PATCHES_DIR`
    (set only when the pin has patches). `input_trees` are mounted as `/in/<name>`: the install
    trees of other components, or a source tree that stands in for a pin."""

    address: Address
    toolchain: ComponentToolchainField
    script: SourcesField
    # Mounted beside the script.
    files: Tuple[SourcesField, ...]
    archives: Tuple[Tuple[str, SourceArchiveReferenceField], ...]
    env: FrozenDict[str, str]
    timeout: Optional[int]
    input_trees: Tuple[Tuple[str, Digest], ...] = ()


@dataclass(frozen=True)
class ComponentBuild:
    address: Address
    install_tree: Digest
    log: Digest


def _step_name(address: Address) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", address.spec).strip("-")


async def package_install_tree(build: ComponentBuild, kind: str) -> BuiltPackage:
    """The package of a component: its install tree, at `<kind>/<target name>` in the dist dir."""
    path = f"{kind}/{build.address.target_name}"
    digest = await Get(Digest, AddPrefix(build.install_tree, path))
    return BuiltPackage(digest, (BuiltPackageArtifact(path),))


async def pin_patches(pin: Target) -> Optional[Tuple[str, Digest]]:
    """The patches of a `source_archive` as `(directory, digest)`: the directory to mount them
    at, below the input root, and their files relative to the pin's BUILD directory. None if
    the pin has no patches."""
    hydrated = await Get(HydratedSources, HydrateSourcesRequest(pin[SourceArchivePatchesField]))
    if not hydrated.snapshot.files:
        return None
    flat = await Get(Digest, RemovePrefix(hydrated.snapshot.digest, pin.address.spec_path))
    return f"{PATCHES_DIR}/{pin.address.target_name}", flat


@rule(desc="Build a component")
async def build_component(request: ComponentBuildRequest) -> ComponentBuild:
    toolchain = await referenced_target(request.toolchain)
    pin_targets = [await referenced_target(field) for _, field in request.archives]
    pins = [SourceArchivePin.from_target(target) for target in pin_targets]
    fetched = await MultiGet(Get(FetchedSourceArchive, SourceArchivePin, pin) for pin in pins)
    patches = [await pin_patches(target) for target in pin_targets]
    script, *files = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(field))
        for field in (request.script, *request.files)
    )

    env = dict(request.env)
    layout = []
    for (variable, _), pin, archive, mounted_patches in zip(
        request.archives, pins, fetched, patches
    ):
        env[variable] = f"/in/{SOURCES_DIR}/{pin.filename}"
        layout.append(await Get(Digest, AddPrefix(archive.digest, SOURCES_DIR)))
        if mounted_patches:
            patches_dir, flat = mounted_patches
            env[f"{variable}_PATCHES_DIR"] = f"/in/{patches_dir}"
            layout.append(await Get(Digest, AddPrefix(flat, patches_dir)))
    layout.extend(
        await MultiGet(Get(Digest, AddPrefix(tree, name)) for name, tree in request.input_trees)
    )
    own_files = await Get(
        Digest, MergeDigests([script.snapshot.digest, *(f.snapshot.digest for f in files)])
    )
    layout.append(await Get(Digest, RemovePrefix(own_files, request.address.spec_path)))
    [script_path] = script.snapshot.files

    result = await Get(
        ContainerStepResult,
        ContainerStep(
            toolchain=toolchain.address,
            name=_step_name(request.address),
            description=f"Build {request.address}",
            script=script_path[len(request.address.spec_path) :].lstrip("/"),
            input_digest=await Get(Digest, MergeDigests(layout)),
            env=FrozenDict(env),
            timeout_seconds=request.timeout,
        ),
    )
    return ComponentBuild(request.address, result.output_digest, result.log_digest)


def rules():
    return collect_rules()
