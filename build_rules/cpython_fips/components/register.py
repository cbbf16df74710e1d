"""Components built in toolchain containers, one cached step each: OpenSSL with its FIPS
provider (the third-party libraries and CPython follow the same pattern)."""

from cpython_fips.components import build, openssl
from cpython_fips.components.target_types import target_types as _target_types


def target_types():
    return _target_types()


def rules():
    return [*build.rules(), *openssl.rules()]
