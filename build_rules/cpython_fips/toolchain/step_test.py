"""Build steps in real containers of the real x86_64 toolchain, through Pants' process cache.

The first test to need the image makes it from the committed lock (a few minutes on a new
machine); later tests and runs reuse it.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from pants.backend.python import register as python_backend
from pants.backend.shell import register as shell_backend
from pants.core import register as core_backend
from pants.engine.addresses import Address
from pants.engine.fs import CreateDigest, Digest, DigestContents, FileContent
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.process import Process, ProcessResult
from pants.testutil.rule_runner import QueryRule, RuleRunner
from pants.util.frozendict import FrozenDict

from cpython_fips.pex_tools import TOOLS_PYTHON, TOOLS_PYTHON_CACHE, ToolPexProcess
from cpython_fips.toolchain import register
from cpython_fips.toolchain.image import ToolchainImage, ToolchainImageRequest
from cpython_fips.toolchain.make_image import MadeToolchainImage
from cpython_fips.toolchain.runner_tool import ContainerRunnerTool
from cpython_fips.toolchain.step import ContainerStep, ContainerStepResult
from cpython_fips.toolchain_testutil import copy_repo_files, set_options

TOOLCHAIN = Address("sources/toolchain", target_name="linux-x86_64")
# The smallest toolchain (Debian's minimal base system), for the test that makes images: it makes
# one twice.
SMALLEST_TOOLCHAIN = Address("sources/toolchain", target_name="test-runtime")


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *register.rules(),
            *core_backend.rules(),
            *python_backend.rules(),
            QueryRule(ContainerStepResult, [ContainerStep]),
            QueryRule(ToolchainImage, [ToolchainImageRequest]),
            QueryRule(MadeToolchainImage, [ToolchainImageRequest]),
            QueryRule(Digest, [CreateDigest]),
            QueryRule(DigestContents, [Digest]),
            QueryRule(ContainerRunnerTool, []),
            QueryRule(Process, [ToolPexProcess]),
            QueryRule(ProcessResult, [Process]),
        ],
        target_types=[
            *register.target_types(),
            *core_backend.target_types(),
            *python_backend.target_types(),
            # The runner's BUILD file also declares its scripts as shell sources.
            *shell_backend.target_types(),
        ],
    )
    copy_repo_files(rule_runner)
    set_options(rule_runner)
    return rule_runner


def step(
    rule_runner: RuleRunner, name: str, script: str, toolchain: Address = TOOLCHAIN, **kwargs
) -> ContainerStep:
    digest = rule_runner.request(
        Digest,
        [CreateDigest([FileContent("step.sh", script.encode()), FileContent("data/x", b"x")])],
    )
    return ContainerStep(
        toolchain=toolchain,
        name=name,
        description=f"Test step {name}",
        script="step.sh",
        input_digest=digest,
        **kwargs,
    )


def run(rule_runner: RuleRunner, container_step: ContainerStep) -> dict[str, bytes]:
    result = rule_runner.request(ContainerStepResult, [container_step])
    return {f.path: f.content for f in rule_runner.request(DigestContents, [result.output_digest])}


def runner_containers(step_name: str) -> list[str]:
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=org.cpython-fips.runner.step={step_name}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


def image_id(tag: str) -> str:
    return subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", tag],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


# Every execution writes a fresh random id: the same id twice means the second result came from
# the cache.
WRITE_RUN_ID = "cat /proc/sys/kernel/random/uuid > /out/run-id\n"


def test_step_produces_output_and_rerun_is_a_cache_hit(rule_runner: RuleRunner) -> None:
    script = WRITE_RUN_ID + "gcc --version | head -1 > /out/gcc\ncat /in/data/x > /out/x\n"
    first = run(rule_runner, step(rule_runner, "produce", script, env=FrozenDict({"A": "1"})))
    assert first["gcc"].startswith(b"gcc (Debian 12.")
    assert first["x"] == b"x"
    set_options(rule_runner)
    assert (
        run(rule_runner, step(rule_runner, "produce", script, env=FrozenDict({"A": "1"}))) == first
    )


def test_failing_step_shows_the_log_tail_and_leaves_no_output(rule_runner: RuleRunner) -> None:
    script = "echo building > /out/partial\nfor i in $(seq 100); do echo line-$i; done\nexit 3\n"
    with pytest.raises(ExecutionError) as error:
        run(rule_runner, step(rule_runner, "fails", script))
    message = str(error.value)
    assert "Test step fails failed (exit code 3)" in message
    assert "line-100" in message and "line-61" in message and "line-60\n" not in message
    kept = message.split("Copy of the full log kept at: ")[1].split()[0]
    # The whole log, not only its tail (it may begin with the output of making the image).
    kept_lines = Path(kept).read_text().splitlines()
    assert "line-1" in kept_lines and kept_lines[-1] == "line-100"
    assert runner_containers("fails") == []


def test_step_past_its_timeout_is_killed(rule_runner: RuleRunner) -> None:
    with pytest.raises(ExecutionError, match="timed out after 5 s"):
        run(rule_runner, step(rule_runner, "sleeps", "sleep 600\n", timeout_seconds=5))
    assert runner_containers("sleeps") == []


def test_step_has_no_network(rule_runner: RuleRunner) -> None:
    # The runner's own tests show a connection attempt failing; here: the real toolchain's
    # containers, as Pants runs them, have nothing but loopback.
    outputs = run(
        rule_runner, step(rule_runner, "offline", "ls /sys/class/net > /out/interfaces\n")
    )
    assert outputs["interfaces"].split() == [b"lo"]


def image_present(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def keyed_step(rule_runner: RuleRunner) -> ContainerStep:
    return step(rule_runner, "keyed", WRITE_RUN_ID, toolchain=SMALLEST_TOOLCHAIN)


def test_cache_key_follows_the_lock_not_the_image(rule_runner: RuleRunner) -> None:
    image = rule_runner.request(ToolchainImage, [ToolchainImageRequest(SMALLEST_TOOLCHAIN)])
    first = run(rule_runner, keyed_step(rule_runner))

    # Change the lock: a new image tag; the step runs again, in an image that the step rule made
    # from the new lock when the runner reported it missing.
    lock = Path(rule_runner.build_root, image.lock_path)
    # Through the RuleRunner, which invalidates the file at once (a plain write waits for the
    # file watcher, which lags on a busy machine). A lock no earlier run has seen: Pants' cache
    # outlives a run, and a step of an already-seen lock would come from it, needing no image.
    changed_lock = lock.read_text() + f"# a changed lock, test run {uuid.uuid4()}\n"
    rule_runner.write_files({image.lock_path: changed_lock})
    set_options(rule_runner)
    changed = rule_runner.request(ToolchainImage, [ToolchainImageRequest(SMALLEST_TOOLCHAIN)])
    assert changed.tag != image.tag
    subprocess.run(["docker", "rmi", changed.tag], capture_output=True)
    try:
        second = run(rule_runner, keyed_step(rule_runner))
        assert second != first
        assert image_present(changed.tag)

        # A cached step needs no image: without it, the result still comes from the cache.
        old_id = image_id(changed.tag)
        subprocess.run(["docker", "rmi", changed.tag], check=True, capture_output=True)
        set_options(rule_runner)
        assert run(rule_runner, keyed_step(rule_runner)) == second
        assert not image_present(changed.tag)

        # The same lock made again: another image ID, the same cache key.
        set_options(rule_runner)
        made = rule_runner.request(MadeToolchainImage, [ToolchainImageRequest(SMALLEST_TOOLCHAIN)])
        assert made.tag == changed.tag and image_id(changed.tag) != old_id
        set_options(rule_runner)
        assert run(rule_runner, keyed_step(rule_runner)) == second
    finally:
        subprocess.run(["docker", "rmi", changed.tag], capture_output=True)


def test_tool_processes_name_nothing_of_the_host(rule_runner: RuleRunner) -> None:
    """A tool's process (every build step's) holds no host path in its arguments, environment or
    input files, so its cache key is the same on another machine: the interpreter Pants chose
    for the tools is reached through a link in a named cache."""
    tool = rule_runner.request(ContainerRunnerTool, [])
    pex = tool.pex.pex
    assert pex.python is not None
    interpreter = pex.python.path
    host_paths = {
        interpreter,
        os.path.realpath(interpreter),
        os.path.dirname(interpreter),
        # Not HOME itself: "/root" is also a path inside the images.
        os.path.join(os.environ["HOME"], ".cache"),
        os.environ["PANTS_BOOTSTRAP_CACHE"],
    }
    process = rule_runner.request(
        Process, [ToolPexProcess(tool.pex, argv=["--help"], description="runner help")]
    )
    assert process.argv[:2] == (TOOLS_PYTHON, pex.name)
    inputs = rule_runner.request(DigestContents, [process.input_digest])
    assert any(f.path.startswith(f"{pex.name}/") for f in inputs)  # the PEX is in the inputs
    texts = [*process.argv, *process.env.keys(), *process.env.values()]
    for host_path in host_paths:
        assert not [text for text in texts if host_path in text], host_path
        assert not [f.path for f in inputs if host_path.encode() in f.content], host_path

    # The process runs, with the interpreter that the named cache links to.
    result = rule_runner.request(ProcessResult, [process])
    assert b"usage:" in result.stdout
    named_caches = Path(os.environ["HOME"], ".cache/pants/named_caches")
    assert os.readlink(named_caches / TOOLS_PYTHON_CACHE / "python") == interpreter
