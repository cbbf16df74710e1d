"""The Python tools our rules run as processes (container runner, packager, releaser): a
`pex_binary` target of the `tools` resolve, named by an option, built as a PEX and run by the
host's Python 3.9 through a named cache, so that no build step's cache key says where anything is
installed on the host.

Pants' own VenvPex launcher writes the absolute path of the interpreter (pyenv's, Debian's...)
into a script that is an input of every process that runs the tool, with a venv directory derived
from it; every build step's cache key would then depend on the machine, and a remote cache would
serve only machines installed alike. Here the processes run `.cpython-fips-tools-python/python`:
that directory is a Pants named cache (not part of any key) where a per-session process links
`python` to the interpreter Pants chose for the tools. What stays in the key is the PEX itself:
the tools' code, their locked requirements and their Python version's interpreter constraints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Tuple

from pants.backend.python.target_types import (
    PexEntryPointField,
    ResolvedPexEntryPoint,
    ResolvePexEntryPointRequest,
)
from pants.backend.python.util_rules.pex import Pex
from pants.backend.python.util_rules.pex_environment import PexEnvironment
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.engine.addresses import Address, AddressInput
from pants.engine.fs import EMPTY_DIGEST, Digest, MergeDigests
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel
from pants.util.strutil import create_path_env_var

# The named cache (under ~/.cache/pants/named_caches) holding the link to the tools' interpreter,
# and where processes see it, relative to their sandbox.
TOOLS_PYTHON_CACHE = "cpython_fips_tools_python"
TOOLS_PYTHON_DIR = ".cpython-fips-tools-python"
TOOLS_PYTHON = f"{TOOLS_PYTHON_DIR}/python"
# Pants' own named cache of PEX_ROOT, shared with the PEXes Pants runs itself.
PEX_ROOT_CACHE = "pex_root"
PEX_ROOT = ".cache/pex_root"

# Replaces the link atomically, so a process starting meanwhile sees the old or the new one.
_LINK_SCRIPT = """\
import os, sys
link = os.path.join(sys.argv[1], "python")
partial = f"{link}.{os.getpid()}"
os.symlink(sys.executable, partial)
os.replace(partial, link)
"""


@dataclass(frozen=True)
class ToolPex:
    """A tool built as a (packed) PEX, with the interpreter Pants chose for it."""

    pex: Pex


async def build_tool_pex(spec: str, option: str, output_filename: str) -> ToolPex:
    """The PEX of the `pex_binary` at `spec`, the value of `option`."""
    origin = f"the option `{option}`"
    address = await Get(
        Address, AddressInput, AddressInput.parse(spec, description_of_origin=origin)
    )
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin=origin))
    entry_point = await Get(
        ResolvedPexEntryPoint, ResolvePexEntryPointRequest(wrapped.target[PexEntryPointField])
    )
    pex = await Get(
        Pex,
        PexFromTargetsRequest(
            [address], output_filename=output_filename, internal_only=True, main=entry_point.val
        ),
    )
    return ToolPex(pex)


@dataclass(frozen=True)
class ToolsPythonRequest:
    interpreter: str


@dataclass(frozen=True)
class ToolsPython:
    """`TOOLS_PYTHON` links to `interpreter` in this session."""

    interpreter: str


@rule(desc="Link the tools' Python 3.9 into their named cache", level=LogLevel.DEBUG)
async def link_tools_python(request: ToolsPythonRequest) -> ToolsPython:
    await Get(
        ProcessResult,
        Process(
            argv=[request.interpreter, "-c", _LINK_SCRIPT, TOOLS_PYTHON_DIR],
            description=f"Link {TOOLS_PYTHON} to {request.interpreter}",
            level=LogLevel.DEBUG,
            append_only_caches={TOOLS_PYTHON_CACHE: TOOLS_PYTHON_DIR},
            # Never cached: the link is made on this machine, in every session.
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    return ToolsPython(request.interpreter)


@dataclass(frozen=True)
class ToolPexProcess:
    """Run `tool` with `argv`; the other fields are those of `Process`."""

    tool: ToolPex
    argv: Tuple[str, ...]
    description: str
    level: LogLevel
    input_digest: Digest
    env: FrozenDict[str, str]
    output_files: Tuple[str, ...]
    output_directories: Tuple[str, ...]
    timeout_seconds: Optional[int]
    append_only_caches: FrozenDict[str, str]
    cache_scope: ProcessCacheScope

    def __init__(
        self,
        tool: ToolPex,
        *,
        argv: Iterable[str],
        description: str,
        level: LogLevel = LogLevel.INFO,
        input_digest: Digest = EMPTY_DIGEST,
        env: Mapping[str, str] = FrozenDict(),
        output_files: Iterable[str] = (),
        output_directories: Iterable[str] = (),
        timeout_seconds: Optional[int] = None,
        append_only_caches: Mapping[str, str] = FrozenDict(),
        cache_scope: ProcessCacheScope = ProcessCacheScope.SUCCESSFUL,
    ) -> None:
        object.__setattr__(self, "tool", tool)
        object.__setattr__(self, "argv", tuple(argv))
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "input_digest", input_digest)
        object.__setattr__(self, "env", FrozenDict(env))
        object.__setattr__(self, "output_files", tuple(output_files))
        object.__setattr__(self, "output_directories", tuple(output_directories))
        object.__setattr__(self, "timeout_seconds", timeout_seconds)
        object.__setattr__(self, "append_only_caches", FrozenDict(append_only_caches))
        object.__setattr__(self, "cache_scope", cache_scope)


def tool_process_env(pex_environment: PexEnvironment) -> FrozenDict[str, str]:
    """The environment of every tool process: the same on every machine, as it is in the key."""
    return FrozenDict(
        {
            "PATH": create_path_env_var(pex_environment.path),
            "PEX_ROOT": PEX_ROOT,
            "PEX_IGNORE_RCFILES": "true",
        }
    )


@rule
async def tool_pex_process(request: ToolPexProcess, pex_environment: PexEnvironment) -> Process:
    pex = request.tool.pex
    if pex.python is None:
        raise AssertionError(f"{pex.name} was built without an interpreter (internal_only=False?)")
    await Get(ToolsPython, ToolsPythonRequest(pex.python.path))
    return Process(
        argv=[TOOLS_PYTHON, pex.name, *request.argv],
        description=request.description,
        level=request.level,
        input_digest=await Get(Digest, MergeDigests([pex.digest, request.input_digest])),
        env={**tool_process_env(pex_environment), **request.env},
        output_files=request.output_files,
        output_directories=request.output_directories,
        timeout_seconds=request.timeout_seconds,
        append_only_caches={
            PEX_ROOT_CACHE: PEX_ROOT,
            TOOLS_PYTHON_CACHE: TOOLS_PYTHON_DIR,
            **request.append_only_caches,
        },
        cache_scope=request.cache_scope,
    )


def rules():
    return collect_rules()
