"""Packaging a `cpython_distribution`: strip the CPython build, validate and archive it, then run
each archive in a clean container. Nothing is written unless every step passes."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import List, Tuple

from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.addresses import Address
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
from pants.engine.process import ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import HydratedSources, HydrateSourcesRequest, SourcesField
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from cpython_fips.components.cpython import EXTENSION_MODULES_FILE, CPythonBuild, CPythonFieldSet
from cpython_fips.pex_tools import ToolPex, ToolPexProcess, build_tool_pex
from cpython_fips.processes import run_or_raise
from cpython_fips.references import referenced_target, referenced_targets
from cpython_fips.release.subsystems import ReleaseOptions
from cpython_fips.release.target_types import (
    DistributionCheckFilesField,
    DistributionCPythonField,
    DistributionGlibcFloorField,
    DistributionRuntimeCheckScriptField,
    DistributionRuntimeEmulationField,
    DistributionRuntimeToolchainField,
    DistributionStripScriptField,
    DistributionTargetTripleField,
    DistributionUnavailableField,
)
from cpython_fips.remote_cache import BuildStepCaching, build_step_process
from cpython_fips.toolchain.step import ContainerStep, ContainerStepResult

# The packager's view of its inputs and outputs (directories of its sandbox).
INSTALL, STRIPPED, DEPS, OPENSSL, ARCHIVES = "install", "stripped", "deps", "openssl", "archives"
BUILD_INFO, COMPONENTS = "build-info.json", "components.json"
OUT, UNPACKED = "out", "unpacked"


# What dist/checks/time-limit.sh prints when a check ran out of time (then tried again, under
# emulation, where a hang may be the emulator's).
TIMED_OUT_PREFIX = b"TIMED OUT: "

logger = logging.getLogger(__name__)


class DistributionError(Exception):
    pass


def timed_out_checks(log: bytes) -> List[str]:
    """The lines of a runtime-check log that say a check ran out of time."""
    return [
        line.decode(errors="replace")
        for line in log.splitlines()
        if line.startswith(TIMED_OUT_PREFIX)
    ]


@dataclass(frozen=True)
class CPythonDistributionFieldSet(PackageFieldSet):
    required_fields = (DistributionTargetTripleField,)

    cpython: DistributionCPythonField
    unavailable: DistributionUnavailableField
    target_triple: DistributionTargetTripleField
    glibc_floor: DistributionGlibcFloorField
    strip_script: DistributionStripScriptField
    runtime_check_script: DistributionRuntimeCheckScriptField
    check_files: DistributionCheckFilesField
    runtime_toolchain: DistributionRuntimeToolchainField
    runtime_emulation: DistributionRuntimeEmulationField


@dataclass(frozen=True)
class Script:
    """A script of the distribution target and the files it uses, laid out relative to the
    target's directory."""

    path: str
    digest: Digest


async def script_and_files(address: Address, script: SourcesField, *files: SourcesField) -> Script:
    hydrated = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(field)) for field in (script, *files)
    )
    merged = await Get(Digest, MergeDigests(h.snapshot.digest for h in hydrated))
    [path] = hydrated[0].snapshot.files
    return Script(
        path[len(address.spec_path) :].lstrip("/"),
        await Get(Digest, RemovePrefix(merged, address.spec_path)),
    )


@dataclass(frozen=True)
class PackagerTool:
    pex: ToolPex


@rule(desc="Build the packaging tool")
async def packager_tool(options: ReleaseOptions) -> PackagerTool:
    return PackagerTool(
        await build_tool_pex(options.packager, "[release].packager", output_filename="packager.pex")
    )


@dataclass(frozen=True)
class StripRequest:
    build: CPythonBuild
    script: Script


@dataclass(frozen=True)
class StrippedInstallTree:
    digest: Digest


@rule(desc="Strip a CPython install tree")
async def strip_install_tree(request: StripRequest) -> StrippedInstallTree:
    """For install_only_stripped: stripped with the target's binutils, in the build's
    toolchain."""
    build = request.build
    install = await Get(
        Digest, DigestSubset(build.component.install_tree, PathGlobs([f"{INSTALL}/**"]))
    )
    result = await Get(
        ContainerStepResult,
        ContainerStep(
            toolchain=build.toolchain,
            name=f"strip-{build.component.address.target_name}",
            description=f"Strip the debug information of {build.component.address}",
            script=request.script.path,
            input_digest=await Get(Digest, MergeDigests([install, request.script.digest])),
            env=FrozenDict({"HOST_TRIPLE": build.host_triple} if build.host_triple else {}),
        ),
    )
    return StrippedInstallTree(result.output_digest)


@dataclass(frozen=True)
class ArchiveRequest:
    address: Address
    target_triple: str
    # The newest glibc symbol version the ELF files may need.
    glibc_max_version: str
    build: CPythonBuild
    stripped: StrippedInstallTree


@dataclass(frozen=True)
class DistributionArchives:
    # The three archives, at the top.
    archives: Snapshot
    # Each archive unpacked from its bytes, under <kind>/.
    unpacked: Digest


@rule(desc="Validate and archive a CPython distribution")
async def archive_distribution(
    request: ArchiveRequest,
    options: ReleaseOptions,
    packager: PackagerTool,
    caching: BuildStepCaching,
) -> DistributionArchives:
    build = request.build
    manifest = json.dumps([dict(c) for c in build.bundled.manifest], indent=2, sort_keys=True)
    layout = await MultiGet(
        Get(
            Digest,
            DigestSubset(build.component.install_tree, PathGlobs([f"{INSTALL}/**", BUILD_INFO])),
        ),
        Get(Digest, AddPrefix(request.stripped.digest, STRIPPED)),
        Get(Digest, AddPrefix(build.libraries_tree, DEPS)),
        Get(Digest, AddPrefix(build.openssl_tree, OPENSSL)),
        Get(Digest, AddPrefix(build.bundled.archives, ARCHIVES)),
        Get(Digest, CreateDigest([FileContent(COMPONENTS, manifest.encode())])),
    )
    process = await build_step_process(
        ToolPexProcess(
            packager.pex,
            argv=[
                f"--install={INSTALL}",
                f"--stripped={STRIPPED}/{INSTALL}",
                f"--build-info={BUILD_INFO}",
                f"--deps={DEPS}",
                f"--openssl={OPENSSL}",
                f"--components={COMPONENTS}",
                f"--archives={ARCHIVES}",
                f"--extension-modules={EXTENSION_MODULES_FILE}",
                f"--target-triple={request.target_triple}",
                f"--tag={options.tag}",
                f"--glibc-max-version={request.glibc_max_version}",
                f"--zstd-level={options.zstd_level}",
                f"--out={OUT}",
                f"--unpacked={UNPACKED}",
            ],
            description=f"Validate and archive {request.address}",
            level=LogLevel.INFO,
            input_digest=await Get(Digest, MergeDigests([*layout, build.extension_modules])),
            output_directories=[OUT, UNPACKED],
            # Cached like the builds (locally and remotely): the archives are deterministic, so
            # the same inputs give the same bytes whether packaged here or restored.
            cache_scope=ProcessCacheScope.SUCCESSFUL,
        ),
        caching,
    )
    result = await run_or_raise(
        process, DistributionError, f"Packaging {request.address} failed; nothing was written"
    )
    archives, unpacked = await MultiGet(
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{OUT}/*"]))),
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{UNPACKED}/**"]))),
    )
    return DistributionArchives(
        archives=await Get(Snapshot, RemovePrefix(archives, OUT)), unpacked=unpacked
    )


@dataclass(frozen=True)
class RuntimeCheckRequest:
    address: Address
    toolchain: Address
    script: Script
    build: CPythonBuild
    archives: DistributionArchives
    # `runtime_emulation`: "" when the containers run natively.
    emulation: str
    # CPython's regression tests too, or the install checks only (see `runtime_toolchain`).
    regression_tests: bool


@dataclass(frozen=True)
class RuntimeChecksPassed:
    pass


@rule(desc="Run the archives of a CPython distribution in a clean container")
async def check_archives(request: RuntimeCheckRequest) -> RuntimeChecksPassed:
    """Each archive, as unpacked from its bytes, must work at a new path in a clean container,
    with the OpenSSL of the pin and the modules of the list."""
    inputs = [request.archives.unpacked, request.script.digest, request.build.extension_modules]
    checked = await Get(
        ContainerStepResult,
        ContainerStep(
            toolchain=request.toolchain,
            name=f"runtime-checks-{request.address.target_name}-{request.toolchain.target_name}",
            description=(
                f"Run the archives of {request.address} in a clean container "
                f"({request.toolchain.target_name})"
            ),
            script=request.script.path,
            input_digest=await Get(Digest, MergeDigests(inputs)),
            env=FrozenDict(
                {
                    "EXPECTED_OPENSSL_VERSION": request.build.openssl_version,
                    "EXTENSION_MODULES": f"/in/{EXTENSION_MODULES_FILE}",
                    **({"RUNTIME_EMULATION": request.emulation} if request.emulation else {}),
                    "REGRESSION_TESTS": "1" if request.regression_tests else "0",
                }
            ),
        ),
    )
    # A check that passed only when tried again is not silent: the flakiness is seen.
    log = await Get(DigestContents, Digest, checked.log_digest)
    timed_out = [line for file in log for line in timed_out_checks(file.content)]
    if timed_out:
        logger.warning(
            f"The runtime checks of {request.address} passed, but only after running again "
            f"{len(timed_out)} check(s) that ran out of time: {'; '.join(timed_out)}"
        )
    return RuntimeChecksPassed()


@rule(desc="Package a CPython distribution", level=LogLevel.DEBUG)
async def package_cpython_distribution(
    field_set: CPythonDistributionFieldSet, options: ReleaseOptions
) -> BuiltPackage:
    address = field_set.address
    if not options.tag:
        raise DistributionError(
            f"{address}: no release tag. Set one with `--release-tag=YYYYMMDD` or `[release].tag` "
            "in pants.toml; it names the archives."
        )
    if field_set.unavailable.value:
        raise DistributionError(f"{address} cannot be packaged: {field_set.unavailable.value}")
    glibc_max_version = options.glibc_max_version or field_set.glibc_floor.value
    if not glibc_max_version:
        raise DistributionError(
            f"{address}: no glibc_floor, the oldest glibc its binaries may need (the build "
            "matrix's, for a Linux platform)."
        )
    cpython = await referenced_target(field_set.cpython)
    runtime_toolchains = await referenced_targets(field_set.runtime_toolchain)
    build = await Get(CPythonBuild, CPythonFieldSet, CPythonFieldSet.create(cpython))
    strip_script = await script_and_files(address, field_set.strip_script)
    check_script = await script_and_files(
        address, field_set.runtime_check_script, field_set.check_files
    )

    stripped = await Get(StrippedInstallTree, StripRequest(build, strip_script))
    archives = await Get(
        DistributionArchives,
        ArchiveRequest(address, field_set.target_triple.value, glibc_max_version, build, stripped),
    )
    # In turn: the checks' time limits hold for a machine that runs one of them. The first system
    # runs CPython's regression tests as well (see `runtime_toolchain`).
    for index, runtime_toolchain in enumerate(runtime_toolchains):
        await Get(
            RuntimeChecksPassed,
            RuntimeCheckRequest(
                address,
                runtime_toolchain.address,
                check_script,
                build,
                archives,
                field_set.runtime_emulation.value or "",
                regression_tests=index == 0,
            ),
        )
    files: Tuple[str, ...] = archives.archives.files
    return BuiltPackage(
        archives.archives.digest, tuple(BuiltPackageArtifact(name) for name in files)
    )


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, CPythonDistributionFieldSet)]
