"""OpenSSL with its FIPS provider: the `openssl` target as a component build and a package."""

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
from cpython_fips.components.sysroot import ComponentSysroot
from cpython_fips.components.target_types import (
    ComponentSysrootField,
    OpenSSLConfigureTargetField,
    OpenSSLFipsProviderSourceField,
    OpenSSLSourceField,
    SourceArchiveReferenceField,
)


@dataclass(frozen=True)
class OpenSSLFieldSet(ComponentFieldSet):
    required_fields = (OpenSSLSourceField,)

    sysroot: ComponentSysrootField
    source: OpenSSLSourceField
    fips_provider_source: OpenSSLFipsProviderSourceField
    configure_target: OpenSSLConfigureTargetField

    def build_request(self, sysroot: ComponentSysroot) -> ComponentBuildRequest:
        archives: list[tuple[str, SourceArchiveReferenceField]] = [("OPENSSL_ARCHIVE", self.source)]
        if self.fips_provider_source.value:
            archives.append(("FIPS_PROVIDER_ARCHIVE", self.fips_provider_source))
        return ComponentBuildRequest(
            address=self.address,
            toolchain=self.toolchain,
            script=self.script,
            files=(self.files,),
            archives=tuple(archives),
            env=FrozenDict(
                {
                    "OPENSSL_TARGET": self.configure_target.value,
                    **sysroot.env,
                    **(self.env.value or {}),
                }
            ),
            timeout=self.timeout.value,
            input_trees=sysroot.input_trees,
        )


@rule(desc="Build OpenSSL")
async def build_openssl(field_set: OpenSSLFieldSet) -> ComponentBuild:
    sysroot = await Get(ComponentSysroot, ComponentSysrootField, field_set.sysroot)
    return await Get(ComponentBuild, ComponentBuildRequest, field_set.build_request(sysroot))


@rule(desc="Package OpenSSL's install tree")
async def package_openssl(field_set: OpenSSLFieldSet) -> BuiltPackage:
    build = await Get(ComponentBuild, OpenSSLFieldSet, field_set)
    return await package_install_tree(build, "openssl")


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, OpenSSLFieldSet)]
