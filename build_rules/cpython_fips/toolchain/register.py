"""Toolchains: Docker build environments made from locked Debian packages (fetched like pinned
sources), and build steps that run in them through the container runner."""

from cpython_fips import pex_tools
from cpython_fips.toolchain import (
    image,
    lock_goal,
    make_image,
    mirror_goal,
    packages,
    runner_tool,
    step,
)
from cpython_fips.toolchain.subsystems import ContainerRunner
from cpython_fips.toolchain.target_types import target_types as _target_types
from cpython_fips.upstream import fetch
from cpython_fips.upstream.subsystems import SourceMirrors


def target_types():
    return _target_types()


def rules():
    return [
        # The locked .debs are fetched like source archives, from the same places.
        *fetch.rules(),
        *SourceMirrors.rules(),
        *image.rules(),
        *packages.rules(),
        *make_image.rules(),
        *mirror_goal.rules(),
        *lock_goal.rules(),
        # How our tools run (also the release backend's packager and releaser).
        *pex_tools.rules(),
        *runner_tool.rules(),
        *step.rules(),
        *ContainerRunner.rules(),
    ]
