"""Making a toolchain's Docker image from its lock and its fetched `.deb`s, and the
`make-toolchain-image` goal.

Build steps never make images up front: a step that hits a cache needs no image. The runner
reports a missing image, and the step rule asks for it here, then runs the step again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.console import Console
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import AddPrefix, Digest, MergeDigests
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule, rule
from pants.engine.target import Targets
from pants.util.logging import LogLevel

from cpython_fips.pex_tools import ToolPexProcess
from cpython_fips.processes import run_or_raise
from cpython_fips.toolchain.image import ToolchainImageRequest
from cpython_fips.toolchain.packages import ToolchainPackages, ToolchainPackagesRequest
from cpython_fips.toolchain.runner_tool import DOCKER_ENV_VARS, ContainerRunnerTool
from cpython_fips.toolchain.target_types import ToolchainPackagesField

DEBS_DIR = "debs"
MAKE_IMAGE_LOG = "make-image.log"
# Making a toolchain image takes a few minutes (an arm64 one, under emulation, longer).
MAKE_IMAGE_TIMEOUT_SECONDS = 1800


class ToolchainImageError(Exception):
    pass


@dataclass(frozen=True)
class MadeToolchainImage:
    """The toolchain's image is in the local Docker daemon under `tag`."""

    tag: str


@rule(desc="Make a toolchain image")
async def make_toolchain_image(
    request: ToolchainImageRequest, tool: ContainerRunnerTool
) -> MadeToolchainImage:
    packages, docker_env = await MultiGet(
        Get(ToolchainPackages, ToolchainPackagesRequest(request)),
        Get(EnvironmentVars, EnvironmentVarsRequest(DOCKER_ENV_VARS)),
    )
    image = packages.image
    debs = await Get(Digest, AddPrefix(packages.digest, DEBS_DIR))
    process = await Get(
        Process,
        ToolPexProcess(
            tool.pex,
            argv=[
                "make-image",
                f"--lock={image.lock_path}",
                f"--debs={DEBS_DIR}",
                f"--debootstrap={DEBS_DIR}/{packages.debootstrap.filename}",
                f"--image={image.tag}",
                f"--log={MAKE_IMAGE_LOG}",
            ],
            description=f"Make the image of {image.address} ({image.tag}) if it is missing",
            level=LogLevel.INFO,
            input_digest=await Get(Digest, MergeDigests([image.lock_digest, debs])),
            env=docker_env,
            timeout_seconds=MAKE_IMAGE_TIMEOUT_SECONDS,
            # The image lives in the Docker daemon, not in the process's outputs: never cached.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    await run_or_raise(process, ToolchainImageError, f"Making the image of {image.address} failed")
    return MadeToolchainImage(image.tag)


class MakeToolchainImageSubsystem(GoalSubsystem):
    name = "make-toolchain-image"
    help = (
        "Make the Docker images of the given `toolchain` targets, if they are missing, from their "
        "locks and the locked .debs (build steps make them when they need them; this makes them "
        "ahead, e.g. before going offline)."
    )


class MakeToolchainImage(Goal):
    subsystem_cls = MakeToolchainImageSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def make_toolchain_images(targets: Targets, console: Console) -> MakeToolchainImage:
    made = await MultiGet(
        Get(MadeToolchainImage, ToolchainImageRequest(target.address))
        for target in targets
        if target.has_field(ToolchainPackagesField)
    )
    for image in made:
        console.print_stdout(image.tag)
    return MakeToolchainImage(exit_code=0)


def rules():
    return collect_rules()
