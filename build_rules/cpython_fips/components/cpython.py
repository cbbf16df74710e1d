"""CPython: the `cpython` target as a component build (against OpenSSL and the static libraries)
and a package, optionally from a local source tree instead of its pin."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from pants.base.build_environment import get_buildroot
from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.core.util_rules.system_binaries import CpBinary
from pants.engine.addresses import Address
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestContents,
    FileContent,
    MergeDigests,
    RemovePrefix,
    Snapshot,
)
from pants.engine.process import Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    Target,
    Targets,
    UnparsedAddressInputs,
)
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from cpython_fips.components.build import (
    ComponentBuild,
    ComponentBuildRequest,
    ComponentFieldSet,
    package_install_tree,
    pin_patches,
)
from cpython_fips.components.libraries import (
    DEPS_DIR,
    DEPS_PREFIX,
    StaticLibraries,
    StaticLibrariesRequest,
)
from cpython_fips.components.openssl import OpenSSLFieldSet
from cpython_fips.components.subsystems import CPythonBuildOptions
from cpython_fips.components.sysroot import ComponentSysroot
from cpython_fips.components.target_types import (
    ComponentLibrariesField,
    ComponentSysrootField,
    CPythonBuildPythonField,
    CPythonExtensionModulesField,
    CPythonFlavourField,
    CPythonOpenSSLField,
    CPythonSourceField,
    CPythonSysrootPackagesField,
    OpenSSLFipsProviderSourceField,
    OpenSSLSourceField,
    SourceArchiveReferenceField,
    StaticLibrarySourceField,
)
from cpython_fips.matrix import flavour_error
from cpython_fips.processes import run_or_raise
from cpython_fips.references import referenced_target, referenced_targets
from cpython_fips.upstream.fetch import FetchedSourceArchive
from cpython_fips.upstream.pins import SourceArchivePin

# Where the build finds OpenSSL's install tree, a local source tree when one replaces the pin, and
# a cross build its build machine's interpreter.
OPENSSL_DIR = "openssl"
SOURCE_TREE_DIR = "cpython-source"
BUILD_PYTHON_DIR = "build-python"
# Where a cross build finds the `.deb`s of its `sysroot_packages`.
SYSROOT_PACKAGES_DIR = "sysroot-packages"
# The name of the extension-modules list as the release steps see it.
EXTENSION_MODULES_FILE = "extension-modules.txt"


class CPythonBuildError(Exception):
    pass


@dataclass(frozen=True)
class BundledComponents:
    """The source archives of what an interpreter bundles (for their licences), and how
    PYTHON.json describes them."""

    archives: Digest
    manifest: Tuple[FrozenDict[str, str], ...]


@dataclass(frozen=True)
class CPythonBuild:
    """An interpreter and everything its distribution is made from."""

    component: ComponentBuild
    # The trees libpython was linked with.
    openssl_tree: Digest
    libraries_tree: Digest
    bundled: BundledComponents
    # The toolchain that built it, and the GNU triple of a cross build ("" for a native one).
    toolchain: Address
    host_triple: str
    # The version of the OpenSSL pin, which `ssl.OPENSSL_VERSION` must name.
    openssl_version: str
    # The `extension_modules` list, as EXTENSION_MODULES_FILE.
    extension_modules: Digest


@dataclass(frozen=True)
class CPythonFieldSet(ComponentFieldSet):
    required_fields = (CPythonFlavourField,)

    sysroot: ComponentSysrootField
    source: CPythonSourceField
    flavour: CPythonFlavourField
    openssl: CPythonOpenSSLField
    libraries: ComponentLibrariesField
    extension_modules: CPythonExtensionModulesField
    build_python: CPythonBuildPythonField
    sysroot_packages: CPythonSysrootPackagesField


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
    result = await run_or_raise(
        Process(
            argv=(cp.path, "-R", "--", path, "tree"),
            description=f"Read the CPython {request.minor_version} source tree {path}",
            output_directories=("tree",),
            cache_scope=ProcessCacheScope.PER_SESSION,
            level=LogLevel.DEBUG,
        ),
        CPythonBuildError,
        f"Cannot read the source tree {path} named by {option}",
    )
    snapshot = await Get(Snapshot, RemovePrefix(result.output_digest, "tree"))
    if "configure" not in snapshot.files or "Include/patchlevel.h" not in snapshot.files:
        raise CPythonBuildError(
            f"{path}, named by {option}, is not an extracted CPython source tree "
            "(no configure or Include/patchlevel.h at its top)."
        )
    return LocalSourceTree(snapshot.digest)


async def bundled_components(openssl: Target, libraries: Sequence[Target]) -> BundledComponents:
    """What an interpreter bundles: OpenSSL (and its FIPS provider's release) and the libraries."""
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
            {
                "name": pin.name,
                "version": pin.version,
                "license": pin.license,
                "archive": pin.filename,
                "sha256": pin.sha256,
            }
        )
        for pin in pins
    )
    archives = await Get(Digest, MergeDigests(archive.digest for archive in fetched))
    return BundledComponents(archives, manifest)


async def extension_modules_file(field: CPythonExtensionModulesField) -> Digest:
    """The target's extension-modules list, named EXTENSION_MODULES_FILE."""
    hydrated = await Get(HydratedSources, HydrateSourcesRequest(field))
    [listing] = await Get(DigestContents, Digest, hydrated.snapshot.digest)
    return await Get(Digest, CreateDigest([FileContent(EXTENSION_MODULES_FILE, listing.content)]))


async def build_python_tree(field_set: CPythonFieldSet) -> Optional[Digest]:
    """The install tree of the interpreter a cross build runs (its `build_python`), or None for a
    native build. It must be built from the same source: CPython's cross build freezes modules
    and writes byte-code with it, which must match the interpreter being built."""
    if not field_set.build_python.value:
        return None
    target = await referenced_target(field_set.build_python)
    theirs, ours = await MultiGet(
        Get(Targets, UnparsedAddressInputs, field.to_unparsed_address_inputs())
        for field in (target[CPythonSourceField], field_set.source)
    )
    if theirs != ours:
        raise CPythonBuildError(
            f"{field_set.address}: its build_python {target.address} is built from "
            f"{theirs[0].address}, not from {ours[0].address}: a cross build needs an "
            "interpreter of the same source."
        )
    build = await Get(CPythonBuild, CPythonFieldSet, CPythonFieldSet.create(target))
    return build.component.install_tree


@rule(desc="Build CPython")
async def build_cpython(field_set: CPythonFieldSet, options: CPythonBuildOptions) -> CPythonBuild:
    address = field_set.address
    pin_target = await referenced_target(field_set.source)
    openssl_target = await referenced_target(field_set.openssl)
    pin = SourceArchivePin.from_target(pin_target)
    minor_version = ".".join(pin.version.split(".")[:2])
    flavour = field_set.flavour.value
    error = flavour_error(minor_version, flavour)
    if error:
        raise CPythonBuildError(f"{address}: {error}.")

    modules_path = field_set.extension_modules.file_path[len(address.spec_path) :].lstrip("/")
    env = {
        "CPYTHON_FLAVOUR": flavour,
        "CPYTHON_EXTENSION_MODULES": f"/in/{modules_path}",
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
        # The pin's patches (FIPS semantics, ...) belong to the minor version: the tree that
        # stands in for its archive gets them too.
        patches = await pin_patches(pin_target)
        if patches:
            input_trees.append(patches)
            env["CPYTHON_ARCHIVE_PATCHES_DIR"] = f"/in/{patches[0]}"
    else:
        archives = (("CPYTHON_ARCHIVE", field_set.source),)
        env["CPYTHON_ARCHIVE_SHA256"] = pin.sha256

    bundled = await bundled_components(
        openssl_target, await referenced_targets(field_set.libraries)
    )
    modules = await extension_modules_file(field_set.extension_modules)
    openssl, libraries, sysroot = await MultiGet(
        Get(ComponentBuild, OpenSSLFieldSet, OpenSSLFieldSet.create(openssl_target)),
        Get(StaticLibraries, StaticLibrariesRequest(field_set.libraries)),
        Get(ComponentSysroot, ComponentSysrootField, field_set.sysroot),
    )
    input_trees += [
        (OPENSSL_DIR, openssl.install_tree),
        (DEPS_DIR, libraries.merged_tree),
        *sysroot.input_trees,
    ]
    env.update(sysroot.env)
    build_python = await build_python_tree(field_set)
    if build_python:
        input_trees.append((BUILD_PYTHON_DIR, build_python))
        env["CPYTHON_BUILD_PYTHON_TREE"] = f"/in/{BUILD_PYTHON_DIR}/install"

    sysroot_packages = await referenced_targets(field_set.sysroot_packages)
    if sysroot_packages:
        fetched = await MultiGet(
            Get(FetchedSourceArchive, SourceArchivePin, SourceArchivePin.from_target(target))
            for target in sysroot_packages
        )
        debs = await Get(Digest, MergeDigests(archive.digest for archive in fetched))
        input_trees.append((SYSROOT_PACKAGES_DIR, debs))
        env["CPYTHON_SYSROOT_PACKAGES"] = f"/in/{SYSROOT_PACKAGES_DIR}"

    build = await Get(
        ComponentBuild,
        ComponentBuildRequest(
            address=address,
            toolchain=field_set.toolchain,
            script=field_set.script,
            files=(field_set.files, field_set.extension_modules),
            archives=archives,
            env=FrozenDict(env),
            timeout=field_set.timeout.value,
            input_trees=tuple(input_trees),
        ),
    )
    toolchain = await referenced_target(field_set.toolchain)
    openssl_pin = await referenced_target(openssl_target[OpenSSLSourceField])
    return CPythonBuild(
        component=build,
        openssl_tree=openssl.install_tree,
        libraries_tree=libraries.merged_tree,
        bundled=bundled,
        toolchain=toolchain.address,
        host_triple=env.get("HOST_TRIPLE", ""),
        openssl_version=SourceArchivePin.from_target(openssl_pin).version,
        extension_modules=modules,
    )


@rule(desc="Package CPython's install tree")
async def package_cpython(field_set: CPythonFieldSet) -> BuiltPackage:
    build = await Get(CPythonBuild, CPythonFieldSet, field_set)
    return await package_install_tree(build.component, "cpython")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, CPythonFieldSet)]
