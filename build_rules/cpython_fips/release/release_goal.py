"""The `make-release` goal: a release directory from `cpython_distribution` targets and the tag.

    ./pants --release-tag=20261201 make-release --base-url=https://... //dist:cpython-3.13-...
    ./pants make-release --dry-run //dist:cpython-3.13-x86_64-linux-noopt

Packages each distribution (built, or restored from the caches), then writes its archives and
the release files of `cpython_fips/releaser` (SHA256SUMS, uv's downloads list, an SBOM per
distribution, SLSA provenance) to `<distdir>/release/<tag>/`, or for a dry run to
`<distdir>/release-dry-run/<tag>/`. The directory appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from typing import List, Optional, Tuple

from pants.base.build_root import BuildRoot
from pants.core.goals.package import BuiltPackage
from pants.core.util_rules.distdir import DistDir
from pants.engine.console import Console
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    FileContent,
    MergeDigests,
    RemovePrefix,
    Snapshot,
    Workspace,
)
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.process import Process
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule, rule
from pants.engine.target import (
    HydratedSources,
    HydrateSourcesRequest,
    Targets,
    TransitiveTargets,
    TransitiveTargetsRequest,
)
from pants.option.option_types import BoolOption, StrOption
from pants.util.logging import LogLevel
from pants.util.strutil import help_text, softwrap
from pants.vcs.git import GitWorktreeRequest, MaybeGitWorktree

from cpython_fips.pex_tools import ToolPexProcess, build_tool_pex
from cpython_fips.processes import run_or_raise
from cpython_fips.release.package import CPythonDistributionFieldSet
from cpython_fips.release.subsystems import ReleaseOptions
from cpython_fips.toolchain.image import ToolchainImage, ToolchainImageRequest
from cpython_fips.toolchain.target_types import ToolchainPackagesField
from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.target_types import SourceArchivePatchesField, SourceArchiveSha256Field

MANIFEST, ARCHIVES, OUT = "manifest.json", "archives", "release"
# A pin's product: its target name without the version series, e.g. openssl-3.5 -> openssl.
VERSION_SERIES = re.compile(r"-\d+(\.\d+)*$")


class ReleaseGoalError(Exception):
    pass


class MakeReleaseSubsystem(GoalSubsystem):
    name = "make-release"
    help = help_text(
        """
        Make a release directory from `cpython_distribution` targets and `[release].tag`: the
        archives, SHA256SUMS, uv's Python downloads list, a CycloneDX SBOM per distribution and
        an in-toto statement of SLSA provenance.
        """
    )

    base_url = StrOption(
        default=None,
        help=softwrap(
            """
            Where the archives will be downloaded from (the release's final location), for the
            URLs of uv's downloads list, e.g. `https://github.com/org/repo/releases/download/TAG`.
            Required, except for a dry run, whose default is the dry-run directory itself
            (`file://`), so that uv can install from it at once.
            """
        ),
    )
    dry_run = BoolOption(
        default=False,
        help=softwrap(
            """
            Check and write everything into `<distdir>/release-dry-run/<tag>/` (replaced on each
            dry run) instead of the release directory; uncommitted changes are allowed and
            recorded in the provenance, and outside a git worktree it names no commit.
            """
        ),
    )
    builder_id = StrOption(
        default="urn:cpython-fips:builder:local",
        help=softwrap(
            """
            The provenance's `builder.id`: who ran the release, e.g. the URL of the CI
            workflow run.
            """
        ),
    )
    releaser = StrOption(
        default="//build_rules/cpython_fips/releaser:releaser",
        help="The `pex_binary` target of the tool that writes the release files.",
        advanced=True,
    )


class MakeRelease(Goal):
    subsystem_cls = MakeReleaseSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@dataclass(frozen=True)
class DistributionSources:
    """What a distribution was built from: its source pins and toolchain locks, found through
    the dependency edges of its target."""

    pins: Tuple[dict, ...]
    locks: Tuple[dict, ...]


@rule(desc="Find the pins and locks a distribution was built from", level=LogLevel.DEBUG)
async def distribution_sources(field_set: CPythonDistributionFieldSet) -> DistributionSources:
    transitive = await Get(
        TransitiveTargets,
        TransitiveTargetsRequest([field_set.address], include_special_cased_deps=True),
    )
    pinned = [t for t in transitive.closure if t.has_field(SourceArchiveSha256Field)]
    patches = await MultiGet(
        Get(HydratedSources, HydrateSourcesRequest(t[SourceArchivePatchesField])) for t in pinned
    )
    images = await MultiGet(
        Get(ToolchainImage, ToolchainImageRequest(t.address))
        for t in transitive.closure
        if t.has_field(ToolchainPackagesField)
    )
    pins = []
    for target, hydrated in zip(pinned, patches):
        pin = SourceArchivePin.from_target(target)
        pins.append(
            {
                "address": str(pin.address),
                "product": VERSION_SERIES.sub("", pin.name),
                "version": pin.version,
                "sha256": pin.sha256,
                "urls": list(pin.urls),
                "license": pin.license,
                "repack": pin.repack,
                "patches": list(hydrated.snapshot.files),
            }
        )
    locks = [{"path": image.lock_path, "sha256": image.lock_sha256} for image in images]
    return DistributionSources(
        pins=tuple(sorted(pins, key=lambda pin: pin["address"])),
        locks=tuple(sorted(locks, key=lambda lock: lock["path"])),
    )


def release_directory(dist_dir: DistDir, tag: str, dry_run: bool) -> str:
    return os.path.join(dist_dir.relpath, "release-dry-run" if dry_run else "release", tag)


def git_state(worktree: MaybeGitWorktree) -> Optional[dict]:
    """The commit, and whether the worktree differs from it; None outside a git worktree."""
    git = worktree.git_worktree
    if git is None:
        return None
    return {"commit": git.commit_id, "dirty": bool(git.changed_files(include_untracked=True))}


@goal_rule
async def make_release(
    targets: Targets,
    subsystem: MakeReleaseSubsystem,
    release: ReleaseOptions,
    workspace: Workspace,
    console: Console,
    dist_dir: DistDir,
    build_root: BuildRoot,
) -> MakeRelease:
    field_sets = [
        CPythonDistributionFieldSet.create(target)
        for target in targets
        if CPythonDistributionFieldSet.is_applicable(target)
    ]
    dry_run = subsystem.dry_run
    destination = release_directory(dist_dir, release.tag or "", dry_run)
    problems: List[str] = []
    if not field_sets:
        problems.append("name one or more `cpython_distribution` targets, e.g. //dist:...")
    if not release.tag:
        problems.append("set the tag with `--release-tag=YYYYMMDD`: it names the archives")
    base_url = subsystem.base_url or (
        f"file://{os.path.join(build_root.path, destination)}" if dry_run else None
    )
    if not base_url:
        problems.append("set `--make-release-base-url`, where the archives will be downloaded")
    git = git_state(await Get(MaybeGitWorktree, GitWorktreeRequest()))
    if git is None and not dry_run:
        problems.append("the provenance names the git commit released: run in a git worktree")
    if git and git["dirty"] and not dry_run:
        problems.append(
            f"the worktree has uncommitted changes: a release is made from commit "
            f"{git['commit']} exactly (commit them, or use --dry-run)"
        )
    if not dry_run and os.path.exists(os.path.join(build_root.path, destination)):
        problems.append(f"{destination} exists already: a release is not made twice")
    if problems:
        for problem in problems:
            console.print_stderr(f"make-release: {problem}")
        return MakeRelease(exit_code=2)

    packages = await MultiGet(
        Get(BuiltPackage, CPythonDistributionFieldSet, field_set) for field_set in field_sets
    )
    sources = await MultiGet(
        Get(DistributionSources, CPythonDistributionFieldSet, field_set) for field_set in field_sets
    )
    manifest = {
        "tag": release.tag,
        "base_url": base_url,
        "dry_run": dry_run,
        "builder_id": subsystem.builder_id,
        "git": git,
        "distributions": [
            {
                "target": field_set.address.spec,
                "archives": [artifact.relpath for artifact in package.artifacts],
                "pins": list(source.pins),
                "locks": list(source.locks),
            }
            for field_set, package, source in zip(field_sets, packages, sources)
        ],
    }
    archives = await Get(Digest, MergeDigests(package.digest for package in packages))
    inputs = await Get(
        Digest,
        MergeDigests(
            [
                await Get(Digest, AddPrefix(archives, ARCHIVES)),
                await Get(
                    Digest,
                    CreateDigest([FileContent(MANIFEST, json.dumps(manifest, indent=2).encode())]),
                ),
            ]
        ),
    )
    releaser = await build_tool_pex(subsystem.releaser, "[make-release].releaser", "releaser.pex")
    result = await run_or_raise(
        await Get(
            Process,
            ToolPexProcess(
                releaser,
                argv=(MANIFEST, ARCHIVES, OUT),
                input_digest=inputs,
                output_directories=(OUT,),
                description=f"Write the release files of {release.tag}",
                level=LogLevel.INFO,
            ),
        ),
        ReleaseGoalError,
        "Writing the release files failed; nothing was written",
    )
    files = await Get(Digest, RemovePrefix(result.output_digest, OUT))
    release_digest = await Get(Digest, MergeDigests([archives, files]))
    write_whole(workspace, build_root, destination, release_digest)
    snapshot = await Get(Snapshot, Digest, release_digest)
    kind = "Dry-run release" if dry_run else "Release"
    console.print_stdout(f"{kind} {release.tag} in {destination}/ (base URL {base_url}):")
    for path in snapshot.files:
        size = os.path.getsize(os.path.join(build_root.path, destination, path))
        console.print_stdout(f"  {size:>12,}  {path}")
    return MakeRelease(exit_code=0)


def write_whole(
    workspace: Workspace, build_root: BuildRoot, destination: str, digest: Digest
) -> None:
    """Writes the digest to `destination` so that it appears whole or not at all: into a
    sibling directory first, renamed over a previous dry run's at the end."""
    final = os.path.join(build_root.path, destination)
    partial = f"{destination}.partial"
    shutil.rmtree(os.path.join(build_root.path, partial), ignore_errors=True)
    workspace.write_digest(digest, path_prefix=partial)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(os.path.join(build_root.path, partial), final)


def rules():
    return collect_rules()
