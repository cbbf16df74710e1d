"""The `generate-toolchain-lock` goal: resolve a toolchain's packages and write its lock file."""

from __future__ import annotations

from pants.engine.console import Console
from pants.engine.fs import Digest, DigestContents, MergeDigests, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Target, Targets
from pants.util.logging import LogLevel

from cpython_fips.pex_tools import ToolPexProcess
from cpython_fips.toolchain.image import lockfile_path
from cpython_fips.toolchain.runner_tool import ContainerRunnerTool
from cpython_fips.toolchain.target_types import (
    ToolchainArchitectureField,
    ToolchainLockfileField,
    ToolchainPackagesField,
    ToolchainSuiteField,
    ToolchainSuitesField,
)


class GenerateToolchainLockSubsystem(GoalSubsystem):
    name = "generate-toolchain-lock"
    help = (
        "Resolve the packages of the given `toolchain` targets against Debian's archive and "
        "write their lock files: every package with its exact version and the sha256 of its .deb."
    )


class GenerateToolchainLock(Goal):
    subsystem_cls = GenerateToolchainLockSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _lock_process(tool: ContainerRunnerTool, target: Target) -> ToolPexProcess:
    path = lockfile_path(target.address, target[ToolchainLockfileField].value)
    suite = target[ToolchainSuiteField].value
    return ToolPexProcess(
        tool.pex,
        argv=[
            "lock",
            f"--suite={suite}",
            f"--suites={' '.join(target[ToolchainSuitesField].value_or_default(suite))}",
            f"--arch={target[ToolchainArchitectureField].value}",
            f"--out={path}",
            *target[ToolchainPackagesField].value,
        ],
        description=f"Resolve the packages of {target.address}",
        level=LogLevel.INFO,
        output_files=[path],
        # The archive changes over time: resolving is never served from a cache.
        cache_scope=ProcessCacheScope.PER_SESSION,
    )


@goal_rule
async def generate_toolchain_lock(
    targets: Targets, tool: ContainerRunnerTool, workspace: Workspace, console: Console
) -> GenerateToolchainLock:
    toolchains = [target for target in targets if target.has_field(ToolchainPackagesField)]
    results = await MultiGet(
        Get(ProcessResult, ToolPexProcess, _lock_process(tool, target)) for target in toolchains
    )
    merged = await Get(Digest, MergeDigests(result.output_digest for result in results))
    workspace.write_digest(merged)
    for lock in await Get(DigestContents, Digest, merged):
        packages = sum(1 for line in lock.content.splitlines() if not line.startswith(b"#"))
        console.print_stdout(f"Wrote {lock.path}: {packages} packages.")
    return GenerateToolchainLock(exit_code=0)


def rules():
    return collect_rules()
