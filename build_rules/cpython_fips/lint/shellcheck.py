"""`./pants lint` with ShellCheck from the machine's package manager (Debian's `shellcheck`),
rather than Pants' own ShellCheck backend, which downloads a release binary from GitHub."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pants.backend.shell.target_types import ShellDependenciesField, ShellSourceField
from pants.core.goals.lint import LintResult, LintTargetsRequest
from pants.core.util_rules.partitions import PartitionerType
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.core.util_rules.system_binaries import (
    BinaryPathRequest,
    BinaryPaths,
    BinaryPathTest,
    SearchPath,
)
from pants.engine.fs import Digest, MergeDigests
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import DependenciesRequest, FieldSet, SourcesField, Targets
from pants.option.option_types import ArgsListOption, SkipOption
from pants.option.subsystem import Subsystem
from pants.util.logging import LogLevel
from pants.util.strutil import pluralize

# Where package managers install it: never the user's PATH, which would make results differ
# from machine to machine without the cache key knowing (the version is part of the key).
SEARCH_PATH = SearchPath(("/usr/bin", "/bin", "/usr/local/bin"))


class SystemShellcheck(Subsystem):
    options_scope = "system-shellcheck"
    name = "ShellCheck"
    help = (
        "ShellCheck as the machine's package manager installs it (Debian: `apt-get install "
        "shellcheck`), run on every `shell_source` by `./pants lint`."
    )

    skip = SkipOption("lint")
    args = ArgsListOption(example="--severity=warning")


class ShellcheckMissing(Exception):
    pass


@dataclass(frozen=True)
class SystemShellcheckFieldSet(FieldSet):
    required_fields = (ShellSourceField,)

    sources: ShellSourceField
    dependencies: ShellDependenciesField


class SystemShellcheckRequest(LintTargetsRequest):
    field_set_type = SystemShellcheckFieldSet
    tool_subsystem = SystemShellcheck
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION


@rule(desc="Lint with ShellCheck", level=LogLevel.DEBUG)
async def run_system_shellcheck(
    request: SystemShellcheckRequest.Batch[SystemShellcheckFieldSet, Any],
    shellcheck: SystemShellcheck,
) -> LintResult:
    binaries = await Get(
        BinaryPaths,
        BinaryPathRequest(
            binary_name="shellcheck",
            search_path=SEARCH_PATH,
            # The version it prints: part of the results' cache key (see below).
            test=BinaryPathTest(args=["--version"], fingerprint_stdout=True),
        ),
    )
    if not binaries.first_path:
        raise ShellcheckMissing(
            "`./pants lint` runs ShellCheck from the machine's packages, and none is installed in "
            f"{', '.join(SEARCH_PATH)}: install it (Debian: `apt-get install shellcheck`), or "
            "skip it with `--system-shellcheck-skip`."
        )
    # A script is checked with the scripts it sources (its dependencies), so that ShellCheck
    # follows them.
    dependencies = await MultiGet(
        Get(Targets, DependenciesRequest(field_set.dependencies)) for field_set in request.elements
    )
    direct, sourced = await MultiGet(
        Get(SourceFiles, SourceFilesRequest(fs.sources for fs in request.elements)),
        Get(
            SourceFiles,
            SourceFilesRequest(
                (target.get(SourcesField) for targets in dependencies for target in targets),
                for_sources_types=(ShellSourceField,),
            ),
        ),
    )
    result = await Get(
        FallibleProcessResult,
        Process(
            argv=[
                binaries.first_path.path,
                # `source "$(dirname "$0")/common.sh"`: found beside the script.
                "--external-sources",
                "--source-path=SCRIPTDIR",
                *shellcheck.args,
                *direct.snapshot.files,
            ],
            input_digest=await Get(
                Digest, MergeDigests([direct.snapshot.digest, sourced.snapshot.digest])
            ),
            # Not read by ShellCheck: another version gives another cache key, so results cached
            # with one version are not reused with another.
            env={"CPYTHON_FIPS_SHELLCHECK_VERSION": binaries.first_path.fingerprint},
            description=f"Run ShellCheck on {pluralize(len(direct.snapshot.files), 'file')}.",
            level=LogLevel.DEBUG,
        ),
    )
    return LintResult.create(request, result)


def rules():
    return [*collect_rules(), *SystemShellcheckRequest.rules()]
