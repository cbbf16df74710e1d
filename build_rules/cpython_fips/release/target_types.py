"""The `cpython_distribution` target: the release archives of one CPython build."""

from __future__ import annotations

from typing import Any, ClassVar, Tuple

from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    MultipleSourcesField,
    SingleSourceField,
    StringField,
    Target,
)
from pants.util.strutil import help_text

from cpython_fips.components.target_types import CPythonFlavourField
from cpython_fips.references import TargetReferenceField
from cpython_fips.toolchain.target_types import ToolchainPackagesField


class DistributionCPythonField(TargetReferenceField):
    alias = "cpython"
    expected_kind = "cpython"
    expected_field = CPythonFlavourField
    help = "The `cpython` target whose install tree is packaged (unless `unavailable` is set)."


class DistributionUnavailableField(StringField):
    alias = "unavailable"
    help = help_text(
        """
        Why this distribution cannot be built yet, for a cell of the release matrix whose build
        is not implemented: packaging it fails at once with this message. Set instead of `cpython`.
        """
    )


class DistributionTargetTripleField(StringField):
    alias = "target_triple"
    required = True
    value: str
    help = help_text(
        """
        The platform the distribution runs on, as a Rust-style target triple (python-build-
        standalone's naming): `x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu`,
        `aarch64-apple-darwin`. It is part of the archive names and of PYTHON.json.
        """
    )


class DistributionGlibcFloorField(StringField):
    alias = "glibc_floor"
    help = help_text(
        """
        The oldest glibc a Linux distribution runs on: the version of the sysroot its components
        link against (the build matrix's `glibc_floor`). Packaging fails if an ELF file needs a
        newer glibc symbol version (`[release].glibc_max_version` overrides it).
        """
    )


class DistributionStripScriptField(SingleSourceField):
    alias = "strip_script"
    required = False
    default = "strip.sh"
    uses_source_roots = False
    help = help_text(
        """
        The script that strips debug information from the install tree for the
        `install_only_stripped` archive, run in the CPython build's toolchain container.
        """
    )


class DistributionRuntimeCheckScriptField(SingleSourceField):
    alias = "runtime_check_script"
    required = False
    default = "runtime-checks.sh"
    uses_source_roots = False
    help = help_text(
        """
        The script that runs each unpacked archive in a clean container (`runtime_toolchain`):
        imports, venv and pip, FIPS mode. A failure fails the package: nothing is written.
        """
    )


class DistributionCheckFilesField(MultipleSourcesField):
    alias = "check_files"
    default: ClassVar[Tuple[str, ...]] = ("checks/*",)
    uses_source_roots = False
    help = "Files the runtime check script uses, mounted beside it."


class DistributionRuntimeToolchainField(TargetReferenceField):
    alias = "runtime_toolchain"
    default = ("//sources/toolchain:test-runtime",)
    expected_kind = "toolchain"
    expected_field = ToolchainPackagesField
    help = help_text(
        """
        The `toolchain` targets whose images run the runtime checks, each in turn: systems
        without development packages or any of the build's libraries, so only what the archives
        carry is used. The first runs every check, CPython's regression tests included; each
        further one (another system: an older glibc, say) runs the install checks of every
        archive, in both modes (imports, OpenSSL, FIPS mode, venv and pip, the functions newer
        than the glibc floor), which is what differs from one system to the next.
        """
    )


class DistributionRuntimeEmulationField(StringField):
    alias = "runtime_emulation"
    valid_choices = ("qemu-user",)
    help = help_text(
        """
        How the `runtime_toolchain`'s containers run when its architecture is not the host's:
        `qemu-user` (registered with binfmt_misc). CPython's regression tests then leave out the
        few that only fail under emulation (`dist/checks/regression_tests.py`,
        `EXCLUDED_UNDER_QEMU_USER`). Unset: the containers run natively.
        """
    )


class CPythonDistributionTarget(Target):
    alias = "cpython_distribution"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        DistributionCPythonField,
        DistributionUnavailableField,
        DistributionTargetTripleField,
        DistributionGlibcFloorField,
        DistributionStripScriptField,
        DistributionRuntimeCheckScriptField,
        DistributionCheckFilesField,
        DistributionRuntimeToolchainField,
        DistributionRuntimeEmulationField,
    )
    help = help_text(
        """
        The release archives of one CPython build, in python-build-standalone's format:
        `cpython-<version>-<triple>-<build options>-<tag>.tar.zst` (the full distribution:
        `python/PYTHON.json`, `python/install`, `python/build`, `python/licenses`),
        `...-install_only-<tag>.tar.gz` (the install tree without tests and the static
        libpython) and `...-install_only_stripped-<tag>.tar.gz` (the same without debug
        information, except the FIPS module, which is left byte for byte). The tag is
        `[release].tag`. Everything is validated before anything is written: ELF checks, the
        FIPS module's MAC, the expected modules, PYTHON.json against its schema, and runtime
        checks of each archive unpacked at a new path in a clean container.
        `./pants package` writes the three archives to the dist dir.
        """
    )


def target_types() -> list[Any]:
    return [CPythonDistributionTarget]
