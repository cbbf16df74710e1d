"""The remote cache for real: `./pants` with `pants.remote-cache.toml` against a BuildGrid server
on loopback, its address and credentials taken from the environment.

libedit (and ncurses, which it builds against) is built with an empty local cache while writing
to the server; the server is restarted (its store is on disk and in redis); then a second
machine, simulated on this one, builds it: another checkout path, another HOME with empty caches
(so another Pants bootstrap and named caches), another Python 3.9 (Debian bullseye's instead of
the first one's) and another PATH. Every build step must come from the server, as Pants' own
workunits and counters report it: nothing in a step's cache key says where the host's tools
are. Then a server that refuses the credentials, and one that is not there: the build succeeds
locally and Pants warns once, not once per step."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from cpython_fips.pex_tools import TOOLS_PYTHON, TOOLS_PYTHON_CACHE
from images import ensure_image
from pants_launcher_test import REPO, pants
from remote_cache.buildgrid_server import BuildGridServer, free_port

# Two build steps, one built against the other's result (a few minutes less of CPU than OpenSSL,
# which the other tests build).
WORKLOAD = "sources/libraries:libedit-linux-x86_64"
# A small step, for the runs where the cache is unusable and everything builds locally.
SMALL_WORKLOAD = "sources/libraries:zlib-linux-x86_64"
BUILDGRID_PEX = REPO / "tests.remote_cache/buildgrid.pex"
# Pants' cache scopes of processes whose results may be cached (the rest run in every session).
CACHEABLE_SCOPES = {"Always", "Successful"}
# The second machine's Python 3.9: Debian bullseye's, which `./pants` installs (as root) when it
# finds no other.
SECOND_MACHINE_PYTHON = "/usr/bin/python3.9"
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BuildGridServer]:
    grid = BuildGridServer(BUILDGRID_PEX, tmp_path / "buildgrid", free_port())
    grid.start()
    try:
        yield grid
    finally:
        grid.stop()


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


def second_machine(tmp_path: Path) -> Machine:
    """Another checkout, HOME, PATH and Python 3.9 than this machine's (pyenv's, in CI)."""
    repo = tmp_path / "checkout"
    shutil.copytree(REPO, repo, symlinks=True, ignore=shutil.ignore_patterns(".pants.d", ".pids"))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        # No pyenv: `./pants` finds Debian's python3.9 on PATH, or installs it (as root), and
        # so does Pants' interpreter search.
        "PYENV_ROOT": str(home / "no-pyenv"),
    }
    return Machine(repo, env)


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
    )
    assert result.returncode == 0, result.stderr[-5000:]
    counters = {
        name: int(value)
        for name, value in re.findall(r"^  ([a-z_]+): (\d+)$", result.stderr, re.MULTILINE)
    }
    assert counters, "no counters: [stats].log of pants.remote-cache.toml is off?"
    (log,) = workunits.glob("*.json")
    processes = [unit for unit in json.loads(log.read_text()) if unit["name"] == "process"]
    return PantsRun(result.stderr, counters, processes)


def tree_digests(tree: Path) -> Dict[str, str]:
    return {
        str(path.relative_to(tree)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tree.rglob("*"))
        if path.is_file()
    }


def test_another_machine_restores_every_step_from_the_remote(
    server: BuildGridServer, tmp_path: Path
) -> None:
    credentials = {"authorization": f"Bearer {server.bearer_token()}"}
    output = "artifacts/libraries/libedit-linux-x86_64"

    # The toolchain image first: a step whose image is missing runs twice (the first attempt
    # reports the image missing, the second runs once it is made), which the counters below
    # would count as two lookups of one step.
    ensure_image("linux-x86_64")
    # A cold build takes several minutes on two busy cores.
    cold = package(WORKLOAD, tmp_path / "cold", server.address, credentials, timeout=2700)
    built = cold.cacheable()
    assert built[f"Build {WORKLOAD}"] == "Ran"
    assert built["Build sources/libraries:ncurses-linux-x86_64"] == "Ran"
    assert set(built.values()) == {"Ran"}, built
    assert cold.counters["remote_cache_requests_uncached"] == len(built)
    assert cold.counters["remote_cache_write_errors"] == 0
    assert cold.counters["remote_cache_write_successes"] == len(built)
    built_tree = tree_digests(REPO / output)

    # The store outlives the server. The second machine shares nothing else with the first.
    server.stop()
    server.start()
    machine = second_machine(tmp_path)
    warm = package(
        WORKLOAD, tmp_path / "warm", server.address, credentials, timeout=1800, machine=machine
    )
    # Positive control: the two machines did run their tools with different interpreters.
    assert machine.tools_python() == SECOND_MACHINE_PYTHON
    assert THIS_MACHINE.tools_python() != SECOND_MACHINE_PYTHON
    steps = warm.build_steps()
    assert steps.keys() == cold.build_steps().keys()
    assert {f"Build {WORKLOAD}", "Build sources/libraries:ncurses-linux-x86_64"} <= steps.keys()
    assert set(steps.values()) == {"HitRemotely"}, steps
    assert warm.counters["local_cache_requests_cached"] == 0
    assert warm.counters["remote_cache_read_errors"] == 0
    # Not even started: the speculation delay lets the lookup win without a race.
    assert f"Starting: Build {WORKLOAD}" not in warm.stderr
    assert tree_digests(machine.repo / output) == built_tree


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
