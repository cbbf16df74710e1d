"""The `export-mirror` goal: every pinned file of the given targets (source archives, and the
`.deb`s of toolchain locks and the debootstrap package) in one directory, named as
`[source-mirrors].mirrors` looks them up.

A team or CI keeps such a directory (or serves it over HTTP) and lists it in
`[source-mirrors].mirrors`: builds then no longer depend on upstream hosts keeping old files, nor
on Debian's archive keeping superseded package versions.
"""

from __future__ import annotations

import os

from pants.base.build_root import BuildRoot
from pants.engine.console import Console
from pants.engine.fs import Digest, DigestContents, MergeDigests, Workspace
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets
from pants.option.option_types import StrOption
from pants.util.strutil import help_text, softwrap

from cpython_fips.toolchain.image import ToolchainImageRequest
from cpython_fips.toolchain.packages import ToolchainPackages, ToolchainPackagesRequest
from cpython_fips.toolchain.target_types import ToolchainPackagesField
from cpython_fips.upstream.fetch import FetchedSourceArchive
from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.target_types import SourceArchiveSha256Field


class ExportMirrorSubsystem(GoalSubsystem):
    name = "export-mirror"
    help = help_text(
        """
        Write every pinned file of the given targets into one mirror directory: the source
        archives of `source_archive` targets and the `.deb`s of `toolchain` locks, each under its
        file name. Add the directory to `[source-mirrors].mirrors` to build from it.
        """
    )

    destination = StrOption(
        default="artifacts/mirror",
        help=softwrap(
            """
            The directory to write, relative to the build root (or absolute, inside it). Files
            already there are kept; files of the same name are replaced by the pinned ones.
            """
        ),
    )


class ExportMirror(Goal):
    subsystem_cls = ExportMirrorSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def export_mirror(
    targets: Targets,
    subsystem: ExportMirrorSubsystem,
    workspace: Workspace,
    console: Console,
    build_root: BuildRoot,
) -> ExportMirror:
    destination = os.path.relpath(
        os.path.join(build_root.path, subsystem.destination), build_root.path
    )
    if destination == ".." or destination.startswith("../"):
        console.print_stderr(
            f"--export-mirror-destination={subsystem.destination} is outside the build root "
            f"{build_root.path}: Pants writes only inside it. Export into it and move the files."
        )
        return ExportMirror(exit_code=2)
    archives = await MultiGet(
        Get(FetchedSourceArchive, SourceArchivePin, SourceArchivePin.from_target(target))
        for target in targets
        if target.has_field(SourceArchiveSha256Field)
    )
    packages = await MultiGet(
        Get(ToolchainPackages, ToolchainPackagesRequest(ToolchainImageRequest(target.address)))
        for target in targets
        if target.has_field(ToolchainPackagesField)
    )
    merged = await Get(
        Digest,
        MergeDigests([*(a.digest for a in archives), *(p.digest for p in packages)]),
    )
    workspace.write_digest(merged, path_prefix=destination)
    files = len(await Get(DigestContents, Digest, merged))
    console.print_stdout(
        f"Wrote {files} files ({len(archives)} source archives, the packages of "
        f"{len(packages)} toolchain locks and the debootstrap that makes their images) to "
        f"{destination}/."
    )
    return ExportMirror(exit_code=0)


def rules():
    return collect_rules()
