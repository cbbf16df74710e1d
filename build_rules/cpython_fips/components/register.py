"""Components built in toolchain containers, one cached step each: OpenSSL with its FIPS
provider, the third-party static libraries and CPython."""

from cpython_fips.components import build, cpython, libraries, openssl, subsystems
from cpython_fips.components.target_types import target_types as _target_types


def target_types():
    return _target_types()


def rules():
    return [
        *build.rules(),
        *openssl.rules(),
        *libraries.rules(),
        *cpython.rules(),
        *subsystems.rules(),
    ]
