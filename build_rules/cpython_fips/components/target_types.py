"""Target types of the components built in toolchain containers: OpenSSL (more to come).

Each component is one cached build step: a shell script beside its BUILD file, the pinned
archives it builds from, and a toolchain to build in.
"""

from __future__ import annotations

from typing import Any, ClassVar, Tuple

from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    DictStringToStringField,
    IntField,
    MultipleSourcesField,
    SingleSourceField,
    StringField,
    Target,
)
from pants.util.strutil import help_text


class ComponentToolchainField(StringField):
    alias = "toolchain"
    required = True
    help = "The address of the `toolchain` target whose container runs the build."


class ComponentScriptField(SingleSourceField):
    alias = "script"
    required = False
    default = "build.sh"
    uses_source_roots = False
    help = help_text(
        """
        The build script, run in the toolchain container as `bash -euo pipefail /in/<script>`.
        It reads its inputs under `/in` and writes the install tree to `/out`.
        """
    )


class ComponentFilesField(MultipleSourcesField):
    alias = "files"
    default: ClassVar[Tuple[str, ...]] = ()
    uses_source_roots = False
    help = "Other files the script uses, mounted beside it under `/in`."


class ComponentEnvField(DictStringToStringField):
    alias = "env"
    help = "Extra environment variables for the build script."


class ComponentTimeoutField(IntField):
    alias = "timeout"
    help = "Wall-clock limit of the build in seconds; default `[container-runner].timeout`."


class OpenSSLSourceField(StringField):
    alias = "source"
    required = True
    help = "The `source_archive` of the OpenSSL release the libraries are built from."


class OpenSSLFipsProviderSourceField(StringField):
    alias = "fips_provider_source"
    help = help_text(
        """
        The `source_archive` of the OpenSSL release whose FIPS provider (`fips.so`) is shipped,
        when it is not `source`. Only some OpenSSL releases are CMVP-validated FIPS modules, and
        a validated provider works with later libraries; it is built from unmodified sources.
        """
    )


class OpenSSLConfigureTargetField(StringField):
    alias = "configure_target"
    default = "linux-x86_64"
    help = "OpenSSL's `Configure` target, e.g. `linux-x86_64` or `linux-aarch64`."


COMPONENT_FIELDS = (
    *COMMON_TARGET_FIELDS,
    ComponentToolchainField,
    ComponentScriptField,
    ComponentFilesField,
    ComponentEnvField,
    ComponentTimeoutField,
)


class OpenSSLTarget(Target):
    alias = "openssl"
    core_fields = (
        *COMPONENT_FIELDS,
        OpenSSLSourceField,
        OpenSSLFipsProviderSourceField,
        OpenSSLConfigureTargetField,
    )
    help = help_text(
        """
        OpenSSL built as static libraries with a FIPS provider, for one platform, in a toolchain
        container: one cached step. Its install tree holds `include/`, `lib/libssl.a`,
        `lib/libcrypto.a`, `lib/ossl-modules/fips.so`, `ssl/fipsmodule.cnf`,
        `ssl/openssl-fips.cnf` and `bin/openssl`. `./pants package` writes it to the dist dir.
        """
    )


def target_types() -> list[Any]:
    return [OpenSSLTarget]
