"""The `[container-runner]` options: how build steps run in toolchain containers."""

from __future__ import annotations

from pants.option.option_types import IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text, softwrap

from cpython_fips.toolchain.lockfile import LockedPackage, parse_package

# Bookworm's debootstrap (Architecture: all, shell scripts): it makes the images of every suite
# the toolchains use, bullseye and bookworm.
DEBOOTSTRAP = (
    "debootstrap 1.0.128+nmu2+deb12u2 all "
    "63f354316e9bbe747b143b7b0d83e5f237c90314a17734fba9ff202c2ef02760 45106 optional "
    "pool/main/d/debootstrap/debootstrap_1.0.128+nmu2+deb12u2_all.deb"
)


class ContainerRunner(Subsystem):
    options_scope = "container-runner"
    help = help_text(
        """
        How build steps run in containers of `toolchain` images: the tool that runs them, their
        parallelism and time limit. The full log of a failed step is copied to the named cache
        `cpython_fips_failed_build_logs` (under `~/.cache/pants/named_caches/`); the error
        message gives its path.
        """
    )

    runner = StrOption(
        default="//build_rules/cpython_fips/runner:container-runner",
        help="The `pex_binary` target of the container runner tool.",
        advanced=True,
    )
    debootstrap = StrOption(
        default=DEBOOTSTRAP,
        help=softwrap(
            """
            The debootstrap package that makes toolchain images, in containers (the host needs no
            debootstrap), as a line of a toolchain lock: `name version arch sha256 size priority
            filename`. It is fetched like the locks' packages, and `export-mirror` exports it with
            them.
            """
        ),
        advanced=True,
    )
    jobs = IntOption(
        default=2,
        help=softwrap(
            """
            The parallelism of every build step (`make -jN`). Fixed here rather than taken from
            the machine's core count because it is part of every step's cache key: machines that
            share a remote cache must use the same value.
            """
        ),
    )
    timeout = IntOption(
        default=3 * 3600,
        help=softwrap(
            """
            Wall-clock limit of a build step, in seconds, unless the step sets its own. Past
            it the container is killed and removed, and the step fails.
            """
        ),
    )

    @property
    def debootstrap_package(self) -> LockedPackage:
        try:
            return parse_package(self.debootstrap)
        except ValueError:
            raise ValueError(
                f"[container-runner].debootstrap is {self.debootstrap!r}, not a lock's package "
                "line 'name version arch sha256 size priority filename'"
            ) from None
