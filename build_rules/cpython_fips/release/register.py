"""Release archives: the `cpython_distribution` target, packaged in python-build-standalone's
format after validation."""

from cpython_fips.release import package, release_goal, subsystems
from cpython_fips.release.target_types import target_types as _target_types


def target_types():
    return _target_types()


def rules():
    return [*package.rules(), *release_goal.rules(), *subsystems.rules()]
