"""RuleRunner tests that run real build steps: the repository files the rules need, and the
options that point Pants at the locally built pex tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pants.testutil.rule_runner import RuleRunner

# What the rules need from the repository: the runner, its resolve and the toolchains' locks.
# (The tests' build root has the repository's source roots: see `set_options`.)
REPO_FILES = (
    "3rdparty/python/BUILD",
    "3rdparty/python/ci-requirements.txt",
    "3rdparty/python/monorepo-requirements.txt",
    "3rdparty/python/plugins-requirements.txt",
    "3rdparty/python/release-requirements.txt",
    "3rdparty/python/tools-requirements.txt",
    "3rdparty/python/tools.lock",
    "build_rules/cpython_fips/runner/BUILD",
    "build_rules/cpython_fips/runner/container_runner.py",
    "build_rules/cpython_fips/runner/apt-root.sh",
    "build_rules/cpython_fips/runner/lock.sh",
    "build_rules/cpython_fips/runner/finish-rootfs.sh",
    "build_rules/cpython_fips/runner/rootfs.py",
    # The runner reads locks with the toolchain rules' lock parser (resolves "plugins" and "tools"),
    # and digests files with the plugins' helper.
    "build_rules/cpython_fips/toolchain/lockfile.py",
    "build_rules/cpython_fips/digests.py",
    "sources/toolchain/BUILD",
    "sources/toolchain/linux-x86_64.lock",
    "sources/toolchain/test-runtime.lock",
)
PEX_VERSION = "v2.1.137"
PEX_SHA256 = "4d9441e1672e636527ea430e8c59b0884d823dd8ce61ba3f8ecaa443a215087f"


# The targets of the lock parser and the digest helper in the tests' build root (the
# repository's BUILD files there also declare the plugin rules and their tests).
SHARED_MODULES_BUILD = {
    "build_rules/cpython_fips/toolchain/BUILD": (
        'python_source(source="lockfile.py", resolve="tools")'
    ),
    "build_rules/cpython_fips/BUILD": 'python_source(source="digests.py", resolve="tools")',
}


def copy_repo_files(rule_runner: RuleRunner, paths: Iterable[str] = REPO_FILES) -> None:
    """Copies files of the repository (the test's working directory) into the build root."""
    rule_runner.write_files({path: Path(path).read_text() for path in paths})
    if "build_rules/cpython_fips/toolchain/lockfile.py" in paths:
        rule_runner.write_files(SHARED_MODULES_BUILD)


def set_options(rule_runner: RuleRunner) -> None:
    """(Re)starts the session: results then come from Pants' caches, not from memory."""
    bootstrap_cache = os.environ["PANTS_BOOTSTRAP_CACHE"]
    known = [f"{PEX_VERSION}|linux_x86_64|{PEX_SHA256}|4098294"]
    rule_runner.set_options(
        [
            "--python-interpreter-constraints=['CPython==3.9.*']",
            "--source-root-patterns=['/build_rules', '/']",
            "--python-enable-resolves",
            "--python-resolves={'tools': '3rdparty/python/tools.lock', 'plugins': 'unused.lock', "
            "'ci': 'unused.lock', 'release': 'unused.lock', 'monorepo': 'unused.lock'}",
            f"--pex-cli-version={PEX_VERSION}",
            f"--pex-cli-known-versions={known!r}",
            f"--pex-cli-url-template=file://{bootstrap_cache}/pex-{{version}}",
        ],
        env_inherit={"PATH", "HOME", "PYENV_ROOT"},
    )
