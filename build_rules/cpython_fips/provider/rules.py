"""A Python provider backed by our distributions: the monorepo's code runs on them.

Pants asks the one registered `PythonProvider` for the interpreter of every set of interpreter
constraints. Constraints that one of our distributions serves (selection.py) get its
`install_only` archive, packaged through the normal graph (so restored from the local or remote
cache like any build output) or downloaded from a release, unpacked once into a named cache,
read-only. Any other constraints, Pants' own tools' CPython 3.9 among them, get what Pants finds
without a provider: the interpreter search of `[python-bootstrap]`, done here the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from textwrap import dedent

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import PythonProvider
from pants.backend.python.util_rules.pex_cli import PexCliProcess
from pants.backend.python.util_rules.pex_environment import PythonExecutable
from pants.core.goals.package import BuiltPackage, PackageFieldSet
from pants.core.util_rules.environments import EnvironmentTarget
from pants.core.util_rules.system_binaries import SEARCH_PATHS, BashBinary
from pants.engine.addresses import Address, AddressInput
from pants.engine.fs import (
    CreateDigest,
    Digest,
    DigestSubset,
    DownloadFile,
    FileContent,
    FileDigest,
    MergeDigests,
    PathGlobs,
)
from pants.engine.internals.native_engine import EngineError
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel

from cpython_fips.matrix import BUILD_MATRIX, version_key
from cpython_fips.provider.selection import (
    Choice,
    ProviderError,
    ReleasedArchive,
    abi_name,
    choose,
    host_platform,
    interpreter_fingerprint,
    sitecustomize,
)
from cpython_fips.provider.subsystems import CPythonFipsProvider
from cpython_fips.release.package import CPythonDistributionFieldSet

# The named cache of unpacked interpreters, and where a sandbox sees it.
INTERPRETERS_CACHE = "cpython_fips_interpreters"
INTERPRETERS_LINK = ".cpython-fips-interpreters"


class FipsPythonProvider(PythonProvider):
    pass


@dataclass(frozen=True)
class HostInterpreterRequest:
    interpreter_constraints: InterpreterConstraints


@dataclass(frozen=True)
class InstallOnlyArchive:
    digest: Digest
    filename: str
    # Names its unpacked tree in the named cache: the archive's sha256, or its digest's.
    content_id: str


@dataclass(frozen=True)
class UnpackRequest:
    archive: InstallOnlyArchive
    minor: str
    flavour: str
    fips_mode: bool


@rule(desc="Find a Python interpreter on the search path", level=LogLevel.DEBUG)
async def host_interpreter(
    request: HostInterpreterRequest, env_target: EnvironmentTarget
) -> PythonExecutable:
    """What Pants does without a provider (pex.py's find_interpreter): Pex picks an interpreter
    matching the constraints from the search path and reports its path and sha256."""
    constraints = request.interpreter_constraints
    result = await Get(
        ProcessResult,
        PexCliProcess(
            description=f"Find an interpreter on the search path for {constraints}",
            subcommand=(),
            extra_args=(
                *constraints.generate_pex_arg_list(),
                "--",
                "-c",
                dedent(
                    """\
                    import hashlib, os, sys

                    python = os.path.realpath(sys.executable)
                    print(python)

                    hasher = hashlib.sha256()
                    with open(python, "rb") as fp:
                      for chunk in iter(lambda: fp.read(8192), b""):
                          hasher.update(chunk)
                    print(hasher.hexdigest())
                    """
                ),
            ),
            level=LogLevel.DEBUG,
            cache_scope=env_target.executable_search_path_cache_scope(),
        ),
    )
    path, fingerprint = result.stdout.decode().strip().splitlines()
    return PythonExecutable(path=path, fingerprint=fingerprint)


async def released_archive(release: ReleasedArchive) -> InstallOnlyArchive:
    try:
        digest = await Get(
            Digest, DownloadFile(release.url, FileDigest(release.sha256, release.size))
        )
    except EngineError as error:
        raise ProviderError(
            f"Could not use the released interpreter archive {release.url} "
            f"([cpython-fips-provider].releases, sha256 {release.sha256}, {release.size} bytes): "
            f"{str(error).strip().splitlines()[-1]}\nNothing was unpacked. Check the URL and the "
            "archive's sha256 and size (its release's SHA256SUMS)."
        ) from error
    return InstallOnlyArchive(digest, release.filename, release.sha256)


async def distribution_archive(spec: str) -> InstallOnlyArchive:
    origin = "[cpython-fips-provider]"
    address = await Get(
        Address, AddressInput, AddressInput.parse(spec, description_of_origin=origin)
    )
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin=origin))
    built = await Get(
        BuiltPackage, PackageFieldSet, CPythonDistributionFieldSet.create(wrapped.target)
    )
    [name] = [
        artifact.relpath
        for artifact in built.artifacts
        if artifact.relpath and "-install_only-" in artifact.relpath
    ]
    only = await Get(Digest, DigestSubset(built.digest, PathGlobs([name])))
    return InstallOnlyArchive(only, name, only.fingerprint)


@rule(desc="Unpack a CPython distribution's interpreter", level=LogLevel.DEBUG)
async def unpack_interpreter(request: UnpackRequest, bash: BashBinary) -> PythonExecutable:
    archive = request.archive
    name = abi_name(request.minor, request.flavour)
    files = [FileContent("unpack.sh", UNPACK_SCRIPT.encode())]
    customize = sitecustomize(request.fips_mode)
    if customize:
        files.append(FileContent("sitecustomize.py", customize.encode()))
    scripts = await Get(Digest, CreateDigest(files))
    input_digest = await Get(Digest, MergeDigests([scripts, archive.digest]))
    result = await Get(
        ProcessResult,
        Process(
            argv=(
                bash.path,
                "unpack.sh",
                INTERPRETERS_LINK,
                interpreter_fingerprint(archive.content_id, request.fips_mode),
                archive.filename,
                name,
            ),
            input_digest=input_digest,
            env={"PATH": os.pathsep.join(SEARCH_PATHS)},
            append_only_caches={INTERPRETERS_CACHE: INTERPRETERS_LINK},
            description=f"Unpack {archive.filename}",
            level=LogLevel.DEBUG,
            # It prints where the interpreter is on this machine: never cached across sessions.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    return PythonExecutable(
        path=result.stdout.decode().strip().splitlines()[-1],
        append_only_caches={INTERPRETERS_CACHE: INTERPRETERS_LINK},
    )


# unpack.sh CACHE_LINK FINGERPRINT ARCHIVE NAME: unpacks the install_only archive once into
# CACHE/FINGERPRINT (read-only; renamed into place whole, so a concurrent run sees all of it or
# none), with sitecustomize.py if given, and prints the interpreter's path.
UNPACK_SCRIPT = dedent(
    """\
    set -euo pipefail
    cache=$(cd "$1" && pwd -P) fingerprint=$2 archive=$3 name=$4
    dest=$cache/$fingerprint
    if [ ! -x "$dest/bin/$name" ]; then
        work=$(mktemp -d "$cache/.unpacking.XXXXXX")
        trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
        tar -xzf "$archive" -C "$work"
        [ -x "$work/python/bin/$name" ] || { echo "$archive has no python/bin/$name" >&2; exit 1; }
        if [ -f sitecustomize.py ]; then cp sitecustomize.py "$work/python/lib/$name/"; fi
        chmod -R a-w "$work/python"
        mv -T "$work/python" "$dest" 2>/dev/null || [ -x "$dest/bin/$name" ]
    fi
    echo "$dest/bin/$name"
    """
)


async def archive_of(choice: Choice) -> InstallOnlyArchive:
    if choice.release:
        return await released_archive(choice.release)
    assert choice.distribution
    return await distribution_archive(choice.distribution)


@rule(desc="Provide a Python interpreter")
async def provide_python(
    request: FipsPythonProvider,
    options: CPythonFipsProvider,
    python_setup: PythonSetup,
    platform: Platform,
) -> PythonExecutable:
    constraints = request.interpreter_constraints
    # Pants 2.17's default universe ends at 3.12: the versions we build are always in it.
    universe = sorted(
        {*python_setup.interpreter_versions_universe, *(v.minor for v in BUILD_MATRIX.versions)},
        key=version_key,
    )
    choice = choose(
        constraints.minimum_python_version(universe),
        [str(constraint) for constraint in constraints],
        host_platform(platform.value, BUILD_MATRIX),
        options.flavour,
        [ReleasedArchive.parse(entry) for entry in options.releases],
        BUILD_MATRIX,
        options.versions or None,
    )
    if choice is None:
        return await Get(PythonExecutable, HostInterpreterRequest(constraints))
    archive = await archive_of(choice)
    return await Get(
        PythonExecutable, UnpackRequest(archive, choice.minor, options.flavour, options.fips_mode)
    )


def rules():
    return [*collect_rules(), UnionRule(PythonProvider, FipsPythonProvider)]
