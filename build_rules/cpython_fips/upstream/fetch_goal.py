"""The `fetch-sources` goal: obtain and verify every pin, and say where each came from."""

from __future__ import annotations

import textwrap

from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import Targets

from cpython_fips.upstream.fetch import MISSING_ARCHIVE_HINT, SourceArchiveFetch
from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.target_types import SourceArchiveSha256Field


class FetchSourcesSubsystem(GoalSubsystem):
    name = "fetch-sources"
    help = (
        "Fetch and verify the pinned source archives (`source_archive` targets) among the given "
        "targets, and report for each whether it was obtained and from where. Fails if any was not."
    )


class FetchSources(Goal):
    subsystem_cls = FetchSourcesSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


def _report(fetch: SourceArchiveFetch) -> str:
    pin = fetch.pin
    label = f"{pin.address.spec} {pin.version} ({pin.filename}{', repack' if pin.repack else ''})"
    if fetch.origin is not None:
        details = f"from {fetch.origin.mirror}: {fetch.origin.url}"
        status = "obtained"
    elif fetch.mismatch:
        details, status = fetch.mismatch, "MISMATCH"
    else:
        details, status = f"tried:\n{fetch.attempts_report()}", "missing"
    return f"{status:<9} {label}\n" + textwrap.indent(details, " " * 10)


@goal_rule
async def fetch_sources(console: Console, targets: Targets) -> FetchSources:
    pins = [
        SourceArchivePin.from_target(target)
        for target in targets
        if target.has_field(SourceArchiveSha256Field)
    ]
    fetches = await MultiGet(Get(SourceArchiveFetch, SourceArchivePin, pin) for pin in pins)
    for fetch in sorted(fetches, key=lambda f: f.pin.address):
        console.print_stdout(_report(fetch))
    missing = sum(1 for fetch in fetches if fetch.digest is None)
    if missing:
        console.print_stdout(f"\n{MISSING_ARCHIVE_HINT}")
    console.print_stdout(f"\n{len(fetches) - missing} obtained, {missing} not obtained.")
    return FetchSources(exit_code=1 if missing else 0)


def rules():
    return collect_rules()
