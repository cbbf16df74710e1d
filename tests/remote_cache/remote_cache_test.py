"""The remote cache for real: `./pants` with `pants.remote-cache.toml` against a BuildGrid server
on loopback, its address and credentials taken from the environment.

A first machine builds //dist:cpython-3.13-x86_64-linux-noopt (OpenSSL, the libraries, CPython,
its archives and their runtime checks) with an empty local cache, writing to the server. In CI
that is .ci/run's first build, made by another user from another checkout, which leaves a
record of itself (CPYTHON_FIPS_FIRST_MACHINE); on a machine that ran CI before, its steps come
from its local cache, which .ci/run keeps together with the server's state, filled by the same
earlier build. Run alone, the test builds the workload here. The server is
restarted (its store is on disk and in redis); then a second machine, simulated on this one,
packages the same target: another checkout path, another HOME with empty caches (so another
Pants bootstrap and named caches), another PATH and another Python 3.9 (pyenv's or Debian
bullseye's, whichever the first did not use). Every build step must come from the server, as
Pants' own workunits and counters report it, and the archives must be the first machine's:
nothing in a step's cache key says where the host's tools are. Then a server that refuses the
credentials, and one that is not there: the build succeeds locally and Pants warns once, not
once per step."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from cpython_fips.pex_tools import TOOLS_PYTHON, TOOLS_PYTHON_CACHE
from images import ensure_image
from pants_launcher_test import REPO, pants
from remote_cache.buildgrid_server import BuildGridServer, free_port

WORKLOAD = "//dist:cpython-3.13-x86_64-linux-noopt"
# Some of its build steps (there are more: the other libraries, stripping, archiving, checking).
CPYTHON_STEP = "Build sources/cpython:3.13-noopt-linux-x86_64"
WORKLOAD_STEPS = {
    CPYTHON_STEP,
    "Build sources/openssl:linux-x86_64",
    "Build sources/libraries:libedit-linux-x86_64",
}
# Its archives, as `package` names them in `artifacts/`.
WORKLOAD_ARCHIVES = "cpython-3.13.*-x86_64-unknown-linux-gnu-noopt*.tar.*"
# A small step, for the runs where the cache is unusable and everything builds locally.
SMALL_WORKLOAD = "sources/libraries:zlib-linux-x86_64"
BUILDGRID_PEX = REPO / "tests.remote_cache/buildgrid.pex"
# Where .ci/run's first build recorded itself: `server` (the BuildGrid state directory), `port`,
# `checkout` (its path), `tools-python` (the interpreter its build steps ran with), `pants.log`
# and `workunits/`.
FIRST_MACHINE_VARIABLE = "CPYTHON_FIPS_FIRST_MACHINE"
# Where the first machine's build steps came from: run there, or (on a CI machine that keeps its
# caches between runs) its local cache or the remote one.
FIRST_MACHINE_SOURCES = {"Ran", "HitLocally", "HitRemotely"}
# Pants' cache scopes of processes whose results may be cached (the rest run in every session).
CACHEABLE_SCOPES = {"Always", "Successful"}
# Debian bullseye's Python 3.9, which `./pants` installs (as root) when it finds no other.
DEBIAN_PYTHON = "/usr/bin/python3.9"
READ_WARNING = "Failed to read from remote cache"
WRITE_WARNING = "Failed to write to remote cache"


@dataclass(frozen=True)
class PantsRun:
    stderr: str
    counters: Dict[str, int]
    # Pants' `process` workunits: what ran, and whether it ran or came from a cache.
    processes: List[dict]

    def cacheable(self) -> Dict[str, str]:
        """Each cacheable process's description -> where its result came from."""
        return self._sources(lambda definition: definition["cache_scope"] in CACHEABLE_SCOPES)

    def build_steps(self) -> Dict[str, str]:
        """The same for the processes of our tools (build steps), not those of Pants itself
        (building PEXes, which name the host's interpreter and are built on each machine)."""
        return self._sources(lambda definition: definition["argv"][0] == TOOLS_PYTHON)

    def _sources(self, select) -> Dict[str, str]:
        found = {}
        for process in self.processes:
            definition = json.loads(process["metadata"]["definition"])
            if select(definition):
                found[definition["description"]] = process["metadata"].get("source", "unknown")
        return found


@contextlib.contextmanager
def running_server(state_dir: Path) -> Iterator[BuildGridServer]:
    grid = BuildGridServer(BUILDGRID_PEX, state_dir, free_port())
    grid.start()
    try:
        yield grid
    finally:
        grid.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BuildGridServer]:
    with running_server(tmp_path / "buildgrid") as grid:
        yield grid


@dataclass(frozen=True)
class Machine:
    """Where `./pants` runs: a checkout and the environment (HOME, PATH...) of its user."""

    repo: Path
    env: Dict[str, str]

    def tools_python(self) -> str:
        """The interpreter that this machine's build steps ran with."""
        named_caches = Path(self.env["HOME"], ".cache/pants/named_caches")
        return os.readlink(named_caches / TOOLS_PYTHON_CACHE / "python")


THIS_MACHINE = Machine(REPO, dict(os.environ))


def copy_checkout(destination: Path) -> None:
    """REPO without what Pants and the builds wrote into it."""

    def written(directory: str, names: List[str]) -> List[str]:
        if Path(directory) != REPO:
            return []
        return [name for name in names if name in {".pants.d", ".pids", "artifacts"}]

    shutil.copytree(REPO, destination, symlinks=True, ignore=written)


def second_machine(tmp_path: Path, first_python: str) -> Machine:
    """Another checkout, HOME and PATH than the first machine's, and the other Python 3.9:
    pyenv's if the first machine's build steps ran with Debian's, Debian's otherwise."""
    repo = tmp_path / "checkout"
    copy_checkout(repo)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        # Without pyenv, `./pants` finds Debian's python3.9 on PATH, or installs it (as root),
        # and so does Pants' interpreter search.
        "PYENV_ROOT": str(home / "no-pyenv"),
    }
    if first_python == DEBIAN_PYTHON:
        # Pants' interpreter search looks in pyenv's versions before PATH.
        env["PYENV_ROOT"] = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
        assert list(Path(env["PYENV_ROOT"]).glob("versions/3.9.*/bin/python3.9")), (
            f"the first machine used {DEBIAN_PYTHON}; the second needs a pyenv Python 3.9 "
            f"under {env['PYENV_ROOT']}"
        )
    return Machine(repo, env)


def read_run(stderr: str, workunits: Path) -> PantsRun:
    """A Pants run, from its output (with `[stats].log`) and its workunit logger's directory."""
    counters = {
        name: int(value)
        for name, value in re.findall(r"^  ([a-z_]+): (\d+)$", stderr, re.MULTILINE)
    }
    assert counters, "no counters: [stats].log of pants.remote-cache.toml is off?"
    (log,) = workunits.glob("*.json")
    processes = [unit for unit in json.loads(log.read_text()) if unit["name"] == "process"]
    return PantsRun(stderr, counters, processes)


def package(
    target: str,
    workdir: Path,
    address: str,
    headers: Dict[str, str],
    timeout: int = 900,
    machine: Optional[Machine] = None,
) -> PantsRun:
    """`./pants package target` on `machine` (this one by default) with the remote-cache
    configuration and a local cache of its own (`workdir/store`), recording its workunits."""
    machine = machine or THIS_MACHINE
    workunits = workdir / "workunits"
    workunits.mkdir(parents=True)
    env = {
        **machine.env,
        "PANTS_CONFIG_FILES": "pants.remote-cache.toml",
        "PANTS_REMOTE_STORE_ADDRESS": address,
        "PANTS_REMOTE_STORE_HEADERS": "+" + json.dumps(headers),
    }
    result = pants(
        f"--local-store-dir={workdir / 'store'}",
        "--backend-packages=+['pants.backend.experimental.tools.workunit_logger']",
        "--workunit-logger-enabled",
        f"--workunit-logger-logdir={workunits}",
        "--streaming-workunits-level=debug",
        "package",
        target,
        env=env,
        timeout=timeout,
        repo=machine.repo,
        # One run per store, HOME and configuration: nothing for a daemon to share.
        daemon=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return read_run(result.stderr, workunits)


def credentials(server: BuildGridServer) -> Dict[str, str]:
    return {"authorization": f"Bearer {server.bearer_token()}"}


@dataclass(frozen=True)
class FirstMachine:
    """The machine that built the workload, writing every step to `server`."""

    server: BuildGridServer
    run: PantsRun
    tools_python: str
    artifacts: Path


def recorded_first_machine(record: Path) -> FirstMachine:
    """.ci/run's first build (see FIRST_MACHINE_VARIABLE); its server is .ci/run's to stop."""
    server = BuildGridServer(BUILDGRID_PEX, record / "server", int((record / "port").read_text()))
    checkout = Path((record / "checkout").read_text().strip())
    return FirstMachine(
        server,
        read_run((record / "pants.log").read_text(), record / "workunits"),
        (record / "tools-python").read_text().strip(),
        checkout / "artifacts",
    )


@pytest.fixture(scope="module")
def first_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstMachine]:
    record = os.environ.get(FIRST_MACHINE_VARIABLE)
    if record:
        yield recorded_first_machine(Path(record))
        return
    work = tmp_path_factory.mktemp("first-machine")
    with running_server(work / "buildgrid") as grid:
        # The images first: a step whose image is missing runs twice (the first attempt reports
        # the image missing, the second runs once it is made).
        ensure_image("linux-x86_64")
        ensure_image("test-runtime")
        # A cold build takes 15 to 40 minutes on two cores, depending on what else runs.
        run = package(WORKLOAD, work, grid.address, credentials(grid), timeout=3000)
        yield FirstMachine(grid, run, THIS_MACHINE.tools_python(), REPO / "artifacts")


def archive_digests(artifacts: Path) -> Dict[str, str]:
    return {
        archive.name: hashlib.sha256(archive.read_bytes()).hexdigest()
        for archive in artifacts.glob(WORKLOAD_ARCHIVES)
    }


def test_another_machine_restores_every_step_from_the_remote(
    first_machine: FirstMachine, tmp_path: Path
) -> None:
    built = first_machine.run.build_steps()
    assert WORKLOAD_STEPS <= built.keys()
    assert first_machine.run.counters["remote_cache_write_errors"] == 0
    if "Ran" in built.values():
        assert first_machine.run.counters["remote_cache_write_successes"] > 0
    archives = archive_digests(first_machine.artifacts)
    assert len(archives) == 3, archives

    # The store outlives the server. The second machine shares nothing else with the first.
    server = first_machine.server
    server.stop()
    server.start()
    machine = second_machine(tmp_path, first_machine.tools_python)
    warm = package(
        WORKLOAD,
        tmp_path / "warm",
        server.address,
        credentials(server),
        timeout=1800,
        machine=machine,
    )
    # Positive control: the two machines did run their tools with different interpreters.
    assert machine.tools_python() != first_machine.tools_python
    steps = warm.build_steps()
    assert WORKLOAD_STEPS <= steps.keys()
    # Each of them built by the first machine (or, on a machine that ran CI before, found in its
    # local cache, filled with the remote one: see .ci/run), and restored from the server by the
    # second.
    assert {built.get(step) for step in steps} <= FIRST_MACHINE_SOURCES, built
    assert set(steps.values()) == {"HitRemotely"}, steps
    assert warm.counters["local_cache_requests_cached"] == 0
    assert warm.counters["remote_cache_read_errors"] == 0
    # Not even started: the speculation delay lets the lookup win without a race.
    assert f"Starting: {CPYTHON_STEP}" not in warm.stderr
    assert archive_digests(machine.repo / "artifacts") == archives


def assert_warned_once_and_built_locally(run: PantsRun, reason: str) -> None:
    assert run.cacheable()[f"Build {SMALL_WORKLOAD}"] == "Ran"
    assert run.counters["remote_cache_read_errors"] >= 2
    assert run.counters["remote_cache_write_errors"] >= 2
    assert run.stderr.count(READ_WARNING) == 1, run.stderr
    assert run.stderr.count(WRITE_WARNING) == 1, run.stderr
    assert reason in run.stderr


def test_refused_credentials_build_locally_and_warn_once(
    server: BuildGridServer, tmp_path: Path
) -> None:
    run = package(SMALL_WORKLOAD, tmp_path, server.address, headers={})
    assert_warned_once_and_built_locally(run, "Unauthenticated")


def test_unreachable_server_builds_locally_and_warns_once(tmp_path: Path) -> None:
    nothing_listens = f"grpc://127.0.0.1:{free_port()}"
    run = package(SMALL_WORKLOAD, tmp_path, nothing_listens, headers={})
    assert_warned_once_and_built_locally(run, "Connection refused")


def test_stop_leaves_alone_a_process_that_took_a_stale_pid(tmp_path: Path) -> None:
    """A state directory kept from a killed run (or an earlier boot) has pid files whose numbers
    may now be other processes': `stop` signals only the process started with the state
    directory's own arguments."""
    state_dir = tmp_path / "buildgrid"
    state_dir.mkdir()
    (state_dir / "redis.port").write_text(str(free_port()))
    stranger = subprocess.Popen(["sleep", "300"])
    # Positive control: a process with the server's arguments is stopped.
    server_like = subprocess.Popen(
        ["python3", "-c", "import time; time.sleep(300)", str(state_dir / "buildgrid.yml")]
    )
    try:
        (state_dir / "redis.pid").write_text(str(stranger.pid))
        (state_dir / "buildgrid.pid").write_text(str(server_like.pid))
        BuildGridServer(BUILDGRID_PEX, state_dir, free_port()).stop()
        assert server_like.wait(timeout=30) == -signal.SIGTERM
        assert stranger.poll() is None
        assert not list(state_dir.glob("*.pid"))
    finally:
        stranger.kill()
        server_like.kill()
