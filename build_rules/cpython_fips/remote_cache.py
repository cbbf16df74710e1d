"""How build steps (containers, packaging) meet a remote cache: they wait for its answer before
they start, instead of racing it."""

from __future__ import annotations

import dataclasses

from pants.engine.process import Process
from pants.engine.rules import Get
from pants.option.option_types import IntOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap

from cpython_fips.pex_tools import ToolPexProcess


class BuildStepCaching(Subsystem):
    options_scope = "build-step-caching"
    help = "How build steps (in containers, and packaging) use a remote cache."

    remote_cache_speculation_delay = IntOption(
        default=0,
        help=softwrap(
            """
            With a remote cache (`[GLOBAL].remote_cache_read`), how long, in milliseconds, a build
            step waits for the cache lookup before it starts running anyway. Set it longer than
            a lookup and the download of a hit's outputs take, so that a hit never races a
            container or a packager doing the same work (`pants.remote-cache.toml` does). A miss
            starts the step at once whatever this is. Not part of the cache key.
            """
        ),
        advanced=True,
    )


async def build_step_process(request: ToolPexProcess, caching: BuildStepCaching) -> Process:
    """The Process of a build step run by one of our tools, with the speculation delay (which is
    part of a Process's identity, not of its cache key)."""
    process = await Get(Process, ToolPexProcess, request)
    return dataclasses.replace(
        process, remote_cache_speculation_delay_millis=caching.remote_cache_speculation_delay
    )
