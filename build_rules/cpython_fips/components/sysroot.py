"""glibc sysroots: the `glibc_sysroot` target as a component build and a package, and the tree a
component compiles and links against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.engine.fs import Digest
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from cpython_fips.components.build import (
    ComponentBuild,
    ComponentBuildRequest,
    ComponentFieldSet,
    package_install_tree,
)
from cpython_fips.components.target_types import (
    ComponentSysrootField,
    GlibcSysrootCompilerRuntimeField,
    GlibcSysrootSourceField,
    GlibcSysrootVersionField,
    SourceArchiveReferenceField,
)
from cpython_fips.references import referenced_target

# Where a component's build finds its sysroot.
SYSROOT_DIR = "sysroot"


@dataclass(frozen=True)
class GlibcSysrootFieldSet(ComponentFieldSet):
    required_fields = (GlibcSysrootSourceField, GlibcSysrootVersionField)

    source: GlibcSysrootSourceField
    glibc_version: GlibcSysrootVersionField
    compiler_runtime: GlibcSysrootCompilerRuntimeField

    def build_request(self) -> ComponentBuildRequest:
        archives: list[tuple[str, SourceArchiveReferenceField]] = [("ZIGLANG_WHEEL", self.source)]
        if self.compiler_runtime.value:
            archives.append(("COMPILER_RUNTIME_DEB", self.compiler_runtime))
        return ComponentBuildRequest(
            address=self.address,
            toolchain=self.toolchain,
            script=self.script,
            files=(self.files,),
            archives=tuple(archives),
            env=FrozenDict({"GLIBC_VERSION": self.glibc_version.value, **(self.env.value or {})}),
            timeout=self.timeout.value,
        )


@rule(desc="Make a glibc sysroot")
async def build_glibc_sysroot(field_set: GlibcSysrootFieldSet) -> ComponentBuild:
    return await Get(ComponentBuild, ComponentBuildRequest, field_set.build_request())


@dataclass(frozen=True)
class ComponentSysroot:
    """The sysroot a component builds against: mounted at `/in/sysroot`, named by `SYSROOT`;
    nothing for a component without one."""

    tree: Optional[Digest]

    @property
    def input_trees(self) -> Tuple[Tuple[str, Digest], ...]:
        return ((SYSROOT_DIR, self.tree),) if self.tree else ()

    @property
    def env(self) -> Dict[str, str]:
        return {"SYSROOT": f"/in/{SYSROOT_DIR}"} if self.tree else {}


@rule(desc="Make the sysroot of a component")
async def component_sysroot(field: ComponentSysrootField) -> ComponentSysroot:
    if not field.value:
        return ComponentSysroot(None)
    target = await referenced_target(field)
    build = await Get(ComponentBuild, GlibcSysrootFieldSet, GlibcSysrootFieldSet.create(target))
    return ComponentSysroot(build.install_tree)


@rule(desc="Package a glibc sysroot")
async def package_glibc_sysroot(field_set: GlibcSysrootFieldSet) -> BuiltPackage:
    build = await Get(ComponentBuild, GlibcSysrootFieldSet, field_set)
    return await package_install_tree(build, "sysroots")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, GlibcSysrootFieldSet)]
