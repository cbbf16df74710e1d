"""The `[container-runner]` options: how build steps run in toolchain containers."""

from __future__ import annotations

from pants.option.option_types import IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text, softwrap


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
