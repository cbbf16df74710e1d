"""Tests of container_runner.py against the real Docker daemon.

They need a running daemon and fail (never skip) without one. No registry is reachable, so the
test image is made here: a rootfs of Debian's busybox-static and bash-static packages, imported
with `docker import` and kept under a fixed tag so that later runs reuse it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import docker
import pytest
from docker.errors import ImageNotFound, NotFound
from docker.models.containers import Container

RUNNER = Path(__file__).with_name("container_runner.py")
# The runner imports its sibling modules by their package (cpython_fips.runner).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
TEST_IMAGE_REPOSITORY = "cpython-fips-test/busybox"
TEST_IMAGE = f"{TEST_IMAGE_REPOSITORY}:latest"
RUNNER_LABEL = "org.cpython-fips.runner"


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stderr: str
    pid: int


@pytest.fixture(scope="session")
def client() -> docker.DockerClient:
    return docker.from_env()  # raises, so the tests fail, when the daemon is unreachable


def build_rootfs(workdir: Path) -> Path:
    subprocess.run(
        ["apt-get", "download", "busybox-static", "bash-static"], cwd=workdir, check=True
    )
    rootfs = workdir / "rootfs"
    for deb in workdir.glob("*.deb"):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(rootfs)], check=True)
    bin_dir = rootfs / "bin"
    (bin_dir / "bash").symlink_to("bash-static")
    applets = subprocess.run(
        [str(bin_dir / "busybox"), "--list"], check=True, capture_output=True, text=True
    ).stdout.split()
    for applet in applets:
        if not (bin_dir / applet).exists():
            (bin_dir / applet).symlink_to("busybox")
    (rootfs / "tmp").mkdir()
    (rootfs / "tmp").chmod(0o1777)  # steps run as arbitrary uids and use /tmp as HOME
    return rootfs


def owned_by_root(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    return member


@pytest.fixture(scope="session")
def image(client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    try:
        client.images.get(TEST_IMAGE)
        return TEST_IMAGE
    except ImageNotFound:
        pass
    workdir = tmp_path_factory.mktemp("image")
    rootfs = build_rootfs(workdir)
    archive = workdir / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(rootfs, arcname=".", filter=owned_by_root)
    client.api.import_image_from_file(
        str(archive), repository=TEST_IMAGE_REPOSITORY, tag="latest", changes=["ENV PATH=/bin"]
    )
    return TEST_IMAGE


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """Plays the Pants sandbox: the runner's working directory."""
    (tmp_path / "sandbox").mkdir()
    return tmp_path / "sandbox"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def start_runner(
    sandbox: Path, *args: str, env: Optional[dict[str, str]] = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(RUNNER), "run", *args],
        cwd=sandbox,
        stderr=subprocess.PIPE,
        text=True,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(SOURCE_ROOT)},
    )


def run_runner(sandbox: Path, *args: str, env: Optional[dict[str, str]] = None) -> RunResult:
    with start_runner(sandbox, *args, env=env) as process:
        _, stderr = process.communicate(timeout=180)
    return RunResult(process.returncode, stderr, process.pid)


def containers_of_runner(client: docker.DockerClient, pid: int) -> list[Container]:
    labels = [f"{RUNNER_LABEL}=1", f"{RUNNER_LABEL}.pid={pid}"]
    return client.containers.list(all=True, filters={"label": labels})


def assert_no_output(output_dir: Path) -> None:
    assert not output_dir.exists()
    assert [p.name for p in output_dir.parent.iterdir() if ".staging-" in p.name] == []


def wait_for_text(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.1)


def test_step_writes_outputs_from_inputs(
    client: docker.DockerClient, image: str, sandbox: Path
) -> None:
    write(sandbox / "src/data/greeting.txt", "hello from the input\n")
    write(sandbox / "version.txt", "1.2.3\n")
    write(
        sandbox / "steps/build.sh",
        """
        echo "building in $(pwd)"
        cat /in/src/data/greeting.txt /in/version.txt > result.txt
        echo "$JOBS|$MAKEFLAGS|$HOME|$EXTRA|$(id -u):$(id -g)" >> /out/result.txt
        mkdir -p /out/sub && echo nested > /out/sub/file.txt
    """,
    )
    result = run_runner(
        sandbox,
        "--image",
        image,
        "--script",
        "steps/build.sh",
        "--input",
        "src",
        "--input",
        "version.txt",
        "--output-dir",
        "out",
        "--log",
        "logs/build.log",
        "--jobs",
        "3",
        "--env",
        "EXTRA=a=b",
        "--step-name",
        "build",
    )

    assert result.returncode == 0, result.stderr
    assert (sandbox / "out/result.txt").read_text() == (
        f"hello from the input\n1.2.3\n3|-j3|/tmp|a=b|{os.getuid()}:{os.getgid()}\n"
    )
    assert (sandbox / "out/sub/file.txt").read_text() == "nested\n"
    assert (sandbox / "out/result.txt").stat().st_uid == os.getuid()
    assert (sandbox / "logs/build.log").read_text() == "building in /out\n"
    # No staging directory is left next to the output directory.
    assert sorted(p.name for p in sandbox.iterdir()) == [
        "logs",
        "out",
        "src",
        "steps",
        "version.txt",
    ]
    assert containers_of_runner(client, result.pid) == []


def test_failing_step_reports_tail_and_leaves_no_output(
    client: docker.DockerClient, image: str, sandbox: Path, tmp_path: Path
) -> None:
    write(sandbox / "out/stale-from-earlier-run.txt", "stale")
    write(
        sandbox / "fail.sh",
        """
        echo partial > /out/partial.txt
        echo "to stderr" >&2
        for i in $(seq -w 1 60); do echo "line-$i"; done
        exit 3
    """,
    )
    kept_dir = tmp_path / "kept-logs"
    result = run_runner(
        sandbox,
        "--image",
        image,
        "--script",
        "fail.sh",
        "--output-dir",
        "out",
        "--log",
        "fail.log",
        "--keep-failed-log-dir",
        str(kept_dir),
        "--step-name",
        "fail-step",
    )

    assert result.returncode == 3
    assert "step 'fail-step' failed with exit code 3" in result.stderr
    # Docker may interleave the stderr line anywhere, but the last 40 of the 61 lines always hold
    # line-60 and never line-01.
    assert "line-60" in result.stderr and "line-01" not in result.stderr
    assert f"Full log: {sandbox / 'fail.log'}" in result.stderr
    full_log = (sandbox / "fail.log").read_text()
    assert "line-01\n" in full_log and "to stderr\n" in full_log and "line-60\n" in full_log
    kept = list(kept_dir.glob("fail-step-*.log"))
    assert len(kept) == 1 and kept[0].read_text() == full_log
    assert str(kept[0]) in result.stderr
    assert_no_output(sandbox / "out")
    assert containers_of_runner(client, result.pid) == []
    assert "Traceback" not in result.stderr


def test_timeout_kills_and_removes_container(
    client: docker.DockerClient, image: str, sandbox: Path
) -> None:
    write(sandbox / "slow.sh", "echo started > /out/early.txt; sleep 300\n")
    started = time.monotonic()
    result = run_runner(
        sandbox,
        "--image",
        image,
        "--script",
        "slow.sh",
        "--output-dir",
        "out",
        "--timeout",
        "2",
        "--step-name",
        "slow",
        "--tail-lines",
        "5",
    )

    assert result.returncode == 124
    assert "timed out after 2 s" in result.stderr
    assert time.monotonic() - started < 60
    assert containers_of_runner(client, result.pid) == []
    assert_no_output(sandbox / "out")


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_removes_running_container(
    client: docker.DockerClient, image: str, sandbox: Path, signum: int, exit_code: int
) -> None:
    write(sandbox / "sleepy.sh", "echo step-started; sleep 300\n")
    write(sandbox / "input.txt", "x")
    process = start_runner(
        sandbox,
        "--image",
        image,
        "--script",
        "sleepy.sh",
        "--input",
        "input.txt",
        "--log",
        "sleepy.log",
        "--output-dir",
        "out",
        "--label",
        "purpose=test",
    )
    with process:
        # The line shows while the step still sleeps: the log is streamed, not written at the end.
        wait_for_text(sandbox / "sleepy.log", "step-started")
        (container,) = containers_of_runner(client, process.pid)
        assert container.status == "running"
        assert container.labels[f"{RUNNER_LABEL}.host"] == socket.gethostname()
        assert container.labels["purpose"] == "test"
        assert container.attrs["HostConfig"]["NetworkMode"] == "none"
        assert container.attrs["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
        assert {(mount["Destination"], mount["RW"]) for mount in container.attrs["Mounts"]} == {
            ("/in/sleepy.sh", False),
            ("/in/input.txt", False),
            ("/out", True),
        }
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)

    assert process.returncode == exit_code
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert containers_of_runner(client, process.pid) == []
    assert_no_output(sandbox / "out")


def test_step_has_no_network(client: docker.DockerClient, image: str, sandbox: Path) -> None:
    # The target is a listener on this machine behind Docker's bridge gateway: a control container
    # on the default network reaches it, so only the step's lack of a network makes the step fail.
    subnet = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    gateway = subnet.get("Gateway") or str(ipaddress.ip_network(subnet["Subnet"])[1])
    with socket.create_server(("", 0)) as listener:
        listener.settimeout(30)
        connect = f"exec 3<>/dev/tcp/{gateway}/{listener.getsockname()[1]}"
        client.containers.run(
            image, entrypoint=["bash", "-c", connect], network_mode="bridge", remove=True
        )
        listener.accept()[0].close()
        write(
            sandbox / "net.sh",
            f"echo interfaces: $(ls /sys/class/net); {connect}; echo connected\n",
        )
        result = run_runner(sandbox, "--image", image, "--script", "net.sh", "--log", "net.log")
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()

    assert result.returncode != 0
    log = (sandbox / "net.log").read_text()
    assert "interfaces: lo\n" in log  # nothing but loopback
    assert "Network is unreachable" in log and "connected" not in log


def test_inputs_are_read_only(image: str, sandbox: Path) -> None:
    write(sandbox / "data/original.txt", "original")
    write(sandbox / "tamper.sh", "echo changed > /in/data/original.txt\n")
    result = run_runner(
        sandbox, "--image", image, "--script", "tamper.sh", "--input", "data", "--log", "t.log"
    )

    assert result.returncode != 0
    assert "Read-only file system" in (sandbox / "t.log").read_text()
    assert (sandbox / "data/original.txt").read_text() == "original"


def test_reaps_containers_of_killed_runners_only(
    client: docker.DockerClient, image: str, sandbox: Path
) -> None:
    write(sandbox / "sleepy.sh", "echo step-started; sleep 300\n")
    write(sandbox / "noop.sh", "true\n")
    killed = start_runner(sandbox, "--image", image, "--script", "sleepy.sh", "--log", "s.log")
    with killed:
        wait_for_text(sandbox / "s.log", "step-started")
        killed.kill()
    assert len(containers_of_runner(client, killed.pid)) == 1  # SIGKILL allows no cleanup
    # Stands for the container of a runner still at work, which must be left alone.
    busy = client.containers.run(
        image,
        entrypoint=["sleep", "600"],
        detach=True,
        labels={
            RUNNER_LABEL: "1",
            f"{RUNNER_LABEL}.pid": str(os.getpid()),
            f"{RUNNER_LABEL}.host": socket.gethostname(),
        },
    )
    try:
        result = run_runner(sandbox, "--image", image, "--script", "noop.sh")
        assert result.returncode == 0, result.stderr
        assert containers_of_runner(client, killed.pid) == []
        busy.reload()
        assert busy.status == "running"
    finally:
        for container in [busy, *containers_of_runner(client, killed.pid)]:
            with contextlib.suppress(NotFound):
                container.remove(force=True)


def test_missing_image_is_announced_and_nothing_runs(image: str, sandbox: Path) -> None:
    write(sandbox / "noop.sh", "touch /out/ran\n")
    result = run_runner(
        sandbox,
        "--image",
        "cpython-fips-test/absent:latest",
        "--script",
        "noop.sh",
        "--output-dir",
        "out",
    )

    assert result.returncode == 125
    # The line the Pants rule looks for before it makes the image and runs the step again.
    assert (
        "container_runner: missing image cpython-fips-test/absent:latest for step" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (sandbox / "out").exists()


def test_unreachable_daemon_is_explained(sandbox: Path, tmp_path: Path) -> None:
    write(sandbox / "noop.sh", "true\n")
    docker_host = f"unix://{tmp_path}/no-such-docker.sock"
    result = run_runner(
        sandbox,
        "--image",
        TEST_IMAGE,
        "--script",
        "noop.sh",
        env={**os.environ, "DOCKER_HOST": docker_host},
    )

    assert result.returncode == 125
    assert f"cannot reach the Docker daemon at {docker_host}" in result.stderr
    assert "must be running" in result.stderr and "docker info" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--script", "absent.sh"], "script 'absent.sh' does not exist"),
        (["--script", "noop.sh", "--input", "absent-dir"], "input 'absent-dir' does not exist"),
        (["--script", "noop.sh", "--input", "../outside"], "must be a relative path inside"),
        (["--script", "noop.sh", "--env", "NOEQUALS"], "expected KEY=VALUE"),
    ],
)
def test_bad_arguments_are_explained(sandbox: Path, args: list[str], message: str) -> None:
    write(sandbox / "noop.sh", "true\n")
    result = run_runner(sandbox, "--image", TEST_IMAGE, *args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
