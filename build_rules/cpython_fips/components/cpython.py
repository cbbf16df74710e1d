"""CPython: the `cpython` target as a component build (against OpenSSL and the static libraries)
and a package, optionally from a local source tree instead of its pin."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pants.base.build_environment import get_buildroot
from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.core.util_rules.system_binaries import CpBinary
from pants.engine.fs import Digest, RemovePrefix, Snapshot
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from cpython_fips.components.build import (
    ComponentBuild,
    ComponentBuildRequest,
    package_install_tree,
)
from cpython_fips.components.libraries import (
    DEPS_DIR,
    DEPS_PREFIX,
    StaticLibraries,
    StaticLibrariesRequest,
)
from cpython_fips.components.openssl import OpenSSLFieldSet
from cpython_fips.components.subsystems import CPythonBuildOptions
from cpython_fips.components.target_types import (
    ComponentEnvField,
    ComponentFilesField,
    ComponentLibrariesField,
    ComponentScriptField,
    ComponentTimeoutField,
    ComponentToolchainField,
    CPythonFlavourField,
    CPythonOpenSSLField,
    CPythonSourceField,
)
from cpython_fips.references import referenced_target
from cpython_fips.upstream.pins import SourceArchivePin

# Where the build finds OpenSSL's install tree, and a local source tree when one replaces the pin.
OPENSSL_DIR = "openssl"
SOURCE_TREE_DIR = "cpython-source"
FIRST_FREETHREADED_VERSION = (3, 13)


class CPythonBuildError(Exception):
    pass


@dataclass(frozen=True)
class CPythonFieldSet(PackageFieldSet):
    required_fields = (CPythonFlavourField,)

    toolchain: ComponentToolchainField
    script: ComponentScriptField
    files: ComponentFilesField
    env: ComponentEnvField
    timeout: ComponentTimeoutField
    source: CPythonSourceField
    flavour: CPythonFlavourField
    openssl: CPythonOpenSSLField
    libraries: ComponentLibrariesField


@dataclass(frozen=True)
class LocalSourceTreeRequest:
    path: str
    minor_version: str


@dataclass(frozen=True)
class LocalSourceTree:
    digest: Digest


@rule(desc="Read a local CPython source tree")
async def read_local_source_tree(request: LocalSourceTreeRequest, cp: CpBinary) -> LocalSourceTree:
    path = os.path.join(get_buildroot(), request.path)
    option = f"[cpython-build].local_source_trees[{request.minor_version!r}]"
    # Outside the build root, so Pants cannot watch it: copied in every run (a fast local copy),
    # and the content digest of the copy is what the build's cache key sees.
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=(cp.path, "-R", "--", path, "tree"),
            description=f"Read the CPython {request.minor_version} source tree {path}",
            output_directories=("tree",),
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
    )
    if result.exit_code != 0:
        raise CPythonBuildError(
            f"Cannot read the source tree {path} named by {option}: "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    snapshot = await Get(Snapshot, RemovePrefix(result.output_digest, "tree"))
    if "configure" not in snapshot.files or "Include/patchlevel.h" not in snapshot.files:
        raise CPythonBuildError(
            f"{path}, named by {option}, is not an extracted CPython source tree "
            "(no configure or Include/patchlevel.h at its top)."
        )
    return LocalSourceTree(snapshot.digest)


@rule(desc="Build CPython")
async def build_cpython(field_set: CPythonFieldSet, options: CPythonBuildOptions) -> ComponentBuild:
    address = field_set.address
    pin_target = await referenced_target(field_set.source)
    openssl_target = await referenced_target(field_set.openssl)
    pin = SourceArchivePin.from_target(pin_target)
    minor_version = ".".join(pin.version.split(".")[:2])
    flavour = field_set.flavour.value
    version_tuple = tuple(int(part) for part in minor_version.split("."))
    if "freethreaded" in flavour and version_tuple < FIRST_FREETHREADED_VERSION:
        raise CPythonBuildError(
            f"{address}: the flavour {flavour!r} needs CPython 3.13 or later, not {minor_version}."
        )

    env = {
        "CPYTHON_FLAVOUR": flavour,
        "OPENSSL_PREFIX": f"/in/{OPENSSL_DIR}",
        "DEPS_PREFIX": DEPS_PREFIX,
        **(field_set.env.value or {}),
    }
    input_trees: list[tuple[str, Digest]] = []
    archives: tuple[tuple[str, CPythonSourceField], ...] = ()
    # Read before anything is built, so that a bad path fails at once.
    local_tree_path = options.local_source_trees.get(minor_version)
    if local_tree_path:
        tree = await Get(LocalSourceTree, LocalSourceTreeRequest(local_tree_path, minor_version))
        input_trees.append((SOURCE_TREE_DIR, tree.digest))
        env["CPYTHON_SOURCE_TREE"] = f"/in/{SOURCE_TREE_DIR}"
        env["CPYTHON_SOURCE_TREE_DIGEST"] = tree.digest.fingerprint
    else:
        archives = (("CPYTHON_ARCHIVE", field_set.source),)
        env["CPYTHON_ARCHIVE_SHA256"] = pin.sha256

    openssl, libraries = await MultiGet(
        Get(ComponentBuild, OpenSSLFieldSet, OpenSSLFieldSet.create(openssl_target)),
        Get(StaticLibraries, StaticLibrariesRequest(field_set.libraries)),
    )
    input_trees += [(OPENSSL_DIR, openssl.install_tree), (DEPS_DIR, libraries.merged_tree)]

    return await Get(
        ComponentBuild,
        ComponentBuildRequest(
            address=address,
            toolchain=field_set.toolchain,
            script=field_set.script,
            files=field_set.files,
            archives=archives,
            env=FrozenDict(env),
            timeout=field_set.timeout.value,
            input_trees=tuple(input_trees),
        ),
    )


@rule(desc="Package CPython's install tree")
async def package_cpython(field_set: CPythonFieldSet) -> BuiltPackage:
    build = await Get(ComponentBuild, CPythonFieldSet, field_set)
    return await package_install_tree(build, "cpython")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, CPythonFieldSet)]
