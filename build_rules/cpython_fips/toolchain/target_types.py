"""The `toolchain` target: a Docker build environment for one platform, made from a lock."""

from __future__ import annotations

from typing import Any, Tuple

from pants.core.util_rules.environments import EnvironmentField
from pants.engine.target import COMMON_TARGET_FIELDS, StringField, StringSequenceField, Target
from pants.util.strutil import help_text


class ToolchainSuiteField(StringField):
    alias = "suite"
    default = "bookworm"
    value: str
    help = help_text(
        """
        The Debian suite the image is made from. What the components build runs on does not
        depend on it: they link against the glibc sysroot of their platform (`glibc_sysroot`).
        """
    )


class ToolchainSuitesField(StringSequenceField):
    alias = "suites"
    help = help_text(
        """
        The Debian suites the lock is resolved against, newest versions winning; default: the
        suite with its `-updates` and `-security` suites. Suites that still receive updates
        (`-security`, `-updates`, a release before its last point release) drop superseded
        versions from Debian's archive, so a lock made against them goes stale: the image can
        then be made only from a mirror (`./pants export-mirror`) or after regenerating the lock.
        """
    )

    def value_or_default(self, suite: str) -> tuple[str, ...]:
        return tuple(self.value or (suite, f"{suite}-updates", f"{suite}-security"))


class ToolchainArchitectureField(StringField):
    alias = "architecture"
    default = "amd64"
    help = "The Debian architecture of the image (the build machine's, not the target's)."


class ToolchainPackagesField(StringSequenceField):
    alias = "packages"
    required = True
    value: Tuple[str, ...]
    help = help_text(
        """
        The Debian packages installed on top of a minimal base system: compilers, make, perl,
        and for cross-compiling the cross toolchain and qemu-user. Their dependencies are
        resolved when the lock is generated (`./pants generate-toolchain-lock`).
        """
    )


class ToolchainLockfileField(StringField):
    alias = "lockfile"
    help = help_text(
        """
        The lock file, relative to the BUILD file; default `<name>.lock`. It records every
        package of the image with its exact version and the sha256 of its `.deb`; the image is
        made from exactly those, and the lock's sha256 identifies the toolchain in the cache key
        of every build step. Made by `./pants generate-toolchain-lock`.
        """
    )


class ToolchainTarget(Target):
    alias = "toolchain"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        ToolchainSuiteField,
        ToolchainSuitesField,
        ToolchainArchitectureField,
        ToolchainPackagesField,
        ToolchainLockfileField,
        EnvironmentField,
    )
    help = help_text(
        """
        A build environment for one platform: a Docker image made here from a Debian root
        filesystem whose packages are pinned by a lock file (no registry is needed). Build
        steps run in containers of it with no network; the image is made the first time a step
        needs it.
        """
    )


def target_types() -> list[Any]:
    return [ToolchainTarget]
