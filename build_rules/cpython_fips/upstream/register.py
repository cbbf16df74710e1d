"""Pinned upstream source archives: the `source_archive` target, its fetch rules and goal."""

from cpython_fips.upstream import fetch, fetch_goal
from cpython_fips.upstream.subsystems import SourceMirrors
from cpython_fips.upstream.target_types import target_types as _target_types


def target_types():
    return _target_types()


def rules():
    return [*fetch.rules(), *fetch_goal.rules(), *SourceMirrors.rules()]
