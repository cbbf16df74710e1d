"""Toolchains: Docker build environments made from locked Debian packages, and build steps that
run in them through the container runner."""

from cpython_fips.toolchain import image, lock_goal, step
from cpython_fips.toolchain.subsystems import ContainerRunner
from cpython_fips.toolchain.target_types import target_types as _target_types


def target_types():
    return _target_types()


def rules():
    return [*image.rules(), *lock_goal.rules(), *step.rules(), *ContainerRunner.rules()]
