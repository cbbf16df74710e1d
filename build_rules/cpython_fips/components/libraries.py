"""Third-party static libraries: the `static_library` target as a component build and a package,
and the merged tree of a component's libraries."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.engine.fs import EMPTY_DIGEST, Digest, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from cpython_fips.components.build import (
    ComponentBuild,
    ComponentBuildRequest,
    ComponentFieldSet,
    package_install_tree,
)
from cpython_fips.components.sysroot import ComponentSysroot
from cpython_fips.components.target_types import (
    ComponentLibrariesField,
    ComponentSysrootField,
    StaticLibrarySourceField,
)
from cpython_fips.references import referenced_targets

# Every library is configured for this prefix and mounted there when another component builds
# against it, so the paths in its pkg-config and libtool files are right where they are used.
DEPS_DIR = "deps"
DEPS_PREFIX = f"/in/{DEPS_DIR}"


@dataclass(frozen=True)
class StaticLibraryFieldSet(ComponentFieldSet):
    required_fields = (StaticLibrarySourceField,)

    sysroot: ComponentSysrootField
    source: StaticLibrarySourceField
    libraries: ComponentLibrariesField


@dataclass(frozen=True)
class StaticLibrariesRequest:
    """The libraries named by a `libraries` field."""

    libraries: ComponentLibrariesField


@dataclass(frozen=True)
class StaticLibraries:
    """The install trees of some libraries merged into one, to be mounted at `DEPS_PREFIX`."""

    merged_tree: Digest


@rule(desc="Build the libraries a component builds against")
async def build_static_libraries(request: StaticLibrariesRequest) -> StaticLibraries:
    if not request.libraries.value:
        return StaticLibraries(EMPTY_DIGEST)
    targets = await referenced_targets(request.libraries)
    builds = await MultiGet(
        Get(ComponentBuild, StaticLibraryFieldSet, StaticLibraryFieldSet.create(target))
        for target in targets
    )
    merged = await Get(Digest, MergeDigests(build.install_tree for build in builds))
    return StaticLibraries(merged)


@rule(desc="Build a static library")
async def build_static_library(field_set: StaticLibraryFieldSet) -> ComponentBuild:
    deps, sysroot = await MultiGet(
        Get(StaticLibraries, StaticLibrariesRequest(field_set.libraries)),
        Get(ComponentSysroot, ComponentSysrootField, field_set.sysroot),
    )
    return await Get(
        ComponentBuild,
        ComponentBuildRequest(
            address=field_set.address,
            toolchain=field_set.toolchain,
            script=field_set.script,
            files=(field_set.files,),
            archives=(("SOURCE_ARCHIVE", field_set.source),),
            env=FrozenDict(
                {"DEPS_PREFIX": DEPS_PREFIX, **sysroot.env, **(field_set.env.value or {})}
            ),
            timeout=field_set.timeout.value,
            input_trees=((DEPS_DIR, deps.merged_tree), *sysroot.input_trees),
        ),
    )


@rule(desc="Package a static library's install tree")
async def package_static_library(field_set: StaticLibraryFieldSet) -> BuiltPackage:
    build = await Get(ComponentBuild, StaticLibraryFieldSet, field_set)
    return await package_install_tree(build, "libraries")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, StaticLibraryFieldSet)]
