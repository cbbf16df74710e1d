"""glibc sysroots: the `glibc_sysroot` target as a component build and a package."""

from __future__ import annotations

from dataclasses import dataclass

from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict

from cpython_fips.components.build import (
    ComponentBuild,
    ComponentBuildRequest,
    ComponentFieldSet,
    package_install_tree,
)
from cpython_fips.components.target_types import GlibcSysrootSourceField, GlibcSysrootVersionField


@dataclass(frozen=True)
class GlibcSysrootFieldSet(ComponentFieldSet):
    required_fields = (GlibcSysrootSourceField, GlibcSysrootVersionField)

    source: GlibcSysrootSourceField
    glibc_version: GlibcSysrootVersionField

    def build_request(self) -> ComponentBuildRequest:
        return ComponentBuildRequest(
            address=self.address,
            toolchain=self.toolchain,
            script=self.script,
            files=(self.files,),
            archives=(("ZIGLANG_WHEEL", self.source),),
            env=FrozenDict({"GLIBC_VERSION": self.glibc_version.value, **(self.env.value or {})}),
            timeout=self.timeout.value,
        )


@rule(desc="Make a glibc sysroot")
async def build_glibc_sysroot(field_set: GlibcSysrootFieldSet) -> ComponentBuild:
    return await Get(ComponentBuild, ComponentBuildRequest, field_set.build_request())


@rule(desc="Package a glibc sysroot")
async def package_glibc_sysroot(field_set: GlibcSysrootFieldSet) -> BuiltPackage:
    build = await Get(ComponentBuild, GlibcSysrootFieldSet, field_set)
    return await package_install_tree(build, "sysroots")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, GlibcSysrootFieldSet)]
