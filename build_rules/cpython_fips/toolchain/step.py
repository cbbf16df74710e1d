"""Build steps: one shell script run in a container of a toolchain image, as a cached Process."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest, DigestSubset, MergeDigests, PathGlobs, RemovePrefix, Snapshot
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

from cpython_fips.pex_tools import ToolPexProcess
from cpython_fips.processes import raise_if_failed
from cpython_fips.remote_cache import BuildStepCaching, build_step_process
from cpython_fips.toolchain.image import ToolchainImage, ToolchainImageRequest
from cpython_fips.toolchain.make_image import MadeToolchainImage
from cpython_fips.toolchain.runner_tool import DOCKER_ENV_VARS, ContainerRunnerTool
from cpython_fips.toolchain.subsystems import ContainerRunner

# Where the sandbox keeps the step's results; both are Process outputs.
OUTPUT_DIR = "out"
LOG_DIR = "log"
# A Pants named cache (under ~/.cache/pants/named_caches), so the log of a failed step survives
# its sandbox without a machine-specific path entering the cache key.
FAILED_LOGS_CACHE = "cpython_fips_failed_build_logs"
FAILED_LOGS_LINK = ".failed-build-logs"
# Extra time Pants gives the runner beyond the step's own limit, to kill and remove the container.
TIMEOUT_GRACE_SECONDS = 120
# What the runner prints, with EXIT_DOCKER, when the step's image is not in the daemon
# (runner/container_runner.py, MISSING_IMAGE).
MISSING_IMAGE_LINE = b"container_runner: missing image "
EXIT_DOCKER = 125


class ContainerStepFailed(Exception):
    pass


@dataclass(frozen=True)
class ContainerStep:
    """Run `script` (a path in `input_digest`) in a container of `toolchain`'s image.

    Every top-level entry of `input_digest` is mounted read-only under `/in`; the step writes its
    results to `/out`. `name` names the log file and the container's label.
    """

    toolchain: Address
    name: str
    description: str
    script: str
    input_digest: Digest
    env: FrozenDict[str, str] = FrozenDict()
    timeout_seconds: Optional[int] = None


@dataclass(frozen=True)
class ContainerStepResult:
    output_digest: Digest
    log_digest: Digest


@rule
async def run_container_step(
    step: ContainerStep,
    runner: ContainerRunner,
    tool: ContainerRunnerTool,
    caching: BuildStepCaching,
) -> ContainerStepResult:
    image, inputs, docker_env = await MultiGet(
        Get(ToolchainImage, ToolchainImageRequest(step.toolchain)),
        Get(Snapshot, Digest, step.input_digest),
        Get(EnvironmentVars, EnvironmentVarsRequest(DOCKER_ENV_VARS)),
    )
    timeout = step.timeout_seconds or runner.timeout
    log_file = f"{LOG_DIR}/{step.name}.log"
    argv = [
        "run",
        f"--image={image.tag}",
        f"--script={step.script}",
        *(f"--input={path}" for path in (*inputs.dirs, *inputs.files) if "/" not in path),
        f"--output-dir={OUTPUT_DIR}",
        f"--log={log_file}",
        f"--keep-failed-log-dir={FAILED_LOGS_LINK}",
        f"--step-name={step.name}",
        f"--timeout={timeout}",
        f"--jobs={runner.jobs}",
        *(f"--env={key}={value}" for key, value in sorted(step.env.items())),
    ]
    process = await build_step_process(
        ToolPexProcess(
            tool.pex,
            argv=argv,
            description=step.description,
            level=LogLevel.INFO,
            input_digest=await Get(Digest, MergeDigests([inputs.digest, image.lock_digest])),
            env=docker_env,
            output_directories=[OUTPUT_DIR],
            output_files=[log_file],
            timeout_seconds=timeout + TIMEOUT_GRACE_SECONDS,
            append_only_caches={FAILED_LOGS_CACHE: FAILED_LOGS_LINK},
            cache_scope=ProcessCacheScope.SUCCESSFUL,
        ),
        caching,
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code == EXIT_DOCKER and MISSING_IMAGE_LINE in result.stderr:
        # Only a step that really runs needs the image (a cache hit needs none): make it now,
        # then run the step again. The retry must be another node of Pants' graph, which
        # remembers this failure for the session, yet keep the cache key: the speculation delay
        # is part of a Process's identity but not of its cache key.
        await Get(MadeToolchainImage, ToolchainImageRequest(step.toolchain))
        retry = dataclasses.replace(
            process,
            remote_cache_speculation_delay_millis=process.remote_cache_speculation_delay_millis + 1,
        )
        result = await Get(FallibleProcessResult, Process, retry)
        if result.exit_code == EXIT_DOCKER and MISSING_IMAGE_LINE in result.stderr:
            # Pants makes an image once per run: one removed after that stays missing.
            raise ContainerStepFailed(
                f"{step.description} failed: its image {image.tag} was made earlier in this "
                "Pants run and has been removed since. Run the command again: it makes the "
                "image anew."
            )
    raise_if_failed(result, ContainerStepFailed, f"{step.description} failed")
    output, log = await MultiGet(
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([f"{OUTPUT_DIR}/**"]))),
        Get(Digest, DigestSubset(result.output_digest, PathGlobs([log_file]))),
    )
    output = await Get(Digest, RemovePrefix(output, OUTPUT_DIR))
    return ContainerStepResult(output_digest=output, log_digest=log)


def rules():
    return collect_rules()
