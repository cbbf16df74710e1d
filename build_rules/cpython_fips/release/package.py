"""Packaging a `cpython_distribution`: strip, validate and archive the CPython build, then run
each archive in a clean container. Nothing is written unless every step passes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Tuple

from pants.backend.python.util_rules.pex import VenvPex, VenvPexProcess
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
    Snapshot,
)
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import HydratedSources, HydrateSourcesRequest, Target
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from cpython_fips.components.build import ComponentBuild
from cpython_fips.components.cpython import CPythonFieldSet
from cpython_fips.components.libraries import StaticLibraries, StaticLibrariesRequest
from cpython_fips.components.openssl import OpenSSLFieldSet
from cpython_fips.components.target_types import (
    ComponentEnvField,
    ComponentLibrariesField,
    ComponentToolchainField,
    CPythonOpenSSLField,
    OpenSSLFipsProviderSourceField,
    OpenSSLSourceField,
    SourceArchiveReferenceField,
    StaticLibrarySourceField,
)
from cpython_fips.pex_tools import build_tool_pex
from cpython_fips.references import referenced_target, referenced_targets
from cpython_fips.release.subsystems import ReleaseOptions
from cpython_fips.remote_cache import BuildStepCaching, build_step_process
from cpython_fips.release.target_types import (
    DistributionCheckFilesField,
    DistributionCPythonField,
    DistributionRuntimeCheckScriptField,
    DistributionRuntimeToolchainField,
    DistributionStripScriptField,
    DistributionTargetTripleField,
    DistributionUnavailableField,
)
from cpython_fips.toolchain.step import ContainerStep, ContainerStepResult
from cpython_fips.upstream.fetch import FetchedSourceArchive
from cpython_fips.upstream.pins import SourceArchivePin

# The packager's view of its inputs and outputs (directories of its sandbox).
INSTALL, STRIPPED, DEPS, OPENSSL, ARCHIVES = "install", "stripped", "deps", "openssl", "archives"
BUILD_INFO, COMPONENTS = "build-info.json", "components.json"
OUT, UNPACKED = "out", "unpacked"


class DistributionError(Exception):
    pass


@dataclass(frozen=True)
class CPythonDistributionFieldSet(PackageFieldSet):
    required_fields = (DistributionTargetTripleField,)

    cpython: DistributionCPythonField
    unavailable: DistributionUnavailableField
    target_triple: DistributionTargetTripleField
    strip_script: DistributionStripScriptField
    runtime_check_script: DistributionRuntimeCheckScriptField
    check_files: DistributionCheckFilesField
    runtime_toolchain: DistributionRuntimeToolchainField


@dataclass(frozen=True)
class PackagerTool:
    pex: VenvPex


@rule(desc="Build the packaging tool")
async def packager_tool(options: ReleaseOptions) -> PackagerTool:
    return PackagerTool(
        await build_tool_pex(options.packager, "[release].packager", output_filename="packager.pex")
    )


@dataclass(frozen=True)
class BundledComponents:
    """The source archives of what the CPython build bundles (for their licences), and how
    PYTHON.json describes them."""

    archives: Digest
    manifest: Tuple[FrozenDict[str, str], ...]


async def bundled_components(cpython: Target, openssl: Target) -> BundledComponents:
    libraries = await referenced_targets(cpython[ComponentLibrariesField])
    pin_fields: List[SourceArchiveReferenceField] = [openssl[OpenSSLSourceField]]
    if openssl[OpenSSLFipsProviderSourceField].value:
        pin_fields.append(openssl[OpenSSLFipsProviderSourceField])
    pin_fields += [library[StaticLibrarySourceField] for library in libraries]
    pin_targets = [await referenced_target(field) for field in pin_fields]
    by_name = {pin.name: pin for pin in map(SourceArchivePin.from_target, pin_targets)}
    pins = [by_name[name] for name in sorted(by_name)]
    fetched = await MultiGet(Get(FetchedSourceArchive, SourceArchivePin, pin) for pin in pins)
    manifest = tuple(
        FrozenDict(
            {"name": pin.name, "version": pin.version, "license": pin.license,
             "archive": pin.filename, "sha256": pin.sha256}
        )
        for pin in pins
    )
    archives = await Get(Digest, MergeDigests(archive.digest for archive in fetched))
    return BundledComponents(archives, manifest)


async def script_and_files(field_set: CPythonDistributionFieldSet, *fields) -> Tuple[str, Digest]:
    """The first field's script path (relative to the target's directory) and the files of all
    the fields, laid out relative to that directory."""
    hydrated = await MultiGet(Get(HydratedSources, HydrateSourcesRequest(f)) for f in fields)
    directory = field_set.address.spec_path
    merged = await Get(Digest, MergeDigests(h.snapshot.digest for h in hydrated))
    [script] = hydrated[0].snapshot.files
    return script[len(directory):].lstrip("/"), await Get(Digest, RemovePrefix(merged, directory))


@rule(desc="Package a CPython distribution", level=LogLevel.DEBUG)
async def package_cpython_distribution(
    field_set: CPythonDistributionFieldSet,
    options: ReleaseOptions,
    packager: PackagerTool,
    caching: BuildStepCaching,
) -> BuiltPackage:
    address = field_set.address
    if not options.tag:
        raise DistributionError(
            f"{address}: no release tag. Set one with `--release-tag=YYYYMMDD` or `[release].tag` "
            "in pants.toml; it names the archives."
        )
    if field_set.unavailable.value:
        raise DistributionError(f"{address} cannot be packaged: {field_set.unavailable.value}")
    cpython = await referenced_target(field_set.cpython)
    openssl_target = await referenced_target(cpython[CPythonOpenSSLField])
    components = await bundled_components(cpython, openssl_target)
    build = await Get(ComponentBuild, CPythonFieldSet, CPythonFieldSet.create(cpython))
    openssl, libraries, install = await MultiGet(
        Get(ComponentBuild, OpenSSLFieldSet, OpenSSLFieldSet.create(openssl_target)),
        Get(StaticLibraries, StaticLibrariesRequest(cpython[ComponentLibrariesField])),
        Get(Digest, DigestSubset(build.install_tree, PathGlobs([f"{INSTALL}/**"]))),
    )

    # install_only_stripped: stripped with the target's binutils, in the build's toolchain.
    strip_script, strip_files = await script_and_files(field_set, field_set.strip_script)
    stripped = await Get(
        ContainerStepResult,
        ContainerStep(
            toolchain=(await referenced_target(cpython[ComponentToolchainField])).address,
            name=f"strip-{cpython.address.target_name}",
            description=f"Strip the debug information of {cpython.address}",
            script=strip_script,
            input_digest=await Get(Digest, MergeDigests([install, strip_files])),
            env=FrozenDict(
                {k: v for k, v in (cpython[ComponentEnvField].value or {}).items() if k == "HOST_TRIPLE"}
            ),
        ),
    )

    manifest = json.dumps([dict(c) for c in components.manifest], indent=2, sort_keys=True)
    layout = await MultiGet(
        Get(Digest, DigestSubset(build.install_tree, PathGlobs([f"{INSTALL}/**", BUILD_INFO]))),
        Get(Digest, AddPrefix(stripped.output_digest, STRIPPED)),
        Get(Digest, AddPrefix(libraries.merged_tree, DEPS)),
        Get(Digest, AddPrefix(openssl.install_tree, OPENSSL)),
        Get(Digest, AddPrefix(components.archives, ARCHIVES)),
        Get(Digest, CreateDigest([FileContent(COMPONENTS, manifest.encode())])),
    )
    process = await build_step_process(
        VenvPexProcess(
            packager.pex,
            argv=[
                f"--install={INSTALL}", f"--stripped={STRIPPED}/{INSTALL}",
                f"--build-info={BUILD_INFO}", f"--deps={DEPS}", f"--openssl={OPENSSL}",
                f"--components={COMPONENTS}", f"--archives={ARCHIVES}",
                f"--target-triple={field_set.target_triple.value}", f"--tag={options.tag}",
                f"--glibc-max-version={options.glibc_max_version}",
                f"--zstd-level={options.zstd_level}", f"--out={OUT}", f"--unpacked={UNPACKED}",
            ],
            description=f"Validate and archive {address}",
            level=LogLevel.INFO,
            input_digest=await Get(Digest, MergeDigests(layout)),
            output_directories=[OUT, UNPACKED],
            # Cached like the builds (locally and remotely): the archives are deterministic, so
            # the same inputs give the same bytes whether packaged here or restored.
            cache_scope=ProcessCacheScope.SUCCESSFUL,
        ),
        caching,
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        raise DistributionError(
            f"Packaging {address} failed; nothing was written.\n"
            f"{result.stderr.decode(errors='replace').rstrip()}"
        )

    # Each archive, as unpacked from its bytes, must work at a new path in a clean container.
    check_script, check_files = await script_and_files(
        field_set, field_set.runtime_check_script, field_set.check_files
    )
    unpacked = await Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{UNPACKED}/**"])))
    runtime_toolchain = (await referenced_target(field_set.runtime_toolchain)).address
    build_info = await Get(
        DigestContents, DigestSubset(build.install_tree, PathGlobs([BUILD_INFO]))
    )
    # "OpenSSL 3.5.7 9 Jun 2026" -> "3.5.7": what ssl.OPENSSL_VERSION must name in every archive.
    openssl_version = json.loads(build_info[0].content)["openssl_version"].split()[1]
    await Get(
        ContainerStepResult,
        ContainerStep(
            toolchain=runtime_toolchain,
            name=f"runtime-checks-{address.target_name}",
            description=f"Run the archives of {address} in a clean container",
            script=check_script,
            input_digest=await Get(Digest, MergeDigests([unpacked, check_files])),
            env=FrozenDict({"EXPECTED_OPENSSL_VERSION": openssl_version}),
        ),
    )

    archives = await Get(Snapshot, RemovePrefix(
        await Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{OUT}/*"]))), OUT
    ))
    return BuiltPackage(
        archives.digest, tuple(BuiltPackageArtifact(name) for name in archives.files)
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, CPythonDistributionFieldSet)]
