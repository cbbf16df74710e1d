"""The container runner tool (`runner/container_runner.py`), built as a PEX that rules run."""

from __future__ import annotations

from dataclasses import dataclass

from pants.engine.rules import collect_rules, rule

from cpython_fips.pex_tools import ToolPex, build_tool_pex
from cpython_fips.toolchain.subsystems import ContainerRunner

# The Docker client's configuration, passed through so the runner reaches the same daemon.
DOCKER_ENV_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


@dataclass(frozen=True)
class ContainerRunnerTool:
    pex: ToolPex


@rule(desc="Build the container runner tool")
async def container_runner_tool(runner: ContainerRunner) -> ContainerRunnerTool:
    pex = await build_tool_pex(
        runner.runner, "[container-runner].runner", output_filename="container_runner.pex"
    )
    return ContainerRunnerTool(pex)


def rules():
    return collect_rules()
