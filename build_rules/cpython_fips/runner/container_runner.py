"""Run one build step in a throwaway container of a toolchain image; make and lock toolchains.

Usage: container_runner.py run --image REF --script PATH [options]   (see --help)
       container_runner.py make-image --lock LOCK --debs DIR --debootstrap DEB --image TAG \
           --log PATH
       container_runner.py lock --suite SUITE --arch ARCH --suites "S..." --out LOCK [PACKAGE...]

What the tool guarantees:
- A step whose image is missing does not run: the runner exits with EXIT_DOCKER after a line
  `container_runner: missing image TAG`, so that the caller can make the image and run it again.
- `make-image` makes an image from a toolchain lock and a directory holding the lock's .debs, in
  containers (rootfs.py), without network, root or debootstrap on the host, once even when several
  processes ask for the same image at the same time. Its containers and throwaway images are
  removed whatever happens.
- The step runs as `bash -euo pipefail /in/<script>` with no network (network_mode "none"), as the
  invoking uid:gid (so outputs belong to the user), with HOME=/tmp, JOBS=N and MAKEFLAGS=-jN.
- Inputs are bind-mounted read-only at /in/<path>; the output directory is reached through /out.
- Outputs appear only on success: the step writes into a staging directory next to --output-dir,
  which replaces it when the step exits 0. After a failure, timeout or interrupt the output
  directory does not exist, so results of an earlier run cannot pass for this run's.
- The container's stdout+stderr are streamed to the log file as they are produced. The log is kept
  after a failure, and copied to --keep-failed-log-dir because Pants deletes failed sandboxes.
- The container is always removed: on success, failure, timeout (exit 124), SIGTERM (143) and
  SIGINT (130). Containers left behind by a runner that was SIGKILLed are reaped on the next start.
- Problems with the arguments (exit 2) or with Docker (exit 125) are reported in plain words, with
  no traceback. Otherwise the exit code is the step's.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Callable, Iterator, Optional, Sequence

# Until main() installs its handlers, Python would turn SIGINT into a KeyboardInterrupt traceback.
# No container exists yet while the imports below run, so dying quietly is the right response.
signal.signal(signal.SIGINT, signal.SIG_DFL)

import docker  # noqa: E402
import requests  # noqa: E402
from docker.errors import APIError, DockerException, ImageNotFound  # noqa: E402
from docker.models.containers import Container  # noqa: E402
from docker.types import Mount  # noqa: E402

from cpython_fips.digests import sha256_of  # noqa: E402
from cpython_fips.runner import rootfs  # noqa: E402
from cpython_fips.toolchain.lockfile import Lockfile, LockfileError  # noqa: E402

RUNNER_LABEL = "org.cpython-fips.runner"
PID_LABEL = f"{RUNNER_LABEL}.pid"
HOST_LABEL = f"{RUNNER_LABEL}.host"
STEP_LABEL = f"{RUNNER_LABEL}.step"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
EXIT_USAGE = 2
EXIT_DOCKER = 125  # as `docker run` does when the problem is Docker's rather than the command's
EXIT_TIMEOUT = 124  # as coreutils `timeout` does
# How a missing image is announced (after "container_runner: "); the Pants rule that runs steps
# (toolchain/step.py) looks for it.
MISSING_IMAGE = "missing image"
SIGNAL_EXIT_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}
LOG_DRAIN_SECONDS = 10.0
# lock.sh and finish-rootfs.sh, shipped beside this module.
SCRIPTS = Path(__file__).resolve().parent
# The label naming the sha256 of the lock a toolchain image was made from.
LOCK_LABEL = "org.cpython-fips.toolchain-lock"
# Throwaway images of the stages of making a toolchain image (the seed, the first stage).
TEMPORARY_IMAGE_REPOSITORY = "cpython-fips/making"
# Debian's names of the architectures images are made on and for.
HOST_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}
# The qemu-user emulator (binfmt_misc handler qemu-NAME) of a foreign architecture.
EMULATORS = {"amd64": "x86_64", "arm64": "aarch64"}


class RunnerError(Exception):
    """A problem reported to the user as a message and an exit code, without a traceback."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(BaseException):
    """Raised by the signal handler; a BaseException so that no `except Exception` swallows it."""


class SignalGuard:
    """Turns the first SIGTERM/SIGINT into `Interrupted`, unless cleanup is running: then the signal
    is only recorded, so that cleanup (removing the container) is never cut short."""

    def __init__(self) -> None:
        self.received: Optional[signal.Signals] = None
        self._deferring = False
        for signum in SIGNAL_EXIT_CODES:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        first = self.received is None
        if first:
            self.received = signal.Signals(signum)
        if first and not self._deferring:
            raise Interrupted()

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False


@dataclass(frozen=True)
class StepSpec:
    image: str
    script: str
    inputs: Sequence[str]
    output_dir: Optional[Path]
    log: Path
    keep_failed_log_dir: Optional[Path]
    name: str
    timeout: Optional[float]
    jobs: int
    env: dict[str, str]
    labels: dict[str, str]
    tail_lines: int


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def positive(convert: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = convert(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return parse


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="container_runner", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one build step in a container")
    add = run.add_argument
    add("--image", required=True, metavar="REF", help="image (tag or id) in the local daemon")
    add("--script", required=True, metavar="PATH", help="script (relative to cwd) run with bash")
    add(
        "--input",
        action="append",
        default=[],
        metavar="PATH",
        help="file or directory (relative to cwd) mounted read-only at /in/PATH; repeatable",
    )
    add("--output-dir", type=Path, metavar="PATH", help="receives what the step writes to /out")
    add("--log", type=Path, metavar="PATH", help="receives stdout+stderr (default: STEP_NAME.log)")
    add("--keep-failed-log-dir", type=Path, metavar="DIR", help="where to copy a failed step's log")
    add("--step-name", metavar="NAME", help="name for messages and labels (default: the script)")
    add("--timeout", type=positive(float), metavar="SECONDS", help="wall-clock limit")
    add("--jobs", type=positive(int), default=1, metavar="N", help="JOBS and MAKEFLAGS=-jN")
    add(
        "--env",
        type=key_value,
        action="append",
        default=[],
        metavar="K=V",
        help="extra environment variable; repeatable",
    )
    add(
        "--label",
        type=key_value,
        action="append",
        default=[],
        metavar="K=V",
        help="extra container label; repeatable",
    )
    add("--tail-lines", type=int, default=40, metavar="N", help="log lines shown on failure")
    make = commands.add_parser("make-image", help="make a toolchain image from its lock")
    make.add_argument("--lock", required=True, type=Path, help="the toolchain lock")
    make.add_argument(
        "--debs",
        required=True,
        type=Path,
        help="directory holding every .deb of the lock, by file name",
    )
    make.add_argument(
        "--debootstrap",
        required=True,
        type=Path,
        help="debootstrap's .deb (Architecture: all), which the seed container runs",
    )
    make.add_argument("--image", required=True, metavar="TAG", help="the tag to give the image")
    make.add_argument("--log", required=True, type=Path, help="receives the stages' output")
    make.add_argument(
        "--tail-lines", type=int, default=40, metavar="N", help="log lines shown on failure"
    )
    lock = commands.add_parser("lock", help="resolve a toolchain's packages into a lock file")
    lock.add_argument("--suite", required=True, help="Debian suite, e.g. bullseye")
    lock.add_argument("--arch", required=True, help="Debian architecture, e.g. amd64")
    lock.add_argument(
        "--suites",
        required=True,
        help="the suites resolved against, space-separated, e.g. 'bullseye bullseye-security'",
    )
    lock.add_argument("--out", required=True, type=Path, help="the lock file to write")
    lock.add_argument("packages", nargs="*", metavar="PACKAGE")
    return parser.parse_args(argv)


def checked_relative_path(raw: str, what: str) -> str:
    """Inputs live under /in/<path>, so they must stay inside the working directory."""
    path = os.path.normpath(raw)
    if os.path.isabs(path) or path == ".." or path.startswith("../"):
        raise RunnerError(
            f"{what} {raw!r} must be a relative path inside {os.getcwd()}", EXIT_USAGE
        )
    if not os.path.exists(path):
        raise RunnerError(f"{what} {raw!r} does not exist (relative to {os.getcwd()})", EXIT_USAGE)
    return path


def step_spec(args: argparse.Namespace) -> StepSpec:
    script = checked_relative_path(args.script, "script")
    if not os.path.isfile(script):
        raise RunnerError(f"script {args.script!r} is not a file", EXIT_USAGE)
    name = args.step_name or script
    return StepSpec(
        image=args.image,
        script=script,
        inputs=[checked_relative_path(path, "input") for path in args.input],
        output_dir=args.output_dir,
        log=args.log or Path(f"{safe_file_name(name)}.log"),
        keep_failed_log_dir=args.keep_failed_log_dir,
        name=name,
        timeout=args.timeout,
        jobs=args.jobs,
        env=dict(args.env),
        labels=dict(args.label),
        tail_lines=max(args.tail_lines, 0),
    )


def connect_to_docker() -> docker.DockerClient:
    try:
        return docker.from_env()  # asks the daemon for its API version: fails if unreachable
    except DockerException as error:
        address = os.environ.get("DOCKER_HOST") or f"{DEFAULT_DOCKER_HOST} (DOCKER_HOST is unset)"
        raise RunnerError(
            f"cannot reach the Docker daemon at {address}: {error}\n"
            "The Docker daemon must be running and this user must be allowed to use it; "
            "check with `docker info`.",
            EXIT_DOCKER,
        ) from None


def image_id(client: docker.DockerClient, image: str) -> Optional[str]:
    try:
        return client.images.get(image).id
    except ImageNotFound:
        return None


def step_image(client: docker.DockerClient, spec: StepSpec) -> str:
    """Returns the image id, so that the step runs this very image even if the tag moves."""
    found = image_id(client, spec.image)
    if found is None:
        raise RunnerError(
            f"{MISSING_IMAGE} {spec.image} for step "
            f"{spec.name!r}: it is not in the local Docker daemon.",
            EXIT_DOCKER,
        )
    return found


def make_image(args: argparse.Namespace, guard: SignalGuard) -> int:
    """Makes the image unless it is there, once even when several processes ask at the same time."""
    client = connect_to_docker()
    with exclusive_file(f"cpython-fips-{safe_file_name(args.image)}.lock") as exclusive:
        fcntl.flock(exclusive, fcntl.LOCK_EX)  # another process may be making the same image
        if image_id(client, args.image) is not None:
            return 0
        try:
            lock = rootfs.read_lock(args.lock)
        except (rootfs.RootfsError, LockfileError) as error:
            raise RunnerError(str(error), EXIT_USAGE) from None
        check_emulation(lock.header["arch"], args.lock)
        print(
            f"container_runner: making the image {args.image} from {args.lock} in containers "
            "(a few minutes)",
            file=sys.stderr,
            flush=True,
        )
        reap_stale_containers(client)
        args.log.parent.mkdir(parents=True, exist_ok=True)
        failure: Optional[str] = None
        with args.log.open("wb") as log, tempfile.TemporaryDirectory(
            prefix="toolchain-image."
        ) as work:
            maker = ImageMaker(client, lock, Path(work), log)
            try:
                maker.make(args.debs, args.debootstrap, args.image)
            except (rootfs.RootfsError, StageFailed, DockerException) as error:
                log.write(f"error: {error}\n".encode())
                failure = str(error)
            finally:
                with guard.deferred():
                    maker.clean_up()
    if guard.received is not None:
        raise Interrupted()
    if failure is not None:
        print(
            f"container_runner: making the image {args.image} from {args.lock} failed: "
            f"{failure}\n--- last {args.tail_lines} lines of the log ---\n"
            f"{file_tail(args.log, args.tail_lines)}\n--- end of log ---\n"
            f"Full log: {args.log.resolve()}",
            file=sys.stderr,
        )
        return EXIT_DOCKER
    if image_id(client, args.image) is None:
        raise RunnerError(f"making {args.image!r} left no image of that name", EXIT_DOCKER)
    return 0


def exclusive_file(name: str) -> IO[str]:
    """A file in the temporary directory to lock, shared by every user of the Docker daemon
    (another user's file can only be opened for reading, which is enough for flock)."""
    path = Path(tempfile.gettempdir(), name)
    try:
        return path.open("a")
    except PermissionError:
        return path.open("r")


def check_emulation(arch: str, lock: Path) -> None:
    """A foreign architecture's image (arm64 on an amd64 host, for the runtime checks of a cross
    build) is made by running its own programs, and its containers run them too, through qemu-user
    registered with binfmt_misc with the F flag (the emulator is opened when it is registered, so
    that containers, which do not have it, can use it)."""
    machine = os.uname().machine
    host = HOST_ARCHITECTURES.get(machine, machine)
    if arch == host:
        return
    emulator = EMULATORS[arch]
    handler = Path(f"/proc/sys/fs/binfmt_misc/qemu-{emulator}")
    try:
        registration = handler.read_text().splitlines()
    except OSError:
        registration = []
    flags: list[str] = next(
        (line.split()[1:] for line in registration if line.startswith("flags:")), []
    )
    if "enabled" not in registration or not any("F" in flag for flag in flags):
        raise RunnerError(
            f"{lock} is for {arch} and this host is {host}: programs for {arch} must run here "
            f"through qemu-user registered with binfmt_misc with the F flag ({handler}). On "
            "Debian: apt-get install qemu-user-static binfmt-support, then update-binfmts "
            f"--enable qemu-{emulator} (mount -t binfmt_misc binfmt_misc "
            "/proc/sys/fs/binfmt_misc first if it is not mounted)",
            EXIT_DOCKER,
        )


class StageFailed(Exception):
    """A stage of making an image failed; its output is in the log."""


class ImageMaker:
    """Makes a toolchain image in containers (rootfs.py says how), and leaves nothing behind:
    its containers and throwaway images are removed by `clean_up`, whatever happened."""

    def __init__(
        self,
        client: docker.DockerClient,
        lock: Lockfile,
        work: Path,
        log: BinaryIO,
    ) -> None:
        self.client = client
        self.lock = lock
        self.work = work
        self.log = log
        self.lock_sha256 = sha256_of(Path(lock.path))
        self.platform = f"linux/{lock.header['arch']}"
        self.temporary_images: list[str] = []

    def note(self, message: str) -> None:
        self.log.write(f"[{time.strftime('%H:%M:%S')}] {message}\n".encode())
        self.log.flush()

    def make(self, debs_dir: Path, debootstrap: Path, tag: str) -> None:
        lock, work = self.lock, self.work
        debs = rootfs.checked_debs(lock, debs_dir)
        epoch = rootfs.source_date_epoch(debs.values())
        # debootstrap's check that the target allows device nodes writes to one it makes, which
        # fails where the storage driver's mounts are nodev (fuse-overlayfs); container=lxc
        # skips the check. The nodes are never used: every container gets Docker's /dev.
        env = {"SOURCE_DATE_EPOCH": str(epoch), "container": "lxc"}
        rootfs.write_local_archive(lock, debs, work / "repo")
        seed = [debs[package.name] for package in rootfs.seed_packages(lock, debs)]
        with (work / "seed.tar").open("wb") as out:
            rootfs.seed_tar([*seed, debootstrap], out)
        seed_image = self.import_temporary(work / "seed.tar", "seed")

        self.note(f"first stage: debootstrap --foreign of {len(lock.packages)} packages")
        first = self.run_stage(
            seed_image,
            [
                "debootstrap",
                "--foreign",
                "--variant=minbase",
                "--no-check-gpg",
                f"--arch={lock.header['arch']}",
                "--include=" + ",".join(package.name for package in lock.packages),
                lock.header["suite"],
                "/target",
                "file:///repo",
            ],
            [Mount("/repo", str(work / "repo"), type="bind", read_only=True)],
            env,
        )
        with (work / "target.tar").open("wb") as archive:
            chunks, _stat = first.get_archive("/target")
            for chunk in chunks:
                archive.write(chunk)
        with (work / "target.tar").open("rb") as archive, (work / "first-stage.tar").open(
            "wb"
        ) as out:
            rootfs.strip_top_directory(archive, "target", out)
        (work / "target.tar").unlink()
        second_image = self.import_temporary(work / "first-stage.tar", "second-stage")

        self.note("second stage: debootstrap --second-stage, then finish-rootfs.sh")
        finish = work / "finish"
        finish.mkdir()
        shutil.copyfile(SCRIPTS / "finish-rootfs.sh", finish / "finish-rootfs.sh")
        (finish / "packages").write_text(
            "".join(sorted(f"{p.name} {p.version} {p.architecture}\n" for p in lock.packages))
        )
        second = self.run_stage(
            second_image,
            ["bash", "/finish/finish-rootfs.sh", self.lock_sha256],
            [Mount("/finish", str(finish), type="bind", read_only=True)],
            env,
        )
        with (work / "exported.tar").open("wb") as exported:
            for chunk in second.export():
                exported.write(chunk)
        self.note("writing the root filesystem's tar")
        with tarfile.open(work / "exported.tar") as exported, tarfile.open(
            work / "first-stage.tar"
        ) as first_stage, (work / "rootfs.tar").open("wb") as out:
            rootfs.write_normalized_rootfs(exported, first_stage, epoch, out)
        self.import_image(
            work / "rootfs.tar",
            tag,
            [
                f"LABEL {LOCK_LABEL}={self.lock_sha256}",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                'CMD ["bash"]',
            ],
        )
        self.note(
            f"image {tag}: lock sha256 {self.lock_sha256}, rootfs tar sha256 "
            f"{sha256_of(work / 'rootfs.tar')}, {(work / 'rootfs.tar').stat().st_size} "
            "bytes"
        )

    def import_temporary(self, tar: Path, stage: str) -> str:
        tag = f"{TEMPORARY_IMAGE_REPOSITORY}-{stage}:{self.lock_sha256[:32]}-{os.getpid()}"
        self.temporary_images.append(tag)
        self.import_image(tar, tag, [])
        return tag

    def import_image(self, tar: Path, tag: str, changes: list[str]) -> None:
        # The Docker CLI, because the SDK's import cannot name the image's platform.
        command = ["docker", "import", "--platform", self.platform]
        for change in changes:
            command += ["--change", change]
        imported = subprocess.run(
            [*command, str(tar), tag], stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if imported.returncode != 0:
            raise StageFailed(f"docker import of {tar.name} failed: {imported.stderr.strip()}")

    def run_stage(
        self, image: str, command: list[str], stage_mounts: list[Mount], env: dict[str, str]
    ) -> Container:
        """Runs `command` as root in a container of `image`, without network; the container is
        kept (stopped) for reading its files, and removed by `clean_up`."""
        container = self.client.containers.create(
            image,
            entrypoint=command,
            environment=env,
            labels={
                RUNNER_LABEL: "1",
                PID_LABEL: str(os.getpid()),
                HOST_LABEL: socket.gethostname(),
                STEP_LABEL: f"make-image {command[0]}",
                LOCK_LABEL: self.lock_sha256,
            },
            mounts=stage_mounts,
            network_mode="none",
        )
        container.start()
        watcher = ContainerWatcher(container, self.log)
        watcher.finished_within(None)
        exit_code = watcher.exit_code()
        if exit_code != 0:
            raise StageFailed(f"{' '.join(command[:2])} exited with {exit_code}")
        return container

    def clean_up(self) -> None:
        remove_own_containers(self.client)
        for tag in self.temporary_images:
            with contextlib.suppress(ImageNotFound):
                self.client.images.remove(tag, force=True)


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to another user
        pass
    return True


def runner_containers(client: docker.DockerClient, *labels: str) -> list[Container]:
    selector = [f"{RUNNER_LABEL}=1", f"{HOST_LABEL}={socket.gethostname()}", *labels]
    return client.containers.list(all=True, filters={"label": selector}, ignore_removed=True)


def remove_container(container: Container) -> None:
    try:
        container.remove(force=True)  # force: kills it first if it still runs
    except APIError as error:
        if error.status_code not in (404, 409):  # already gone, or another runner is removing it
            raise


def reap_stale_containers(client: docker.DockerClient) -> None:
    """Removes containers whose runner died without cleaning up, e.g. because it was SIGKILLed."""
    for container in runner_containers(client):
        pid = container.labels.get(PID_LABEL, "")
        if pid.isdigit() and not process_is_alive(int(pid)):
            remove_container(container)


def remove_own_containers(client: docker.DockerClient) -> None:
    """Selects by label rather than by handle, to also catch a container whose creation an
    interrupt cut short before its id reached us."""
    for container in runner_containers(client, f"{PID_LABEL}={os.getpid()}"):
        remove_container(container)


class ContainerWatcher:
    """Copies the container's output into the log as it comes and then records its exit code, on a
    thread, so that the main thread stays free to enforce the timeout and to handle signals."""

    def __init__(self, container: Container, log: BinaryIO) -> None:
        self._exit_code: Optional[int] = None
        self._error: Optional[Exception] = None
        self._thread = threading.Thread(target=self._watch, args=(container, log), daemon=True)
        self._thread.start()

    def _watch(self, container: Container, log: BinaryIO) -> None:
        try:
            for chunk in container.logs(stdout=True, stderr=True, stream=True, follow=True):
                log.write(chunk)
                log.flush()
            self._exit_code = container.wait()["StatusCode"]
        except Exception as error:  # handed to the main thread, which reports errors
            self._error = error

    def finished_within(self, timeout: Optional[float]) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def exit_code(self) -> int:
        if self._error is not None:
            raise self._error
        assert self._exit_code is not None
        return self._exit_code


def in_container(path: str) -> str:
    return os.path.normpath(f"/in/{path}")


def mounts(spec: StepSpec, staging: Optional[Path]) -> list[Mount]:
    # Keyed by target, because the script may also be one of the inputs.
    sources = {in_container(path): os.path.abspath(path) for path in [*spec.inputs, spec.script]}
    result = [
        Mount(target, source, type="bind", read_only=True) for target, source in sources.items()
    ]
    if staging is not None:
        result.append(Mount("/out", str(staging.resolve()), type="bind"))
    return result


def run_container(
    client: docker.DockerClient,
    spec: StepSpec,
    image_id: str,
    staging: Optional[Path],
    log: BinaryIO,
    guard: SignalGuard,
) -> Optional[int]:
    """Returns the step's exit code, or None if it ran out of time."""
    watcher: Optional[ContainerWatcher] = None
    try:
        container = client.containers.create(
            image_id,
            # Overrides any ENTRYPOINT of the image, so the step runs exactly the script.
            entrypoint=["bash", "-euo", "pipefail", in_container(spec.script)],
            user=f"{os.getuid()}:{os.getgid()}",
            environment={
                "HOME": "/tmp",
                "JOBS": str(spec.jobs),
                "MAKEFLAGS": f"-j{spec.jobs}",
                **spec.env,
            },
            labels={
                **spec.labels,
                RUNNER_LABEL: "1",
                PID_LABEL: str(os.getpid()),
                HOST_LABEL: socket.gethostname(),
                STEP_LABEL: spec.name,
            },
            mounts=mounts(spec, staging),
            network_mode="none",
            working_dir="/out" if staging is not None else "/tmp",
        )
        container.start()
        watcher = ContainerWatcher(container, log)
        return watcher.exit_code() if watcher.finished_within(spec.timeout) else None
    finally:
        with guard.deferred():
            remove_own_containers(client)
            if watcher is not None:
                watcher.finished_within(LOG_DRAIN_SECONDS)  # the log's end may still be in flight


def make_staging_dir(output_dir: Path) -> Path:
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.staging-", dir=output_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would be odd on a published output directory
    return staging


def settle_outputs(output_dir: Path, staging: Path, succeeded: bool) -> None:
    if output_dir.exists():
        shutil.rmtree(output_dir)  # results of an earlier run must not pass for this run's
    if succeeded:
        staging.rename(output_dir)
    else:
        shutil.rmtree(staging)


def safe_file_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in name)


def file_tail(path: Path, lines: int) -> str:
    with path.open(encoding="utf-8", errors="replace") as log:
        return "".join(collections.deque(log, maxlen=lines)).rstrip("\n")


def keep_failed_log(spec: StepSpec) -> Optional[Path]:
    if spec.keep_failed_log_dir is None:
        return None
    spec.keep_failed_log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    kept = spec.keep_failed_log_dir.resolve() / f"{safe_file_name(spec.name)}-{stamp}.log"
    shutil.copyfile(spec.log, kept)
    return kept


def report_failure(spec: StepSpec, headline: str) -> None:
    parts = [f"container_runner: {headline}"]
    if spec.tail_lines:
        parts += [
            f"--- last {spec.tail_lines} lines of the log ---",
            file_tail(spec.log, spec.tail_lines),
            "--- end of log ---",
        ]
    parts.append(f"Full log: {spec.log.resolve()}")
    kept = keep_failed_log(spec)
    if kept is not None:
        parts.append(f"Copy of the full log kept at: {kept}")
    print("\n".join(parts), file=sys.stderr)


def run_step(spec: StepSpec, guard: SignalGuard) -> int:
    client = connect_to_docker()
    image = step_image(client, spec)
    reap_stale_containers(client)
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    log = spec.log.open("wb")
    staging: Optional[Path] = None
    exit_code: Optional[int] = None
    try:
        staging = make_staging_dir(spec.output_dir) if spec.output_dir is not None else None
        exit_code = run_container(client, spec, image, staging, log, guard)
    finally:
        with guard.deferred():
            log.close()
            if spec.output_dir is not None and staging is not None:
                succeeded = exit_code == 0 and guard.received is None
                settle_outputs(spec.output_dir, staging, succeeded)
    if guard.received is not None:
        raise Interrupted()
    if exit_code == 0:
        return 0
    if exit_code is None:
        report_failure(
            spec,
            f"step {spec.name!r} timed out after {spec.timeout:g} s; its "
            "container was killed and removed.",
        )
        return EXIT_TIMEOUT
    report_failure(spec, f"step {spec.name!r} failed with exit code {exit_code}.")
    return exit_code


def write_lock(args: argparse.Namespace) -> int:
    command = [
        "bash",
        str(SCRIPTS / "lock.sh"),
        args.suite,
        args.arch,
        str(args.out),
        *args.packages,
    ]
    return subprocess.run(
        command, stdin=subprocess.DEVNULL, env={**os.environ, "TOOLCHAIN_SUITES": args.suites}
    ).returncode


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.command == "lock":
        return write_lock(args)
    guard = SignalGuard()
    if args.command == "make-image":
        try:
            return make_image(args, guard)
        except RunnerError as error:
            print(f"container_runner: {error}", file=sys.stderr)
            return error.exit_code
        except Interrupted:
            assert guard.received is not None
            print(
                f"container_runner: making the image {args.image} interrupted by "
                f"{guard.received.name}; no container or temporary image of it is left.",
                file=sys.stderr,
            )
            return SIGNAL_EXIT_CODES[guard.received]
    step_name = args.step_name or args.script
    try:
        return run_step(step_spec(args), guard)
    except Interrupted:
        assert guard.received is not None
        print(
            f"container_runner: step {step_name!r} interrupted by {guard.received.name}; "
            "no container of it is left.",
            file=sys.stderr,
        )
        return SIGNAL_EXIT_CODES[guard.received]
    except RunnerError as error:
        print(f"container_runner: {error}", file=sys.stderr)
        return error.exit_code
    except (DockerException, requests.RequestException) as error:
        print(
            f"container_runner: Docker failed while running step {step_name!r}: {error}",
            file=sys.stderr,
        )
        return EXIT_DOCKER


if __name__ == "__main__":
    sys.exit(main())
