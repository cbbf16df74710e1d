"""Run one build step in a throwaway container of a toolchain image; make and lock toolchains.

Usage: container_runner.py run --image REF --script PATH [options]   (see --help)
       container_runner.py make-image --lock LOCK --debs DIR --image TAG --log PATH
       container_runner.py lock --suite SUITE --arch ARCH --suites "S..." --out LOCK [PACKAGE...]

What the tool guarantees:
- A step whose image is missing does not run: the runner exits with EXIT_DOCKER after a line
  `container_runner: missing image TAG`, so that the caller can make the image and run it again.
- `make-image` makes an image from a toolchain lock and a directory holding the lock's .debs
  (make-image.sh, beside this module, without network), once even when several processes ask for
  the same image at the same time.
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
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Sequence

# Until main() installs its handlers, Python would turn SIGINT into a KeyboardInterrupt traceback.
# No container exists yet while the imports below run, so dying quietly is the right response.
signal.signal(signal.SIGINT, signal.SIG_DFL)

import docker  # noqa: E402
import requests  # noqa: E402
from docker.errors import APIError, DockerException, ImageNotFound  # noqa: E402
from docker.models.containers import Container  # noqa: E402
from docker.types import Mount  # noqa: E402

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
# lock.sh and make-image.sh, shipped beside this module.
SCRIPTS = Path(__file__).resolve().parent


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
    make.add_argument("--image", required=True, metavar="TAG", help="the tag to give the image")
    make.add_argument("--log", required=True, type=Path, help="receives make-image.sh's output")
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


def make_image(args: argparse.Namespace) -> int:
    """Makes the image unless it is there, once even when several processes ask at the same time."""
    client = connect_to_docker()
    exclusive_file = Path(tempfile.gettempdir(), f"cpython-fips-{safe_file_name(args.image)}.lock")
    with exclusive_file.open("w") as exclusive:
        fcntl.flock(exclusive, fcntl.LOCK_EX)  # another process may be making the same image
        if image_id(client, args.image) is not None:
            return 0
        print(
            f"container_runner: making the image {args.image} from {args.lock} (a minute or "
            "two)",
            file=sys.stderr,
            flush=True,
        )
        args.log.parent.mkdir(parents=True, exist_ok=True)
        command = as_root(
            ["bash", str(SCRIPTS / "make-image.sh"), str(args.lock), str(args.debs), args.image]
        )
        with args.log.open("wb") as log:
            made = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
    if made.returncode != 0:
        print(
            f"container_runner: making the image {args.image} from {args.lock} failed (exit "
            f"code {made.returncode}).\n--- last {args.tail_lines} lines of the log ---\n"
            f"{file_tail(args.log, args.tail_lines)}\n--- end of log ---",
            file=sys.stderr,
        )
        return EXIT_DOCKER
    if image_id(client, args.image) is None:
        raise RunnerError(f"make-image.sh did not create {args.image!r}", EXIT_DOCKER)
    return 0


def as_root(command: list[str]) -> list[str]:
    """make-image.sh needs root: a runner that is not root runs it with sudo where sudo needs no
    password (CI machines); elsewhere make-image.sh itself says how to run it by hand."""
    if os.geteuid() == 0 or shutil.which("sudo") is None:
        return command
    if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
        return command
    return ["sudo", "-n", *command]


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
    if args.command == "make-image":
        try:
            return make_image(args)
        except RunnerError as error:
            print(f"container_runner: {error}", file=sys.stderr)
            return error.exit_code
    step_name = args.step_name or args.script
    guard = SignalGuard()
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
