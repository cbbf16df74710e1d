"""The `[container-runner]` options: how build steps run in toolchain containers."""

from __future__ import annotations

from pants.option.option_types import IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class ContainerRunner(Subsystem):
    options_scope = "container-runner"
    help = help_text(
        """
        How build steps run in containers of `toolchain` images: the tool that runs them, their
        parallelism, time limit, and where the logs of failed steps are kept.
        """
    )

    runner = StrOption(
        default="//build_rules/cpython_fips/runner:container-runner",
        help="The `pex_binary` target of the container runner tool.",
        advanced=True,
    )
    jobs = IntOption(
        default=2,
        help=help_text(
            """
            The parallelism of every build step (`make -jN`). Fixed here rather than taken from
            the machine's core count because it is part of every step's cache key: machines that
            share a remote cache must use the same value.
            """
        ),
    )
    timeout = IntOption(
        default=3 * 3600,
        help=help_text(
            """
            Wall-clock limit of a build step, in seconds, unless the step sets its own. Past
            it the container is killed and removed, and the step fails.
            """
        ),
    )
    failed_logs_dir = StrOption(
        default=".pants.d/build-logs",
        help=help_text(
            """
            Where the full log of a failed step is copied (relative to the build root, or
            absolute), since a failed step's sandbox is deleted.
            """
        ),
    )
